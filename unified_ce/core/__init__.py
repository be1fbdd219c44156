"""The reference core: the math of :class:`~unified_ce.CrossEntropySpec`, written once, as stages.

Every stage is written against the array API standard (``xp`` is the namespace of the inputs as
given by ``array_api_compat``); every array it creates is made on the input's device.  No boolean
indexing and no data-dependent shapes, so it traces under ``jax.jit`` and stays lazy on Dask.

One item's loss is :math:`L = \\alpha\\,\\mathrm{ls} + \\sum_c \\beta_c (m - x_c)` with
:math:`m = \\max_c x_c`, :math:`\\mathrm{ls} = \\log \\sum_c e^{x_c - m}`, :math:`\\beta_c` the
weighted target mass of class :math:`c` and :math:`\\alpha = \\sum_c \\beta_c`; its gradient is
:math:`\\partial L / \\partial x = \\alpha\\,\\mathrm{softmax}(x) - \\beta`.  The stages, in order
(each module opens with the part of the spec's math it computes, its gradient beside it):

==============  ==========================================================================
layout          several class axes flattened into one, class masks expanded, targets broadcast
validate        per-argument checkers -> frozen :class:`Inputs` + :class:`Plan` (labels.py:
                the value checks)
transforms      logit transforms (``min_shifted_logit``)
stats           row max ``m`` and log-sum-exp ``ls``; softmax
targets         ``alpha`` and ``beta`` of index targets (no one-hot) and probability targets
terms           item loss terms and their gradient ``c * (alpha softmax - beta)``
reduce          sample weights, ``scale``, reductions, denominators; the coefficient ``c``
evaluate        the passes: forward, backward, forward-with-gradient (in blocks of rows)
fastpath        in-place primitives and row blocks of eager libraries (same formulas)
aux             per-item log-sum-exp and entropy, the reduced z-loss part (values only)
==============  ==========================================================================

Which stages read each spec field is declared in the spec-field table, :mod:`unified_ce._fields`
(with the field's default, validation, kernel coverage and test values).

The core imports nothing above it (no dialect, dispatcher, kernel or autodiff module):
:mod:`unified_ce._dispatch` chooses how a call is evaluated.
"""

from __future__ import annotations

from . import aux
from .evaluate import backward, denominator, finish, forward, forward_with_grad
from .inputs import REFERENCE, Inputs, Plan, Residuals
from .layout import Layout, grad_back, lay_out
from .reduce import nonzero_denominator
from .stats import softmax
from .validate import begin, check_grad_output, loss_shape, prepare

__all__ = [
    "REFERENCE",
    "Inputs",
    "Layout",
    "Plan",
    "Residuals",
    "aux",
    "backward",
    "begin",
    "check_grad_output",
    "denominator",
    "finish",
    "forward",
    "forward_with_grad",
    "grad_back",
    "lay_out",
    "loss_shape",
    "nonzero_denominator",
    "prepare",
    "softmax",
]

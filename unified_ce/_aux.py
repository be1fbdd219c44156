"""The auxiliary outputs of a cross-entropy: per-item log-sum-exp and entropy, and the z-loss part."""

from __future__ import annotations

from typing import Any, NamedTuple

from . import core
from ._backend import is_jax, is_torch
from ._errors import InvalidArgumentError
from ._spec import CrossEntropySpec

__all__ = ["CrossEntropyAux", "cross_entropy_aux"]


class CrossEntropyAux(NamedTuple):
    """What :func:`cross_entropy_aux` returns (values only: no gradient flows through them).

    Attributes
    ----------
    lse : array
        Per item (the loss's shape for ``reduction="none"``): the log-sum-exp of the (scaled,
        soft-capped) logits along the class axis; 0 for ignored items.
    z_loss : array
        The z-loss part of the loss (``spec.z_loss * lse**2`` per item), masked, weighted and
        reduced exactly like the loss.
    entropy : array
        Per item: the entropy of the softmax, ``lse - sum_c softmax_c * logit_c``; 0 for ignored items.
    """

    lse: Any
    z_loss: Any
    entropy: Any


def cross_entropy_aux(
    logits: Any,
    target: Any,
    /,
    spec: CrossEntropySpec | None = None,
    *,
    class_weight: Any = None,
    sample_weight: Any = None,
    **spec_fields: Any,
) -> CrossEntropyAux:
    """The auxiliary outputs of :func:`unified_ce.cross_entropy` with the same arguments.

    For logging and for reuse (the log-sum-exp in a later pass, the entropy that reinforcement-learning
    trainers compute with the log-probability): softmax of logits only.  Outputs are in the logits'
    dtype, on their device.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce import cross_entropy_aux
    >>> aux = cross_entropy_aux(np.zeros((2, 4)), np.array([1, -100]), ignore_index=-100, z_loss=0.5)
    >>> aux.lse.round(4), aux.entropy.round(4), float(aux.z_loss.round(4))
    (array([1.3863, 0.    ]), array([1.3863, 0.    ]), 0.9609)
    """
    if spec is None:
        spec = CrossEntropySpec(**spec_fields)
    elif spec_fields:
        spec = spec.replace(**spec_fields)
    if spec.activation != "softmax" or spec.inputs != "logits" or spec.reduction in ("sample_mean", "axis_mean"):
        raise InvalidArgumentError(
            "cross_entropy_aux needs the softmax of logits (activation='softmax', inputs='logits') and "
            f"reduction 'none', 'sum' or 'mean'; got {spec.activation!r}, {spec.inputs!r}, {spec.reduction!r}"
        )
    inp, plan = core.prepare(spec, _no_grad(logits), target, class_weight, sample_weight)
    lse, z, ent = core.aux.aux_outputs(inp, plan)
    return CrossEntropyAux(core.finish(inp, lse), core.finish(inp, z), core.finish(inp, ent))


def _no_grad(x: Any) -> Any:
    """``x`` cut from autodiff (torch ``detach``, JAX ``stop_gradient``): the outputs are values only."""
    if is_torch(x):
        return x.detach()
    if is_jax(x):
        import jax

        return jax.lax.stop_gradient(x)
    return x

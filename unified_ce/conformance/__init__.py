"""The conformance suite: golden data recorded from the real frameworks, and a checker for any implementation.

The golden cases of each dialect (``unified_ce/conformance/golden/<dialect>.json``) hold inputs,
outputs, gradients and refusals recorded from chainer 7.8.1, mxnet 1.9.1, paddlepaddle 3.3.1,
torch and brainpy by the scripts in ``tools/golden/``.  :func:`check` replays them against any
implementation, fed arrays of any supported library::

    >>> from unified_ce.conformance import check
    >>> print(check("torch", api="CrossEntropyLoss").summary_line())  # doctest: +ELLIPSIS
    torch    numpy             values .../...  gradients .../...  errors .../...  ok

From the command line: ``python -m unified_ce conformance --dialect torch --impl
torch.nn:CrossEntropyLoss [--json]`` (the array library follows the implementation: torch tensors
here).  Exit status 0 passed, 1 failed, 2 usage error.
"""

from __future__ import annotations

from ._arrays import LIBRARIES, available
from ._format import GOLDEN_DIR, load
from ._runner import CaseResult, Report, check, tolerance
from ._select import UsageError, infer_array, resolve

__all__ = [
    "GOLDEN_DIR",
    "LIBRARIES",
    "CaseResult",
    "Report",
    "UsageError",
    "available",
    "check",
    "infer_array",
    "load",
    "resolve",
    "tolerance",
]

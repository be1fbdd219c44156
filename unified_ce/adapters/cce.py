"""The Cut Cross-Entropy dialect: Apple's ``cut_cross_entropy.linear_cross_entropy`` (25.1.1).

``linear_cross_entropy(e, c, targets, ignore_index=-100, softcap=None, reduction="mean",
shift=False, filter_eps="high", impl="cce")`` is the cross-entropy of the logits ``e @ c.T`` without
materialising them; here it is :func:`unified_ce.linear_cross_entropy`, on arrays of every supported
library (CCE and torch are never imported).  Translation:

=========================  ===================================================================
CCE                        unified_ce
=========================  ===================================================================
``e`` (..., D)             ``hidden``
``c`` (V, D)               ``weight`` (no bias)
``targets`` (...)          ``target``: class indices, ``e``'s shape without the last axis
``ignore_index=-100``      ``ignore_index``
``softcap=None``           ``logit_softcap`` (``softcap * tanh(logits / softcap)``)
``reduction="mean"``       ``reduction``; "mean" divides by the number of non-ignored tokens
                           (``denominator="valid"``), 0/0 = nan
``shift=False``            ``shift``: position ``j`` of ``e`` predicts ``targets[..., j + 1]``;
                           "none" returns the time axis one shorter
``filter_eps="high"``      validated, no effect (CCE's kernel skips gradient blocks whose softmax is
                           below it: an approximation; unified_ce's gradient is exact)
``impl``                   "cce" or "torch_compile" (or ``LinearCrossEntropyImpl``): validated,
                           same result
=========================  ===================================================================

Deliberate differences (``docs/dialects/cce.md``): half-precision and float64 inputs (CCE computes
in float32 and returns float32; unified_ce returns the inputs' dtype, computed in float32 for half
precision and float64 for float64); a label out of range raises (CCE's kernel reads out of bounds).
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from .. import linear as _linear
from .._errors import InvalidArgumentError
from .._spec import CrossEntropySpec
from .._typing import Array

__all__ = ["LinearCrossEntropy", "LinearCrossEntropyImpl", "linear_cross_entropy"]

IGNORE_INDEX = -100

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "-1 of the logits e @ c.T (never materialised)",
    "target kinds": "int indices of e's shape without the last axis (shift=True: targets[..., 1:])",
    "ignore label": "ignore_index=-100",
    "label smoothing": "no",
    "class weight enters": "no class weights",
    "mean divides by": "number of non-ignored tokens",
    "all ignored (mean)": "nan (0/0)",
    "output shape": "scalar, or targets' shape for reduction='none' (time axis one shorter with shift=True)",
    "per-sample weights": "no",
    "log-prob input": "no (logits e @ c.T, optionally soft-capped: softcap * tanh(logits / softcap))",
    "probability input": "no",
}


#: CCE's reduction, ``filter_eps`` and ``impl`` names: what type checkers accept (checked at run time)
Reduction = Literal["mean", "sum", "none"]
FilterEps = Literal["auto", "high"]
ImplName = Literal["cce", "torch_compile"]


class LinearCrossEntropyImpl(enum.IntEnum):
    """CCE's choice of implementation (both give the same numbers here)."""

    CCE = enum.auto()
    TORCH_COMPILE = enum.auto()


class ShapeAssertionError(InvalidArgumentError, AssertionError):
    """CCE asserts the shapes (``AssertionError``)."""


class UnknownEpsError(InvalidArgumentError, RuntimeError):
    """CCE raises ``RuntimeError("Unknown eps ...")`` for a ``filter_eps`` it does not know."""


class UnknownImplError(InvalidArgumentError, NotImplementedError):
    """CCE raises ``NotImplementedError("<impl> is not implemented.")``."""


def _impl_name(impl: Any) -> str:
    name = impl.name.lower() if isinstance(impl, LinearCrossEntropyImpl) else impl
    if name not in ("cce", "torch_compile"):
        raise UnknownImplError(f"{name} is not implemented. (impl must be 'cce' or 'torch_compile')")
    return str(name)


def _check_filter_eps(filter_eps: Any) -> None:
    if filter_eps is None or filter_eps in ("auto", "high"):
        return
    if isinstance(filter_eps, float):
        return
    raise UnknownEpsError(f"Unknown eps {filter_eps} (filter_eps must be a float, 'auto', 'high' or None)")


def linear_cross_entropy(
    e: Array,
    c: Any,
    targets: Any,
    ignore_index: int = IGNORE_INDEX,
    softcap: float | None = None,
    reduction: Reduction = "mean",
    shift: bool = False,
    filter_eps: float | FilterEps | None = "high",
    impl: ImplName | LinearCrossEntropyImpl = "cce",
) -> Array:
    """``cut_cross_entropy.linear_cross_entropy``: the cross-entropy of ``e @ c.T`` against ``targets``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.cce import linear_cross_entropy
    >>> e = np.array([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]])
    >>> c = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> linear_cross_entropy(e, c, np.array([[0, 1, -100]]), reduction="none").round(4)
    array([[0.5514, 0.5514, 0.    ]])
    >>> linear_cross_entropy(e, c, np.array([[0, 1, 2]]), shift=True, reduction="none").round(4)
    array([[1.5514, 1.5514]])
    """
    name = _impl_name(impl)
    if name == "cce":
        _check_filter_eps(filter_eps)
    if tuple(e.shape[:-1]) != tuple(targets.shape):
        raise ShapeAssertionError(
            f"targets must have e's shape without the last axis, {tuple(e.shape[:-1])}; got {tuple(targets.shape)}"
        )
    if c.ndim != 2 or e.shape[-1] != c.shape[1]:
        raise ShapeAssertionError(
            f"c must have shape (V, D) with D = e.shape[-1] = {e.shape[-1]}; got {tuple(c.shape)}"
        )
    if reduction not in ("mean", "sum", "none"):
        raise InvalidArgumentError(f"{reduction} is not a valid value for reduction (expected 'mean', 'sum' or 'none')")
    spec = _spec(ignore_index, reduction)
    return _linear.linear_cross_entropy(e, c, targets, spec=spec, logit_softcap=softcap, shift=bool(shift))  # type: ignore[no-any-return]


def _spec(ignore_index: int, reduction: str) -> CrossEntropySpec:
    return CrossEntropySpec(ignore_index=ignore_index, reduction=reduction, denominator="valid")  # type: ignore[arg-type]


class LinearCrossEntropy:
    """``cut_cross_entropy.LinearCrossEntropy``: the module form of :func:`linear_cross_entropy`.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.cce import LinearCrossEntropy
    >>> loss = LinearCrossEntropy(reduction="sum")
    >>> float(loss(np.zeros((2, 3)), np.zeros((4, 3)), np.array([0, 3])).round(4))
    2.7726
    """

    def __init__(
        self,
        ignore_index: int = IGNORE_INDEX,
        softcap: float | None = None,
        reduction: Reduction = "mean",
        filter_eps: float | FilterEps | None = "high",
        shift: bool = False,
        impl: ImplName | LinearCrossEntropyImpl = "cce",
    ) -> None:
        self.ignore_index = ignore_index
        self.softcap = softcap
        self.reduction = reduction
        self.filter_eps = filter_eps
        self.shift = shift
        self.impl = impl

    def forward(self, e: Array, c: Any, targets: Any) -> Array:
        return linear_cross_entropy(
            e,
            c,
            targets,
            self.ignore_index,
            self.softcap,
            reduction=self.reduction,
            filter_eps=self.filter_eps,
            shift=self.shift,
            impl=self.impl,
        )

    __call__ = forward

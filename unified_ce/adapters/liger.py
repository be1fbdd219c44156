"""The Liger-Kernel dialect: ``LigerCrossEntropyLoss``, ``liger_cross_entropy``, ``LigerFusedLinearCrossEntropyLoss``.

Emulates linkedin/Liger-Kernel v0.8.2 (``liger_kernel/transformers/cross_entropy.py``,
``functional.py``, ``fused_linear_cross_entropy.py`` and the kernel ``ops/cross_entropy.py``) on
arrays of every supported library; Liger, Triton and torch are never imported.  Translation:

==========================  ==================================================================
Liger                       :class:`~unified_ce.CrossEntropySpec`
==========================  ==================================================================
``_input`` (BT, V)          logits, class axis -1 (2-D only)
``weight`` / ``ce_weight``  ``class_weight`` (per class, as PyTorch)
``ignore_index=-100``       ``ignore_index``
``lse_square_scale=0.0``    ``z_loss`` (``lse_square_scale * lse**2`` added per token)
``label_smoothing=0.0``     ``label_smoothing`` (PyTorch's formula)
``reduction="mean"``        ``reduction``; "mean" divides by the sum of ``weight[target]`` over the
                            non-ignored tokens (their count without weights):
                            ``denominator="label_weight"``; all ignored gives 0
                            (``zero_denominator="zero"``: the kernel stores nothing for them)
``softcap=None``            ``logit_softcap`` (``softcap * tanh(x / softcap)``, before everything)
``return_z_loss=False``     ``CrossEntropyOutput(loss, z_loss)`` with the z-loss part reduced like
                            the loss (:func:`unified_ce.cross_entropy_aux`; no gradient)
==========================  ==================================================================

Not supported (raise ``InvalidArgumentError``): ``return_token_accuracy``,
``return_predicted_tokens``, ``accum_dtype``, ``use_token_scaling``, and class weights with
``lse_square_scale > 0`` and ``reduction="mean"`` (Liger divides the cross-entropy by the sum of the
weights but the z-loss by the token count; a TODO in its kernel).  See ``docs/dialects/liger.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar, overload

from .. import linear as _linear
from .._aux import cross_entropy_aux
from .._errors import FrameworkErrors, InvalidArgumentError, LabelOutOfRangeError, with_framework_type
from .._spec import CrossEntropySpec
from ._base import Array, Call, DialectLoss, loss_value_and_grad

__all__ = [
    "CrossEntropyOutput",
    "LigerCrossEntropyLoss",
    "LigerFusedLinearCrossEntropyLoss",
    "liger_cross_entropy",
    "liger_fused_linear_cross_entropy",
]

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "-1 of (BT, V) logits (2-D only)",
    "target kinds": "int indices (BT,)",
    "ignore label": "ignore_index=-100",
    "label smoothing": "yes: (1-eps) q + eps/V (PyTorch's)",
    "class weight enters": "per class: sum_c w_c q_c (-log p_c) (as PyTorch)",
    "mean divides by": "sum of weight[label] over non-ignored tokens (count without weight); "
    "z-loss by the count of non-ignored tokens",
    "all ignored (mean)": "0 (the kernel stores nothing for ignored rows)",
    "output shape": "scalar, or (BT,) for reduction='none'; CrossEntropyOutput with return_z_loss",
    "per-sample weights": "no",
    "log-prob input": "no; softcap (tanh capping) and lse_square_scale (z-loss) on the logits",
    "probability input": "no",
}

#: The built-in exception class Liger raises for each error: its asserts (``AssertionError``).
FRAMEWORK_ERRORS = FrameworkErrors((LabelOutOfRangeError, "", AssertionError))

#: Liger's reduction names: what type checkers accept (checked at run time by ``_check_init``)
Reduction = Literal["mean", "sum", "none"]

_AssertionOutOfRange = with_framework_type(LabelOutOfRangeError, AssertionError)
_AssertionArgument = with_framework_type(InvalidArgumentError, AssertionError)


#: the array type of a :class:`CrossEntropyOutput`
A = TypeVar("A")

#: ``return_z_loss`` of a loss object (``Literal[True]`` / ``Literal[False]``): type checkers see
#: ``loss(x, t)`` as an array of ``x``'s type, or a ``CrossEntropyOutput`` of them with ``return_z_loss=True``
ZLoss = TypeVar("ZLoss", bound=bool)


@dataclass
class CrossEntropyOutput(Generic[A]):
    """Liger's ``CrossEntropyOutput`` (what the losses return when ``return_z_loss=True``);
    ``CrossEntropyOutput[X]``: its arrays are of type ``X``, the logits' type."""

    loss: A
    z_loss: A | None = None
    token_accuracy: Any = None
    predicted_tokens: Any = None


def _check_init(label_smoothing: float, reduction: str, softcap: float | None) -> None:
    """The constructor's asserts (``AssertionError``, also an ``InvalidArgumentError``)."""
    if not 0 <= label_smoothing <= 1:
        raise _AssertionArgument(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if reduction not in ("mean", "sum", "none"):
        raise _AssertionArgument(f"reduction must be one of 'mean', 'sum', or 'none'. Got: {reduction}")
    if softcap is not None and not softcap > 0:
        raise _AssertionArgument(f"softcap must greater than 0.0 or None. Got: {softcap}")


def _unsupported(**flags: Any) -> None:
    for name, value in flags.items():
        if value:
            raise InvalidArgumentError(f"{name}={value!r} is not supported by the liger dialect")


def _spec(
    ignore_index: int,
    lse_square_scale: float,
    label_smoothing: float,
    reduction: str,
    softcap: float | None,
    weighted: bool,
) -> CrossEntropySpec:
    if weighted and lse_square_scale and reduction == "mean":
        raise InvalidArgumentError(
            "weight with lse_square_scale > 0 and reduction='mean' is not supported: Liger divides the "
            "cross-entropy by the sum of weight[target] but the z-loss by the token count"
        )
    return CrossEntropySpec(
        axis=-1,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,  # type: ignore[arg-type]
        denominator="label_weight",
        zero_denominator="zero",
        z_loss=lse_square_scale,
        logit_softcap=softcap,
    )


def _call(spec: CrossEntropySpec, x: Array, target: Any, weight: Any) -> Call[Array]:
    if getattr(x, "ndim", None) != 2:
        raise InvalidArgumentError(f"_input must have shape (BT, V); got shape {tuple(getattr(x, 'shape', ()))}")
    return Call(spec, x, target, class_weight=weight, names=(("logits", "_input"), ("class_weight", "weight")))


def _with_z_loss(loss: A, spec: CrossEntropySpec, x: Any, target: Any, weight: Any) -> CrossEntropyOutput[A]:
    return CrossEntropyOutput(loss=loss, z_loss=cross_entropy_aux(x, target, spec, class_weight=weight).z_loss)


class LigerCrossEntropyLoss(DialectLoss, Generic[ZLoss]):
    """``liger_kernel.transformers.LigerCrossEntropyLoss`` (v0.8.2).

    ``loss.value_and_grad(_input, target, grad_output=None)`` gives the loss and its gradient with
    respect to ``_input`` on libraries without autodiff (the loss only, also with ``return_z_loss``).
    Type checkers see ``loss(x, t)`` as ``X`` for ``x`` of array type ``X``, and as
    ``CrossEntropyOutput[X]`` for a loss made with ``return_z_loss=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.liger import LigerCrossEntropyLoss
    >>> x, t = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), np.array([0, -100])
    >>> float(LigerCrossEntropyLoss(lse_square_scale=0.1)(x, t).round(4))
    0.7411
    >>> out = LigerCrossEntropyLoss(lse_square_scale=0.1, return_z_loss=True)(x, t)
    >>> float(out.z_loss.round(4))
    0.5016
    """

    @overload
    def __init__(
        self: LigerCrossEntropyLoss[Literal[False]],
        weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        return_z_loss: Literal[False] = False,
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self: LigerCrossEntropyLoss[Literal[True]],
        weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        *,
        return_z_loss: Literal[True],
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self: LigerCrossEntropyLoss[bool],
        weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        return_z_loss: bool = False,
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None: ...
    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        return_z_loss: bool = False,
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None:
        _check_init(label_smoothing, reduction, softcap)
        _unsupported(return_token_accuracy=return_token_accuracy, return_predicted_tokens=return_predicted_tokens)
        self.weight = weight
        self.ignore_index = ignore_index
        self.lse_square_scale = lse_square_scale
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.softcap = softcap
        self.return_z_loss = return_z_loss

    def _spec(self) -> CrossEntropySpec:
        return _spec(
            self.ignore_index,
            self.lse_square_scale,
            self.label_smoothing,
            self.reduction,
            self.softcap,
            self.weight is not None,
        )

    def _translate(self, _input: Array, target: Any) -> Call[Array]:
        return _call(self._spec(), _input, target, self.weight)

    @overload
    def __call__(self: LigerCrossEntropyLoss[Literal[False]], _input: Array, target: Any) -> Array: ...
    @overload
    def __call__(
        self: LigerCrossEntropyLoss[Literal[True]], _input: Array, target: Any
    ) -> CrossEntropyOutput[Array]: ...
    @overload
    def __call__(self, _input: Array, target: Any) -> Array | CrossEntropyOutput[Array]: ...
    def __call__(self, _input: Array, target: Any) -> Array | CrossEntropyOutput[Array]:
        loss = self._evaluate(_input, target)
        return _with_z_loss(loss, self._spec(), _input, target, self.weight) if self.return_z_loss else loss

    forward = __call__
    value_and_grad = loss_value_and_grad(_translate)


@overload
def liger_cross_entropy(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    return_z_loss: Literal[False] = False,
    return_token_accuracy: bool = False,
    return_predicted_tokens: bool = False,
) -> Array: ...
@overload
def liger_cross_entropy(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    *,
    return_z_loss: Literal[True],
    return_token_accuracy: bool = False,
    return_predicted_tokens: bool = False,
) -> CrossEntropyOutput[Array]: ...
@overload
def liger_cross_entropy(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    return_z_loss: bool = False,
    return_token_accuracy: bool = False,
    return_predicted_tokens: bool = False,
) -> Array | CrossEntropyOutput[Array]: ...
def liger_cross_entropy(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    lse_square_scale: float = 0.0,
    softcap: float | None = None,
    return_z_loss: bool = False,
    return_token_accuracy: bool = False,
    return_predicted_tokens: bool = False,
) -> Array | CrossEntropyOutput[Array]:
    """``liger_kernel.transformers.functional.liger_cross_entropy`` (``size_average`` and ``reduce`` are
    placeholders there and here)."""
    _unsupported(return_token_accuracy=return_token_accuracy, return_predicted_tokens=return_predicted_tokens)
    loss = LigerCrossEntropyLoss(
        weight, ignore_index, lse_square_scale, label_smoothing, reduction, softcap, return_z_loss
    )
    return loss(input, target)


class LigerFusedLinearCrossEntropyLoss(Generic[ZLoss]):
    """``liger_kernel.transformers.LigerFusedLinearCrossEntropyLoss``: ``forward(lin_weight, _input, target, bias)``.

    The loss of ``_input @ lin_weight.T + bias`` without the logits (:func:`unified_ce.linear_cross_entropy`);
    type checkers see it as an array of ``_input``'s type (``CrossEntropyOutput`` of them with
    ``return_z_loss=True``).
    """

    @overload
    def __init__(
        self: LigerFusedLinearCrossEntropyLoss[Literal[False]],
        ce_weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        return_z_loss: Literal[False] = False,
        accum_dtype: Any = None,
        use_token_scaling: bool = False,
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self: LigerFusedLinearCrossEntropyLoss[Literal[True]],
        ce_weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        *,
        return_z_loss: Literal[True],
        accum_dtype: Any = None,
        use_token_scaling: bool = False,
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None: ...
    @overload
    def __init__(
        self: LigerFusedLinearCrossEntropyLoss[bool],
        ce_weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        return_z_loss: bool = False,
        accum_dtype: Any = None,
        use_token_scaling: bool = False,
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None: ...
    def __init__(
        self,
        ce_weight: Any = None,
        ignore_index: int = -100,
        lse_square_scale: float = 0.0,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        softcap: float | None = None,
        return_z_loss: bool = False,
        accum_dtype: Any = None,
        use_token_scaling: bool = False,
        return_token_accuracy: bool = False,
        return_predicted_tokens: bool = False,
    ) -> None:
        _check_init(label_smoothing, reduction, softcap)
        _unsupported(
            accum_dtype=accum_dtype,
            use_token_scaling=use_token_scaling,
            return_token_accuracy=return_token_accuracy,
            return_predicted_tokens=return_predicted_tokens,
        )
        self.ce_weight = ce_weight
        self.ignore_index = ignore_index
        self.lse_square_scale = lse_square_scale
        self.label_smoothing = label_smoothing
        self.reduction = reduction
        self.softcap = softcap
        self.return_z_loss = return_z_loss

    @overload
    def forward(
        self: LigerFusedLinearCrossEntropyLoss[Literal[False]],
        lin_weight: Any,
        _input: Array,
        target: Any,
        bias: Any = None,
    ) -> Array: ...
    @overload
    def forward(
        self: LigerFusedLinearCrossEntropyLoss[Literal[True]],
        lin_weight: Any,
        _input: Array,
        target: Any,
        bias: Any = None,
    ) -> CrossEntropyOutput[Array]: ...
    @overload
    def forward(
        self, lin_weight: Any, _input: Array, target: Any, bias: Any = None
    ) -> Array | CrossEntropyOutput[Array]: ...
    def forward(
        self, lin_weight: Any, _input: Array, target: Any, bias: Any = None
    ) -> Array | CrossEntropyOutput[Array]:
        return liger_fused_linear_cross_entropy(
            _input,
            lin_weight,
            target,
            bias,
            self.ce_weight,
            self.ignore_index,
            self.lse_square_scale,
            self.label_smoothing,
            self.reduction,
            self.softcap,
            self.return_z_loss,
        )

    __call__ = forward


@overload
def liger_fused_linear_cross_entropy(
    input: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    ce_weight: Any = None,
    ignore_index: int = -100,
    lse_square_scale: float = 0.0,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    softcap: float | None = None,
    return_z_loss: Literal[False] = False,
) -> Array: ...
@overload
def liger_fused_linear_cross_entropy(
    input: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    ce_weight: Any = None,
    ignore_index: int = -100,
    lse_square_scale: float = 0.0,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    softcap: float | None = None,
    *,
    return_z_loss: Literal[True],
) -> CrossEntropyOutput[Array]: ...
@overload
def liger_fused_linear_cross_entropy(
    input: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    ce_weight: Any = None,
    ignore_index: int = -100,
    lse_square_scale: float = 0.0,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    softcap: float | None = None,
    return_z_loss: bool = False,
) -> Array | CrossEntropyOutput[Array]: ...
def liger_fused_linear_cross_entropy(
    input: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    ce_weight: Any = None,
    ignore_index: int = -100,
    lse_square_scale: float = 0.0,
    label_smoothing: float = 0.0,
    reduction: Reduction = "mean",
    softcap: float | None = None,
    return_z_loss: bool = False,
) -> Array | CrossEntropyOutput[Array]:
    """``liger_kernel.transformers.functional.liger_fused_linear_cross_entropy`` (its first arguments)."""
    _check_init(label_smoothing, reduction, softcap)
    spec = _spec(ignore_index, lse_square_scale, label_smoothing, reduction, softcap, ce_weight is not None)
    try:
        out: Any = _linear.linear_cross_entropy(
            input, weight, target, bias, spec=spec, class_weight=ce_weight, return_aux=return_z_loss
        )
    except LabelOutOfRangeError as exc:
        raise _AssertionOutOfRange(str(exc)) from None
    if not return_z_loss:
        return out
    return CrossEntropyOutput(loss=out[0], z_loss=out[1].z_loss)

"""The flash-attn dialect: ``flash_attn.losses.cross_entropy.CrossEntropyLoss``.

Emulates Dao-AILab/flash-attention's cross-entropy (``flash_attn/losses/cross_entropy.py`` and the
Triton kernel ``flash_attn/ops/triton/cross_entropy.py``, main at 0251105a) on arrays of every
supported library and device (flash-attn itself asserts CUDA tensors); flash-attn, Triton and torch
are never imported.  Translation:

==========================  ==================================================================
flash-attn                  :class:`~unified_ce.CrossEntropySpec`
==========================  ==================================================================
``input`` (batch, vocab)    logits, class axis -1 (2-D only)
``ignore_index=-100``       ``ignore_index``
``reduction="mean"``        ``reduction``; "mean" divides by the number of non-ignored rows
                            (``denominator="valid"``, 0/0 = nan)
``label_smoothing=0.0``     ``label_smoothing`` (``(1-eps) q + eps/V``)
``logit_scale=1.0``         ``logit_scale`` (the logits times it, before everything)
``lse_square_scale=0.0``    ``z_loss``
``inplace_backward``        no effect (memory only; unified_ce never writes into the caller's logits)
``process_group=None``      ``None`` only (tensor-parallel vocabulary: use
                            :class:`unified_ce.distributed.ClassShard`)
``return_z_loss=False``     ``(loss, z_loss)``, the z-loss part reduced like the loss, no gradient
``precomputed_lse``         accepted; not read (the log-sum-exp is computed again, the same value)
==========================  ==================================================================

Deliberate differences (``docs/dialects/flash_attn.md``): a label outside ``[0, V)`` that is not
``ignore_index`` raises (flash-attn's kernel silently drops its cross-entropy term and keeps the
smoothing term); half-precision inputs give a loss of their dtype (flash-attn returns float32).
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar, overload

from .._aux import cross_entropy_aux
from .._errors import InvalidArgumentError, with_framework_type
from .._spec import CrossEntropySpec
from ._base import Array, Call, DialectLoss, loss_value_and_grad

__all__ = ["CrossEntropyLoss"]

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "-1 of (batch, vocab) logits (2-D only)",
    "target kinds": "int indices (batch,)",
    "ignore label": "ignore_index=-100",
    "label smoothing": "yes: (1-eps) q + eps/V",
    "class weight enters": "no class weights",
    "mean divides by": "number of non-ignored rows",
    "all ignored (mean)": "nan (0/0)",
    "output shape": "scalar, or (batch,) for reduction='none'; (loss, z_loss) with return_z_loss",
    "per-sample weights": "no",
    "log-prob input": "no; logit_scale and lse_square_scale (z-loss) on the logits",
    "probability input": "no",
}

#: flash-attn's reduction names: what type checkers accept (checked at run time by the constructor)
Reduction = Literal["mean", "none", "sum"]

_NotImplemented = with_framework_type(InvalidArgumentError, NotImplementedError)
_Assertion = with_framework_type(InvalidArgumentError, AssertionError)


#: ``return_z_loss`` of a :class:`CrossEntropyLoss` (``Literal[True]`` / ``Literal[False]``): type
#: checkers see ``loss(x, t)`` as an array of ``x``'s type, or a pair of them with ``return_z_loss=True``
ZLoss = TypeVar("ZLoss", bound=bool)


class CrossEntropyLoss(DialectLoss, Generic[ZLoss]):
    """``flash_attn.losses.cross_entropy.CrossEntropyLoss``.

    ``loss.value_and_grad(input, target, grad_output=None)`` gives the loss and its gradient with
    respect to ``input`` on libraries without autodiff (the loss only, also with ``return_z_loss``).
    Type checkers see ``CrossEntropyLoss(return_z_loss=True)(x, t)`` as ``tuple[X, X]`` and
    ``CrossEntropyLoss()(x, t)`` as ``X``, for ``x`` of array type ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.flash_attn import CrossEntropyLoss
    >>> x, t = np.array([[2.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), np.array([0, -100])
    >>> loss, z = CrossEntropyLoss(logit_scale=0.5, lse_square_scale=0.1, return_z_loss=True)(x, t)
    >>> float(loss.round(4)), float(z.round(4))
    (0.7921, 0.2407)
    """

    @overload
    def __init__(
        self: CrossEntropyLoss[Literal[False]],
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
        logit_scale: float = 1.0,
        lse_square_scale: float = 0.0,
        inplace_backward: bool = False,
        process_group: Any = None,
        return_z_loss: Literal[False] = False,
    ) -> None: ...
    @overload
    def __init__(
        self: CrossEntropyLoss[Literal[True]],
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
        logit_scale: float = 1.0,
        lse_square_scale: float = 0.0,
        inplace_backward: bool = False,
        process_group: Any = None,
        *,
        return_z_loss: Literal[True],
    ) -> None: ...
    @overload
    def __init__(
        self: CrossEntropyLoss[bool],
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
        logit_scale: float = 1.0,
        lse_square_scale: float = 0.0,
        inplace_backward: bool = False,
        process_group: Any = None,
        return_z_loss: bool = False,
    ) -> None: ...
    def __init__(
        self,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
        logit_scale: float = 1.0,
        lse_square_scale: float = 0.0,
        inplace_backward: bool = False,
        process_group: Any = None,
        return_z_loss: bool = False,
    ) -> None:
        if reduction not in ("mean", "none", "sum"):
            raise _NotImplemented(f"Only support reduction = 'mean' or 'none' or 'sum' (got {reduction!r})")
        if process_group is not None:
            raise InvalidArgumentError(
                "process_group is not supported by the flash_attn dialect; for a vocabulary split over "
                "processes use unified_ce.cross_entropy(..., class_shard=unified_ce.distributed.ClassShard(...))"
            )
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing
        self.logit_scale = logit_scale
        self.lse_square_scale = lse_square_scale
        self.inplace_backward = inplace_backward
        self.process_group = process_group
        self.return_z_loss = return_z_loss

    def _spec(self) -> CrossEntropySpec:
        if not self.logit_scale > 0:
            raise _Assertion(f"logit_scale must be > 0 (flash-attn asserts logit_scale > 0.0); got {self.logit_scale}")
        return CrossEntropySpec(
            axis=-1,
            ignore_index=self.ignore_index,
            reduction=self.reduction,  # type: ignore[arg-type]
            label_smoothing=self.label_smoothing,
            denominator="valid",
            logit_scale=self.logit_scale,
            z_loss=self.lse_square_scale,
        )

    def _translate(self, input: Array, target: Any, precomputed_lse: Any = None) -> Call[Array]:
        if getattr(input, "ndim", None) != 2:
            raise InvalidArgumentError(
                f"input must have shape (batch, vocab); got {tuple(getattr(input, 'shape', ()))}"
            )
        if tuple(target.shape) != (input.shape[0],):
            raise _Assertion(f"target must have shape (batch,) = ({input.shape[0]},); got {tuple(target.shape)}")
        return Call(self._spec(), input, target, names=(("logits", "input"),))

    @overload
    def __call__(
        self: CrossEntropyLoss[Literal[False]], input: Array, target: Any, precomputed_lse: Any = None
    ) -> Array: ...
    @overload
    def __call__(
        self: CrossEntropyLoss[Literal[True]], input: Array, target: Any, precomputed_lse: Any = None
    ) -> tuple[Array, Array]: ...
    @overload
    def __call__(self, input: Array, target: Any, precomputed_lse: Any = None) -> Array | tuple[Array, Array]: ...
    def __call__(self, input: Array, target: Any, precomputed_lse: Any = None) -> Array | tuple[Array, Array]:
        loss = self._evaluate(input, target, precomputed_lse)
        if not self.return_z_loss:
            return loss
        return loss, cross_entropy_aux(input, target, self._spec()).z_loss

    forward = __call__
    value_and_grad = loss_value_and_grad(_translate)

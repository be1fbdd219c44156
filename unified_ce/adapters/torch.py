"""The PyTorch dialect: ``torch.nn.CrossEntropyLoss`` / ``torch.nn.functional.cross_entropy``,
``torch.nn.NLLLoss`` / ``torch.nn.functional.nll_loss`` and ``torch.nn.BCEWithLogitsLoss`` /
``torch.nn.functional.binary_cross_entropy_with_logits`` and ``torch.nn.BCELoss`` /
``torch.nn.functional.binary_cross_entropy``.

Works on arrays of every supported library, not only torch tensors.  Translation to the spec:

========================  =================================================================
PyTorch                   :class:`~unified_ce.CrossEntropySpec`
========================  =================================================================
class axis                ``axis=1`` (``axis=0`` for unbatched ``(C,)`` input)
target kind               probabilities iff ``target.shape == input.shape``, else indices
``weight``                ``class_weight``, ``weighting="per_class"``
``ignore_index``          ``ignore_index`` (index targets only)
``label_smoothing``       ``label_smoothing`` (``(1-eps) q + eps/C``)
``reduction='mean'``      index targets: ``denominator="label_weight"`` (sum of ``weight[y]``
                          over non-ignored items); probabilities:
                          ``denominator="logits_per_class"`` (the item count; nan with C = 0);
                          ``zero_denominator="nan"`` (every label ignored gives nan)
``size_average/reduce``   the legacy pair, mapped as PyTorch's ``_Reduction.legacy_get_string``
``nll_loss`` input        ``inputs="log_probs"`` (the scores are used as they are: ``-input[y]``);
                          index targets only, no label smoothing; otherwise as ``cross_entropy``
``..._with_logits``       ``activation="sigmoid"``, ``target="probs"`` (the input's shape);
                          ``weight`` (broadcast to the input) is the ``sample_weight``,
                          ``pos_weight`` the (sigmoid) ``class_weight``; ``'mean'`` divides
                          by the number of elements (``denominator="items"``)
``binary_cross_entropy``  as ``..._with_logits`` with ``inputs="probs"``: each log clamped at
                          -100 (``min_log``), PyTorch's backward
                          ``(p - y) / max(p (1 - p), 1e-12)`` (``probs_grad_floor``), input and
                          target outside [0, 1] refused (``probs_in_range``)
========================  =================================================================

Deliberate differences from PyTorch (documented in ``docs/dialects/torch.md``):

* class-index targets of any integer dtype are accepted (PyTorch wants int64; JAX without x64
  has no int64), and a label outside ``[0, C)`` that is not ``ignore_index`` raises
  :class:`~unified_ce.LabelOutOfRangeError` on every device (PyTorch raises on CPU and asserts
  on CUDA).
"""

from __future__ import annotations

import warnings
from typing import Any, Literal, get_args

from .._backend import is_floating, is_integer, namespace_of
from .._errors import (
    FrameworkErrors,
    InvalidArgumentError,
    InvalidTypeError,
    LabelOutOfRangeError,
    with_framework_type,
)
from .._scalars import as_int
from .._spec import CrossEntropySpec
from ._base import Array, Call, DialectLoss, check_choice, dialect_function, loss_call, loss_value_and_grad, spec_cache

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
]

#: PyTorch's reduction names: what type checkers accept, and what is checked at run time
Reduction = Literal["none", "mean", "sum"]
_REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)

#: The exception class PyTorch raises for each error (``except RuntimeError`` around a loss keeps
#: catching): ``RuntimeError`` for shapes, dtypes and option values, ``NotImplementedError`` for
#: non-floating input (``log_softmax`` "not implemented for 'Long'"), ``IndexError`` for labels out
#: of range, ``ValueError`` for a reduction name and a batch-size mismatch, ``TypeError`` for
#: arguments of the wrong Python type.
FRAMEWORK_ERRORS = FrameworkErrors(
    (LabelOutOfRangeError, "", IndexError),
    (InvalidTypeError, r"^input must be a floating-point array", NotImplementedError),
    # zero classes with class indices: no label fits ("Target 0 is out of bounds")
    (InvalidArgumentError, r"^input must have at least one class", IndexError),
    (InvalidTypeError, r"^(input|target|weight)\b.*dtype", RuntimeError),
    (InvalidArgumentError, r"^(input|target|weight|label_smoothing|ignore_index)\b", RuntimeError),
    (InvalidArgumentError, r"^all arrays must be on one device", RuntimeError),
    (InvalidArgumentError, r"^pos_weight\b", RuntimeError),
    (InvalidTypeError, r"^pos_weight\b", RuntimeError),
)
#: PyTorch's ``TORCH_CHECK_VALUE``: the batch sizes of input and class-index target differ
_BatchSizeError = with_framework_type(InvalidArgumentError, ValueError)
#: While torch is imported, every loss class here is also a ``torch.nn.Module`` whose tensor
#: attributes of these names are registered buffers, as in PyTorch (see ``adapters/_modules.py``).
MODULE_CLASS = "torch"
MODULE_BUFFERS = ("weight", "pos_weight")
_NAMES = (("logits", "input"), ("class_weight", "weight"))

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "1 (0 for unbatched (C,) input)",
    "target kinds": "int indices, or probabilities of the input's shape",
    "ignore label": "ignore_index=-100 (indices only)",
    "label smoothing": "yes: (1-eps) q + eps/C",
    "class weight enters": "per class: sum_c w_c q_c (-log p_c)",
    "mean divides by": "sum of weight[label] over non-ignored items (indices); item count (probabilities)",
    "all ignored (mean)": "nan (0/0)",
    "output shape": "scalar, or target's shape for reduction='none'",
    "per-sample weights": "no",
    "log-prob input": "NLLLoss / nll_loss (index targets, weight, ignore_index; no smoothing)",
    "probability input": "BCELoss / binary_cross_entropy: each log clamped at -100; gradient "
    "(p - y) / max(p (1 - p), 1e-12); input and target outside [0, 1] raise",
}


#: Golden cases this dialect does not reproduce yet, with the reason.
GOLDEN_PENDING: dict[str, str] = {}

#: Golden cases (``unified_ce/conformance/golden/torch.json``) where PyTorch raises but this dialect
#: deliberately accepts the input, with the reason.
GOLDEN_DEVIATIONS = {
    **{
        f"{api}/labels-{dt}": "class indices of any integer dtype are accepted (PyTorch: int64 or uint8 only; "
        "JAX without x64 has no int64)"
        for api in ("cross_entropy", "CrossEntropyLoss")
        for dt in ("int32", "int16", "int8")
    },
    "cross_entropy/labels-int32-ignore1-weight": "class indices of any integer dtype are accepted",
    **{
        f"nll_loss/labels-{dt}": "class indices of any integer dtype are accepted (PyTorch: int64 or uint8 only)"
        for dt in ("int32",)
    },
    "cross_entropy/weight_dtype_mismatch": "a class weight of another floating dtype is cast to the input's "
    "dtype (PyTorch requires the same dtype)",
}


def legacy_reduction(size_average: bool | None, reduce: bool | None) -> Reduction:
    """PyTorch's ``_Reduction.legacy_get_string``: the reduction named by the deprecated pair."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


@spec_cache(512)
def _spec(ndim: int, probs: bool, ignore_index: int, reduction: Reduction, label_smoothing: float) -> CrossEntropySpec:
    return CrossEntropySpec(
        axis=1 if ndim >= 2 else 0,
        target="probs" if probs else "index",
        ignore_index=None if probs else ignore_index,
        label_smoothing=label_smoothing,
        reduction=reduction,  # type: ignore[arg-type]
        # probabilities: PyTorch divides by input.numel() / C, the item count, and nan with zero classes
        denominator="logits_per_class" if probs else "label_weight",
        zero_denominator="nan",
        probs_nonnegative=False,  # PyTorch computes the loss of any real target (its tests use log-probabilities)
    )


def _warn_legacy(size_average: bool | None, reduce: bool | None, reduction: Reduction, stacklevel: int) -> Reduction:
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce)
        warnings.warn(
            f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return reduction


def _reduction(reduction: Reduction, stacklevel: int = 4) -> Reduction:
    """``reduction`` checked; PyTorch's deprecated ``"elementwise_mean"`` is ``"mean"`` with its warning.

    PyTorch 2.x (``torch.nn._reduction.get_enum``) still accepts ``"elementwise_mean"`` on every loss,
    warns ``UserWarning`` and means ``"mean"``; type checkers are told only the current names.
    """
    if reduction == "elementwise_mean":
        warnings.warn(
            "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead.",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        return "mean"
    check_choice("reduction", reduction, _REDUCTIONS)
    return reduction


def _translate(
    input: Any,
    target: Any,
    weight: Any,
    size_average: bool | None,
    ignore_index: int,
    reduce: bool | None,
    reduction: Reduction,
    label_smoothing: float,
) -> Call:
    if size_average is not None or reduce is not None:
        reduction = _warn_legacy(size_average, reduce, reduction, 4)
    reduction = _reduction(reduction)
    xp = namespace_of({"input": input, "target": target})
    ndim = input.ndim
    if ndim < 1:
        raise InvalidArgumentError("input must have shape (C,), (N, C) or (N, C, d1, ...); got a 0-d array")
    probs = target.ndim == ndim and tuple(target.shape) == tuple(input.shape)
    if probs:
        if not is_floating(xp, target.dtype):
            raise InvalidTypeError(
                "target with the input's shape holds class probabilities and must be floating; "
                f"got dtype {target.dtype}"
            )
    else:
        if not (ndim >= 2 and target.ndim == ndim - 1 and target.shape[0] == input.shape[0]):  # (N, ...): fine
            target = _index_target(input, target, label_smoothing)
        if not is_integer(xp, target.dtype):
            raise InvalidTypeError(
                f"target of class indices must have an integer dtype (int64 in PyTorch); got {target.dtype}"
            )
    if type(ignore_index) is not int and as_int(ignore_index) is None:
        raise InvalidTypeError(f"ignore_index must be an int; got {ignore_index!r}")
    if probs and ignore_index != -100:
        # PyTorch: "ignore_index is not supported for floating point target"
        raise InvalidArgumentError(
            f"ignore_index={ignore_index} is not supported with a probability target (the input's shape); "
            "leave it at -100"
        )
    return Call(_spec(ndim, probs, ignore_index, reduction, label_smoothing), input, target, weight, names=_NAMES)


def _index_target(input: Any, target: Any, label_smoothing: float) -> Any:
    """PyTorch's checks of a class-index target's batch size (``ValueError`` there), and its
    unbatched ``(C,)`` input with a target of shape ``(1,)``: the same as a 0-d target."""
    tshape = tuple(target.shape)
    known = all(isinstance(s, int) for s in (*tshape[:1], *input.shape[:1]))  # Dask: nan for unknown sizes
    if input.ndim >= 2 and known and (not tshape or tshape[0] != input.shape[0]):
        raise _BatchSizeError(
            f"target must have the input's batch size {input.shape[0]} along axis 0 (a target of shape "
            f"{tuple(input.shape[:1] + input.shape[2:])}); got shape {tshape}"
        )
    if input.ndim == 1 and len(tshape) == 1:
        if tshape[0] != 1:
            raise _BatchSizeError(
                f"target of unbatched input (shape (C,)) must have shape () or (1,); got shape {tshape}"
            )
        if label_smoothing:
            # PyTorch: "output with shape [] doesn't match the broadcast shape [1]"
            raise InvalidArgumentError(
                "label_smoothing needs a 0-d target with unbatched input (shape (C,)), as in PyTorch; "
                "got a target of shape (1,)"
            )
        return namespace_of({"target": target}).reshape(target, ())
    return target


@dialect_function
def cross_entropy(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
) -> Call[Array]:
    """``torch.nn.functional.cross_entropy`` on any array library.

    Parameters
    ----------
    input : array
        Logits of shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dK)``.
    target : array
        Class indices of shape ``()``, ``(N,)`` or ``(N, d1, ..., dK)``, or class probabilities of
        the input's shape.
    weight : array, optional
        A weight per class, length ``C``.
    size_average, reduce : bool, optional
        Deprecated; when either is given they override ``reduction`` as in PyTorch.
    ignore_index : int
        Label whose items are ignored (class-index targets only).
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float
        In ``[0, 1]``.

    Returns
    -------
    array
        Scalar, or the target's shape (without the class axis) for ``reduction='none'``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.torch import cross_entropy
    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]])
    >>> print(f"{float(cross_entropy(x, np.array([3, 0]))):.8f}")
    0.44018970
    >>> loss, grad = cross_entropy.value_and_grad(x, np.array([3, 0]), reduction="sum")
    >>> grad.shape
    (2, 4)
    """
    return _translate(input, target, weight, size_average, ignore_index, reduce, reduction, label_smoothing)


class CrossEntropyLoss(DialectLoss):
    """``torch.nn.CrossEntropyLoss`` on any array library.

    While torch is imported, the object also is a ``torch.nn.Module`` (``weight`` a registered
    buffer: in ``state_dict``, moved by ``.to()``; ``train()`` / ``eval()``; hooks), like the real
    module; without torch it is a plain object (importing unified_ce never imports torch).

    Same arguments as :func:`cross_entropy`; call the object as ``loss(input, target)`` (or
    ``loss.forward(input, target)``), or ``loss.value_and_grad(input, target, grad_output=None)``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.torch import CrossEntropyLoss
    >>> loss = CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0]), ignore_index=0)
    >>> x = np.zeros((3, 3)); t = np.array([1, 2, 0])
    >>> print(round(float(loss(x, t)), 6))
    1.098612
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        reduction = _warn_legacy(size_average, reduce, reduction, 2)
        # reduction and label_smoothing are checked at forward, like PyTorch
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def _translate(self, input: Array, target: Any) -> Call[Array]:
        return _translate(
            input, target, self.weight, None, self.ignore_index, None, self.reduction, self.label_smoothing
        )

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def forward(self, input: Array, target: Any) -> Array:
        """Same as calling the object."""
        return self(input, target)

    def __repr__(self) -> str:
        return f"CrossEntropyLoss(ignore_index={self.ignore_index}, reduction={self.reduction!r}, label_smoothing={self.label_smoothing})"


@spec_cache(512)
def _nll_spec(ndim: int, ignore_index: int, reduction: Reduction) -> CrossEntropySpec:
    return CrossEntropySpec(
        axis=1 if ndim >= 2 else 0,
        inputs="log_probs",
        ignore_index=ignore_index,
        reduction=reduction,  # type: ignore[arg-type]
        denominator="label_weight",
        zero_denominator="nan",
    )


def _nll_translate(input: Any, target: Any, weight: Any, ignore_index: int, reduction: Reduction) -> Call:
    reduction = _reduction(reduction)
    xp = namespace_of({"input": input, "target": target})
    if input.ndim < 1:
        raise InvalidArgumentError("input must have shape (C,), (N, C) or (N, C, d1, ...); got a 0-d array")
    if not is_integer(xp, target.dtype):
        raise InvalidTypeError(
            f"target of nll_loss holds class indices and must have an integer dtype (int64 in PyTorch); "
            f"got {target.dtype}"
        )
    target = _index_target(input, target, 0.0)
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, int):
        raise InvalidTypeError(f"ignore_index must be an int; got {ignore_index!r}")
    return Call(_nll_spec(input.ndim, ignore_index, reduction), input, target, class_weight=weight, names=_NAMES)


@dialect_function
def nll_loss(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    ignore_index: int = -100,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Call[Array]:
    """``torch.nn.functional.nll_loss`` on any array library: the negative log-likelihood.

    The loss of an item is ``-weight[y] * input[y]``: ``input`` holds log-probabilities (e.g. from
    ``log_softmax``) and is used as it is, whatever its values.

    Parameters
    ----------
    input : array
        Log-probabilities of shape ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dK)``.
    target : array
        Class indices (integer dtype) of shape ``()``, ``(N,)`` or ``(N, d1, ..., dK)``.
    weight : array, optional
        A weight per class, length ``C``.
    size_average, reduce : bool, optional
        Deprecated; when either is given they override ``reduction`` as in PyTorch.
    ignore_index : int
        Label whose items are ignored.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides by the sum of ``weight[target]`` over non-ignored items (nan if none).

    Returns
    -------
    array
        Scalar, or the target's shape for ``reduction='none'``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.torch import nll_loss
    >>> logp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]]))
    >>> print(round(float(nll_loss(logp, np.array([0, 2]))), 6))   # -(log 0.5 + log 0.7) / 2
    0.524911
    >>> loss, grad = nll_loss.value_and_grad(logp, np.array([0, 2]), reduction="sum")
    >>> print(grad + 0.0)
    [[-1.  0.  0.]
     [ 0.  0. -1.]]
    """
    reduction = _warn_legacy(size_average, reduce, reduction, 4)
    return _nll_translate(input, target, weight, ignore_index, reduction)


class NLLLoss(DialectLoss):
    """``torch.nn.NLLLoss`` on any array library.

    Same arguments as :func:`nll_loss`; call the object as ``loss(input, target)``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.torch import NLLLoss
    >>> logp = np.log(np.full((2, 4), 0.25))
    >>> print(round(float(NLLLoss(weight=np.array([1.0, 2.0, 3.0, 4.0]))(logp, np.array([1, 3]))), 6))
    1.386294
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        ignore_index: int = -100,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        reduction = _warn_legacy(size_average, reduce, reduction, 2)
        if reduction != "elementwise_mean":  # PyTorch's deprecated name warns at each call
            check_choice("reduction", reduction, _REDUCTIONS)
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction

    def _translate(self, input: Array, target: Any) -> Call[Array]:
        return _nll_translate(input, target, self.weight, self.ignore_index, self.reduction)

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def forward(self, input: Array, target: Any) -> Array:
        """Same as calling the object."""
        return self(input, target)

    def __repr__(self) -> str:
        return f"NLLLoss(ignore_index={self.ignore_index}, reduction={self.reduction!r})"


#: binary_cross_entropy_with_logits: ``weight`` is a per-element weight, ``pos_weight`` the sigmoid class weight
_BCE_NAMES = (("logits", "input"), ("class_weight", "pos_weight"), ("sample_weight", "weight"))
#: ``binary_cross_entropy_with_logits``'s ``ValueError``: the target's size differs from the input's
_TargetSizeError = with_framework_type(InvalidArgumentError, ValueError)


@spec_cache(64)
def _bce_spec(reduction: Reduction) -> CrossEntropySpec:
    return CrossEntropySpec(
        activation="sigmoid",
        target="probs",
        reduction=reduction,  # type: ignore[arg-type]
        denominator="items",
        zero_denominator="nan",
    )


def _check_same_shape(input: Any, target: Any, pytorch_says: str) -> None:
    """Binary cross-entropy's target has the input's shape (PyTorch's own words quoted in the error)."""
    if tuple(target.shape) != tuple(input.shape):
        raise _TargetSizeError(
            f"target must have the input's shape {tuple(input.shape)} (PyTorch: '{pytorch_says}'); "
            f"got shape {tuple(target.shape)}"
        )


def _bce_translate(input: Any, target: Any, weight: Any, reduction: Reduction, pos_weight: Any) -> Call:
    reduction = _reduction(reduction)
    xp = namespace_of({"input": input, "target": target})
    _check_same_shape(input, target, "Target size must be the same as input size")
    if not is_floating(xp, target.dtype):
        raise with_framework_type(InvalidTypeError, RuntimeError)(
            f"target must be a floating-point array of probabilities (PyTorch cannot cast the result to "
            f"{target.dtype}); got dtype {target.dtype}"
        )
    # pos_weight=None is pos_weight 1: PyTorch evaluates (1 - y) x + (1 + (p - 1) y)(log1p(exp(-|x|)) + max(-x, 0))
    # either way, which decides the value at infinite logits (x = inf, y = 0 gives inf, not nan)
    pos_weight = 1.0 if pos_weight is None else pos_weight
    spec = _bce_spec(reduction)
    if target.dtype == xp.float32 and input.dtype == xp.float64:
        # PyTorch's result has the target's dtype (its kernel starts with (1 - target) * input in the target's
        # dtype): float64 input with a float32 target gives a float32 loss (golden target_f32_input_f64)
        spec = spec.replace(compute_dtype="float32")
    return Call(spec, input, target, class_weight=pos_weight, sample_weight=weight, names=_BCE_NAMES)


@dialect_function
def binary_cross_entropy_with_logits(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
    pos_weight: Any = None,
) -> Call[Array]:
    r"""``torch.nn.functional.binary_cross_entropy_with_logits`` on any array library.

    Each element is a binary problem: :math:`L = -w\,[p\, y \log \sigma(x) + (1 - y) \log(1 - \sigma(x))]`
    with ``w = weight`` and ``p = pos_weight``.

    Parameters
    ----------
    input : array
        Logits of any shape.
    target : array
        Probabilities (floating) of the input's shape.
    weight : array, optional
        A weight per element, broadcast to the input's shape.
    size_average, reduce : bool, optional
        Deprecated; when either is given they override ``reduction`` as in PyTorch.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides by the number of elements.
    pos_weight : array, optional
        The weight of the positive term, broadcast to the input's shape (usually one per class of
        the last axis).

    Returns
    -------
    array
        Scalar, or the input's shape for ``reduction='none'``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.torch import binary_cross_entropy_with_logits
    >>> x = np.array([[0.0, 2.0], [-1.0, 0.5]]); y = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> print(round(float(binary_cross_entropy_with_logits(x, y, pos_weight=np.array([2.0, 1.0]))), 6))
    1.653456
    """
    reduction = _warn_legacy(size_average, reduce, reduction, 4)
    return _bce_translate(input, target, weight, reduction, pos_weight)


class BCEWithLogitsLoss(DialectLoss):
    """``torch.nn.BCEWithLogitsLoss(weight=None, size_average=None, reduce=None, reduction='mean',
    pos_weight=None)`` on any array library; call it as ``loss(input, target)``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.torch import BCEWithLogitsLoss
    >>> loss = BCEWithLogitsLoss(pos_weight=np.ones(64))
    >>> x = np.full((10, 64), 1.5); y = np.ones((10, 64))
    >>> print(round(float(loss(x, y)), 6))    # -log(sigmoid(1.5)); the torch docs' example shapes
    0.201413
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
        pos_weight: Any = None,
    ) -> None:
        reduction = _warn_legacy(size_average, reduce, reduction, 2)
        self.weight = weight
        self.pos_weight = pos_weight
        self.reduction = reduction

    def _translate(self, input: Array, target: Any) -> Call[Array]:
        return _bce_translate(input, target, self.weight, self.reduction, self.pos_weight)

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def forward(self, input: Array, target: Any) -> Array:
        """Same as calling the object."""
        return self(input, target)

    def __repr__(self) -> str:
        return f"BCEWithLogitsLoss(reduction={self.reduction!r})"


# --------------------------------------------------------------------------- binary_cross_entropy / BCELoss

#: binary_cross_entropy: ``weight`` is a per-element weight (of the whole term, not pos_weight)
_BCE_PROBS_NAMES = (("logits", "input"), ("sample_weight", "weight"))


@spec_cache(64)
def _bce_probs_spec(reduction: Reduction) -> CrossEntropySpec:
    return CrossEntropySpec(
        activation="sigmoid",
        target="probs",
        inputs="probs",
        min_log=-100.0,  # PyTorch clamps each log at -100
        # its backward: grad (p - y) / max((1 - p) p, EPSILON), EPSILON = 1e-12 as a float32 constant
        # (9.999999960041972e-13 even for float64: the golden float64 gradients at 0 and 1 show it)
        probs_grad_floor=9.999999960041972e-13,
        probs_in_range=True,  # "all elements of input (target) should be between 0 and 1"
        reduction=reduction,  # type: ignore[arg-type]
        denominator="items",
        zero_denominator="nan",
    )


def _bce_probs_translate(input: Array, target: Any, weight: Any, reduction: Reduction) -> Call[Array]:
    reduction = _reduction(reduction)
    xp = namespace_of({"input": input, "target": target})
    _check_same_shape(input, target, "Using a target size that is different to the input size is deprecated")
    if not is_floating(xp, input.dtype):
        raise with_framework_type(InvalidTypeError, RuntimeError)(
            f"input must be a floating-point array of probabilities; got dtype {input.dtype}"
        )
    if target.dtype != input.dtype:
        raise with_framework_type(InvalidTypeError, RuntimeError)(
            f"target must have the input's dtype {input.dtype} (PyTorch: 'Found dtype ... but expected ...'); "
            f"got dtype {target.dtype}"
        )
    return Call(_bce_probs_spec(reduction), input, target, sample_weight=weight, names=_BCE_PROBS_NAMES)


@dialect_function
def binary_cross_entropy(
    input: Array,
    target: Any,
    weight: Any = None,
    size_average: bool | None = None,
    reduce: bool | None = None,
    reduction: Reduction = "mean",
) -> Call[Array]:
    r"""``torch.nn.functional.binary_cross_entropy`` on any array library.

    Each element is a binary problem on a probability:
    :math:`L = -w\,[y \max(\log p, -100) + (1 - y) \max(\log(1 - p), -100)]` (PyTorch clamps each
    log at -100, so that :math:`p` of exactly 0 or 1 gives a finite loss).  The gradient is
    PyTorch's, :math:`w (p - y) / \max(p (1 - p), 10^{-12})`, finite at 0 and 1 too.

    Parameters
    ----------
    input : array
        Probabilities in [0, 1], any shape (others raise, as in PyTorch).
    target : array
        Probabilities in [0, 1] of the input's shape and dtype.
    weight : array, optional
        A weight per element (of the whole term), broadcast to the input's shape.
    size_average, reduce : bool, optional
        Deprecated; when either is given they override ``reduction`` as in PyTorch.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides by the number of elements.

    Returns
    -------
    array
        Scalar, or the input's shape for ``reduction='none'``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.torch import binary_cross_entropy
    >>> p = np.array([0.9, 0.2, 0.0]); y = np.array([1.0, 0.0, 1.0])
    >>> print(binary_cross_entropy(p, y, reduction="none").round(6))   # log(0) clamped at -100
    [  0.105361   0.223144 100.      ]
    """
    reduction = _warn_legacy(size_average, reduce, reduction, 4)
    return _bce_probs_translate(input, target, weight, reduction)


class BCELoss(DialectLoss):
    """``torch.nn.BCELoss(weight=None, size_average=None, reduce=None, reduction='mean')`` on any
    array library; call it as ``loss(input, target)`` with probabilities (see :func:`binary_cross_entropy`).

    Examples
    --------
    The PyTorch documentation's example, ``loss(sigmoid(input), target)``, on fixed numbers:

    >>> import numpy as np
    >>> from unified_ce.adapters.torch import BCELoss
    >>> m = 1 / (1 + np.exp(-np.array([0.3, -1.2, 2.0])))          # sigmoid(input)
    >>> target = np.array([1.0, 0.0, 1.0])
    >>> print(round(float(BCELoss()(m, target)), 6))
    0.314855
    """

    def __init__(
        self,
        weight: Any = None,
        size_average: bool | None = None,
        reduce: bool | None = None,
        reduction: Reduction = "mean",
    ) -> None:
        reduction = _warn_legacy(size_average, reduce, reduction, 2)
        self.weight = weight
        self.reduction = reduction

    def _translate(self, input: Array, target: Any) -> Call[Array]:
        return _bce_probs_translate(input, target, self.weight, self.reduction)

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def forward(self, input: Array, target: Any) -> Array:
        """Same as calling the object."""
        return self(input, target)

    def __repr__(self) -> str:
        return f"BCELoss(reduction={self.reduction!r})"

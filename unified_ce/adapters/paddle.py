"""The Paddle dialect: ``paddle.nn.functional.softmax_with_cross_entropy``.

Works on arrays of every supported library, not only Paddle tensors (Paddle is never imported).
Emulates PaddlePaddle 3.3.1 on CPU: the Python wrapper ``base_softmax_with_cross_entropy`` in
``python/paddle/nn/functional/loss.py``, the shape checks of ``CrossEntropyWithSoftmaxInferMeta``
(``paddle/phi/infermeta/binary.cc``) and the CPU kernels ``cross_entropy_kernel.cc`` /
``cross_entropy_grad_kernel.cc``.  Translation to the spec:

=========================  =================================================================
Paddle                     :class:`~unified_ce.CrossEntropySpec`
=========================  =================================================================
``axis=-1``                ``axis`` (any axis in ``[-ndim, ndim)``)
output                     ``reduction="none"``, ``keepdims=True``: the logits' shape with
                           ``axis`` of size 1, in the logits' dtype
``soft_label=False``       ``target="index"``: the label has the logits' shape with ``axis``
                           of size 1 (integer dtype, or floats holding whole numbers); a
                           label without that axis is reshaped to
                           ``[label.shape[0], logits.shape[1]]`` as Paddle does
``soft_label=True``        ``target="probs"``, ``probs_sum_to_one=True``: the label has the
                           logits' shape and dtype and is a distribution along ``axis``
``ignore_index=-100``      ``ignore_index`` (hard labels only; ignored items give 0)
``numeric_stable_mode``    no effect on the values (as on Paddle's CPU); ``False`` requires
                           ``axis`` to be the last axis, as in Paddle
``return_softmax``         ``Call(with_softmax=True)``: ``(loss, softmax(logits, axis))``
CPU softmax clip           ``min_shifted_logit=-64``: ``x - max(x)`` is clipped at -64, so a
                           class contributes at most 64 (+ the log-sum-exp) to the loss
=========================  =================================================================

Deliberate differences from Paddle (documented in ``docs/dialects/paddle.md``):

* labels outside ``[0, C)`` that are not ``ignore_index`` raise
  :class:`~unified_ce.LabelOutOfRangeError` (as Paddle's CPU kernel does), and so do int64
  labels that Paddle's ``static_cast<int>`` would wrap into range; non-integer float labels
  (which Paddle truncates) and bool labels raise too;
* soft labels that are not distributions (rows not summing to 1, negative entries) raise,
  where Paddle returns ``sum_c q_c (-log p_c)`` with a gradient ``softmax - q`` that is not
  that loss's gradient (Paddle issue #63678: normalising is the caller's duty);
* float16 logits are accepted (Paddle has no float16 CPU kernel, its GPU kernel takes them);
* the gradient exists for float labels too (Paddle's CPU backward has integer kernels only).
"""

from __future__ import annotations

import math
import struct
import warnings
from typing import TYPE_CHECKING, Any, Literal, overload

from .._backend import is_floating, namespace_of
from .._errors import FrameworkErrors, InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from .._scalars import as_int
from .._spec import CrossEntropySpec
from ._base import (
    Array,
    Call,
    DialectFunction,
    DialectLoss,
    dialect_function,
    loss_call,
    loss_value_and_grad,
    spec_cache,
)

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "VisibleDeprecationWarning",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "softmax_with_cross_entropy",
]

_NAMES = (("target", "label"),)

#: The built-in exception class Paddle 3.3.1 raises for each error (its ``InvalidArgument`` is a
#: ``ValueError``, ``OutOfRange`` an ``IndexError``, ``NotFound`` (no kernel for a dtype) a
#: ``RuntimeError``).
FRAMEWORK_ERRORS = FrameworkErrors(
    (LabelOutOfRangeError, "", IndexError),
    (InvalidArgumentError, r"^ignore_index must fit in int32", IndexError),
    (InvalidArgumentError, r"^label of 1-D logits", IndexError),
    (InvalidTypeError, r"^logits must be a floating-point", RuntimeError),
    (InvalidTypeError, r"^label\b.*dtype", ValueError),
    (InvalidArgumentError, r"^(label|pos_weight|weight)\b", ValueError),
)
_INT32 = (-(2**31), 2**31 - 1)
#: ``ValueClip`` of Paddle's CPU softmax (``paddle/phi/kernels/funcs/softmax_impl.h``: kThreshold = -64)
_CPU_SOFTMAX_CLIP = -64.0

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "axis=-1 (any axis)",
    "target kinds": "soft_label=False: class indices with the class axis kept as size 1 (any integer dtype, "
    "or whole-valued floats); True: distributions of the logits' shape and dtype",
    "ignore label": "ignore_index=-100 (hard labels only)",
    "label smoothing": "no",
    "class weight enters": "no class weights",
    "mean divides by": "n/a (no reduction)",
    "all ignored (mean)": "n/a (no reduction: every item 0)",
    "output shape": "logits' shape with the class axis kept as size 1 (+ the softmax with return_softmax)",
    "per-sample weights": "no",
    "log-prob input": "no",
    "probability input": "cross_entropy(use_softmax=False): -log p with log 0 = -1e20 (p in [0, 1], rows need not sum "
    "to 1); gradient -q/p (infinite at p = 0)",
}

#: Golden cases this dialect does not reproduce yet, with the reason.
GOLDEN_PENDING = {
    "cross_entropy/soft-ignore0-mean": "soft_label=True with ignore_index=0 and reduction='mean': Paddle divides by "
    "the number of nonzero soft-label entries (data-dependent); unified_ce raises instead",
    "binary_cross_entropy_with_logits/label_minus100-none": "Paddle's kernel gives 0 where label == -100 "
    "(kIgnoreIndex); the core has no ignore value for probability targets",
}

#: Golden cases where Paddle's backward is not the derivative of its own forward: the gradient is
#: compared with ``grad_of_forward`` (Paddle's autodiff of the same function written smoothly).
GOLDEN_GRAD_DEVIATIONS = {
    f"binary_cross_entropy_with_logits/large-{k}": "Paddle's gradient at logit = 0 with label 0.5 is not the "
    "derivative sigmoid(0) - label = 0 of its forward (its kernel's |x| / max(x, 0) pieces); unified_ce gives "
    "the derivative"
    for k in ("none-f32", "none-f64")
}

#: Golden cases (``unified_ce/conformance/golden/paddle.json``) where Paddle raises but this dialect
#: deliberately accepts the input, with the reason.
GOLDEN_DEVIATIONS = {
    **{
        cid: "float16 input is accepted (Paddle 3.3.1 has no float16 CPU kernel of cross_entropy_with_softmax)"
        for cid in ("cross_entropy/float16-mean", "cross_entropy/no_softmax-float16-mean")
    },
    "binary_cross_entropy_with_logits/float16-none": "float16 logits are accepted (Paddle 3.3.1 has no float16 "
    "CPU kernel of sigmoid_cross_entropy_with_logits)",
    "softmax_with_cross_entropy/logits_float16": "float16 logits are accepted (Paddle 3.3.1 registers "
    "cross_entropy_with_softmax for float16 on GPU only; its CPU build refuses them)",
}


class VisibleDeprecationWarning(UserWarning):
    """Paddle's ``paddle.utils.deprecated.VisibleDeprecationWarning`` (a ``UserWarning``, shown by default)."""


_DEPRECATION = (
    'API "paddle.nn.functional.loss.softmax_with_cross_entropy" is deprecated since 2.0.0, and will be removed in '
    'future versions. Please use "paddle.nn.functional.cross_entropy" instead.\n    Reason: Please notice that '
    'behavior of "paddle.nn.functional.softmax_with_cross_entropy" and "paddle.nn.functional.cross_entropy" is '
    "different."
)


@spec_cache(512)
def _spec(axis: int, soft_label: bool, ignore_index: int) -> CrossEntropySpec:
    return CrossEntropySpec(
        axis=axis,
        target="probs" if soft_label else "index",
        ignore_index=None if soft_label else ignore_index,
        reduction="none",
        keepdims=True,
        min_shifted_logit=_CPU_SOFTMAX_CLIP,
        probs_sum_to_one=soft_label,
    )


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise InvalidTypeError(f"{name} must be a bool; got {value!r}")


def _label_with_kept_axis(xp: Any, logits: Any, label: Any) -> Any:
    """Paddle's treatment of a label with one axis fewer than the logits (loss.py).

    ``label = paddle.reshape(label, [label.shape[0], logits.shape[1]])``: this only yields a valid
    label for 2-D logits whose second axis has size 1 (C=1 with ``axis=-1``, or N=1 with
    ``axis=0``); everything else fails here or in the shape checks that follow.
    """
    if label.ndim == 0:
        raise InvalidArgumentError(
            "label of 1-D logits (C,) must have shape (1,) (the class axis kept with size 1); got a 0-d label"
        )
    new_shape = (label.shape[0], logits.shape[1])
    if new_shape[0] * new_shape[1] != math.prod(label.shape):
        raise InvalidArgumentError(
            f"label must have the logits' shape {tuple(logits.shape)} with the class axis of size 1 (or the logits' "
            f"shape for soft_label=True); a label of shape {tuple(label.shape)} has one axis fewer and Paddle "
            f"reshapes it to [label.shape[0], logits.shape[1]] = {list(new_shape)}, which does not fit"
        )
    return xp.reshape(label, new_shape)


def _translate(
    logits: Any,
    label: Any,
    soft_label: bool,
    ignore_index: int,
    numeric_stable_mode: bool,
    return_softmax: bool,
    axis: int,
) -> Call:
    warnings.warn(_DEPRECATION, VisibleDeprecationWarning, stacklevel=4)
    soft_label = _flag("soft_label", soft_label)
    numeric_stable_mode = _flag("numeric_stable_mode", numeric_stable_mode)
    return_softmax = _flag("return_softmax", return_softmax)
    if as_int(ignore_index) is None:
        raise InvalidTypeError(f"ignore_index must be an int; got {ignore_index!r}")
    if not _INT32[0] <= ignore_index <= _INT32[1]:
        raise InvalidArgumentError(f"ignore_index must fit in int32 (Paddle's attribute type); got {ignore_index}")
    if as_int(axis) is None:
        raise InvalidTypeError(f"axis must be an int; got {axis!r}")
    xp = namespace_of({"logits": logits, "label": label})
    ndim = logits.ndim
    if ndim == 0:
        raise InvalidArgumentError("logits must have at least one dimension; got a 0-d array")
    if label.ndim not in (ndim - 1, ndim):
        raise InvalidArgumentError(
            f"label must have as many dimensions as the logits ({ndim}), the class axis kept with size 1; "
            f"got {label.ndim} dimensions"
        )
    if label.ndim == ndim - 1:
        label = _label_with_kept_axis(xp, logits, label)
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError(f"axis must be in [-{ndim}, {ndim - 1}] for {ndim}-D logits; got {axis}")
    ax = axis % ndim
    if not numeric_stable_mode and ax != ndim - 1:
        raise InvalidArgumentError("axis must be the last axis (-1) when numeric_stable_mode=False (as in Paddle)")
    shape = tuple(logits.shape)
    want = shape if soft_label else (*shape[:ax], 1, *shape[ax + 1 :])
    if label.ndim != ndim or tuple(label.shape) != want:
        what = "the logits' shape" if soft_label else "the logits' shape with the class axis of size 1"
        raise InvalidArgumentError(
            f"label must have {what}, {want} (soft_label={soft_label}, axis={axis}); got shape {tuple(label.shape)}"
        )
    if soft_label:
        if not is_floating(xp, label.dtype) or label.dtype != logits.dtype:
            raise InvalidTypeError(
                f"label of soft_label=True must have the logits' dtype {logits.dtype} (as in Paddle); got {label.dtype}"
            )
    else:
        label = xp.reshape(label, shape[:ax] + shape[ax + 1 :])
    return Call(_spec(axis, soft_label, ignore_index), logits, label, with_softmax=return_softmax, names=_NAMES)


class _SoftmaxWithCrossEntropy(DialectFunction[..., Any]):
    """What type checkers see of :func:`softmax_with_cross_entropy`: the loss, an array of the logits'
    type, or ``(loss, softmax)`` with ``return_softmax=True`` (overloads on ``return_softmax``)."""

    if TYPE_CHECKING:

        @overload
        def __call__(
            self,
            logits: Array,
            label: Any,
            soft_label: bool = False,
            ignore_index: int = -100,
            numeric_stable_mode: bool = True,
            return_softmax: Literal[False] = False,
            axis: int = -1,
        ) -> Array: ...
        @overload
        def __call__(
            self,
            logits: Array,
            label: Any,
            soft_label: bool = False,
            ignore_index: int = -100,
            numeric_stable_mode: bool = True,
            *,
            return_softmax: Literal[True],
            axis: int = -1,
        ) -> tuple[Array, Array]: ...
        @overload
        def __call__(
            self,
            logits: Array,
            label: Any,
            soft_label: bool = False,
            ignore_index: int = -100,
            numeric_stable_mode: bool = True,
            return_softmax: bool = False,
            axis: int = -1,
        ) -> Array | tuple[Array, Array]: ...
        def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
        @overload  # type: ignore[override]  # narrower than DialectFunction's (any arguments with grad_output)
        def value_and_grad(
            self,
            logits: Array,
            label: Any,
            soft_label: bool = False,
            ignore_index: int = -100,
            numeric_stable_mode: bool = True,
            return_softmax: Literal[False] = False,
            axis: int = -1,
            *,
            grad_output: Any = None,
        ) -> tuple[Array, Array]: ...
        @overload
        def value_and_grad(
            self,
            logits: Array,
            label: Any,
            soft_label: bool = False,
            ignore_index: int = -100,
            numeric_stable_mode: bool = True,
            *,
            return_softmax: Literal[True],
            axis: int = -1,
            grad_output: Any = None,
        ) -> tuple[tuple[Array, Array], Array]: ...
        @overload
        def value_and_grad(
            self,
            logits: Array,
            label: Any,
            soft_label: bool = False,
            ignore_index: int = -100,
            numeric_stable_mode: bool = True,
            return_softmax: bool = False,
            axis: int = -1,
            *,
            grad_output: Any = None,
        ) -> tuple[Array | tuple[Array, Array], Array]: ...
        def value_and_grad(self, *args: Any, grad_output: Any = None, **kwargs: Any) -> Any: ...


@_SoftmaxWithCrossEntropy  # typed by return_softmax (overloads): a plain translation has one return type
def softmax_with_cross_entropy(
    logits: Array,
    label: Any,
    soft_label: bool = False,
    ignore_index: int = -100,
    numeric_stable_mode: bool = True,
    return_softmax: bool = False,
    axis: int = -1,
) -> Call[Array | tuple[Array, Array]]:
    r"""``paddle.nn.functional.softmax_with_cross_entropy`` on any array library.

    The loss of one item (no reduction) is, with :math:`p = \mathrm{softmax}(logits)` along
    ``axis``, :math:`-\log p_{label}` for hard labels and :math:`-\sum_c label_c \log p_c` for
    soft labels; items whose label is ``ignore_index`` give 0.  As on Paddle's CPU,
    :math:`\log p_c` is clipped at :math:`-64 - \log \sum_k e^{\max(x_k - m, -64)}` (the
    softmax clips ``x - max(x)`` at -64), so one class costs at most about 64.  Paddle
    deprecated this function in 2.0 in favour of ``cross_entropy``; like Paddle, calling it
    warns (:class:`VisibleDeprecationWarning`).

    Parameters
    ----------
    logits : array
        Unscaled scores of any shape with at least one dimension; floating dtype.
    label : array
        ``soft_label=False``: class indices of the logits' shape with ``axis`` of size 1 (any
        integer dtype, or a float dtype holding whole numbers).  ``soft_label=True``: a
        distribution along ``axis`` (summing to 1) of the logits' shape and dtype.  A label with
        one axis fewer is reshaped to ``[label.shape[0], logits.shape[1]]``, as Paddle does
        (which only fits 2-D logits whose second axis has size 1).
    soft_label : bool
        Whether ``label`` holds distributions instead of class indices.
    ignore_index : int
        Hard labels equal to it give loss 0 and no gradient (any int32 value, also one in
        ``[0, C)``).  Unused for soft labels.
    numeric_stable_mode : bool
        No effect on the result (Paddle's CPU kernel is always stable); ``False`` requires
        ``axis`` to be the last axis, as in Paddle.
    return_softmax : bool
        Also return ``softmax(logits)`` along ``axis``.
    axis : int
        The class axis, in ``[-logits.ndim, logits.ndim)``.

    Returns
    -------
    array or tuple of arrays
        The loss, of the logits' shape with ``axis`` of size 1 and the logits' dtype; with
        ``return_softmax=True``, ``(loss, softmax)``.

    Raises
    ------
    LabelOutOfRangeError
        A hard label outside ``[0, C)`` that is not ``ignore_index``.
    InvalidArgumentError
        Shapes as Paddle refuses them; ``numeric_stable_mode=False`` with another axis than the
        last; non-integer float labels; soft labels that are negative or do not sum to 1.
    InvalidTypeError
        A soft label of another dtype than the logits; integer logits; bool labels.

    Examples
    --------
    Paddle's documentation example (``[1.15328646]``, shape ``[1]``):

    >>> import warnings; warnings.simplefilter("ignore")
    >>> import numpy as np
    >>> from unified_ce.adapters.paddle import softmax_with_cross_entropy
    >>> logits = np.array([0.4, 0.6, 0.9], dtype=np.float32)
    >>> label = np.array([1], dtype=np.int64)
    >>> softmax_with_cross_entropy(logits=logits, label=label)
    array([1.1532865], dtype=float32)

    A batch keeps the class axis with size 1 (Paddle: ``[[0.44018966], [0.44018975]]``):

    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]])
    >>> softmax_with_cross_entropy(x, np.array([[3], [0]]))
    array([[0.4401897],
           [0.4401897]])

    Soft labels, the softmax, and the class axis first:

    >>> loss, p = softmax_with_cross_entropy(x.T, np.full((1, 2), 2), axis=0, return_softmax=True)
    >>> loss.shape, p.shape
    ((1, 2), (4, 2))
    >>> q = np.array([[0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.25, 0.25]])
    >>> softmax_with_cross_entropy(x, q, soft_label=True)
    array([[0.9401897],
           [1.9401897]])

    A class 100 below the maximum costs 64 (+ the log-sum-exp), as on Paddle's CPU:

    >>> softmax_with_cross_entropy(np.array([[0.0, 100.0]]), np.array([[0]]))
    array([[64.]])
    >>> loss, grad = softmax_with_cross_entropy.value_and_grad(x, np.array([[3], [-100]]))
    >>> grad[1]
    array([0., 0., 0., 0.])
    """
    return _translate(logits, label, soft_label, ignore_index, numeric_stable_mode, return_softmax, axis)


#: Paddle's reduction names: what type checkers accept (run-time checks: ``_bce_translate``, ``_ce_translate``)
Reduction = Literal["none", "mean", "sum"]
_BCE_REDUCTIONS = ("none", "mean", "sum")
_BCE_NAMES = (("logits", "logit"), ("target", "label"), ("class_weight", "pos_weight"), ("sample_weight", "weight"))


@spec_cache(16)
def _bce_spec(reduction: str) -> CrossEntropySpec:
    return CrossEntropySpec(
        activation="sigmoid",
        target="probs",
        reduction=reduction,  # type: ignore[arg-type]
        denominator="items",
        zero_denominator="nan",
    )


def _bce_translate(logit: Any, label: Any, weight: Any, reduction: str, pos_weight: Any, where: str) -> Call:
    if reduction not in _BCE_REDUCTIONS:
        raise InvalidArgumentError(
            f"The value of 'reduction' in {where} should be 'sum', 'mean' or 'none', but received {reduction}, "
            "which is not allowed."
        )
    if tuple(label.shape) != tuple(logit.shape):
        raise InvalidArgumentError(
            f"label must have the logit's shape {tuple(logit.shape)} (Paddle: 'Input(X) and Input(Label) shall have "
            f"the same shape'); got shape {tuple(label.shape)}"
        )
    return Call(_bce_spec(reduction), logit, label, class_weight=pos_weight, sample_weight=weight, names=_BCE_NAMES)


@dialect_function
def binary_cross_entropy_with_logits(
    logit: Array,
    label: Any,
    weight: Any = None,
    reduction: Reduction = "mean",
    pos_weight: Any = None,
    name: Any = None,
) -> Call[Array]:
    r"""``paddle.nn.functional.binary_cross_entropy_with_logits`` on any array library.

    Each element: :math:`-w\,[p\, y \log \sigma(x) + (1 - y) \log(1 - \sigma(x))]` with
    ``w = weight`` and ``p = pos_weight`` (both broadcast to the logit's shape); ``'mean'`` divides
    by the number of elements.

    Examples
    --------
    Paddle's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.paddle import binary_cross_entropy_with_logits
    >>> logit = np.array([5.0, 1.0, 3.0], dtype=np.float32); label = np.array([1.0, 0.0, 1.0], dtype=np.float32)
    >>> print(f"{float(binary_cross_entropy_with_logits(logit, label)):.8f}")
    0.45618808
    """
    return _bce_translate(logit, label, weight, reduction, pos_weight, "binary_cross_entropy_with_logits")


class BCEWithLogitsLoss(DialectLoss):
    """``paddle.nn.BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None, name=None)``;
    call it as ``loss(logit, label)``."""

    def __init__(
        self, weight: Any = None, reduction: Reduction = "mean", pos_weight: Any = None, name: Any = None
    ) -> None:
        if reduction not in _BCE_REDUCTIONS:
            raise InvalidArgumentError(
                "The value of 'reduction' in BCEWithLogitsLoss should be 'sum', 'mean' or 'none', but received "
                f"{reduction}, which is not allowed."
            )
        self.weight = weight
        self.reduction = reduction
        self.pos_weight = pos_weight

    def _translate(self, logit: Array, label: Any) -> Call[Array]:
        return _bce_translate(logit, label, self.weight, self.reduction, self.pos_weight, "BCEWithLogitsLoss")

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def forward(self, logit: Array, label: Any) -> Array:
        """Same as calling the object."""
        return self(logit, label)


# ----------------------------------------------------------------------------- cross_entropy

_CE_NAMES = (("logits", "input"), ("target", "label"), ("class_weight", "weight"))


#: ``use_softmax=False``: the input holds probabilities.  The CPU kernel (``funcs/cross_entropy.cc``) takes
#: ``-TolerableValue(log p)``, which turns log(0) = -inf into -1e20 (``kApproInf``; nothing else: a finite
#: log p >= -745 is never below it), and its backward (``cross_entropy_grad_kernel.cc``) is ``-q / p``, that
#: of the unclamped log (``-1 / p`` at the label for hard labels, 0 at the other classes).
_PROBS: dict[str, Any] = {
    "inputs": "probs",
    "min_log": -1e20,
    "min_log_grad": "unclamped",
    "probs_in_range": True,
}


@spec_cache(512)
def _ce_spec(
    axis: int,
    soft: bool,
    ignore_index: int | None,
    eps: float,
    reduction: str,
    weighted: bool,
    empty: bool,
    use_softmax: bool = True,
) -> CrossEntropySpec:
    if reduction != "mean":
        denominator = "items"
    elif soft or eps:  # soft labels: mean_all, or with weight the sum of the items' weights sum_c q_c w_c
        denominator = "item_weight" if weighted else "items"
    elif weighted:  # sum of weight[label] over non-ignored items
        denominator = "label_weight"
    else:  # a non-negative ignore_index divides by the non-ignored count, a negative one by every item
        denominator = "valid" if ignore_index is not None and ignore_index >= 0 else "items"
    return CrossEntropySpec(
        axis=axis,
        target="probs" if soft else "index",
        ignore_index=None if (soft or eps) else ignore_index,
        label_smoothing=eps,
        weighting="per_item" if (soft or eps) else "per_class",
        reduction=reduction,  # type: ignore[arg-type]
        denominator=denominator,  # type: ignore[arg-type]
        # x / (d + (d == 0)): 0 when nothing counts; an empty input gives nan (paddle adds nan)
        zero_denominator="nan" if empty else "zero",
        keepdims=False,
        min_shifted_logit=_CPU_SOFTMAX_CLIP if use_softmax else None,  # the softmax's clip
        probs_sum_to_one=soft,
        **({} if use_softmax else _PROBS),
    )


def _ce_translate(
    input: Any,
    label: Any,
    weight: Any,
    ignore_index: int,
    reduction: str,
    soft_label: bool,
    axis: int,
    use_softmax: bool,
    label_smoothing: float,
) -> Call:
    if reduction not in ("sum", "mean", "none"):
        raise InvalidArgumentError(
            "The value of 'reduction' in softmax_cross_entropy should be 'sum', 'mean' or 'none', but received "
            f"{reduction}, which is not allowed."
        )
    soft_label = _flag("soft_label", soft_label)
    ii = as_int(ignore_index)
    if ii is None:
        raise InvalidTypeError(f"ignore_index must be an int; got {ignore_index!r}")
    ignore_index = ii
    if ignore_index > 0 and soft_label:
        raise InvalidArgumentError(
            f"ignore_index must be -100 (or negative) when soft_label is True; got {ignore_index}"
        )
    use_softmax = _flag("use_softmax", use_softmax)
    xp = namespace_of({"input": input, "label": label})
    nd = input.ndim
    if nd == 0:
        raise InvalidArgumentError(
            "input must have at least one dimension (Paddle: 'The dimension of input should be larger than zero!')"
        )
    if not -nd <= axis < nd:
        raise InvalidArgumentError(f"axis must be in [-{nd}, {nd}); got {axis}")
    ax = axis % nd
    if label.ndim not in (nd - 1, nd):
        raise InvalidArgumentError(
            f"label must have the input's rank {nd} or one less (Paddle: 'Expected input_dims - 1 = label_dims or "
            f"input_dims == label_dims'); got rank {label.ndim}"
        )
    # label_smooth's epsilon is a float32 attribute: the smoothing uses float32(label_smoothing)
    eps = float(struct.unpack("f", struct.pack("f", label_smoothing))[0]) if label_smoothing > 0 else 0.0
    if eps and soft_label and tuple(label.shape) != tuple(input.shape):
        # "if label_smoothing > 0.0, no matter what soft_label is, the label could be one-hot or integer"
        # (Paddle one-hot encodes class indices first; test_cross_entropy_loss_integer_label_smoothing_*)
        soft_label = False
    kept = label.ndim == nd and not soft_label and not (eps and tuple(label.shape) == tuple(input.shape))
    soft = soft_label or (eps > 0 and label.ndim == nd and not kept)
    if kept:  # the class axis kept with size 1
        if label.shape[ax] != 1:
            raise InvalidArgumentError(
                f"label of class indices must have size 1 along axis {axis}; got shape {tuple(label.shape)}"
            )
        label = xp.reshape(label, tuple(label.shape[:ax]) + tuple(label.shape[ax + 1 :]))
    if soft and tuple(label.shape) != tuple(input.shape):
        raise InvalidArgumentError(
            f"label of soft labels must have the input's shape {tuple(input.shape)}; got {tuple(label.shape)}"
        )
    if eps and ax != nd - 1:
        raise InvalidArgumentError("label_smoothing needs the class axis to be the last one (Paddle's one_hot)")
    if soft and weight is not None and ax != nd - 1:
        raise InvalidArgumentError("weight with soft labels needs the class axis to be the last one (Paddle's matmul)")
    if weight is not None and getattr(weight, "shape", (input.shape[ax],))[-1] != input.shape[ax]:
        raise InvalidArgumentError(
            f"weight must have one entry per class ({input.shape[ax]}) (Paddle: input's class_dimension must equal "
            f"weight's class_dimension); got shape {tuple(weight.shape)}"
        )
    empty = 0 in tuple(input.shape)
    spec = _ce_spec(ax, soft, ignore_index, eps, reduction, weight is not None, empty, use_softmax)
    if reduction == "mean" and ignore_index >= 0 and (soft or eps):
        # Paddle's mean with ignore_index >= 0 divides by the entries of the (soft) label that differ from
        # ignore_index (times each item's weight sum_c q_c w_c): a smoothed one-hot has C such entries per
        # item (ls0.1-ignore1-mean: sum / (N C) = 0.42829 where sum / N = 2.14145); a soft label given
        # with ignore_index=0 counts its nonzero entries, which depends on the data
        if not eps:
            raise InvalidArgumentError(
                "ignore_index=0 with soft_label=True and reduction='mean': Paddle divides by the number of "
                "nonzero soft-label entries, which unified_ce does not translate; pass ignore_index=-100 "
                "(the default) for the mean over items"
            )
        spec = spec.replace(scale=1.0 / input.shape[ax])
    if reduction == "none" and (kept or soft or eps):  # soft labels: the class axis kept with size 1
        spec = spec.replace(keepdims=True)
    return Call(spec, input, label, class_weight=weight, names=_CE_NAMES)


@dialect_function
def cross_entropy(
    input: Array,
    label: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    soft_label: bool = False,
    axis: int = -1,
    use_softmax: bool = True,
    label_smoothing: float = 0.0,
    name: Any = None,
) -> Call[Array]:
    """``paddle.nn.functional.cross_entropy`` on any array library.

    Hard labels: ``-log softmax(input)[label]`` times ``weight[label]``; soft labels (``soft_label``,
    or any label with ``label_smoothing > 0``, smoothed as ``(1 - eps) q + eps / C``): the soft
    cross-entropy times ``sum_c q_c weight_c``.  ``'mean'`` divides by the sum of those weights, by
    the non-ignored count for a non-negative ``ignore_index``, and by *every* item otherwise (ignored
    ones included, Paddle's ``mean_all``); 0 when that sum is 0, nan for an empty input.  With
    ``use_softmax=False``, ``input`` holds probabilities in [0, 1] and ``-log p`` replaces
    ``-log softmax``, ``log 0`` taken as -1e20, with the gradient ``-q / p`` of Paddle's kernel
    (infinite where ``p = 0``).

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.paddle import cross_entropy
    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]])
    >>> print(f"{float(cross_entropy(x, np.array([3, 0]))):.8f}")
    0.44018970
    >>> print(f"{float(cross_entropy(x, np.array([3, -100]))):.8f}")   # the ignored item counts in the mean
    0.22009485

    Probabilities in (``-log 0.5``; ``log 0`` counts as -1e20):

    >>> p = np.array([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5]])
    >>> cross_entropy(p, np.array([0, 2]), use_softmax=False, reduction="none")
    array([0.69314718, 0.69314718])
    >>> print(float(cross_entropy(p, np.array([2, 2]), use_softmax=False, reduction="sum")))
    1e+20
    """
    return _ce_translate(input, label, weight, ignore_index, reduction, soft_label, axis, use_softmax, label_smoothing)


class CrossEntropyLoss(DialectLoss):
    """``paddle.nn.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean', soft_label=False,
    axis=-1, use_softmax=True, label_smoothing=0.0, name=None)``; call it as ``loss(input, label)``."""

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        soft_label: bool = False,
        axis: int = -1,
        use_softmax: bool = True,
        label_smoothing: float = 0.0,
        name: Any = None,
    ) -> None:
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.soft_label = soft_label
        self.axis = axis
        self.use_softmax = use_softmax
        self.label_smoothing = label_smoothing

    def _translate(self, input: Array, label: Any) -> Call[Array]:
        return _ce_translate(
            input,
            label,
            self.weight,
            self.ignore_index,
            self.reduction,
            self.soft_label,
            self.axis,
            self.use_softmax,
            self.label_smoothing,
        )

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def forward(self, input: Array, label: Any) -> Array:
        """Same as calling the object."""
        return self(input, label)

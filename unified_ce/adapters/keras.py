"""The Keras 3 dialect: ``keras.losses.CategoricalCrossentropy``, ``SparseCategoricalCrossentropy``,
``BinaryCrossentropy`` and the functions ``categorical_crossentropy``, ``sparse_categorical_crossentropy``,
``binary_crossentropy``.

Works on arrays of every supported library (Keras is never imported).  Emulates Keras 3.15 on its
TensorFlow backend (``keras/src/losses/losses.py``, ``loss.py``).  Keras takes the target first:
``loss(y_true, y_pred, sample_weight=None)``.  Translation to the spec:

==================================  =====================================================================
Keras                               :class:`~unified_ce.CrossEntropySpec`
==================================  =====================================================================
``from_logits=True``                ``inputs="logits"``
``from_logits=False``               ``inputs="probs"``, ``probs_clip=1e-7`` (``epsilon()``); categorical:
                                    ``probs_normalize="before_clip"`` (``y_pred / sum``, then the clip);
                                    sparse: ``"after_clip"`` (``log_softmax(log(clip(y_pred)))``)
categorical ``y_true``              ``target="probs"`` (cast to ``y_pred``'s dtype); ``axis``
sparse ``y_true``                   ``target="index"`` (integer or whole-valued float labels), last axis
``label_smoothing``                 ``label_smoothing``: ``y (1 - ls) + ls / C`` (binary: ``+ ls / 2``); with
                                    ``axis`` not the last, Keras's ``C`` is the last axis's size ``K``:
                                    ``label_smoothing`` and ``scale`` of the same target (see ``_smoothing``)
``ignore_class``                    ``ignore_index``; the mean divides by the non-ignored items
``reduction="sum_over_batch_size"`` ``"mean"``, ``denominator="items"`` (``"valid"`` with
/ ``"mean"``                        ``ignore_class``), ``zero_denominator="zero"`` (``divide_no_nan``)
``reduction="sum"``                 ``"sum"``; ``"none"`` / ``None``: ``"none"``
``"mean_with_sample_weight"``       with a ``sample_weight``: ``denominator="sample_weight"`` (the sum of the
                                    weights, times the ignore mask); without ignore_class, Keras sums the
                                    weight as aligned, not broadcast: ``scale`` = the broadcast factor
``sample_weight`` (at call)         ``sample_weight``, aligned as Keras's ``squeeze_or_expand_to_same_rank``
classes' ``dtype=None``             both arguments converted to float32 (``floatx``) first, as Keras
binary: mean over ``axis=-1``       ``reduction="sample_mean"`` (rank 2), ``"axis_mean"`` (rank > 2),
                                    ``"mean"`` (rank 1); the classes
                                    (any rank): one mean over every element, ``"sum"`` divided by ``C``
                                    (``scale``), ``mean_with_sample_weight`` as the categorical ones
==================================  =====================================================================

The loss classes return per-item losses of shape ``(0,)`` unreduced, whatever the reduction, as Keras's
``reduce_values`` does (an ``(N, 1)`` ``sample_weight`` first expands them to ``(0, 1)``, which are reduced).

Binary losses on inputs of rank > 2: the per-item losses are the means over ``axis`` (``reduction="axis_mean"``).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal, get_args

from .._backend import as_array_like, is_floating, namespace_of
from .._errors import InvalidArgumentError, InvalidTypeError
from .._spec import CrossEntropySpec
from ._base import Array, Call, DialectLoss, check_choice, dialect_function, loss_call, loss_value_and_grad

# the first is the dialect's main API (porting writes it first)
__all__ = [  # noqa: RUF022
    "SparseCategoricalCrossentropy",
    "CategoricalCrossentropy",
    "BinaryCrossentropy",
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "binary_crossentropy",
]

#: Keras takes the target first (read by :mod:`unified_ce.porting`).
TARGET_FIRST = True

_NAMES = (("logits", "y_pred"), ("target", "y_true"))
#: Keras's reduction names (or ``None``): what type checkers accept, and what is checked at run time
Reduction = Literal["sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight"]
_REDUCTIONS: tuple[Reduction | None, ...] = (*get_args(Reduction), None)
_NOT_YET = "is not translated by unified_ce yet"

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "axis=-1 (sparse: the last axis only on the TensorFlow backend)",
    "target kinds": "one-hot / probabilities (Categorical), integer labels (SparseCategorical), "
    "binary labels or probabilities (Binary)",
    "ignore label": "ignore_class=None (SparseCategorical)",
    "label smoothing": "yes: y (1-ls) + ls/C with C the size of the LAST axis (binary: + ls/2)",
    "class weight enters": "no class weights (class_weight is a Model.fit argument)",
    "mean divides by": "sum_over_batch_size: the number of loss elements (ignore_class: the non-ignored ones), "
    "sample weights multiply; mean_with_sample_weight: the sum of the sample weights as aligned (unbroadcast); "
    "0/0 = 0",
    "all ignored (mean)": "0 (divide_no_nan)",
    "output shape": "scalar (the classes: losses of shape (0,) unreduced); the functions and reduction=None: "
    "one loss per item (binary: the mean over axis)",
    "per-sample weights": "sample_weight at call, broadcast against the per-item losses",
    "log-prob input": "no (from_logits=False takes probabilities)",
    "probability input": "from_logits=False (the default): clipped to [1e-7, 1 - 1e-7]; categorical divides by "
    "the sum first, sparse (TensorFlow) after the clip; gradient 0 where the clip bites",
}


#: Golden cases this dialect cannot run yet, with the reason (none: every recorded case runs).
GOLDEN_PENDING: dict[str, str] = {}

#: Golden cases where Keras raises but this dialect deliberately accepts the input.
GOLDEN_DEVIATIONS = {
    f"sparse_categorical_crossentropy/{fl}-axis1-error": "a class axis other than the last works (Keras's "
    "TensorFlow backend refuses it: 'Only axis=-1 is currently supported'; its JAX backend accepts it)"
    for fl in ("logits", "probs")
}

#: Golden cases where Keras's backward is not the derivative of its forward: label smoothing on a class axis
#: other than the last smooths with the size of the LAST axis, so the labels no longer sum to 1 along the class
#: axis, and TensorFlow's ``softmax_cross_entropy_with_logits`` backward (softmax - labels) assumes they do; the
#: gradient here is that derivative, ``sum(labels) * softmax - labels``.
GOLDEN_GRAD_DEVIATIONS = {
    f"CategoricalCrossentropy/logits-{r}-ls0.2": "TensorFlow's backward softmax - labels assumes labels summing "
    "to 1; smoothed with the size of the last axis they do not: the derivative is sum(labels) * softmax - labels"
    for r in ("rank2-axis0", "rank3-axis1", "rank4-axis1")
}

#: Keras's ``backend.epsilon()``: ``from_logits=False`` clips the probabilities to [EPSILON, 1 - EPSILON]
EPSILON = 1e-7
#: the spec fields of ``from_logits=False``, per loss family (Keras 3's TensorFlow backend, keras/src/backend/
#: tensorflow/nn.py): categorical divides by the sum along ``axis``, then clips; sparse clips, takes the log and
#: runs ``sparse_softmax_cross_entropy_with_logits`` on it (the clipped probabilities divided by their sum)
_PROBS: dict[str, dict[str, Any]] = {
    "logits": {},
    "categorical": {"inputs": "probs", "probs_normalize": "before_clip", "probs_clip": EPSILON},
    "sparse": {"inputs": "probs", "probs_normalize": "after_clip", "probs_clip": EPSILON},
    "binary": {"inputs": "probs", "probs_clip": EPSILON},
}


@functools.lru_cache(maxsize=256)
def _spec(
    activation: str,
    target: str,
    axis: int,
    ignore: int | None,
    label_smoothing: float,
    reduction: str,
    denominator: str,
    scale: float = 1.0,
    inputs: str = "logits",
) -> CrossEntropySpec:
    return CrossEntropySpec(
        **_PROBS[inputs],
        activation=activation,  # type: ignore[arg-type]
        target=target,  # type: ignore[arg-type]
        axis=axis,
        ignore_index=ignore,
        label_smoothing=label_smoothing,
        reduction=reduction,  # type: ignore[arg-type]
        denominator=denominator,  # type: ignore[arg-type]
        zero_denominator="zero",
        batch_axis=0,
        scale=scale,
    )


def _inputs(from_logits: Any, family: str) -> str:
    """The ``_PROBS`` key of ``from_logits`` for a loss family."""
    return "logits" if from_logits else family


def _int_axis(axis: Any) -> int:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise InvalidArgumentError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    return axis


def _reduction(reduction: Any, sample_weight: Any, ignore: int | None) -> tuple[str, str]:
    """``(spec reduction, denominator)`` of a Keras reduction (``squeeze`` etc. done by the caller)."""
    check_choice("reduction", reduction, _REDUCTIONS)
    if reduction in (None, "none"):
        return "none", "items"
    if reduction == "sum":
        return "sum", "items"
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return "mean", "sample_weight"  # sum(sample_weight * mask) (see _unbroadcast for no mask)
    return "mean", "valid" if ignore is not None else "items"


def _unbroadcast(spec: CrossEntropySpec, loss_shape: tuple[int, ...], weights: Any) -> CrossEntropySpec:
    """``mean_with_sample_weight`` without ``ignore_class``: Keras divides by ``sum(sample_weight)`` of the
    weight as aligned (a ``(N,)`` weight of ``(N, T)`` losses sums N values), the core by the sum of the
    weights broadcast to the losses: ``scale`` is the broadcast factor (a ratio of static sizes)."""
    if spec.denominator != "sample_weight" or spec.ignore_index is not None or weights is None:
        return spec
    n_items, n_weights = math.prod(loss_shape), math.prod(tuple(weights.shape))
    return spec if n_items == n_weights or not n_weights else spec.replace(scale=spec.scale * n_items / n_weights)


def _sample_weight(sample_weight: Any, loss_shape: tuple[int, ...], axis: int, like: Any) -> Any:
    """Keras's alignment of ``sample_weight`` with the per-item losses (``squeeze_or_expand_to_same_rank``,
    then NumPy broadcasting), as the core's per-item weight: the class ``axis`` (of the logits) kept with
    size 1.  Only views of the caller's array (reshape / expand_dims / squeeze)."""
    if sample_weight is None:
        return None
    xp = namespace_of({"y_pred": like})
    sw = as_array_like("sample_weight", sample_weight, xp, like)
    shape, rank = tuple(sw.shape), sw.ndim
    if rank + 1 == len(loss_shape) and loss_shape and loss_shape[-1] == 1 and rank == 1:
        sw = xp.expand_dims(sw, axis=-1)
    elif rank == len(loss_shape) + 1 and shape[-1] == 1:
        # Keras squeezes the weight, or for rank-1 losses expands the losses to (N, 1): the same sums,
        # but reduction='none' would return (N, 1) there (checked by the caller)
        sw = xp.squeeze(sw, axis=-1)
    shape = tuple(sw.shape)
    padded = (1,) * (len(loss_shape) - len(shape)) + shape
    if len(shape) > len(loss_shape) or any(a not in (1, b) for a, b in zip(padded, loss_shape)):
        raise InvalidArgumentError(
            f"Incompatible shapes: the per-item losses {list(loss_shape)} vs. sample_weight {list(shape)}"
        )
    if padded != shape:
        sw = xp.reshape(sw, padded)
    return xp.expand_dims(sw, axis=axis)


def _smoothing(ls: float, n_classes: int, n_last: int) -> tuple[float, float]:
    """``(label_smoothing, scale)`` of Keras's categorical smoothing ``y (1 - ls) + ls / K``, ``K`` the size of
    the LAST axis, over ``C = n_classes`` classes on another axis: the loss is linear in the target, and
    ``y (1 - ls) + ls / K = a (y (1 - s) + s / C)`` with ``a = 1 - ls + ls C / K``, ``s = (ls C / K) / a``
    (a ratio of static sizes; ``K == C``: ``(ls, 1)``)."""
    if not ls or n_classes == n_last or not n_classes or not n_last:
        return ls, 1.0
    uniform = ls * n_classes / n_last
    a = 1.0 - ls + uniform
    return uniform / a, a


def _unreduced(red: str, loss_shape: tuple[int, ...], sample_weight: Any) -> str:
    """Keras's ``reduce_values`` returns losses of shape ``(0,)`` unreduced (an empty rank-1 loss, whatever
    the reduction); an ``(N, 1)`` weight first expands rank-1 losses to ``(0, 1)``, which are reduced."""
    if loss_shape != (0,) or (getattr(sample_weight, "ndim", 0) == 2 and sample_weight.shape[-1] == 1):
        return red
    return "none"


def _check_none_shape(red: str, sample_weight: Any, loss_ndim: int) -> None:
    if red == "none" and loss_ndim == 1 and getattr(sample_weight, "ndim", 0) == 2 and sample_weight.shape[-1] == 1:
        raise InvalidArgumentError(
            "reduction='none' with (N,) losses and an (N, 1) sample_weight (Keras returns (N, 1) losses) " + _NOT_YET
        )


def _categorical(
    y_true: Any, y_pred: Any, from_logits: bool, ls: float, axis: Any, red: str, den: str, sw: Any
) -> Call:
    inputs = _inputs(from_logits, "categorical")
    ax = _int_axis(axis)
    if y_pred.ndim < 1 or y_true.ndim != y_pred.ndim:
        raise InvalidArgumentError(
            "Arguments `target` and `output` must have the same rank (ndim). Received: "
            f"target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}"
        )
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise InvalidArgumentError(
            "Arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}"
        )
    xp = namespace_of({"y_true": y_true, "y_pred": y_pred})
    if not is_floating(xp, y_true.dtype):  # Keras: ops.cast(y_true, y_pred.dtype)
        y_true = xp.astype(as_array_like("y_true", y_true, xp, y_pred), y_pred.dtype)
    a = ax % y_pred.ndim
    loss_shape = tuple(y_pred.shape[:a]) + tuple(y_pred.shape[a + 1 :])
    red = _unreduced(red, loss_shape, sw)
    ls, scale = _smoothing(float(ls), y_pred.shape[a], y_pred.shape[-1])
    spec = _spec("softmax", "probs", ax, None, ls, red, den, scale, inputs)
    _check_none_shape(red, sw, y_pred.ndim - 1)
    weights = _sample_weight(sw, loss_shape, a, y_pred)
    return Call(_unbroadcast(spec, loss_shape, weights), y_pred, y_true, sample_weight=weights, names=_NAMES)


def _sparse(y_true: Any, y_pred: Any, from_logits: bool, ignore: Any, axis: Any, red: str, den: str, sw: Any) -> Call:
    inputs = _inputs(from_logits, "sparse")
    ax = _int_axis(axis)
    if ignore is not None and (isinstance(ignore, bool) or not isinstance(ignore, int)):
        raise InvalidTypeError(f"ignore_class must be an int or None; got {ignore!r}")
    if y_pred.ndim < 1:
        raise InvalidArgumentError(f"Argument `output` must be at least rank 1. Received: output.shape={y_pred.shape}")
    if y_true.ndim == y_pred.ndim and y_true.shape[ax] == 1:  # Keras squeezes (N, 1) labels: a view
        xp = namespace_of({"y_true": y_true, "y_pred": y_pred})
        y_true = xp.squeeze(y_true, axis=ax)
    a = ax % y_pred.ndim
    loss_shape = tuple(y_pred.shape[:a]) + tuple(y_pred.shape[a + 1 :])
    red = _unreduced(red, loss_shape, sw)
    spec = _spec("softmax", "index", ax, ignore, 0.0, red, den, inputs=inputs)
    _check_none_shape(red, sw, y_pred.ndim - 1)
    weights = _sample_weight(sw, loss_shape, a, y_pred)
    return Call(_unbroadcast(spec, loss_shape, weights), y_pred, y_true, sample_weight=weights, names=_NAMES)


def _binary(
    y_true: Any,
    y_pred: Any,
    from_logits: bool,
    ls: float,
    axis: Any,
    red: str,
    sw: Any,
    per_item: bool,
    den: str = "items",
) -> Call:
    """``per_item``: the function's per-sample mean over ``axis``; else the loss class's reduction ``red``."""
    inputs = _inputs(from_logits, "binary")
    ax = _int_axis(axis)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise InvalidArgumentError(
            "Arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={tuple(y_true.shape)}, output.shape={tuple(y_pred.shape)}"
        )
    xp = namespace_of({"y_true": y_true, "y_pred": y_pred})
    target = "probs" if is_floating(xp, y_true.dtype) else "index"
    n_mean = y_pred.shape[ax] if y_pred.ndim else 1
    if y_pred.ndim <= 1:  # the mean over the only axis is one number
        reduction, scale = ("mean", 1.0) if per_item or red in ("mean", "none") else ("sum", 1.0 / max(n_mean, 1))
        if not per_item and red == "sum":
            reduction, scale = "sum", 1.0 / max(n_mean, 1)
        spec = _spec("sigmoid", target, -1, None, float(ls), reduction, "items", scale, inputs)
        weights = None if sw is None or y_pred.ndim == 0 else _sample_weight(sw, (), 0, y_pred)
        return Call(spec, y_pred, y_true, sample_weight=weights, names=_NAMES)
    a = ax % y_pred.ndim  # the axis of the per-item means
    loss_shape = tuple(y_pred.shape[:a]) + tuple(y_pred.shape[a + 1 :])
    if per_item or _unreduced(red, loss_shape, sw) == "none":
        _check_none_shape("none" if per_item else red, sw, len(loss_shape))
        if y_pred.ndim > 2:  # the mean over axis a of several
            spec = _spec("sigmoid", target, a, None, float(ls), "axis_mean", "items", inputs=inputs)
        else:
            spec = _spec("sigmoid", target, -1, None, float(ls), "sample_mean", "items", inputs=inputs)
            spec = spec.replace(batch_axis=1 - a)
    elif red == "sum":
        spec = _spec("sigmoid", target, -1, None, float(ls), "sum", "items", 1.0 / max(n_mean, 1), inputs)
    else:  # one mean over every element is Keras's mean of the per-item means (sum_over_batch_size); with
        # mean_with_sample_weight, sum(l * w) / (C sum(w)) over the broadcast weights is Keras's
        # sum(w mean_c(l)) / sum(w) (the weight as aligned: _unbroadcast)
        spec = _spec("sigmoid", target, -1, None, float(ls), "mean", den, inputs=inputs)
    weights = _sample_weight(sw, loss_shape, a, y_pred)
    return Call(_unbroadcast(spec, loss_shape, weights), y_pred, y_true, sample_weight=weights, names=_NAMES)


# ------------------------------------------------------------------------------------------ functions


@dialect_function
def categorical_crossentropy(
    y_true: Any, y_pred: Array, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Call[Array]:
    """``keras.losses.categorical_crossentropy`` on any array library.

    Parameters
    ----------
    y_true : array
        One-hot targets / probabilities of ``y_pred``'s shape.
    y_pred : array
        Probabilities (``from_logits=False``: divided by their sum along ``axis``, then clipped to
        ``[1e-7, 1 - 1e-7]``) or logits (``from_logits=True``).
    from_logits : bool
    label_smoothing : float
        ``y_true (1 - ls) + ls / C``.
    axis : int

    Returns
    -------
    array
        One loss per item.

    Examples
    --------
    Keras's documentation example (a zero probability is clipped to 1e-7):

    >>> import numpy as np
    >>> from unified_ce.adapters.keras import categorical_crossentropy
    >>> y_true = np.array([[0, 1, 0], [0, 0, 1]]); y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> print(np.round(categorical_crossentropy(y_true, y_pred), 4))
    [0.0513 2.3026]
    >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> logits = np.log(np.array([[0.05, 0.9, 0.05], [0.1, 0.8, 0.1]]))
    >>> print(np.round(categorical_crossentropy(y_true, logits, from_logits=True), 4))
    [0.1054 2.3026]
    """
    return _categorical(y_true, y_pred, from_logits, label_smoothing, axis, "none", "items", None)


@dialect_function
def sparse_categorical_crossentropy(
    y_true: Any, y_pred: Array, from_logits: bool = False, ignore_class: int | None = None, axis: int = -1
) -> Call[Array]:
    """``keras.losses.sparse_categorical_crossentropy`` on any array library.

    Parameters
    ----------
    y_true : array
        Integer labels (or whole-valued floats), ``y_pred``'s shape without the class axis.
    y_pred : array
        Probabilities (``from_logits=False``: clipped to ``[1e-7, 1 - 1e-7]``, then divided by their
        sum, as Keras's TensorFlow backend) or logits (``from_logits=True``).
    from_logits : bool
    ignore_class : int, optional
        Items with this label have loss 0.
    axis : int

    Returns
    -------
    array
        One loss per item (0 for ignored ones).

    Examples
    --------
    Keras's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.keras import sparse_categorical_crossentropy
    >>> y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> print(np.round(sparse_categorical_crossentropy(np.array([1, 2]), y_pred), 4))
    [0.0513 2.3026]
    >>> logits = np.log(np.array([[0.05, 0.9, 0.05], [0.1, 0.8, 0.1]]))
    >>> print(np.round(sparse_categorical_crossentropy(np.array([1, 2]), logits, from_logits=True), 4))
    [0.1054 2.3026]
    """
    return _sparse(y_true, y_pred, from_logits, ignore_class, axis, "none", "items", None)


@dialect_function
def binary_crossentropy(
    y_true: Any, y_pred: Array, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1
) -> Call[Array]:
    """``keras.losses.binary_crossentropy`` on any array library.

    Parameters
    ----------
    y_true : array
        Binary labels or probabilities of ``y_pred``'s shape.
    y_pred : array
        Probabilities (``from_logits=False``: clipped to ``[1e-7, 1 - 1e-7]``) or logits.
    from_logits : bool
    label_smoothing : float
        ``y_true (1 - ls) + ls / 2``.
    axis : int
        The axis the mean runs over.

    Returns
    -------
    array
        The mean over ``axis`` of the elementwise losses.

    Examples
    --------
    Keras's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.keras import binary_crossentropy
    >>> y_true = np.array([[0, 1], [0, 0]]); y_pred = np.array([[0.6, 0.4], [0.4, 0.6]], np.float32)
    >>> print(np.round(binary_crossentropy(y_true, y_pred), 3))
    [0.916 0.714]
    >>> print(np.round(binary_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.0, 0.0]]), from_logits=True), 6))
    [0.693147]
    """
    return _binary(y_true, y_pred, from_logits, label_smoothing, axis, "none", None, per_item=True)


# ------------------------------------------------------------------------------------------ classes


class _KerasLoss(DialectLoss):
    dtype: Any = None

    def _compute_dtype(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        """Keras's ``Loss.__call__``: both arguments converted to the loss's ``dtype`` (``None``: floatx,
        float32) before anything else -- a float64 or float16 ``y_pred`` is computed in float32."""
        xp = namespace_of({"y_true": y_true, "y_pred": y_pred})
        name = "float32" if self.dtype is None else str(getattr(self.dtype, "name", self.dtype))
        name = name.removeprefix("torch.")
        if name not in ("bfloat16", "float16", "float32", "float64"):
            raise InvalidArgumentError(f"dtype={self.dtype!r} {_NOT_YET} (bfloat16, float16, float32 or float64)")
        dt = getattr(xp, name, None)
        if dt is None and name == "float16" and "dask" in xp.__name__:
            import numpy  # array_api_compat's Dask namespace names no float16; its arrays take NumPy's

            dt = numpy.dtype(name)
        if dt is None:
            raise InvalidArgumentError(
                f"dtype={self.dtype!r}: the arrays' library ({xp.__name__}) has no {name} (torch and JAX have it)"
            )
        y_pred = as_array_like("y_pred", y_pred, xp, y_pred)
        y_true = as_array_like("y_true", y_true, xp, y_pred)
        return (y_true if y_true.dtype == dt else xp.astype(y_true, dt)), (
            y_pred if y_pred.dtype == dt else xp.astype(y_pred, dt)
        )

    def _value_and_grad(self, *args: Any, grad_output: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        """``value_and_grad(y_true, y_pred, sample_weight=None, grad_output=None)``: the loss and
        ``d sum(loss * grad_output) / d y_pred``, in ``y_pred``'s dtype (as autodiff through the loss's
        conversion to its ``dtype`` gives it)."""
        value, grad = super()._value_and_grad(*args, grad_output=grad_output, **kwargs)
        y_pred = args[1] if len(args) > 1 else kwargs.get("y_pred")
        dtype = getattr(y_pred, "dtype", None)
        if dtype is not None and grad.dtype != dtype and is_floating(namespace_of({"y_pred": y_pred}), dtype):
            grad = namespace_of({"y_pred": y_pred}).astype(grad, dtype)
        return value, grad


class CategoricalCrossentropy(_KerasLoss):
    """``keras.losses.CategoricalCrossentropy`` on any array library.

    Examples
    --------
    Keras's documentation example (probabilities, ``from_logits=False``):

    >>> import numpy as np
    >>> from unified_ce.adapters.keras import CategoricalCrossentropy
    >>> y_true = np.array([[0, 1, 0], [0, 0, 1]]); y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> print(round(float(CategoricalCrossentropy()(y_true, y_pred)), 3))
    1.177
    >>> print(round(float(CategoricalCrossentropy()(y_true, y_pred, sample_weight=np.array([0.3, 0.7]))), 3))
    0.814
    >>> print(round(float(CategoricalCrossentropy(reduction="sum")(y_true, y_pred)), 3))
    2.354
    >>> print(np.round(CategoricalCrossentropy(reduction=None)(y_true, y_pred), 4))
    [0.0513 2.3026]

    With logits:

    >>> cce = CategoricalCrossentropy(from_logits=True)
    >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    >>> logits = np.log(np.array([[0.05, 0.9, 0.05], [0.1, 0.8, 0.1]], np.float32))
    >>> print(round(float(cce(y_true, logits)), 4))
    1.204
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        check_choice("reduction", reduction, _REDUCTIONS)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis
        self.reduction, self.name, self.dtype = reduction, name, dtype

    def _translate(self, y_true: Any, y_pred: Array, sample_weight: Any = None) -> Call[Array]:
        y_true, y_pred = self._compute_dtype(y_true, y_pred)
        red, den = _reduction(self.reduction, sample_weight, None)
        return _categorical(y_true, y_pred, self.from_logits, self.label_smoothing, self.axis, red, den, sample_weight)

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)


class SparseCategoricalCrossentropy(_KerasLoss):
    """``keras.losses.SparseCategoricalCrossentropy`` on any array library.

    Examples
    --------
    Keras's documentation example (probabilities, ``from_logits=False``):

    >>> import numpy as np
    >>> from unified_ce.adapters.keras import SparseCategoricalCrossentropy
    >>> y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    >>> print(round(float(SparseCategoricalCrossentropy()(np.array([1, 2]), y_pred)), 3))
    1.177
    >>> print(round(float(SparseCategoricalCrossentropy(reduction="sum")(np.array([1, 2]), y_pred)), 3))
    2.354

    With logits and an ignored class:

    >>> scce = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    >>> logits = np.log(np.array([[0.05, 0.9, 0.05], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]], np.float32))
    >>> print(round(float(scce(np.array([1, 2, -1]), logits)), 4))  # the mean over the 2 non-ignored items
    1.204
    """

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: Reduction | None = "sum_over_batch_size",
        axis: int = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ) -> None:
        check_choice("reduction", reduction, _REDUCTIONS)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis
        self.reduction, self.name, self.dtype = reduction, name, dtype

    def _translate(self, y_true: Any, y_pred: Array, sample_weight: Any = None) -> Call[Array]:
        y_true, y_pred = self._compute_dtype(y_true, y_pred)
        red, den = _reduction(self.reduction, sample_weight, self.ignore_class)
        return _sparse(y_true, y_pred, self.from_logits, self.ignore_class, self.axis, red, den, sample_weight)

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)


class BinaryCrossentropy(_KerasLoss):
    """``keras.losses.BinaryCrossentropy`` on any array library.

    Examples
    --------
    Keras's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.keras import BinaryCrossentropy
    >>> bce = BinaryCrossentropy(from_logits=True)
    >>> y_true = np.array([0, 1, 0, 0], np.float32)
    >>> y_pred = np.array([-18.6, 0.51, 2.94, -12.8], np.float32)
    >>> print(round(float(bce(y_true, y_pred)), 3))
    0.865

    Its "recommended usage" with probabilities (``from_logits=False``, the default):

    >>> print(round(float(BinaryCrossentropy()(y_true, np.array([0.6, 0.3, 0.2, 0.8], np.float32))), 4))
    0.9882
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Reduction | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ) -> None:
        check_choice("reduction", reduction, _REDUCTIONS)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis
        self.reduction, self.name, self.dtype = reduction, name, dtype

    def _translate(self, y_true: Any, y_pred: Array, sample_weight: Any = None) -> Call[Array]:
        y_true, y_pred = self._compute_dtype(y_true, y_pred)
        red, den = _reduction(self.reduction, sample_weight, None)
        return _binary(
            y_true, y_pred, self.from_logits, self.label_smoothing, self.axis, red, sample_weight, False, den
        )

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

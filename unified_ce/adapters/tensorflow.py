"""The TensorFlow dialect: ``tf.nn.softmax_cross_entropy_with_logits``,
``tf.nn.sparse_softmax_cross_entropy_with_logits``, ``tf.nn.sigmoid_cross_entropy_with_logits`` and
``tf.nn.weighted_cross_entropy_with_logits``.

Works on arrays of every supported library (TensorFlow is never imported).  Emulates TensorFlow
2.21 (``tensorflow/python/ops/nn_ops.py``, ``nn_impl.py``).  The functions take the labels
first, as TensorFlow does, and return one loss per item (no reduction).  Translation to the spec:

=============================================  ==============================================
TensorFlow                                     :class:`~unified_ce.CrossEntropySpec`
=============================================  ==============================================
``softmax_cross_entropy_with_logits``          ``target="probs"``, ``axis``,
                                               ``reduction="none"``, ``broadcast_target=True``
                                               (labels broadcasting to the logits as
                                               TensorFlow's flattened 2-D labels do)
``sparse_softmax_cross_entropy_with_logits``   ``target="index"`` (int32 / int64 labels),
                                               ``axis=-1``, ``reduction="none"``
``sigmoid_cross_entropy_with_logits``          ``activation="sigmoid"``, ``target="probs"``
                                               (labels of the logits' shape and dtype),
                                               ``reduction="none"``
``weighted_cross_entropy_with_logits``         as sigmoid, ``pos_weight`` -> ``class_weight``
                                               (sigmoid: the weight of the positive term, any
                                               array or number broadcasting to the logits)
``name``                                       accepted, no effect
=============================================  ==============================================

Deliberate differences from TensorFlow (documented in ``docs/dialects/tensorflow.md``): where
TensorFlow turns invalid input into a number this dialect raises -- sigmoid labels outside
``[0, 1]``; for softmax labels whose rows do not sum to 1 (TensorFlow's own tests feed them) the
forward is TensorFlow's, ``-sum(labels * log_softmax(logits))``, and the gradient is its
derivative, ``sum(labels) * softmax - labels`` (TensorFlow's registered backward returns
``softmax - labels``, which assumes rows summing to 1); ``axis=-2`` (or another negative axis other than
-1) works on inputs of rank > 2, where TensorFlow 2.21 fails inside its own ``tf.range``; softmax labels
that TensorFlow accepts only through its flattening to 2-D (more dimensions than the logits, e.g.
``(1, 1, C)`` against ``(N, C)``, or another split of the same rows, ``(6, C)`` against ``(2, 3, C)``)
are reshaped to its ``(rows, classes)`` view (with ``axis`` other than -1, another split raises).  Errors
are :class:`~unified_ce.InvalidArgumentError` (a ``ValueError``) / :class:`~unified_ce.InvalidTypeError`
(a ``TypeError``) where TensorFlow raises ``ValueError`` or its ``InvalidArgumentError`` (an
``OpError``, which unified_ce cannot subclass without importing TensorFlow).
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import is_integer, namespace_of
from .._errors import InvalidArgumentError, InvalidTypeError
from .._scalars import as_int
from .._spec import CrossEntropySpec
from ._base import Array, Call, dialect_function, spec_cache

# the first is the dialect's main API (porting writes it first)
__all__ = [  # noqa: RUF022
    "sparse_softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
]

_NAMES = (("logits", "logits"), ("target", "labels"))
_WEIGHTED_NAMES = (*_NAMES, ("class_weight", "pos_weight"))

#: TensorFlow takes the labels first (read by :mod:`unified_ce.porting`).
TARGET_FIRST = True

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "axis=-1 (softmax_cross_entropy_with_logits: any axis; sparse: last axis only)",
    "target kinds": "probabilities broadcasting to the logits' shape as TF's flattened (rows, classes) labels: "
    "rows 1 or all, classes 1 or C (softmax_...), int32/int64 indices (sparse_...), "
    "labels of the logits' shape and dtype (sigmoid_...)",
    "ignore label": "none",
    "label smoothing": "no",
    "class weight enters": "no class weights",
    "mean divides by": "n/a (no reduction: one loss per item)",
    "all ignored (mean)": "n/a",
    "output shape": "the logits' shape without the class axis (sigmoid: the logits' shape)",
    "per-sample weights": "no",
    "log-prob input": "no",
    "probability input": "no",
}

#: Golden cases where TensorFlow raises but this dialect deliberately accepts the input.
GOLDEN_DEVIATIONS = {
    "softmax_cross_entropy_with_logits/rank4-axis-2": "a negative axis other than -1 works on rank > 2 "
    "(TensorFlow 2.21 fails in tf.range while moving the axis to the end)",
}

#: Golden cases this dialect cannot run yet (the spec lacks what they need), with the reason.
GOLDEN_PENDING: dict[str, str] = {}

#: Golden cases where TensorFlow's backward is not the derivative of its forward (labels whose rows do not
#: sum to 1: TensorFlow returns softmax - labels); the gradient here is that derivative.
GOLDEN_GRAD_DEVIATIONS = {
    **{
        f"softmax_cross_entropy_with_logits/{cid}": "TensorFlow's backward softmax - labels assumes rows "
        "summing to 1; the derivative of its forward is sum(labels) * softmax - labels"
        for cid in (
            "unnormalised",
            "negative_labels",
            "labels_broadcast-classes1",
            "labels_broadcast-1x1",
            "labels_broadcast-rank3-classes1",
            "labels_broadcast-axis0-classes1",
        )
    },
    **{
        f"weighted_cross_entropy_with_logits/pos_weight-large_logits-float{b}": "TensorFlow differentiates its "
        "formula log1p(exp(-|x|)) + relu(-x) with slope 0 at x == 0 and gets (1 - z) there; the derivative is "
        "(1 - z) - (1 + (q - 1) z) sigmoid(-x)"
        for b in (32, 64)
    },
}


@spec_cache(64)
def _spec(activation: str, target: str, axis: int) -> CrossEntropySpec:
    return CrossEntropySpec(
        activation=activation,  # type: ignore[arg-type]
        target=target,  # type: ignore[arg-type]
        axis=axis,
        reduction="none",
        # softmax: TensorFlow computes -sum(labels * log_softmax) for any real labels (its own
        # testSingleClass feeds -1); sigmoid labels below 0 stay refused
        probs_nonnegative=activation != "softmax",
        # softmax probabilities: TensorFlow's kernel broadcasts the (flattened) labels against the logits
        broadcast_target=activation == "softmax" and target == "probs",
    )


def _check_broadcast_labels(labels: Any, logits: Any, axis: int) -> Any:
    """Refuse the labels shapes TensorFlow 2.21 refuses (shapes only; no array is read).

    TensorFlow moves ``axis`` last in both arrays with a permutation built from the logits' rank
    (only when ``axis != -1``), flattens both to 2-D (``_flatten_outer_dims``: ``(rows, classes)``,
    which fails on a 0-d array) and its kernel broadcasts the two matrices; the loss is reshaped to
    the logits' shape without the axis and the gradient to the logits' shape.  So the labels work
    when their rows are 1 or the logits' rows and their classes 1 or the logits' classes.  The core
    broadcasts the labels to the logits' shape (NumPy rules, ``broadcast_target``); the labels
    TensorFlow accepts only through its flattening (more dimensions than the logits, or another
    split of the same rows) are reshaped here (class axis last): one row to ``(classes,)``, the
    logits' rows to the logits' leading shape; with another ``axis`` they are refused.  Returns the
    labels to pass on.
    """
    lshape = getattr(labels, "shape", None)
    if lshape is None:
        return labels
    lshape, shape = tuple(lshape), tuple(logits.shape)
    if not lshape:
        raise InvalidArgumentError(
            "labels must have at least one dimension (a probability distribution along the class axis, "
            f"broadcasting to the logits' shape {shape}); got a scalar"
        )
    if axis != -1 and len(lshape) != len(shape):
        raise InvalidArgumentError(
            f"labels must have the logits' rank {len(shape)} when axis={axis} (TensorFlow moves the axis last "
            f"in both); got labels of shape {lshape}"
        )
    if not shape or not -len(shape) <= axis < len(shape):
        return labels  # the core names the logits' error
    if axis != -1:
        a = axis % len(shape)
        lshape = lshape[:a] + lshape[a + 1 :] + lshape[a : a + 1]
        shape = shape[:a] + shape[a + 1 :] + shape[a : a + 1]
    rows, lrows = math.prod(shape[:-1]), math.prod(lshape[:-1])
    if lrows not in (1, rows) or lshape[-1] not in (1, shape[-1]):
        raise InvalidArgumentError(
            f"labels of shape {tuple(labels.shape)} must broadcast to the logits' shape {tuple(logits.shape)} "
            f"(TensorFlow flattens both to (rows, classes) with the class axis last: labels of {lrows} rows and "
            f"{lshape[-1]} classes against {rows} rows and {shape[-1]} classes; rows must be 1 or {rows}, "
            f"classes 1 or {shape[-1]})"
        )
    fits = len(lshape) <= len(shape) and all(s in (1, t) for s, t in zip(lshape[::-1], shape[::-1]))
    if not fits and axis == -1:  # TensorFlow's (rows, classes) view of the labels, as a NumPy broadcast
        lead = () if lrows == 1 else shape[:-1]
        return namespace_of({"labels": labels}).reshape(labels, (*lead, lshape[-1]))
    if not fits:
        raise InvalidArgumentError(
            f"labels of shape {tuple(labels.shape)} must broadcast to the logits' shape {tuple(logits.shape)} "
            f"(NumPy rules, with axis={axis}); TensorFlow also accepts another split of the same rows there "
            "through its flattening to 2-D, which this dialect does not (reshape the labels to the logits' shape)"
        )
    return labels


def _int_axis(axis: Any) -> int:
    if as_int(axis) is None:
        raise InvalidTypeError(f"axis must be an int; got {axis!r}")
    return axis


@dialect_function
def softmax_cross_entropy_with_logits(
    labels: Any, logits: Array, axis: int = -1, name: str | None = None
) -> Call[Array]:
    """``tf.nn.softmax_cross_entropy_with_logits`` on any array library.

    Parameters
    ----------
    labels : array
        A probability distribution per item, of the logits' shape (cast to the logits' dtype), or
        broadcasting to it as TensorFlow broadcasts its flattened ``(rows, classes)`` labels: ``(C,)``,
        ``(1, C)``, ``(N, 1)`` (one value for every class of a row), ``(1, 1)``, ``(1,)``; at least
        1-D, and of the logits' rank when ``axis != -1``.
    logits : array
        Unnormalised scores, at least 1-D.
    axis : int
        The class axis.
    name : str, optional
        Accepted for compatibility; no effect.

    Returns
    -------
    array
        ``-sum(labels * log_softmax(logits), axis)``: the logits' shape without ``axis``.

    Examples
    --------
    TensorFlow's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.tensorflow import softmax_cross_entropy_with_logits
    >>> logits = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]], dtype=np.float32)
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.8, 0.2]], dtype=np.float32)
    >>> print(np.round(softmax_cross_entropy_with_logits(labels=labels, logits=logits), 6))  # TF: [0.16984604 0.82474494]
    [0.169846 0.824745]
    """
    axis = _int_axis(axis)
    labels = _check_broadcast_labels(labels, logits, axis)
    return Call(_spec("softmax", "probs", axis), logits, labels, names=_NAMES)


@dialect_function
def sparse_softmax_cross_entropy_with_logits(labels: Any, logits: Array, name: str | None = None) -> Call[Array]:
    """``tf.nn.sparse_softmax_cross_entropy_with_logits`` on any array library.

    Parameters
    ----------
    labels : array
        Integer class indices in ``[0, C)`` (int32 or int64 in TensorFlow; any integer dtype here),
        of the logits' shape without the last axis.
    logits : array
        Unnormalised scores of shape ``(d1, ..., C)``, at least 1-D.
    name : str, optional
        Accepted for compatibility; no effect.

    Returns
    -------
    array
        One loss per item: the labels' shape.

    Examples
    --------
    TensorFlow's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.tensorflow import sparse_softmax_cross_entropy_with_logits
    >>> logits = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]], dtype=np.float32)
    >>> print(np.round(sparse_softmax_cross_entropy_with_logits(labels=np.array([0, 1]), logits=logits), 6))
    [0.169846 0.024745]
    """
    xp = namespace_of({"labels": labels, "logits": logits})
    if not is_integer(xp, labels.dtype):
        raise InvalidTypeError(f"labels must be integer class indices (int32 or int64); got dtype {labels.dtype}")
    if logits.ndim < 1:
        raise InvalidArgumentError("logits must have at least one dimension (the class axis); got a scalar")
    return Call(_spec("softmax", "index", -1), logits, labels, names=_NAMES)


@dialect_function
def sigmoid_cross_entropy_with_logits(
    labels: Any = None,
    logits: Array = None,  # type: ignore[assignment]  # TensorFlow's default; it raises without logits
    name: str | None = None,
) -> Call[Array]:
    """``tf.nn.sigmoid_cross_entropy_with_logits`` on any array library.

    Parameters
    ----------
    labels : array
        Targets in ``[0, 1]`` of the logits' shape and dtype.
    logits : array
        Unnormalised scores (any shape, 0-d included).
    name : str, optional
        Accepted for compatibility; no effect.

    Returns
    -------
    array
        ``max(x, 0) - x * z + log(1 + exp(-abs(x)))`` elementwise: the logits' shape.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.tensorflow import sigmoid_cross_entropy_with_logits
    >>> logits = np.array([1.0, -1.0, 0.0])
    >>> labels = np.array([1.0, 0.0, 0.5])
    >>> print(np.round(sigmoid_cross_entropy_with_logits(labels=labels, logits=logits), 6))
    [0.313262 0.313262 0.693147]
    """
    if labels is None or logits is None:
        raise InvalidArgumentError("sigmoid_cross_entropy_with_logits needs both labels and logits")
    if labels.dtype != logits.dtype:
        raise InvalidTypeError(f"labels must have the logits' dtype {logits.dtype}; got {labels.dtype}")
    return Call(_spec("sigmoid", "probs", -1), logits, labels, names=_NAMES)


@dialect_function
def weighted_cross_entropy_with_logits(
    labels: Any, logits: Array, pos_weight: Any, name: str | None = None
) -> Call[Array]:
    """``tf.nn.weighted_cross_entropy_with_logits`` on any array library.

    Parameters
    ----------
    labels : array
        Targets in ``[0, 1]`` of the logits' shape and dtype.
    logits : array
        Unnormalised scores (any shape).
    pos_weight : float or array
        The weight of the positive term, broadcast against the logits (a number, one per class
        along the last axis, ...).
    name : str, optional
        Accepted for compatibility; no effect.

    Returns
    -------
    array
        ``(1 - z) x + (1 + (q - 1) z) log(1 + exp(-x))`` elementwise (``q = pos_weight``): the
        logits' shape.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.tensorflow import weighted_cross_entropy_with_logits
    >>> x = np.array([-2.0, 0.0, 2.0])
    >>> print(np.round(weighted_cross_entropy_with_logits(np.array([1.0, 0.0, 1.0]), x, pos_weight=3.0), 6))
    [6.380784 0.693147 0.380784]
    """
    if labels.dtype != logits.dtype:
        raise InvalidTypeError(f"labels must have the logits' dtype {logits.dtype}; got {labels.dtype}")
    return Call(_spec("sigmoid", "probs", -1), logits, labels, class_weight=pos_weight, names=_WEIGHTED_NAMES)

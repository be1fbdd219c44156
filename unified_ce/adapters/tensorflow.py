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
                                               ``reduction="none"``
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
-1) works on inputs of rank > 2, where TensorFlow 2.21 fails inside its own ``tf.range``.  Errors
are :class:`~unified_ce.InvalidArgumentError` (a ``ValueError``) / :class:`~unified_ce.InvalidTypeError`
(a ``TypeError``) where TensorFlow raises ``ValueError`` or its ``InvalidArgumentError`` (an
``OpError``, which unified_ce cannot subclass without importing TensorFlow).
"""

from __future__ import annotations

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
    "target kinds": "probabilities of the logits' shape (softmax_...), int32/int64 indices (sparse_...), "
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
GOLDEN_PENDING = {
    "softmax_cross_entropy_with_logits/labels_broadcast": "the core wants a probability target of the logits' "
    "shape (TensorFlow broadcasts the labels)",
}

#: Golden cases where TensorFlow's backward is not the derivative of its forward (labels whose rows do not
#: sum to 1: TensorFlow returns softmax - labels); the gradient here is that derivative.
GOLDEN_GRAD_DEVIATIONS = {
    **{
        f"softmax_cross_entropy_with_logits/{cid}": "TensorFlow's backward softmax - labels assumes rows "
        "summing to 1; the derivative of its forward is sum(labels) * softmax - labels"
        for cid in ("unnormalised", "negative_labels")
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
    )


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
        A probability distribution per item, of the logits' shape (cast to the logits' dtype).
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
    return Call(_spec("softmax", "probs", _int_axis(axis)), logits, labels, names=_NAMES)


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

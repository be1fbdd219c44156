"""The optax dialect: ``optax.losses.softmax_cross_entropy``, ``softmax_cross_entropy_with_integer_labels``,
``safe_softmax_cross_entropy`` and ``sigmoid_binary_cross_entropy``.

Works on arrays of every supported library (optax and JAX are not imported; JAX arrays work with
``jax.grad`` and ``jit``).  Emulates optax 0.2.8 (``optax/losses/_classification.py``).  Every
function returns one loss per example (optax never reduces).  Translation to the spec:

================================================  ===============================================
optax                                             :class:`~unified_ce.CrossEntropySpec`
================================================  ===============================================
``softmax_cross_entropy(logits, labels, axis)``   ``target="probs"``, ``axis`` (an int),
                                                  ``reduction="none"``
``softmax_cross_entropy_with_integer_labels``     ``target="index"`` (integer labels), ``axis``
``safe_softmax_cross_entropy``                    as ``softmax_cross_entropy`` on the last axis
``sigmoid_binary_cross_entropy``                  ``activation="sigmoid"``: integer labels are
                                                  binary (0 / 1), floating ones probabilities
================================================  ===============================================

Not translated yet (``docs/dialects/optax.md``): ``axis`` as a tuple or ``None``, ``where``,
labels that broadcast against the logits, and boolean labels; they raise a clear error.  ``smooth_labels`` is optax's label
transform (not a loss), written with the labels' own array operations.

Deliberate differences from optax: where optax turns invalid input into a number this dialect
raises -- a class index outside ``[0, C)`` (JAX's ``take_along_axis`` wraps -1 and fills NaN for
``C``), negative probability labels, sigmoid labels outside ``[0, 1]``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from .._backend import is_floating, is_integer, namespace_of
from .._errors import FrameworkErrors, InvalidArgumentError, InvalidTypeError
from .._spec import CrossEntropySpec
from ._base import Array, Call, dialect_function

# the first is the dialect's main API (porting writes it first)
__all__ = [  # noqa: RUF022
    "softmax_cross_entropy_with_integer_labels",
    "softmax_cross_entropy",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "smooth_labels",
]

_NAMES = (("logits", "logits"), ("target", "labels"))

#: optax's exception classes: JAX raises ``TypeError`` for probability labels that do not broadcast
#: against the logits ("mul got incompatible shapes for broadcasting").
FRAMEWORK_ERRORS = FrameworkErrors(
    (InvalidArgumentError, r"^labels of probabilities must have the logits' shape", TypeError)
)

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "axis=-1 (an int; optax also takes a tuple of axes or None: not translated yet)",
    "target kinds": "probabilities of the logits' shape (softmax_cross_entropy), integer labels "
    "(..._with_integer_labels), binary labels or probabilities (sigmoid_binary_cross_entropy)",
    "ignore label": "none (optax's where= masks: not translated yet)",
    "label smoothing": "no (optax.smooth_labels transforms the labels beforehand)",
    "class weight enters": "no class weights",
    "mean divides by": "n/a (no reduction: one loss per example)",
    "all ignored (mean)": "n/a",
    "output shape": "the logits' shape without the class axis (sigmoid: the logits' shape)",
    "per-sample weights": "no",
    "log-prob input": "no",
    "probability input": "no",
}

_NOT_YET = "is not translated by unified_ce yet"

#: Golden cases this dialect cannot run yet, with the reason.
GOLDEN_PENDING = {
    "softmax_cross_entropy/axis_tuple": "axis as a tuple of axes " + _NOT_YET,
    "softmax_cross_entropy/axis_None": "axis=None " + _NOT_YET,
    "softmax_cross_entropy/where_*": "where= " + _NOT_YET,
    "softmax_cross_entropy/labels_broadcast": "labels broadcast against the logits " + _NOT_YET,
    "softmax_cross_entropy_with_integer_labels/axis_tuple*": "axis as a tuple of axes " + _NOT_YET,
    "softmax_cross_entropy_with_integer_labels/where*": "where= " + _NOT_YET,
    "sigmoid_binary_cross_entropy/bool_labels": "boolean labels " + _NOT_YET,
    "sigmoid_binary_cross_entropy/labels_broadcast": "labels broadcast against the logits " + _NOT_YET,
}


@functools.lru_cache(maxsize=64)
def _spec(activation: str, target: str, axis: int) -> CrossEntropySpec:
    return CrossEntropySpec(
        activation=activation,  # type: ignore[arg-type]
        target=target,  # type: ignore[arg-type]
        axis=axis,
        reduction="none",
    )


#: safe_softmax_cross_entropy: ``where(labels != 0, labels * log_softmax(logits), 0)``
_SAFE = CrossEntropySpec(target="probs", reduction="none", skip_zero_targets=True)


def _axis(axis: Any) -> int:
    if isinstance(axis, tuple) or axis is None:
        raise InvalidArgumentError(f"axis={axis!r}: a tuple of axes or None {_NOT_YET}; pass one int")
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise InvalidArgumentError(
            f"Keyword argument 'axis' must be of type 'int' or 'tuple[int, ...]' but actual type is {type(axis)}."
        )
    return axis


def _no_where(where: Any) -> None:
    if where is not None:
        raise InvalidArgumentError(f"where= {_NOT_YET}; leave it None")


def _floating_logits(logits: Any) -> None:
    xp = namespace_of({"logits": logits})
    if not is_floating(xp, logits.dtype):
        raise InvalidTypeError(
            f"logits must be floating (optax: a dtype that is a subdtype of numpy.floating); got {logits.dtype}"
        )


@dialect_function
def softmax_cross_entropy(logits: Array, labels: Any, axis: Any = -1, where: Any = None) -> Call[Array]:
    r"""``optax.losses.softmax_cross_entropy`` on any array library.

    :math:`\sigma_i = -\sum_j y_{ij} \log \mathrm{softmax}(x_i)_j`.

    Parameters
    ----------
    logits : array
        Unnormalised log probabilities.
    labels : array
        Probability distributions (e.g. one-hot) of the logits' shape; taken as given (rows need not
        sum to 1).
    axis : int
        The class axis (a tuple of axes or ``None``: not translated yet).
    where : None
        Not translated yet.

    Returns
    -------
    array
        One loss per example: the logits' shape without ``axis``.

    Examples
    --------
    optax's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.optax import softmax_cross_entropy
    >>> logits = np.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> print(np.round(softmax_cross_entropy(logits, labels), 4))
    [0.2761 2.9518]
    """
    _no_where(where)
    ax = _axis(axis)
    _floating_logits(logits)
    return Call(_spec("softmax", "probs", ax), logits, labels, names=_NAMES)


@dialect_function
def softmax_cross_entropy_with_integer_labels(
    logits: Array, labels: Any, axis: Any = -1, where: Any = None
) -> Call[Array]:
    """``optax.losses.softmax_cross_entropy_with_integer_labels`` on any array library.

    Parameters
    ----------
    logits : array
        Unnormalised log probabilities.
    labels : array
        Integer class labels in ``[0, C)``: the logits' shape without ``axis``.
    axis : int
        The class axis (a tuple of axes: not translated yet).
    where : None
        Not translated yet.

    Returns
    -------
    array
        One loss per example: the labels' shape.

    Examples
    --------
    optax's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.optax import softmax_cross_entropy_with_integer_labels
    >>> logits = np.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
    >>> print(np.round(softmax_cross_entropy_with_integer_labels(logits, np.array([0, 1])), 4))
    [0.2761 2.9518]
    """
    _no_where(where)
    ax = _axis(axis)
    _floating_logits(logits)
    xp = namespace_of({"logits": logits, "labels": labels})
    if not is_integer(xp, labels.dtype):
        raise InvalidTypeError(
            f"labels must be integers (optax: a dtype that is a subdtype of numpy.integer); got {labels.dtype}"
        )
    return Call(_spec("softmax", "index", ax), logits, labels, names=_NAMES)


@dialect_function
def safe_softmax_cross_entropy(logits: Array, labels: Any) -> Call[Array]:
    """``optax.losses.safe_softmax_cross_entropy`` on any array library (finite logits).

    Parameters
    ----------
    logits : array
        Unnormalised log probabilities ``[..., num_classes]``.
    labels : array
        Probability distributions of the logits' shape.

    Returns
    -------
    array
        One loss per example; a class whose label is 0 contributes nothing, even where its logit
        is ``-inf`` (``0 log 0 = 0``; ``softmax_cross_entropy`` gives ``nan`` there).

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.optax import safe_softmax_cross_entropy
    >>> print(np.round(safe_softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([[0.5, 0.5]])), 6))
    [0.693147]
    """
    _floating_logits(logits)
    return Call(_SAFE, logits, labels, names=_NAMES)


@dialect_function
def sigmoid_binary_cross_entropy(logits: Array, labels: Any) -> Call[Array]:
    """``optax.losses.sigmoid_binary_cross_entropy`` on any array library.

    Parameters
    ----------
    logits : array
        Unnormalised log probabilities of each binary prediction.
    labels : array
        Binary labels (integers 0 / 1) or target probabilities (floating, in ``[0, 1]``), of the
        logits' shape.

    Returns
    -------
    array
        ``-labels log sigmoid(x) - (1 - labels) log sigmoid(-x)``: the logits' shape.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.optax import sigmoid_binary_cross_entropy
    >>> print(np.round(sigmoid_binary_cross_entropy(np.array([0.0, 2.0]), np.array([1, 0])), 6))
    [0.693147 2.126928]
    """
    _floating_logits(logits)
    xp = namespace_of({"logits": logits, "labels": labels})
    if not (is_floating(xp, labels.dtype) or is_integer(xp, labels.dtype)):
        raise InvalidTypeError(f"labels must be integers or floating; got {labels.dtype} ({_NOT_YET} for booleans)")
    target = "probs" if is_floating(xp, labels.dtype) else "index"
    return Call(_spec("sigmoid", target, -1), logits, labels, names=_NAMES)


def smooth_labels(labels: Any, alpha: Any, *, axis: Any = -1, where: Any = None) -> Any:
    """``optax.losses.smooth_labels``: ``(1 - alpha) * labels + alpha / num_categories``.

    A transform of the labels, not a loss (no spec): computed with the labels' own array library
    (differentiable wherever it is).  ``num_categories`` is the size of ``axis`` (the product of the
    sizes of a tuple of axes, every element for ``None``), or with ``where`` the number of ``True``
    entries along ``axis`` (kept, so that it broadcasts).

    Parameters
    ----------
    labels : array
        One-hot (or probability) labels of a floating dtype.
    alpha : float or array
        The smoothing factor.
    axis : int, tuple of int or None
        The class axis or axes.
    where : array of bool or None
        The classes to include.

    Returns
    -------
    array
        The smoothed labels, of the labels' shape.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.optax import smooth_labels
    >>> print(smooth_labels(np.array([[0.0, 1.0, 0.0, 0.0]]), 0.2))
    [[0.05 0.85 0.05 0.05]]
    """
    xp = namespace_of({"labels": labels})
    if not is_floating(xp, labels.dtype):
        raise InvalidTypeError(
            f"labels must be floating (optax: a dtype that is a subdtype of numpy.floating); got {labels.dtype}"
        )
    if where is not None:
        xw = namespace_of({"labels": labels, "where": where})
        num: Any = xw.sum(xw.astype(where, labels.dtype), axis=axis, keepdims=True)
    else:
        axes = range(labels.ndim) if axis is None else (axis,) if isinstance(axis, int) else axis
        num = math.prod(labels.shape[a] for a in axes)
    return (1.0 - alpha) * labels + alpha / num

"""The optax dialect: ``optax.losses.softmax_cross_entropy``, ``softmax_cross_entropy_with_integer_labels``,
``safe_softmax_cross_entropy`` and ``sigmoid_binary_cross_entropy``.

Works on arrays of every supported library (optax and JAX are not imported; JAX arrays work with
``jax.grad`` and ``jit``).  Emulates optax 0.2.8 (``optax/losses/_classification.py``).  Every
function returns one loss per example (optax never reduces).  Translation to the spec:

================================================  ===============================================
optax                                             :class:`~unified_ce.CrossEntropySpec`
================================================  ===============================================
``softmax_cross_entropy(logits, labels, axis)``   ``target="probs"``, ``reduction="none"``,
                                                  ``broadcast_target=True``; ``axis`` an int:
                                                  ``axis``; a tuple: ``class_axes``; ``None``:
                                                  ``class_axes`` = every axis
``softmax_cross_entropy_with_integer_labels``     ``target="index"`` (integer labels), ``axis``
                                                  (an int) or ``class_axes`` (a tuple: a label is
                                                  a flat index in C order of the axes as listed)
``where=`` (both)                                 ``mask_classes=True``, the mask as the call's
                                                  class mask (the logits' shape, or the labels'
                                                  shape: one flag per example)
``safe_softmax_cross_entropy``                    as ``softmax_cross_entropy`` on the last axis,
                                                  ``skip_zero_targets=True``
``sigmoid_binary_cross_entropy``                  ``activation="sigmoid"``, ``broadcast_target``:
                                                  integer and boolean labels are binary (0 / 1),
                                                  floating ones probabilities
================================================  ===============================================

``smooth_labels`` is optax's label transform (not a loss), written with the labels' own array
operations.

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
_MASK_NAMES = (*_NAMES, ("class_mask", "where"))

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "axis=-1; a tuple of axes (classes flattened in C order of the axes as listed) or None "
    "(every axis; softmax_cross_entropy only)",
    "target kinds": "probabilities of the logits' shape (softmax_cross_entropy), integer labels "
    "(..._with_integer_labels), binary labels or probabilities (sigmoid_binary_cross_entropy)",
    "ignore label": "none; where= masks classes (they leave the softmax and the sum; an example with every "
    "class masked gives 0), or whole examples (a mask of the labels' shape)",
    "label smoothing": "no (optax.smooth_labels transforms the labels beforehand)",
    "class weight enters": "no class weights",
    "mean divides by": "n/a (no reduction: one loss per example)",
    "all ignored (mean)": "n/a (an example with every class masked by where= gives 0)",
    "output shape": "the logits' shape without the class axis (sigmoid: the logits' shape)",
    "per-sample weights": "no",
    "log-prob input": "no",
    "probability input": "no",
}

#: Golden cases this dialect cannot run yet, with the reason.
GOLDEN_PENDING: dict[str, str] = {}


@functools.lru_cache(maxsize=64)
def _spec(
    activation: str, target: str, axis: int, class_axes: tuple[int, ...] | None = None, where: bool = False
) -> CrossEntropySpec:
    return CrossEntropySpec(
        activation=activation,  # type: ignore[arg-type]
        target=target,  # type: ignore[arg-type]
        axis=axis,
        reduction="none",
        class_axes=class_axes,
        mask_classes=where,
        broadcast_target=target == "probs" or activation == "sigmoid",
    )


#: safe_softmax_cross_entropy: ``where(labels != 0, labels * log_softmax(logits), 0)``
_SAFE = CrossEntropySpec(target="probs", reduction="none", skip_zero_targets=True, broadcast_target=True)


def _axes(axis: Any, ndim: int, none_ok: bool) -> tuple[int, tuple[int, ...] | None]:
    """optax's ``axis`` as ``(axis, class_axes)``: an int, a tuple of ints, or (``none_ok``) None: every axis."""
    if axis is None and none_ok:
        return -1, tuple(range(ndim))
    if isinstance(axis, tuple) and all(isinstance(a, int) and not isinstance(a, bool) for a in axis):
        return -1, axis
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise InvalidArgumentError(
            f"Keyword argument 'axis' must be of type 'int' or 'tuple[int, ...]' but actual type is {type(axis)}."
        )
    return axis, None


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
        Probability distributions (e.g. one-hot) of the logits' shape, or of a shape that broadcasts
        to it; taken as given (rows need not sum to 1).
    axis : int, tuple of int or None
        The class axis, several class axes, or ``None``: every axis (one loss for the whole array).
    where : array of bool, optional
        The classes to include (the logits' shape), or the examples to include (the logits' shape
        without ``axis``).  Masked classes leave the softmax and the sum; an example with every class
        masked gives 0.

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
    _floating_logits(logits)
    ax, axes = _axes(axis, logits.ndim, none_ok=True)
    if where is None:
        return Call(_spec("softmax", "probs", ax, axes), logits, labels, names=_NAMES)
    return Call(_spec("softmax", "probs", ax, axes, True), logits, labels, names=_MASK_NAMES, class_mask=where)


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
    axis : int or tuple of int
        The class axis, or several: ``C`` is then the number of elements of those axes, and a label
        is a flat index into them in C order of the axes *as listed* (``(3, 1)``: axis 3 then 1).
    where : array of bool, optional
        The classes to include in the log-sum-exp (the logits' shape), or the examples to include
        (the labels' shape).  The label's own logit is used even where its class is masked (optax);
        an example with every class masked gives 0.

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

    Several class axes (optax's second example): a label is a flat index into axes ``(2, 3)``:

    >>> shape = (1, 2, 3, 4)
    >>> x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    >>> labels = np.ravel_multi_index((np.array([[1, 2]]), np.array([[1, 3]])), shape[2:])
    >>> print(np.round(softmax_cross_entropy_with_integer_labels(x, labels, axis=(2, 3)), 4))
    [[6.4587 0.4587]]
    """
    _floating_logits(logits)
    xp = namespace_of({"logits": logits, "labels": labels})
    if not is_integer(xp, labels.dtype):
        raise InvalidTypeError(
            f"labels must be integers (optax: a dtype that is a subdtype of numpy.integer); got {labels.dtype}"
        )
    ax, axes = _axes(axis, logits.ndim, none_ok=False)
    if where is None:
        return Call(_spec("softmax", "index", ax, axes), logits, labels, names=_NAMES)
    return Call(_spec("softmax", "index", ax, axes, True), logits, labels, names=_MASK_NAMES, class_mask=where)


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
        Binary labels (integers or booleans: 0 / 1) or target probabilities (floating, in
        ``[0, 1]``), of the logits' shape or of a shape that broadcasts to it.

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
    if not (is_floating(xp, labels.dtype) or is_integer(xp, labels.dtype) or labels.dtype == xp.bool):
        raise InvalidTypeError(f"labels must be booleans, integers or floating; got {labels.dtype}")
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

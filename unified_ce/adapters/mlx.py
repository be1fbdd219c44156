"""The MLX dialect: ``mlx.nn.losses.cross_entropy`` and ``mlx.nn.losses.binary_cross_entropy``.

Works on arrays of every supported library (MLX is never imported).  Emulates MLX 0.32
(``python/mlx/nn/losses.py``) on its CPU device.  Translation to the spec:

==========================  ====================================================================
MLX                         :class:`~unified_ce.CrossEntropySpec`
==========================  ====================================================================
``targets``                 probabilities iff ``targets.ndim == logits.ndim`` (``target="probs"``,
                            each row summing to 1), else integer class indices
``weights``                 ``sample_weight``: one weight per loss element, of exactly the loss's
                            shape (MLX does not broadcast)
``axis=-1``                 ``axis``
``label_smoothing=0.0``     ``label_smoothing`` in ``[0, 1)``: MLX's
                            ``lse - (1-eps) x_y - eps mean(x)`` is ``(1-eps) q + eps/C``
``reduction='none'``        ``"none"``; ``'mean'``: ``denominator="items"`` (the mean of the
                            weighted losses: it divides by the number of items, not by the
                            sum of the weights); ``'sum'``
binary: ``with_logits``     ``True``: ``activation="sigmoid"`` (integer targets as binary labels,
                            floating targets as probabilities); ``False``: ``inputs="probs"``
                            with each log clipped at -100 (``min_log``), probabilities outside
                            ``[0, 1]`` refused (``probs_in_range``; MLX gives nan)
binary: ``reduction``       default ``'mean'`` over every element (``denominator="items"``,
                            an empty input gives nan)
==========================  ====================================================================

Deliberate differences from MLX (documented in ``docs/dialects/mlx.md``): where MLX turns invalid
input into a number this dialect raises -- a class index outside ``[0, C)`` (MLX's
``take_along_axis`` reads out of bounds), probability targets that do not sum to 1 (MLX then
computes ``lse(x) - sum(q x)``, which is no cross-entropy), binary targets outside ``[0, 1]``.
Empty inputs work (MLX's ``logsumexp`` refuses them).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from .._backend import as_array_like, is_floating, is_integer, namespace_of
from .._errors import InvalidArgumentError, InvalidTypeError
from .._scalars import as_int, as_real
from .._spec import CrossEntropySpec
from ._base import Array, Call, check_choice, dialect_function, spec_cache

__all__ = ["binary_cross_entropy", "cross_entropy"]

#: MLX's reduction names: what type checkers accept, and what is checked at run time
Reduction = Literal["none", "mean", "sum"]
_REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)
_NAMES = (("logits", "logits"), ("target", "targets"), ("sample_weight", "weights"))
_BINARY_NAMES = (("logits", "inputs"), ("target", "targets"), ("sample_weight", "weights"))

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "axis=-1 (any axis)",
    "target kinds": "int indices (targets.ndim == logits.ndim - 1), or probabilities of the logits' shape",
    "ignore label": "none (give the item weight 0)",
    "label smoothing": "yes, in [0, 1): lse - (1-eps) x_y - eps mean(x), i.e. (1-eps) q + eps/C",
    "class weight enters": "no class weights",
    "mean divides by": "the number of loss elements (weights multiply, they are not the denominator)",
    "all ignored (mean)": "n/a (no ignore label)",
    "output shape": "the logits' shape without axis (reduction='none', the default), or a scalar",
    "per-sample weights": "weights, of exactly the loss's shape",
    "log-prob input": "no",
    "probability input": "binary_cross_entropy(with_logits=False): each log clipped at -100; the gradient is "
    "autodiff's (nan at p exactly 0 or 1)",
}

#: Golden cases where MLX raises but this dialect deliberately accepts the input.
GOLDEN_DEVIATIONS = {
    f"cross_entropy/N0-{red}": "an empty batch gives an empty loss (mean: nan); MLX's logsumexp refuses empty arrays"
    for red in ("none", "mean", "sum")
}

#: Golden cases this dialect cannot run yet, with the reason.
GOLDEN_PENDING: dict[str, str] = {}


def _reduction(reduction: str) -> tuple[str, str]:
    check_choice("reduction", reduction, _REDUCTIONS)
    return reduction, "items"


#: ``with_logits=False``: ``mx.clip(mx.log(p), a_min=-100)`` for p and 1 - p; MLX does not check the range
_PROBS: dict[str, Any] = {"inputs": "probs", "min_log": -100.0, "probs_in_range": True}


@spec_cache(128)
def _spec(
    activation: str, target: str, axis: int, label_smoothing: float, reduction: str, probs: bool = False
) -> CrossEntropySpec:
    return CrossEntropySpec(
        **(_PROBS if probs else {}),
        activation=activation,  # type: ignore[arg-type]
        target=target,  # type: ignore[arg-type]
        axis=axis,
        label_smoothing=label_smoothing,
        reduction=reduction,  # type: ignore[arg-type]
        denominator="items",
        zero_denominator="nan",
        probs_sum_to_one=activation == "softmax" and target == "probs",
    )


def _check_weights(weights: Any, loss_shape: tuple[int, ...]) -> None:
    if weights is not None and tuple(weights.shape) != loss_shape:
        raise InvalidArgumentError(
            f"weights must have the loss's shape {loss_shape} (one weight per loss element); "
            f"got shape {tuple(weights.shape)}"
        )


@dialect_function
def cross_entropy(
    logits: Array,
    targets: Any,
    weights: Any = None,
    axis: int = -1,
    label_smoothing: float = 0.0,
    reduction: Reduction = "none",
) -> Call[Array]:
    """``mlx.nn.losses.cross_entropy`` on any array library.

    Parameters
    ----------
    logits : array
        Unnormalised scores.
    targets : array
        Integer class indices (the logits' shape without ``axis``) or probabilities (the logits'
        shape, each distribution summing to 1).
    weights : array, optional
        One weight per target: the shape of the unreduced loss.
    axis : int
        The class axis.
    label_smoothing : float
        In ``[0, 1)``.
    reduction : {'none', 'mean', 'sum'}
        ``'mean'`` averages the (weighted) losses over their number.

    Returns
    -------
    array
        The loss per item (``'none'``), or a scalar.

    Examples
    --------
    MLX's documentation examples:

    >>> import numpy as np
    >>> from unified_ce.adapters.mlx import cross_entropy
    >>> logits = np.array([[2.0, -1.0], [-1.0, 2.0]], dtype=np.float32)
    >>> print(np.round(cross_entropy(logits, np.array([0, 1])), 6))  # MLX: [0.0485873, 0.0485873]
    [0.048587 0.048587]
    >>> print(np.round(cross_entropy(logits, np.array([[0.9, 0.1], [0.1, 0.9]], dtype=np.float32)), 6))
    [0.348587 0.348587]
    """
    ls = label_smoothing
    if as_real(ls) is None or not 0.0 <= as_real(ls) < 1.0:  # type: ignore[operator]
        raise InvalidArgumentError(f"label_smoothing must be in [0, 1); got {ls!r}")
    red, _ = _reduction(reduction)
    if as_int(axis) is None:
        raise InvalidTypeError(f"axis must be an int; got {axis!r}")
    xp = namespace_of({"logits": logits, "targets": targets})
    probs = targets.ndim == logits.ndim
    if not probs:
        if not -logits.ndim <= axis < logits.ndim:
            raise InvalidArgumentError(f"axis {axis} is out of range for logits of shape {tuple(logits.shape)}")
        if not is_integer(xp, targets.dtype):
            raise InvalidTypeError(f"targets of class indices must have an integer dtype; got {targets.dtype}")
        loss_shape = tuple(s for i, s in enumerate(logits.shape) if i != axis % logits.ndim)
        if tuple(targets.shape) != loss_shape:
            raise InvalidArgumentError(
                f"targets shape {tuple(targets.shape)} does not match logits shape {tuple(logits.shape)}"
            )
    else:
        if tuple(targets.shape) != tuple(logits.shape):
            raise InvalidArgumentError(
                f"targets shape {tuple(targets.shape)} does not match logits shape {tuple(logits.shape)}"
            )
        loss_shape = tuple(s for i, s in enumerate(logits.shape) if i != axis % max(logits.ndim, 1))
    _check_weights(weights, loss_shape)
    if weights is not None:  # the core's per-item weights keep the class axis (size 1): a view
        weights = as_array_like("weights", weights, xp, logits)
        weights = xp.expand_dims(weights, axis=axis % logits.ndim)
    spec = _spec("softmax", "probs" if probs else "index", axis, float(ls), red)
    return Call(spec, logits, targets, sample_weight=weights, names=_NAMES)


@dialect_function
def binary_cross_entropy(
    inputs: Array,
    targets: Any,
    weights: Any = None,
    with_logits: bool = True,
    reduction: Reduction = "mean",
) -> Call[Array]:
    """``mlx.nn.losses.binary_cross_entropy`` on any array library.

    Parameters
    ----------
    inputs : array
        Logits (pre-sigmoid scores), or probabilities in ``[0, 1]`` with ``with_logits=False`` (each
        log clipped at -100, as MLX; values outside ``[0, 1]`` raise where MLX gives nan).
    targets : array
        Binary labels (integer 0 / 1) or probabilities (floating, in ``[0, 1]``) of the inputs' shape.
    weights : array, optional
        One weight per element, of the inputs' shape.
    with_logits : bool
    reduction : {'mean', 'none', 'sum'}
        ``'mean'`` averages over every element.

    Returns
    -------
    array
        A scalar, or the inputs' shape for ``'none'``.

    Examples
    --------
    MLX's documentation example:

    >>> import numpy as np
    >>> from unified_ce.adapters.mlx import binary_cross_entropy
    >>> logits = np.array([0.105361, 0.223144, 1.20397, 0.916291], dtype=np.float32)
    >>> print(np.round(binary_cross_entropy(logits, np.array([0, 0, 1, 1]), reduction="mean"), 5))  # MLX: 0.539245
    0.53925
    >>> probs = np.array([0.1, 0.1, 0.4, 0.4], dtype=np.float32)
    >>> print(np.round(binary_cross_entropy(probs, np.array([0, 0, 1, 1]), with_logits=False), 6))  # MLX: 0.510826
    0.510826
    """
    red, _ = _reduction(reduction)
    xp = namespace_of({"inputs": inputs, "targets": targets})
    if tuple(inputs.shape) != tuple(targets.shape):
        raise InvalidArgumentError(
            f"inputs shape {tuple(inputs.shape)} does not match targets shape {tuple(targets.shape)}"
        )
    _check_weights(weights, tuple(inputs.shape))
    target = "probs" if is_floating(xp, targets.dtype) else "index"
    spec = _spec("sigmoid", target, -1, 0.0, red, not with_logits)
    return Call(spec, inputs, targets, sample_weight=weights, names=_BINARY_NAMES)

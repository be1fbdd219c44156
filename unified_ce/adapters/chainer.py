"""The Chainer dialect: ``chainer.functions.softmax_cross_entropy`` and ``sigmoid_cross_entropy``.

Works on arrays of every supported library (Chainer is never imported).  Emulates Chainer 7.8.1,
``chainer/functions/loss/softmax_cross_entropy.py`` and ``sigmoid_cross_entropy.py``, on the CPU
(NumPy) code path.  Translation to the spec:

=============================  ==============================================================
Chainer                        :class:`~unified_ce.CrossEntropySpec`
=============================  ==============================================================
``x`` of shape ``(N, C, ...)``  ``axis=1``, ``batch_axis=0``
``t`` signed integer            ``target="index"`` (``t``'s shape is ``x``'s without axis 1)
``t`` floating, ``x``'s shape   ``target="probs"`` (soft targets, need not be normalised)
``ignore_label=-1``             ``ignore_index`` (labels only; ``None`` ignores nothing)
``class_weight``                ``class_weight``, ``weighting="per_class"`` (labels only: Chainer
                                ignores it for soft targets)
``reduce='mean'``               labels: ``denominator="valid"`` (``normalize=True``) or
                                ``"batch"`` (``normalize=False``: ``len(x)``), both with
                                ``zero_denominator="zero"`` (Chainer's ``max(count, 1)``);
                                soft targets: ``denominator="items"`` (``x.size / x.shape[1]``)
``reduce='no'``                 ``reduction="none"`` (``normalize`` is ignored)
``soft_target_loss``            ``soft_loss``: ``'cross-entropy'`` -> ``"cross_entropy"``,
                                ``'kl-divergence'`` -> ``"kl"`` with ``kl_eps=1e-7``
``enable_double_backprop``      :attr:`Call.double_backprop <unified_ce.adapters._base.Call>`
``cache_score``                 accepted, no effect (see :func:`softmax_cross_entropy`)
sigmoid ``t``                   ``activation="sigmoid"``, ``ignore_index=-1`` (fixed)
=============================  ==============================================================

Deliberate differences from Chainer (documented in ``docs/dialects/chainer.md``): where Chainer
silently turns invalid input into a number, this dialect raises -- a label outside ``[0, C)``
that is not ``ignore_label`` (Chainer's NumPy indexing wraps negative labels, its
double-backprop path clips them), a sigmoid label other than 0, 1 and -1, and a soft target
with negative entries.  For soft targets whose rows do not sum to 1 the gradient is the
derivative of the loss (Chainer's backward returns ``softmax(x) - t``, which assumes they do).
Errors are raised as :class:`~unified_ce.InvalidArgumentError` / :class:`~unified_ce.InvalidTypeError`
with a message, where Chainer raises its type-check ``InvalidType``, a ``RuntimeError`` from the
type checker itself, ``IndexError`` or ``ZeroDivisionError``.
"""

from __future__ import annotations

import math
import operator
import warnings
from typing import Any, Literal, get_args

from .._backend import is_floating, namespace_of
from .._errors import FrameworkErrors, InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from .._spec import CrossEntropySpec
from ._base import Array, Call, check_choice, dialect_function, spec_cache

__all__ = ["sigmoid_cross_entropy", "softmax_cross_entropy"]

#: ``SoftmaxCrossEntropy.eps``: the KL divergence is ``sum t * (log(t + eps) - log_softmax(x))``.
KL_EPS = 1e-7

#: Chainer's ``reduce`` and ``soft_target_loss`` names: what type checkers accept, and what is checked
#: at run time
Reduce = Literal["mean", "no"]
SoftTargetLoss = Literal["cross-entropy", "kl-divergence"]
_REDUCES: tuple[Reduce, ...] = get_args(Reduce)
_SOFT_LOSSES = {"cross-entropy": "cross_entropy", "kl-divergence": "kl"}
_NAMES = (("logits", "x"), ("target", "t"))

#: The built-in exception class Chainer 7.8.1 raises for each error (its type-check ``InvalidType``,
#: raised with ``enable_double_backprop=True`` and by ``sigmoid_cross_entropy``, is a plain
#: ``Exception`` and cannot be matched without importing Chainer).
FRAMEWORK_ERRORS = FrameworkErrors(
    (LabelOutOfRangeError, "", IndexError),
    (InvalidArgumentError, r"divides by .* which is 0", ZeroDivisionError),
    (InvalidArgumentError, r"^normalize=False divides by len\(x\)", TypeError),
    (InvalidArgumentError, r"^x must have shape \(N, C\)", IndexError),  # NumPy's AxisError for soft t
    (InvalidArgumentError, r"^x must have at least one class", ValueError),
    (InvalidTypeError, r"^[xt]\b.*dtype", RuntimeError),  # type check evaluated as bool
    (InvalidArgumentError, r"^[xt]\b", RuntimeError),
)

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "1 (x is (N, C, d1, ...), at least 2-D)",
    "target kinds": "signed-integer labels (x's shape without axis 1), or float soft targets of x's shape "
    "(cross-entropy or KL divergence)",
    "ignore label": "ignore_label=-1 (labels only; None ignores nothing); sigmoid: -1, fixed",
    "label smoothing": "no",
    "class weight enters": "per class: w_t * (-log p_t); silently ignored for soft targets",
    "mean divides by": "normalize=True: non-ignored labels; normalize=False: len(x); "
    "soft targets: x.size / x.shape[1] (normalize ignored)",
    "all ignored (mean)": "0 (max(count, 1))",
    "output shape": "scalar, or t's shape for reduce='no' (soft targets: x's shape without axis 1)",
    "per-sample weights": "no",
    "log-prob input": "no",
    "probability input": "no",
}

#: Golden cases (``unified_ce/conformance/golden/chainer.json``) where Chainer raises but this dialect
#: deliberately accepts the input.  None: every input Chainer refuses is refused here too.
GOLDEN_DEVIATIONS: dict[str, str] = {}

_UNNORMALISED = (
    "Chainer's soft-target backward returns (softmax(x) - t) * coeff (softmax_cross_entropy.py line 291), "
    "which is the derivative of its loss only when every row of t sums to 1; here the gradient is the "
    "derivative of the loss, (sum_c t_c) * softmax(x) - t, compared with grad_of_forward"
)

#: Golden cases where Chainer's backward is not the derivative of Chainer's own forward; the test
#: compares the gradient with ``expect["grad_of_forward"]`` (Chainer's autodiff of its forward formula).
GOLDEN_GRAD_DEVIATIONS = {
    **{f"sce/soft-{loss}-unnormalized-{dt}": _UNNORMALISED for loss in ("ce", "kl") for dt in ("f32", "f64")},
    "sce/soft-mixed-x32-t16": _UNNORMALISED + " (float16 targets sum to 1 only within float16 rounding)",
}


@spec_cache(512)
def _softmax_spec(
    soft: bool, soft_loss: str, ignore_label: int | None, reduce: str, normalize: bool
) -> CrossEntropySpec:
    reduction = "mean" if reduce == "mean" else "none"
    if soft:
        return CrossEntropySpec(
            axis=1,
            target="probs",
            soft_loss=soft_loss,  # type: ignore[arg-type]
            kl_eps=KL_EPS if soft_loss == "kl" else 0.0,
            reduction=reduction,  # type: ignore[arg-type]
            denominator="items",
            zero_denominator="zero",
        )
    return CrossEntropySpec(
        axis=1,
        target="index",
        ignore_index=ignore_label,
        reduction=reduction,  # type: ignore[arg-type]
        denominator="valid" if normalize else "batch",
        zero_denominator="zero",
        batch_axis=0,
    )


@spec_cache(64)
def _sigmoid_spec(reduce: str, normalize: bool) -> CrossEntropySpec:
    return CrossEntropySpec(
        activation="sigmoid",
        target="index",
        ignore_index=-1,
        reduction="mean" if reduce == "mean" else "none",  # type: ignore[arg-type]
        denominator="valid" if normalize else "batch",
        zero_denominator="zero",
        batch_axis=0,
    )


def _ignore_label(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidTypeError(f"ignore_label must be an int or None; got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidTypeError(f"ignore_label must be an int or None; got {value!r}") from None


def _signed(xp: Any, dtype: Any) -> bool:
    try:
        return bool(xp.isdtype(dtype, "signed integer"))
    except Exception:
        return False


def _label_kind(xp: Any, x: Any, t: Any, what: str) -> str:
    """'index' or 'probs' by Chainer's rule (dtype kind 'i' -> labels, else soft targets)."""
    if _signed(xp, t.dtype):
        return "index"
    if is_floating(xp, t.dtype) and what == "softmax":
        if tuple(t.shape) != tuple(x.shape):
            raise InvalidArgumentError(
                f"t of a floating dtype holds soft targets and must have x's shape {tuple(x.shape)}; got shape "
                f"{tuple(t.shape)} (class labels must have a signed integer dtype)"
            )
        return "probs"
    kinds = "a signed integer dtype (Chainer checks t.dtype.kind == 'i')"
    if what == "softmax":
        kinds += ", or a floating dtype and x's shape (soft targets)"
    raise InvalidTypeError(f"t must have {kinds}; got dtype {t.dtype}")


def _check_class_weight(class_weight: Any) -> None:
    """Chainer's ``_check_class_weight_option``: 1-D and floating (checked even for soft targets)."""
    if class_weight is None or not (hasattr(class_weight, "ndim") and hasattr(class_weight, "dtype")):
        return
    if class_weight.ndim != 1:
        raise InvalidArgumentError(
            f"class_weight must be 1-D, one weight per class (x.shape[1],); got shape {tuple(class_weight.shape)}"
        )
    xp = namespace_of({"class_weight": class_weight})
    if not is_floating(xp, class_weight.dtype):
        raise InvalidArgumentError(
            f"class_weight must have a floating dtype (Chainer: kind 'f'); got {class_weight.dtype}"
        )


@dialect_function
def softmax_cross_entropy(
    x: Array,
    t: Any,
    normalize: bool = True,
    cache_score: bool = True,
    class_weight: Any = None,
    ignore_label: int | None = -1,
    reduce: Reduce = "mean",
    enable_double_backprop: bool = False,
    soft_target_loss: SoftTargetLoss = "cross-entropy",
) -> Call[Array]:
    r"""``chainer.functions.softmax_cross_entropy`` on any array library.

    The loss of an item with label :math:`t` is :math:`-w_t \log \mathrm{softmax}(x)_t` (softmax
    over axis 1; :math:`w` the class weights, ones when none); items labelled ``ignore_label``
    give 0.  A soft target ``t`` (floating, ``x``'s shape) gives
    :math:`-\sum_c t_c \log \mathrm{softmax}(x)_c` (``'cross-entropy'``) or
    :math:`\sum_c t_c (\log(t_c + 10^{-7}) - \log \mathrm{softmax}(x)_c)` (``'kl-divergence'``).

    Parameters
    ----------
    x : array
        Logits of shape ``(N, C)`` or ``(N, C, d1, ..., dK)``; floating.
    t : array
        Class labels of a signed integer dtype and shape ``(N,)`` or ``(N, d1, ..., dK)``, or soft
        targets of a floating dtype and ``x``'s shape (rows need not sum to 1).
    normalize : bool
        With ``reduce='mean'`` and labels: divide the sum by the number of non-ignored labels
        (``True``) or by ``len(x) = N`` (``False``); either is at least 1, so a batch whose labels
        are all ignored gives 0.  Soft targets always divide by ``x.size / x.shape[1]``.
    cache_score : bool
        Accepted for compatibility; no effect on values.  In Chainer ``True`` keeps
        ``softmax(x)`` from the forward pass for the backward pass (memory for time) and ``False``
        recomputes it.  Here the backward pass always recomputes the softmax from ``x`` and two
        numbers per item kept from the forward pass (the max and the log-sum-exp), so the memory
        kept is O(items), never O(items x classes).
    class_weight : array, optional
        A floating 1-D array of ``C`` weights multiplying each class's log-probability.  Ignored
        for soft targets (as in Chainer, with a warning here).
    ignore_label : int or None
        Label whose items are ignored (labels only).  ``None`` ignores nothing.
    reduce : {'mean', 'no'}
        ``'no'`` returns one loss per item (``normalize`` is then ignored).
    enable_double_backprop : bool
        ``False`` (Chainer's default): the gradient that torch autograd or JAX compute cannot be
        differentiated again -- a second derivative raises ``RuntimeError``, as in Chainer.
        ``True``: second derivatives work (``create_graph=True``, ``jax.hessian``).  Soft
        targets are refused with ``True``, as in Chainer (its double-backprop implementation
        selects one log-probability per integer label).
    soft_target_loss : {'cross-entropy', 'kl-divergence'}
        The loss for soft targets.

    Returns
    -------
    array
        A scalar for ``reduce='mean'``, else ``t``'s shape (soft targets: ``x``'s shape without
        axis 1); ``x``'s dtype (soft targets: the promoted dtype of ``x`` and ``t``).

    Raises
    ------
    LabelOutOfRangeError
        A label outside ``[0, C)`` that is not ``ignore_label`` (Chainer: wraps it around or
        clips it with ``enable_double_backprop=True``, or raises ``IndexError``).
    InvalidArgumentError
        Wrong shapes, ``reduce``/``soft_target_loss`` values, a soft target with negative
        entries, ``reduce='mean'`` of soft targets over an empty batch (Chainer:
        ``ZeroDivisionError``).
    InvalidTypeError
        ``t`` of an unsigned, boolean or (with labels' shape) floating dtype; soft targets with
        ``enable_double_backprop=True``.

    Examples
    --------
    Chainer's documentation example (``variable(0.44018972)`` there; Chainer 7.8.1 itself
    returns ``0.4401896``: the float32 results differ in the last unit of precision):

    >>> import numpy as np
    >>> from unified_ce.adapters.chainer import softmax_cross_entropy
    >>> x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]]).astype(np.float32)
    >>> t = np.array([3, 0]).astype(np.int32)
    >>> y = softmax_cross_entropy(x, t)
    >>> y
    array(0.4401897, dtype=float32)
    >>> bool(abs(float(y) - 0.44018972) < 1e-7)
    True
    >>> print(f"{float(softmax_cross_entropy(x.astype(np.float64), t)):.8f}")
    0.44018970

    Ignored labels, ``normalize`` and ``reduce='no'``:

    >>> t = np.array([3, -1], dtype=np.int32)
    >>> softmax_cross_entropy(x, t, reduce="no")
    array([0.4401897, 0.       ], dtype=float32)
    >>> bool(np.isclose(float(softmax_cross_entropy(x, t, normalize=False)) * 2, float(softmax_cross_entropy(x, t))))
    True
    """
    check_choice("soft_target_loss", soft_target_loss, tuple(_SOFT_LOSSES))
    _check_class_weight(class_weight)
    check_choice("reduce", reduce, _REDUCES)
    ignore = _ignore_label(ignore_label)
    xp = namespace_of({"x": x, "t": t})
    if x.ndim < 2:
        raise InvalidArgumentError(
            f"x must have shape (N, C) or (N, C, d1, ...): the class axis is axis 1; got shape {tuple(x.shape)}"
        )
    soft = _label_kind(xp, x, t, "softmax") == "probs"
    if soft:
        if enable_double_backprop:
            raise InvalidTypeError(
                "soft targets (a floating t of x's shape) are not supported with enable_double_backprop=True: "
                "Chainer's double-backprop implementation picks one log-probability per integer label "
                "(F.select_item); use integer labels or enable_double_backprop=False"
            )
        if reduce == "mean" and math.prod(x.shape) == 0:
            raise InvalidArgumentError(
                f"reduce='mean' of soft targets divides by x.size / x.shape[1], which is 0 for x of shape "
                f"{tuple(x.shape)} (Chainer raises ZeroDivisionError); use reduce='no' for an empty batch"
            )
        if class_weight is not None:
            warnings.warn(
                "class_weight is ignored for soft targets (as in Chainer 7.8.1, softmax_cross_entropy.py "
                "lines 152-153: the soft-target loss is computed before the class weights are applied)",
                UserWarning,
                stacklevel=3,
            )
            class_weight = None
    # arguments a spec does not depend on are normalised, so that equal specs share one cache entry
    spec = _softmax_spec(
        soft,
        _SOFT_LOSSES[soft_target_loss],
        None if soft else ignore,
        reduce,
        bool(normalize) or soft or reduce == "no",
    )
    return Call(spec, x, t, class_weight=class_weight, names=_NAMES, double_backprop=bool(enable_double_backprop))


@dialect_function
def sigmoid_cross_entropy(x: Array, t: Any, normalize: bool = True, reduce: Reduce = "mean") -> Call[Array]:
    r"""``chainer.functions.sigmoid_cross_entropy`` on any array library.

    The loss of an element is :math:`-(t \log \sigma(x) + (1 - t) \log(1 - \sigma(x)))`,
    computed stably as :math:`\max(x, 0) - t x + \log(1 + e^{-|x|})`; elements labelled -1 give 0.

    Parameters
    ----------
    x : array
        Logits of any shape; floating.
    t : array
        Binary labels 0 or 1 (or -1: ignored) of ``x``'s shape and a signed integer dtype.
    normalize : bool
        With ``reduce='mean'``: divide the sum by the number of non-ignored elements (``True``)
        or by ``len(x)`` (``False``); either is at least 1.
    reduce : {'mean', 'no'}
        ``'no'`` returns one loss per element (``x``'s shape; ``normalize`` is ignored).

    Returns
    -------
    array
        A scalar for ``reduce='mean'``, else ``x``'s shape; ``x``'s dtype.  Always twice
        differentiable (Chainer's ``SigmoidCrossEntropyGrad`` has a backward).

    Raises
    ------
    LabelOutOfRangeError
        A label other than 0, 1 and -1 (Chainer uses it as a number).
    InvalidTypeError
        ``t`` not of a signed integer dtype.
    InvalidArgumentError
        ``t``'s shape differs from ``x``'s; ``normalize=False`` with a 0-d ``x`` (no ``len``).

    Examples
    --------
    Chainer's documentation examples:

    >>> import numpy as np
    >>> from unified_ce.adapters.chainer import sigmoid_cross_entropy
    >>> x = np.array([[-2.0, 3.0, 0.5], [5.0, 2.0, -0.5]]).astype(np.float32)
    >>> t = np.array([[0, 1, 0], [1, 1, -1]]).astype(np.int32)
    >>> sigmoid_cross_entropy(x, t)
    array(0.25664714, dtype=float32)
    >>> sigmoid_cross_entropy(x, t, normalize=False)
    array(0.64161783, dtype=float32)
    >>> y = sigmoid_cross_entropy(x, t, reduce="no")
    >>> y.shape
    (2, 3)

    Chainer prints the ignored element as ``-0.`` (its loss is ``-(0 * ...)``); here it is ``0.``:

    >>> y
    array([[0.126928  , 0.04858735, 0.974077  ],
           [0.00671535, 0.126928  , 0.        ]], dtype=float32)
    """
    check_choice("reduce", reduce, _REDUCES)
    xp = namespace_of({"x": x, "t": t})
    _label_kind(xp, x, t, "sigmoid")
    if reduce == "mean" and not normalize and x.ndim == 0:
        raise InvalidArgumentError("normalize=False divides by len(x), but x is 0-d (Chainer: TypeError)")
    return Call(_sigmoid_spec(reduce, bool(normalize)), x, t, names=_NAMES)

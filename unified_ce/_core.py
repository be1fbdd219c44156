"""The one implementation of the math: forward, analytic gradient and reductions.

Everything here is written once against the array API standard (``xp`` is the namespace of the
inputs as given by ``array_api_compat``); every array it creates is made on the input's device.
No boolean indexing and no data-dependent shapes, so it traces under ``jax.jit`` and stays lazy
on Dask.

Notation (see :class:`~unified_ce.CrossEntropySpec`): for one item the loss is written as

.. math:: L = \\alpha \\cdot \\mathrm{ls} + \\sum_c \\beta_c (m - x_c)

with :math:`m = \\max_c x_c`, :math:`\\mathrm{ls} = \\log \\sum_c e^{x_c - m}` (so that
:math:`\\mathrm{lse} = m + \\mathrm{ls}`), :math:`\\beta_c` the weighted target mass of class
:math:`c` and :math:`\\alpha = \\sum_c \\beta_c`.  This form never subtracts two large numbers
(the target logit is gathered from the raw logits and enters as :math:`m - x_t \\ge 0`), and its
gradient is simply :math:`\\partial L / \\partial x = \\alpha\\,\\mathrm{softmax}(x) - \\beta`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from . import _fastpath
from ._backend import (
    compute_dtype,
    creation_device,
    is_dask,
    is_floating,
    is_integer,
    is_jax,
    is_lazy,
    is_torch,
    namespace_of,
)
from ._errors import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from ._spec import CrossEntropySpec

__all__ = ["Inputs", "backward", "forward", "prepare", "softmax"]


def _axis(axis: int, ndim: int, name: str) -> int:
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError(f"{name}={axis} is out of range for logits with {ndim} dimensions")
    return axis % ndim


@dataclass
class Inputs:
    """Validated inputs of one evaluation (internal)."""

    spec: CrossEntropySpec
    xp: Any
    x: Any  # logits in the compute dtype
    t: Any  # index target (integer, class axis absent) or probs target (compute dtype)
    cw: Any  # class weights (compute dtype) or None
    sw: Any  # per-sample weights (compute dtype) or None
    axis: int  # class axis (softmax) -- for sigmoid, unused
    n_classes: int
    out_dtype: Any
    in_dtype: Any
    device: Any
    lazy: bool
    keep_shape: tuple[int, ...]  # per-item loss shape with the class axis kept (size 1)
    kernel: Any = None  # a fused kernel chosen by unified_ce.kernels (x is then the logits as given)
    #: vocabulary parallelism: this process holds classes [classes.start, classes.start + C_local) of
    #: classes.n_classes; classes.sum / classes.max all-reduce over the processes holding the others
    #: (see :mod:`unified_ce.distributed`).  None: all classes are here.
    classes: Any = None
    #: the label check read the labels and found none equal to ``ignore_index``: no mask needed
    none_ignored: bool = False
    #: fast path: a buffer the core owns (the logits' block shape) where _stats leaves exp(x - max)
    exp_out: Any = None


def _zero(xp: Any, inp: Inputs) -> Any:
    return xp.asarray(0.0, dtype=inp.x.dtype, device=inp.device)


def prepare(
    spec: CrossEntropySpec,
    logits: Any,
    target: Any,
    class_weight: Any = None,
    sample_weight: Any = None,
    *,
    check_values: bool = True,
    use_kernels: bool = True,
    classes: Any = None,
) -> Inputs:
    """Check the arrays against ``spec`` and bring them to the compute dtype.

    Shapes and dtypes are always checked.  Label values are checked when they can be read
    (not for Dask arrays or JAX tracers; there an invalid label gives a NaN loss instead).
    """
    xp = namespace_of(
        {"logits": logits, "target": target, "class_weight": class_weight, "sample_weight": sample_weight}
    )
    if not is_floating(xp, logits.dtype):
        raise InvalidTypeError(f"logits must be a floating-point array; got dtype {logits.dtype}")
    ndim = logits.ndim
    shape = tuple(logits.shape)
    if any(s is None for s in shape):
        raise InvalidArgumentError(
            "logits must have a known shape (Dask arrays with unknown chunk sizes: call compute_chunk_sizes())"
        )
    device = creation_device(logits)
    cdtype = compute_dtype(xp, logits.dtype)
    kernel = None
    if use_kernels and classes is None:  # the one place a fused kernel is chosen; it reads the logits uncast
        from . import kernels

        kernel = kernels.select(spec, logits, target, class_weight, sample_weight)
        check_values = check_values and (kernel is None or kernels.may_read_values(logits))
    x = logits if cdtype == logits.dtype or kernel is not None else xp.astype(logits, cdtype)
    lazy = is_lazy(logits) or is_lazy(target)

    if spec.activation == "softmax":
        if ndim < 1:
            raise InvalidArgumentError("logits must have at least one dimension (the class axis)")
        axis = _axis(spec.axis, ndim, "axis")
        n_classes = shape[axis]
        if n_classes < 1:
            raise InvalidArgumentError(f"logits must have at least one class along axis {spec.axis}; got shape {shape}")
        if classes is not None:  # a slice of the classes: labels and smoothing refer to all of them
            n_classes = classes.n_classes
        keep_shape = (*shape[:axis], 1, *shape[axis + 1 :])
        index_shape = shape[:axis] + shape[axis + 1 :]
    else:
        axis = 0
        n_classes = 2
        keep_shape = shape
        index_shape = shape

    # ---- target
    out_dtype = logits.dtype
    none_ignored = False
    if spec.target == "index":
        if tuple(target.shape) != index_shape:
            what = "the logits' shape without the class axis" if spec.activation == "softmax" else "the logits' shape"
            raise InvalidArgumentError(
                f"target of class indices must have {what}, {index_shape}; got shape {tuple(target.shape)}"
            )
        if is_floating(xp, target.dtype):
            # integral-valued float labels (MXNet's convention): checked, then cast
            if check_values and not lazy and target.size and not bool(xp.all(xp.floor(target) == target)):
                raise InvalidArgumentError("target holds class indices but has non-integer values")
            t = target
        elif is_integer(xp, target.dtype):
            t = target
        else:
            raise InvalidTypeError(f"target of class indices must have an integer dtype; got {target.dtype}")
        if check_values and not lazy and target.size:
            none_ignored = _check_labels(xp, spec, t, n_classes)
    else:
        if tuple(target.shape) != shape:
            raise InvalidArgumentError(
                f"target of probabilities must have the logits' shape {shape}; got shape {tuple(target.shape)}"
            )
        if not is_floating(xp, target.dtype):
            raise InvalidTypeError(f"target of probabilities must have a floating dtype; got {target.dtype}")
        if check_values and not lazy and target.size and bool(xp.any(target < 0)):
            raise InvalidArgumentError(
                f"target of probabilities must be non-negative; got a minimum of {float(xp.min(target))}"
            )
        # type promotion as in the array API (PyTorch: float32 logits with a float64 target give float64)
        out_dtype = xp.result_type(logits.dtype, target.dtype)
        if out_dtype != logits.dtype:
            cdtype = compute_dtype(xp, out_dtype)
            x = logits if cdtype == logits.dtype else xp.astype(logits, cdtype)
        t = target if target.dtype == cdtype else xp.astype(target, cdtype)
        if spec.probs_sum_to_one and spec.activation == "softmax" and check_values and not lazy and target.size:
            sums = xp.sum(t, axis=axis)
            sums = sums if classes is None else classes.sum(sums)
            tol = _sum_tol(xp, out_dtype)
            if bool(xp.any(xp.abs(sums - 1.0) > tol)):
                raise InvalidArgumentError(
                    f"target of probabilities must sum to 1 along axis {spec.axis} (within {tol:.1e}); got sums "
                    f"from {float(xp.min(sums))} to {float(xp.max(sums))}"
                )

    # ---- class weights
    cw = None
    if class_weight is not None:
        if spec.activation != "softmax":
            raise InvalidArgumentError("class_weight is only defined for softmax cross-entropy")
        if class_weight.ndim != 1 or class_weight.shape[0] != shape[axis]:
            raise InvalidArgumentError(
                f"class_weight must be a 1-D array of length C={shape[axis]} (one weight per class"
                f"{'' if classes is None else ' of this process'}); "
                f"got shape {tuple(class_weight.shape)}"
            )
        if not (is_floating(xp, class_weight.dtype) or is_integer(xp, class_weight.dtype)):
            raise InvalidTypeError(f"class_weight must be a real array; got dtype {class_weight.dtype}")
        cw = class_weight if class_weight.dtype == cdtype else xp.astype(class_weight, cdtype)

    # ---- per-sample weights
    sw = None
    if sample_weight is not None:
        sshape = tuple(sample_weight.shape)
        # "sample_mean" (MXNet) multiplies the loss by the weight with broadcasting and then averages
        # every axis but the batch axis: a weight axis of size k > 1 where the loss has size 1 (not the
        # batch axis) is averaged out, i.e. it contributes the mean of the weights along it.
        avg_axes: tuple[int, ...] = ()
        if spec.reduction == "sample_mean" and len(sshape) <= len(keep_shape):
            off = len(keep_shape) - len(sshape)
            b = _axis(spec.batch_axis, len(keep_shape), "batch_axis")
            avg_axes = tuple(i for i, s in enumerate(sshape) if s != 1 and keep_shape[off + i] == 1 and off + i != b)
        eff = tuple(1 if i in avg_axes else s for i, s in enumerate(sshape))
        ok = len(eff) <= len(keep_shape) and all(s == 1 or s == k for s, k in zip(eff[::-1], keep_shape[::-1]))
        if not ok:
            extra = " (axes other than the batch axis may be larger: they are averaged)"
            extra = extra if spec.reduction == "sample_mean" else ""
            raise InvalidArgumentError(
                f"sample_weight of shape {sshape} must broadcast to the per-item loss shape {keep_shape} "
                f"(the logits' shape with the class axis of size 1){extra}"
            )
        if not (is_floating(xp, sample_weight.dtype) or is_integer(xp, sample_weight.dtype)):
            raise InvalidTypeError(f"sample_weight must be a real array; got dtype {sample_weight.dtype}")
        sw = sample_weight if sample_weight.dtype == cdtype else xp.astype(sample_weight, cdtype)
        if avg_axes:
            sw = xp.mean(sw, axis=avg_axes, keepdims=True)

    inp = Inputs(
        spec, xp, x, t, cw, sw, axis, n_classes, out_dtype, logits.dtype, device, lazy, keep_shape, kernel, classes
    )
    if spec.target == "index" and none_ignored:
        inp.none_ignored = True
    return inp


def _sum_tol(xp: Any, dtype: Any) -> float:
    """How far from 1 a probability target may sum under ``probs_sum_to_one``: sqrt(eps) of its dtype."""
    return math.sqrt(float(xp.finfo(dtype).eps))


def _holds_ignore(xp: Any, spec: CrossEntropySpec, t: Any) -> bool:
    """Whether ``t``'s integer dtype can represent ``ignore_index`` (uint8 labels cannot hold -100)."""
    if not spec.uses_ignore or not is_integer(xp, t.dtype):
        return True
    info = xp.iinfo(t.dtype)
    return bool(info.min <= spec.ignore_index <= info.max)


def _check_labels(xp: Any, spec: CrossEntropySpec, t: Any, n_classes: int) -> bool:
    """Raise unless every label is in ``[0, n_classes)`` or ``ignore_index``.

    Returns whether it is known that no label equals ``ignore_index`` (then no mask is needed).
    """
    if math.prod(t.shape) == 0:  # no labels (callers' ``target.size`` is a method on torch tensors)
        return False
    if is_jax(t):  # on the host (labels are O(items)): eager JAX would compile min / max per new shape
        t = np.asarray(t)
        xp = array_api_compat.array_namespace(t)
    if is_torch(t) and t.dtype != xp.bool:  # the common case in one reduction: every label in range
        lo, hi = (float(v) for v in t.aminmax())
    else:
        lo, hi = float(xp.min(t)), float(xp.max(t))
    if 0 <= lo and hi < n_classes:
        ig = spec.ignore_index
        return not (spec.uses_ignore and ig is not None and lo <= ig <= hi)
    if not _holds_ignore(xp, spec, t):  # no label can equal ignore_index; compare in a wider dtype
        t = xp.astype(t, xp.int64)
    bad = (t < 0) | (t >= n_classes)
    if spec.uses_ignore:
        bad = bad & (t != spec.ignore_index)
    if bool(xp.any(bad)):
        lo, hi = xp.min(t), xp.max(t)
        lo, hi = (int(lo), int(hi)) if is_integer(xp, t.dtype) else (float(lo), float(hi))
        ign = f" (other than ignore_index={spec.ignore_index})" if spec.uses_ignore else ""
        what = "class labels" if spec.activation == "softmax" else "binary labels"
        raise LabelOutOfRangeError(
            f"target holds {what} outside [0, {n_classes}){ign} (labels range from {lo} to {hi})"
        )
    return False


# --------------------------------------------------------------------------- helpers


def _index_dtype(xp: Any, t: Any) -> Any:
    if is_jax(t):
        # a signed type of >= 32 bits is kept; narrower or unsigned labels widen to int32, so that they
        # compare with a negative ignore_index by value (JAX would cast -1 to uint8 255)
        if is_integer(xp, t.dtype) and xp.iinfo(t.dtype).min < 0 and xp.iinfo(t.dtype).bits >= 32:
            return t.dtype
        return xp.int32
    return xp.int64


def _class_iota(inp: Inputs) -> Any:
    """0, 1, ..., C-1 along the class axis, broadcastable against the logits.

    The class numbers of this process's slice with a class shard; chunked like the logits on Dask.
    """
    xp = inp.xp
    n = inp.x.shape[inp.axis]
    start = 0 if inp.classes is None else inp.classes.start
    iota = xp.arange(start, start + n, device=inp.device)
    if is_dask(inp.x):
        iota = iota.rechunk((inp.x.chunks[inp.axis],))
    shape = [1] * inp.x.ndim
    shape[inp.axis] = n
    return xp.reshape(iota, tuple(shape))


def _along_axis(inp: Inputs, v: Any) -> Any:
    """A length-C vector (this process's slice of it with a class shard) reshaped to broadcast along the class axis."""
    shape = [1] * inp.x.ndim
    shape[inp.axis] = inp.x.shape[inp.axis]
    return inp.xp.reshape(v, tuple(shape))


def _csum(inp: Inputs, v: Any) -> Any:
    """Sum over the class axis (kept, size 1): over every process's classes with a class shard."""
    s = inp.xp.sum(v, axis=inp.axis, keepdims=True)
    return s if inp.classes is None else inp.classes.sum(s)


def _cw_total(inp: Inputs) -> Any:
    """The sum of the class weights (of every process's classes with a class shard)."""
    s = inp.xp.sum(inp.cw)
    return s if inp.classes is None else inp.classes.sum(s)


def _times(a: Any, b: Any) -> Any:
    """``a * b``, without an operation when ``a`` is the Python number 1 (the common unweighted case)."""
    return b if isinstance(a, (int, float)) and a == 1 else a * b


def _gap(inp: Inputs, d: Any) -> Any:
    """``m - x`` (the distance below the maximum logit), capped at ``-spec.min_shifted_logit`` if set."""
    floor = inp.spec.min_shifted_logit
    if floor is None or inp.spec.inputs != "logits":
        return d
    return inp.xp.minimum(d, inp.xp.asarray(-floor, dtype=d.dtype, device=inp.device))


def _gather(inp: Inputs, idx: Any) -> Any:
    """x[..., idx, ...] along the class axis; ``idx`` has the keep shape."""
    xp = inp.xp
    if inp.classes is None and (fast := _fastpath.take_along_axis(inp.x, idx, inp.axis)) is not None:
        return fast  # the library's own gather (the array-API wrapper costs more than the gather)
    take = getattr(xp, "take_along_axis", None)
    if take is not None and not is_dask(inp.x) and inp.classes is None:
        return take(inp.x, idx, axis=inp.axis)
    # Dask (and old array-api-strict): a one-hot mask, still fused and lazy; with a class shard, the
    # process holding the label contributes x_t, the others 0
    return _csum(inp, xp.where(_class_iota(inp) == idx, inp.x, _zero(xp, inp)))


def _take_weights(inp: Inputs, idx: Any) -> Any:
    """class_weight[idx] with the keep shape."""
    xp = inp.xp
    flat = xp.reshape(idx, (-1,))
    if is_dask(inp.x) or inp.classes is not None:
        onehot = xp.astype(_class_iota(inp) == idx, inp.x.dtype)
        return _csum(inp, onehot * _along_axis(inp, inp.cw))
    return xp.reshape(xp.take(inp.cw, flat, axis=0), tuple(idx.shape))


@dataclass
class _Index:
    """What an index target contributes: valid mask, safe index, alpha, beta pieces."""

    valid: Any  # bool (keep shape) or None
    idx: Any  # index (keep shape), ignored -> 0
    w_t: Any  # class weight of the label (keep shape) or None
    alpha: Any  # sum_c beta_c (keep shape) or a Python float
    beta_t: Any  # beta at the label: coefficient of the one-hot part
    beta_u: Any  # coefficient of the uniform part (scalar or a class-axis vector)
    bad: Any  # bool (keep shape) for lazy label checks, or None


def _index_parts(inp: Inputs) -> _Index:
    xp, spec = inp.xp, inp.spec
    t = xp.expand_dims(inp.t, axis=inp.axis) if spec.activation == "softmax" else inp.t
    float_bad = None
    if inp.lazy and is_floating(xp, t.dtype):  # integral-valued float labels: check before the cast
        float_bad = (xp.floor(t) != t) | (t < 0) | (t >= inp.n_classes)
        if spec.uses_ignore:
            float_bad = float_bad & (t != spec.ignore_index)
    if not is_integer(xp, t.dtype) or (is_torch(t) and t.dtype != xp.int64) or not _holds_ignore(xp, spec, t):
        t = xp.astype(t, _index_dtype(xp, t))
    valid = None
    if spec.uses_ignore and not getattr(inp, "none_ignored", False):
        valid = t != spec.ignore_index
        t = xp.where(valid, t, xp.zeros_like(t))
    bad = None
    if inp.lazy:
        bad = (t < 0) | (t >= inp.n_classes)
        if float_bad is not None:
            bad = bad | float_bad
        t = xp.where(bad, xp.zeros_like(t), t)
    eps = spec.label_smoothing
    C = inp.n_classes
    if spec.activation == "sigmoid":
        return _Index(valid, t, None, 1.0, None, None, bad)
    w_t: Any = _take_weights(inp, t) if inp.cw is not None else None
    if spec.weighting == "per_class":
        if inp.cw is None:
            alpha: Any = 1.0
            beta_t: Any = 1.0 - eps
            beta_u: Any = eps / C
        else:
            alpha = (1.0 - eps) * w_t + (eps / C) * _cw_total(inp) if eps else w_t
            beta_t = (1.0 - eps) * w_t
            beta_u = _along_axis(inp, inp.cw) * (eps / C)
    else:  # per_item: s * ((1-eps) onehot + eps/C); per_label: s = w[label] (BrainPy)
        smoothed = eps and spec.weighting == "per_item"
        s = 1.0 if inp.cw is None else ((1.0 - eps) * w_t + (eps / C) * _cw_total(inp) if smoothed else w_t)
        alpha = s
        beta_t = (1.0 - eps) * s
        beta_u = s * (eps / C)
    return _Index(valid, t, w_t, alpha, beta_t, beta_u, bad)


@dataclass
class Residuals:
    """What the backward pass needs besides the inputs: O(items), never O(items x classes)."""

    m: Any  # max over the class axis (keep shape) or 0 for log-prob inputs
    ls: Any  # log-sum-exp of x - m (keep shape) or 0
    denom: Any  # the mean's denominator (0-d) or None
    parts: Any = None  # the index target's _Index from the forward (O(items)), reused by the backward


def _stats(inp: Inputs) -> tuple[Any, Any]:
    xp, x = inp.xp, inp.x
    if inp.spec.inputs == "log_probs":
        zero = _zero(xp, inp)
        return zero, zero
    if math.prod(x.shape) == 0:  # no items (dask cannot take the max of empty chunks)
        m = xp.zeros(inp.keep_shape, dtype=x.dtype, device=inp.device)
    else:
        m = xp.max(x, axis=inp.axis, keepdims=True)
        m = m if inp.classes is None else inp.classes.max(m)
    # a row of -inf (or +inf) has no finite max: keep it so that the row gives nan like log_softmax
    if _fastpath.mutable(inp):  # in place, in the core's own buffer
        e = _fastpath.exp_(xp, _fastpath.subtract_into(xp, x, m, inp.exp_out))
    else:
        e = xp.exp(x - m)
    ls = xp.log(_csum(inp, e))
    return m, ls


def _probs_parts(inp: Inputs) -> tuple[Any, Any, Any]:
    """alpha (keep shape), beta (full shape), q (full shape) for a probability target."""
    spec = inp.spec
    eps = spec.label_smoothing
    q = inp.t
    if eps:
        denom = inp.n_classes if spec.activation == "softmax" else 2
        q = q * (1.0 - eps) + eps / denom
    if spec.activation == "sigmoid":
        return None, None, q
    wq = q if inp.cw is None else q * _along_axis(inp, inp.cw)
    if spec.weighting == "per_class":
        beta = wq
        alpha = _csum(inp, wq)
    elif inp.cw is None:  # per_item without class weights: lse - sum_c q_c x_c
        beta = q
        alpha = 1.0
    else:  # per_item: s * (lse - sum_c q_c x_c), s = sum_c w_c q_c
        alpha = _csum(inp, wq)
        beta = alpha * q
    return alpha, beta, q


# --------------------------------------------------------------------------- forward


def item_losses(inp: Inputs) -> tuple[Any, Any, Residuals, Any]:
    """Per-item losses (keep shape) before masking, sample weights and scale.

    Returns ``(loss, valid, residuals_without_denominator, parts)``.
    """
    xp, spec = inp.xp, inp.spec
    if spec.activation == "sigmoid":
        x = inp.x
        if spec.target == "index":
            parts = _index_parts(inp)
            q = xp.astype(parts.idx, x.dtype)
            if spec.label_smoothing:
                q = q * (1.0 - spec.label_smoothing) + spec.label_smoothing / 2
            valid = parts.valid
        else:
            _, _, q = _probs_parts(inp)
            parts, valid = None, None
        zero = _zero(xp, inp)
        loss = xp.maximum(x, zero) - q * x + xp.log1p(xp.exp(-xp.abs(x)))
        if parts is not None and parts.bad is not None:
            loss = xp.where(parts.bad, xp.asarray(math.nan, dtype=x.dtype, device=inp.device), loss)
        return loss, valid, Residuals(zero, zero, None), (parts, q)

    m, ls = _stats(inp)
    if spec.target == "index":
        parts = _index_parts(inp)
        x_t = _gather(inp, parts.idx)
        mx_t = _gap(inp, m - x_t)
        loss = _times(parts.alpha, ls) + _times(parts.beta_t, mx_t)
        if spec.label_smoothing:
            if spec.weighting == "per_class" and inp.cw is not None:
                loss = loss + _csum(inp, parts.beta_u * _gap(inp, m - inp.x))
            else:
                loss = loss + parts.beta_u * _csum(inp, _gap(inp, m - inp.x))
        if parts.bad is not None:
            loss = xp.where(parts.bad, xp.asarray(math.nan, dtype=inp.x.dtype, device=inp.device), loss)
        return loss, parts.valid, Residuals(m, ls, None, parts), parts
    alpha, beta, q = _probs_parts(inp)
    # per_item with class weights: alpha = s is a sum over the classes (all-reduced with a class
    # shard), kept outside the class sums below.  s * sum_c(q x) rather than sum_c(s q x): under
    # torch autograd an all-reduce passes its gradient through unchanged, which is exact only when a
    # global value is not mixed into another process-local sum.
    scaled = spec.weighting == "per_item" and inp.cw is not None
    if scaled:
        loss = alpha * (ls + _csum(inp, q * _gap(inp, m - inp.x)))
    else:
        loss = alpha * ls + _csum(inp, beta * _gap(inp, m - inp.x))
    if inp.lazy:  # values unknown at call time: a negative probability poisons the item with NaN
        neg = xp.any(inp.t < 0, axis=inp.axis, keepdims=True)
        if spec.probs_sum_to_one:  # and so does a distribution that does not sum to 1
            off = xp.abs(xp.sum(inp.t, axis=inp.axis, keepdims=True) - 1.0) > _sum_tol(xp, inp.out_dtype)
            neg = neg | off
        loss = xp.where(neg, xp.asarray(math.nan, dtype=loss.dtype, device=inp.device), loss)
    if spec.weighting == "per_item" and spec.inputs == "logits":
        # alpha != sum_c beta_c = alpha sum_c q_c for unnormalised targets: add (alpha - sum beta) * m
        loss = loss + _times(alpha, 1.0 - _csum(inp, q)) * m
    if spec.soft_loss == "kl":
        qlog = xp.where(q > 0, q * xp.log(q + spec.kl_eps), _zero(xp, inp))
        if scaled:
            loss = loss + alpha * _csum(inp, qlog)
        else:
            loss = loss + _csum(inp, qlog if inp.cw is None else qlog * _along_axis(inp, inp.cw))
    return loss, None, Residuals(m, ls, None), (alpha, beta, q)


def _denominator(inp: Inputs, valid: Any, parts: Any) -> Any:
    return _denominator_total(inp, _denominator_part(inp, valid, parts))


def _denominator_part(inp: Inputs, valid: Any, parts: Any) -> Any:
    """The items' contribution to the mean's denominator (a 0-d sum), or None when it is a count.

    Contributions of blocks of items add up (the blocked path of :func:`forward`).
    """
    xp, spec = inp.xp, inp.spec
    kind = spec.denominator
    if kind in ("batch", "items"):
        return None
    if kind in ("label_weight", "item_weight") and inp.cw is not None and spec.activation == "softmax":
        if spec.target == "index":
            w = parts.w_t if kind == "label_weight" else parts.alpha
        else:
            _, _, q = parts
            w = _csum(inp, q * _along_axis(inp, inp.cw))
        if valid is not None:
            w = xp.where(valid, w, _zero(xp, inp))
        return xp.sum(w)
    # "valid", or a weight denominator without class weights
    return xp.sum(xp.astype(valid, inp.x.dtype)) if valid is not None else None


def _denominator_total(inp: Inputs, part: Any, *, zero_fix: bool = True) -> Any:
    """The mean's denominator (0-d) from the summed contributions of :func:`_denominator_part`.

    ``zero_fix=False``: before ``zero_denominator`` applies (see :func:`nonzero_denominator`).
    """
    xp, spec = inp.xp, inp.spec

    def const(v: float) -> Any:
        return xp.asarray(float(v), dtype=inp.x.dtype, device=inp.device)

    if part is not None:
        d = part
    elif spec.denominator == "batch":
        d = const(inp.x.shape[_axis(spec.batch_axis, inp.x.ndim, "batch_axis")])
    else:
        d = const(math.prod(inp.keep_shape))
    return nonzero_denominator(inp, d) if zero_fix else d


def nonzero_denominator(inp: Inputs, d: Any) -> Any:
    """A mean's denominator after ``spec.zero_denominator``: 0 stays 0 (0/0 = nan) or becomes 1."""
    xp = inp.xp
    if inp.spec.zero_denominator == "zero":
        d = xp.where(d == 0, xp.ones_like(d), d)
    return d


def denominator(inp: Inputs) -> Any:
    """The denominator of ``reduction="mean"`` for these items (0-d, before ``zero_denominator``).

    Denominators of parts of a batch add up: the mean over micro-batches or processes is the sum of
    their summed losses over the sum of their denominators (:func:`unified_ce.loss_sum_and_denominator`).
    """
    if inp.spec.target == "index":
        parts: Any = _index_parts(inp)
        valid = parts.valid
    else:
        parts, valid = _probs_parts(inp), None
    return _denominator_total(inp, _denominator_part(inp, valid, parts), zero_fix=False)


def _apply_item_weights(inp: Inputs, loss: Any, valid: Any) -> Any:
    xp = inp.xp
    if valid is not None:
        loss = xp.where(valid, loss, _zero(xp, inp))
    if inp.sw is not None:
        loss = loss * inp.sw
    if inp.spec.scale != 1.0:
        loss = loss * inp.spec.scale
    return loss


def _sample_axes(inp: Inputs) -> tuple[int, tuple[int, ...], int]:
    b = _axis(inp.spec.batch_axis, inp.x.ndim, "batch_axis")
    axes = tuple(i for i in range(len(inp.keep_shape)) if i != b)
    count = math.prod(inp.keep_shape[i] for i in axes)
    return b, axes, count


def forward(inp: Inputs) -> tuple[Any, Residuals]:
    """The reduced loss (compute dtype) and the residuals for :func:`backward`."""
    xp, spec = inp.xp, inp.spec
    blocks = _fastpath.row_blocks(inp)
    if blocks is None:
        loss, valid, res, parts = item_losses(inp)
        loss = _apply_item_weights(inp, loss, valid)
        dpart = _denominator_part(inp, valid, parts) if spec.reduction == "mean" else None
    else:  # bounded memory: items in blocks, O(block) temporaries, O(items) results
        losses, ms, lss, dparts = [], [], [], []  # type: list[Any], list[Any], list[Any], list[Any]
        scratch = _fastpath.block_scratch(inp, blocks)
        for sl in blocks:
            sub = _fastpath.block_inputs(inp, blocks, sl)
            sub.exp_out = _fastpath.block_of(scratch, blocks, slice(0, sl.stop - sl.start), inp.x.ndim)
            loss, valid, res, parts = item_losses(sub)
            losses.append(_apply_item_weights(sub, loss, valid))
            ms.append(res.m)
            lss.append(res.ls)
            dparts.append(_denominator_part(sub, valid, parts) if spec.reduction == "mean" else None)
        loss = xp.concat(losses, axis=blocks.axis)
        if getattr(res.m, "ndim", 0):  # 0-d (log-probability inputs) are shared by every block
            res = Residuals(xp.concat(ms, axis=blocks.axis), xp.concat(lss, axis=blocks.axis), None)
        else:
            res = Residuals(res.m, res.ls, None)  # without the last block's parts
        dpart = None if dparts[0] is None else sum(dparts[1:], dparts[0])
    if spec.reduction == "none":
        out = loss if (spec.keepdims or spec.activation == "sigmoid") else xp.squeeze(loss, axis=inp.axis)
    elif spec.reduction == "sum":
        out = xp.sum(loss)
    elif spec.reduction == "mean":
        res.denom = _denominator_total(inp, dpart)
        out = xp.sum(loss) / res.denom
    else:  # sample_mean
        _, axes, count = _sample_axes(inp)
        out = xp.sum(loss, axis=axes) / float(count) if axes else loss
    return out, res


# --------------------------------------------------------------------------- backward


def _upstream(inp: Inputs, g: Any, res: Residuals) -> Any:
    """d(output)/d(item loss) times the cotangent ``g``, with the keep shape (broadcastable)."""
    xp, spec = inp.xp, inp.spec
    if spec.reduction == "none":
        if spec.activation == "softmax" and not spec.keepdims:
            g = xp.expand_dims(g, axis=inp.axis)
        return g
    if spec.reduction == "sum":
        return g
    if spec.reduction == "mean":
        return g / res.denom
    b, _axes, count = _sample_axes(inp)
    shape = [1] * len(inp.keep_shape)
    shape[b] = inp.keep_shape[b]
    return xp.reshape(g, tuple(shape)) / float(count)


def _coefficient(inp: Inputs, res: Residuals, grad_output: Any) -> Any:
    """``c``: d(output . grad_output)/d(item loss) with the keep shape (broadcastable), weights and scale in."""
    xp, spec = inp.xp, inp.spec
    g = grad_output
    if g.dtype != inp.x.dtype:
        g = xp.astype(g, inp.x.dtype)
    c = _upstream(inp, g, res)
    if inp.sw is not None:
        c = c * inp.sw
    if spec.scale != 1.0:
        c = c * spec.scale
    return c


def forward_with_grad(inp: Inputs, grad_output: Any) -> tuple[Any, Any] | None:
    """Loss (compute dtype) and gradient in one pass over the logits, or None where not covered.

    The eager fast path of ``value_and_grad``: each block of items leaves ``exp(x - max)`` in its part
    of the gradient buffer (:func:`_stats`), which becomes the gradient in place while still in cache,
    so the logits are read once and ``exp`` runs once.  Covers class-index targets of logits with
    reduction ``sum`` or ``mean`` (a 0-d cotangent, known before the pass); None otherwise.
    """
    xp, spec, x = inp.xp, inp.spec, inp.x
    if (
        spec.activation != "softmax"
        or spec.inputs != "logits"
        or spec.target != "index"
        or spec.reduction not in ("sum", "mean")
        or inp.kernel is not None
        or getattr(inp, "classes", None) is not None
        or inp.in_dtype != x.dtype
        or x.ndim < 2
        or math.prod(x.shape) == 0  # no items: no block to fuse
        or (grad_output is not None and tuple(grad_output.shape) != ())
        or not _fastpath.mutable(inp)
    ):
        return None
    res0 = Residuals(None, None, None)
    if spec.reduction == "mean":  # the denominator depends on the labels only: known before the pass
        parts = _index_parts(inp)
        res0.denom = _denominator_total(inp, _denominator_part(inp, parts.valid, parts))
    g = xp.ones((), dtype=x.dtype, device=inp.device) if grad_output is None else grad_output
    c = _coefficient(inp, res0, g)
    grad = xp.empty(tuple(x.shape), dtype=x.dtype, device=inp.device)
    blocks = _fastpath.row_blocks(inp) or _fastpath.one_block(inp)
    nd = x.ndim
    losses = []
    for sl in blocks:
        sub = _fastpath.block_inputs(inp, blocks, sl)
        sub.exp_out = _fastpath.block_of(grad, blocks, sl, nd)
        loss, valid, res, _ = item_losses(sub)
        losses.append(_apply_item_weights(sub, loss, valid))
        _item_grad(sub, res, _fastpath.block_of(c, blocks, sl, nd), sub.exp_out, exp_ready=True)
    total = xp.sum(xp.concat(losses, axis=blocks.axis) if len(losses) > 1 else losses[0])
    return (total / res0.denom if spec.reduction == "mean" else total), grad


def backward(inp: Inputs, res: Residuals, grad_output: Any) -> Any:
    """d sum(output * grad_output) / d logits, in the logits' dtype."""
    xp, x = inp.xp, inp.x
    c = _coefficient(inp, res, grad_output)
    blocks = _fastpath.row_blocks(inp)
    if blocks is None:
        grad = _item_grad(inp, res, c)
        return grad if grad.dtype == inp.in_dtype else xp.astype(grad, inp.in_dtype)
    # bounded memory: the gradient is the only items x classes array; each block is computed in it
    grad = xp.empty(tuple(x.shape), dtype=inp.in_dtype, device=inp.device)
    nd = x.ndim
    for sl in blocks:
        sub = _fastpath.block_inputs(inp, blocks, sl)
        rs = Residuals(_fastpath.block_of(res.m, blocks, sl, nd), _fastpath.block_of(res.ls, blocks, sl, nd), res.denom)
        out = _fastpath.block_of(grad, blocks, sl, nd)
        gb = _item_grad(sub, rs, _fastpath.block_of(c, blocks, sl, nd), out if grad.dtype == x.dtype else None)
        if gb is not out:
            out[...] = gb
    return grad


def _item_grad(inp: Inputs, res: Residuals, c: Any, out: Any = None, exp_ready: bool = False) -> Any:
    """The gradient (compute dtype) given ``c``, d(output)/d(item loss) with the keep shape.

    ``out``: where to write it (an array the core owns, in the compute dtype), else a new array;
    ``exp_ready``: ``out`` already holds ``exp(x - m)`` (left there by :func:`_stats`).
    """
    xp, spec = inp.xp, inp.spec
    x = inp.x
    if spec.activation == "sigmoid":
        if spec.target == "index":
            parts = _index_parts(inp)
            q = xp.astype(parts.idx, x.dtype)
            if spec.label_smoothing:
                q = q * (1.0 - spec.label_smoothing) + spec.label_smoothing / 2
            if parts.valid is not None:
                c = xp.where(parts.valid, c, _zero(xp, inp))
        else:
            _, _, q = _probs_parts(inp)
        sig = 1.0 / (1.0 + xp.exp(-x))
        return c * (sig - q)

    # softmax: grad = c * (alpha * p - beta), p = softmax(x), beta = the weighted target mass
    index = spec.target == "index"
    if index:
        parts = res.parts if res.parts is not None else _index_parts(inp)
        if parts.valid is not None:
            c = xp.where(parts.valid, c, _zero(xp, inp))
        if parts.bad is not None:
            c = xp.where(parts.bad, xp.asarray(math.nan, dtype=x.dtype, device=inp.device), c)
        alpha = parts.alpha
    else:
        alpha, beta, _ = _probs_parts(inp)
    mutable = _fastpath.mutable(inp)
    # the O(items) scatter needs all classes here (not a class shard, whose labels may be elsewhere)
    scatter = index and mutable and spec.inputs == "logits" and getattr(inp, "classes", None) is None
    if index and not scatter:
        onehot = xp.astype(_class_iota(inp) == parts.idx, x.dtype)
        beta = parts.beta_t * onehot
        if spec.label_smoothing:
            beta = beta + parts.beta_u
    if spec.inputs == "log_probs":
        return -(c * beta)
    m, ls = (res.m, res.ls) if res.m is not None else _stats(inp)
    if not mutable:
        # exp(x - m) / exp(ls), not exp(x - (m + ls)): m + ls rounds away the small differences.  The
        # same exp(x - m) as the forward's (_stats): under jax.jit, XLA computes it once for both
        p = xp.exp(x - m) * (1.0 / xp.exp(ls))
        return c * (alpha * p - beta)
    # in place on one buffer (the gradient itself): exp((x - m) - ls) * (c alpha) - c beta
    if exp_ready:  # out = exp(x - m): divide by its sum exp(ls)
        p = out
        p *= _times(alpha, c) / xp.exp(ls)
    else:
        p = _fastpath.subtract_into(xp, x, m, out)
        p -= ls
        p = _fastpath.exp_(xp, p)
        p *= _times(alpha, c)
    if scatter:  # c beta = c beta_t onehot (+ c beta_u): O(items) scatter, then the uniform part
        p = _fastpath.scatter_sub_(xp, p, parts.idx, _times(parts.beta_t, c), inp.axis)
        if spec.label_smoothing:
            p -= c * parts.beta_u
    else:
        p -= c * beta
    return p


def softmax(inp: Inputs) -> Any:
    """softmax along the class axis, in the logits' dtype."""
    xp = inp.xp
    if inp.kernel is not None:  # the kernel left the logits uncast: compute in the compute dtype here
        inp = dataclasses.replace(inp, x=xp.astype(inp.x, compute_dtype(xp, inp.x.dtype)), kernel=None)
    m, ls = _stats(inp)
    if _fastpath.mutable(inp):
        p = inp.x - m
        p -= ls
        p = _fastpath.exp_(xp, p)
    else:
        p = xp.exp((inp.x - m) - ls)
    return p if p.dtype == inp.in_dtype else xp.astype(p, inp.in_dtype)


def finish(inp: Inputs, out: Any) -> Any:
    """Cast the output back to the logits' dtype (and make NumPy scalars 0-d arrays)."""
    out = out if out.dtype == inp.out_dtype else inp.xp.astype(out, inp.out_dtype)
    if isinstance(out, np.generic):
        out = np.asarray(out)
    return out

# Math: the item loss terms of CrossEntropySpec's docstring and their gradient.
#   softmax: L = alpha * ls + sum_c beta_c * gap(m - x_c)   (+ sum_c w_c q~_c log(q~_c + kl_eps) for KL)
#            where gap is transforms.gap, and (per_item, unnormalised q) + (alpha - sum_c beta_c) * m;
#            plus the z-loss z * lse^2, lse = m + ls (spec.z_loss; gradient 2 z lse softmax(x));
#   sigmoid: L = max(x, 0) - q~ x + log(1 + exp(-|x|)) per element; with a class weight w (the weight
#            of the positive term, pos_weight, broadcast against x): L = (1 - q~) x + l (log(1 + exp(-|x|))
#            + max(-x, 0)) with l = 1 + (w - 1) q~, i.e. w q~ softplus(-x) + (1 - q~) softplus(x).
#            Probabilities (inputs="probs"): softmax ones arrive as log-probabilities (transforms);
#            sigmoid ones give L = -w q~ log p - (1 - q~) log(1 - p), clipped (transforms.binary_loss).
#   Gradient: dL/dx = (alpha + 2 z lse) * softmax(x) - beta (softmax), sigmoid(x) - q~ (sigmoid; with w:
#   l sigmoid(x) - w q~), times c, the derivative of the reduced output with respect to the item loss
#   (reduce.coefficient).
# The loss never subtracts two large numbers: the target logit enters as m - x_t >= 0.
"""Item loss terms (before masking, sample weights and scale) and their gradient."""

from __future__ import annotations

import math
from typing import Any

from .._backend import is_dask
from . import fastpath
from .inputs import (
    REFERENCE,
    Inputs,
    Plan,
    Residuals,
    along_axis,
    class_iota,
    csum,
    mask_valid,
    masked,
    nan,
    sum_tol,
    times,
    zero,
)
from .stats import stats
from .targets import index_parts, probs_parts, sigmoid_target
from .transforms import binary_grad, binary_loss, gap

__all__ = ["bad_probs", "gather", "item_grad", "item_losses"]


def gather(inp: Inputs, idx: Any) -> Any:
    """x[..., idx, ...] along the class axis; ``idx`` has the keep shape."""
    xp = inp.xp
    if inp.classes is None and (fast := fastpath.take_along_axis(inp.x, idx, inp.axis)) is not None:
        return fast  # the library's own gather (the array-API wrapper costs more than the gather)
    take = getattr(xp, "take_along_axis", None)
    if take is not None and not is_dask(inp.x) and inp.classes is None:
        return take(inp.x, idx, axis=inp.axis)
    # Dask (and old array-api-strict): a one-hot mask, still fused and lazy; with a class shard, the
    # process holding the label contributes x_t, the others 0
    return csum(inp, xp.where(class_iota(inp) == idx, inp.x, zero(inp)))


def item_losses(inp: Inputs, plan: Plan = REFERENCE) -> tuple[Any, Any, Residuals, Any]:
    """Per-item losses (keep shape) before masking, sample weights and scale.

    Returns ``(loss, valid, residuals_without_denominator, parts)``.
    """
    if inp.spec.activation == "sigmoid":
        return _sigmoid_losses(inp, plan)
    m, ls = stats(inp, plan)
    if inp.spec.target == "index":
        return _index_losses(inp, plan, m, ls)
    return _probs_losses(inp, m, ls)


def _sigmoid_losses(inp: Inputs, plan: Plan) -> tuple[Any, Any, Residuals, Any]:
    xp, x = inp.xp, inp.x
    q, parts = sigmoid_target(inp, plan)
    z = zero(inp)
    if inp.spec.inputs == "probs":  # probabilities (transforms.binary_loss)
        loss = binary_loss(inp, q)
    elif inp.cw is None:
        loss = xp.maximum(x, z) - q * x + xp.log1p(xp.exp(-xp.abs(x)))
    else:  # pos_weight: PyTorch's, TensorFlow's and MXNet's formula
        loss = (1.0 - q) * x + (1.0 + (inp.cw - 1.0) * q) * (xp.log1p(xp.exp(-xp.abs(x))) + xp.maximum(-x, z))
    bad = parts.bad if parts is not None else bad_probs(inp)
    if bad is not None:
        loss = xp.where(bad, nan(inp), loss)
    return loss, None if parts is None else parts.valid, Residuals(z, z, None), (parts, q)


def _index_losses(inp: Inputs, plan: Plan, m: Any, ls: Any) -> tuple[Any, Any, Residuals, Any]:
    xp, spec = inp.xp, inp.spec
    parts = index_parts(inp, plan)
    mx_t = gap(inp, m - gather(inp, parts.idx))
    loss = times(parts.alpha, ls) + times(parts.beta_t, mx_t)
    if spec.label_smoothing:
        if spec.weighting == "per_class" and inp.cw is not None:
            loss = loss + csum(inp, parts.beta_u * gap(inp, m - inp.x))
        else:
            loss = loss + parts.beta_u * csum(inp, gap(inp, m - inp.x))
    loss = z_term(inp, loss, m, ls)
    if parts.bad is not None:
        loss = xp.where(parts.bad, nan(inp), loss)
    return loss, parts.valid, Residuals(m, ls, None, parts), parts


def z_term(inp: Inputs, loss: Any, m: Any, ls: Any) -> Any:
    """``loss + z_loss * lse**2`` (lse = m + ls), or ``loss`` without a z-loss."""
    if not inp.spec.z_loss:
        return loss
    lse = m + ls
    return loss + inp.spec.z_loss * (lse * lse)


def _probs_losses(inp: Inputs, m: Any, ls: Any) -> tuple[Any, Any, Residuals, Any]:
    xp, spec = inp.xp, inp.spec
    alpha, beta, q = probs_parts(inp)
    # per_item with class weights: alpha = s is a sum over the classes (all-reduced with a class
    # shard), kept outside the class sums below.  s * sum_c(q x) rather than sum_c(s q x): under
    # torch autograd an all-reduce passes its gradient through unchanged, which is exact only when a
    # global value is not mixed into another process-local sum.
    scaled = spec.weighting == "per_item" and inp.cw is not None
    if scaled:
        loss = alpha * (ls + csum(inp, q * gap(inp, m - inp.x)))
    else:
        terms = beta * gap(inp, m - (inp.x if inp.cm is None else xp.where(inp.cm, inp.x, m)))
        if spec.skip_zero_targets:  # 0 log 0 = 0 even at -inf logits (optax's safe_softmax_cross_entropy)
            terms = xp.where(q == 0, zero(inp), terms)
        if inp.cm is not None:  # masked classes leave the sum, whatever their logits
            terms = xp.where(inp.cm, terms, zero(inp))
        loss = alpha * ls + csum(inp, terms)
    bad = bad_probs(inp)
    if bad is not None:
        loss = xp.where(bad, xp.asarray(math.nan, dtype=loss.dtype, device=inp.device), loss)
    if spec.weighting == "per_item" and spec.inputs == "logits":
        # alpha != sum_c beta_c = alpha sum_c q_c for unnormalised targets: add (alpha - sum beta) * m
        loss = loss + times(alpha, 1.0 - csum(inp, q)) * m
    if spec.soft_loss == "kl":
        qlog = xp.where(q > 0, q * xp.log(q + spec.kl_eps), zero(inp))
        if scaled:
            loss = loss + alpha * csum(inp, qlog)
        else:
            loss = loss + csum(inp, qlog if inp.cw is None else qlog * along_axis(inp, inp.cw))
    loss = z_term(inp, loss, m, ls)
    return loss, mask_valid(inp), Residuals(m, ls, None), (alpha, beta, q)


def bad_probs(inp: Inputs) -> Any:
    """Lazily (values unknown at call time), the items whose probability target is invalid, or None.

    A negative probability (``probs_nonnegative``), or a softmax distribution that does not sum to 1
    (``probs_sum_to_one``), poisons its item's loss and gradient with NaN where an eager call raises
    (validate.py).  Softmax: per item (keep shape); sigmoid: per element.
    """
    xp, spec = inp.xp, inp.spec
    if not inp.lazy or spec.target != "probs":
        return None
    softmax = spec.activation == "softmax"
    bad = None
    if spec.probs_nonnegative:
        bad = xp.any(inp.t < 0, axis=inp.axis, keepdims=True) if softmax else inp.t < 0
    if spec.probs_sum_to_one and softmax:  # a distribution that does not sum to 1
        off = xp.abs(xp.sum(inp.t, axis=inp.axis, keepdims=True) - 1.0) > sum_tol(
            xp, inp.out_dtype if inp.t_dtype is None else inp.t_dtype
        )
        bad = off if bad is None else bad | off
    return bad


# --------------------------------------------------------------------------- gradient


def item_grad(
    inp: Inputs, res: Residuals, c: Any, out: Any = None, exp_ready: bool = False, plan: Plan = REFERENCE
) -> Any:
    """The gradient (compute dtype) given ``c``, d(output)/d(item loss) with the keep shape.

    ``out``: where to write it (an array the core owns, in the compute dtype), else a new array;
    ``exp_ready``: ``out`` already holds ``exp(x - m)`` (left there by :func:`~.stats.stats`).
    """
    xp = inp.xp
    if inp.spec.activation == "sigmoid":
        q, parts = sigmoid_target(inp, plan)
        if parts is not None and parts.valid is not None:
            c = xp.where(parts.valid, c, zero(inp))
        bad = parts.bad if parts is not None else bad_probs(inp)
        if bad is not None:
            c = xp.where(bad, nan(inp), c)
        if inp.spec.inputs == "probs":
            return binary_grad(inp, q, c)
        sig = 1.0 / (1.0 + xp.exp(-inp.x))
        if inp.cw is not None:  # pos_weight w: l sigmoid(x) - w q~, l = 1 + (w - 1) q~
            return c * ((1.0 + (inp.cw - 1.0) * q) * sig - inp.cw * q)
        return c * (sig - q)
    return _softmax_grad(inp, res, c, out, exp_ready, plan)


def _softmax_grad(inp: Inputs, res: Residuals, c: Any, out: Any, exp_ready: bool, plan: Plan) -> Any:
    """grad = c * (alpha * p - beta), p = softmax(x), beta = the weighted target mass."""
    xp, spec, x = inp.xp, inp.spec, inp.x
    index = spec.target == "index"
    parts: Any = None
    if index:
        parts = res.parts if res.parts is not None else index_parts(inp, plan)
        if parts.valid is not None:
            c = xp.where(parts.valid, c, zero(inp))
        if parts.bad is not None:
            c = xp.where(parts.bad, nan(inp), c)
        alpha = parts.alpha
    else:
        alpha, beta, _ = probs_parts(inp)
        if (bad := bad_probs(inp)) is not None:
            c = xp.where(bad, nan(inp), c)
    mutable = fastpath.mutable(inp)
    # the O(items) scatter needs all classes here (not a class shard, whose labels may be elsewhere)
    scatter = index and mutable and spec.inputs == "logits" and inp.classes is None
    if index and not scatter:
        beta = parts.beta_t * xp.astype(class_iota(inp) == parts.idx, x.dtype)
        if spec.label_smoothing:
            beta = beta + parts.beta_u
    if spec.inputs != "logits":  # log-probabilities (probabilities: transforms.chain takes it on)
        return -(c * beta)
    m, ls = (res.m, res.ls) if res.m is not None else stats(inp)
    if spec.z_loss:  # d z lse^2 / dx = 2 z lse softmax(x): softmax's coefficient grows
        alpha = alpha + (2.0 * spec.z_loss) * (m + ls)
    if not mutable:
        # exp(x - m) / exp(ls), not exp(x - (m + ls)): m + ls rounds away the small differences.  The
        # same exp(x - m) as the forward's (stats): under jax.jit, XLA computes it once for both
        p = xp.exp(masked(inp, x) - m) * (1.0 / xp.exp(ls))
        return c * (alpha * p - beta)
    # in place on one buffer (the gradient itself): exp((x - m) - ls) * (c alpha) - c beta
    if exp_ready:  # out = exp(x - m): divide by its sum exp(ls)
        p = out
        p *= times(alpha, c) / xp.exp(ls)
    else:
        p = fastpath.subtract_into(xp, x, m, out)
        p -= ls
        p = fastpath.exp_(xp, p)
        p *= times(alpha, c)
    if scatter:  # c beta = c beta_t onehot (+ c beta_u): O(items) scatter, then the uniform part
        p = fastpath.scatter_sub_(xp, p, parts.idx, times(parts.beta_t, c), inp.axis)
        if spec.label_smoothing:
            p -= c * parts.beta_u
    else:
        p -= c * beta
    return p

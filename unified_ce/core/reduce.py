# Math: the last lines of CrossEntropySpec's docstring -- each item loss times its per-sample weight
# and ``scale`` (ignored items 0), then ``reduction``: none / sum / mean = sum / D / sample_mean (the
# mean over every axis but batch_axis).  The denominator D is per ``denominator``: the item count,
# the non-ignored count, sum of w_y (label_weight), sum of alpha (item_weight), the batch size,
# the logit count / C (logits_per_class: the item count, nan with zero classes), a divisor given
# at call time (given: a runtime 0-d array, not a sum over the items) or the sum of the broadcast
# per-sample weights (sample_weight);
# ``zero_denominator`` turns D = 0 into 1.  Denominators of parts of a batch add up (blocks,
# micro-batches, processes).  Gradient: ``coefficient`` is d(output . g)/d(item loss): g (none/sum),
# g / D (mean), g / count along the batch axis (sample_mean), times the sample weight and scale.
"""Reductions and denominators, and the coefficient that carries the gradient back through them."""

from __future__ import annotations

import math
from typing import Any

from .inputs import Inputs, Residuals, along_axis, axis_index, csum, mean_axis, nan, zero

__all__ = [
    "apply_item_weights",
    "coefficient",
    "denominator",
    "denominator_part",
    "denominator_total",
    "nonzero_denominator",
    "reduce",
]


def apply_item_weights(inp: Inputs, loss: Any, valid: Any) -> Any:
    """Item losses with ignored items 0, times the per-sample weights and ``scale``."""
    xp = inp.xp
    if valid is not None:
        loss = xp.where(valid, loss, zero(inp))
    if inp.sw is not None:
        loss = loss * inp.sw
    if inp.spec.scale != 1.0:
        loss = loss * inp.spec.scale
    return loss


def denominator_part(inp: Inputs, valid: Any, parts: Any) -> Any:
    """The items' contribution to the mean's denominator (a 0-d sum), or None when it is a count.

    Contributions of blocks of items add up (the blocked path of the forward).
    """
    xp, spec = inp.xp, inp.spec
    kind = spec.denominator
    if kind in ("batch", "items", "logits_per_class"):
        return None
    if kind == "sample_weight" and inp.sw is not None:  # Keras's mean_with_sample_weight
        w = xp.broadcast_to(inp.sw, tuple(inp.keep_shape))
        return xp.sum(xp.where(valid, w, zero(inp)) if valid is not None else w)
    if kind in ("label_weight", "item_weight") and inp.cw is not None and spec.activation == "softmax":
        if spec.target == "index":
            w = parts.w_t if kind == "label_weight" else parts.alpha
        else:
            _, _, q = parts
            w = csum(inp, q * along_axis(inp, inp.cw))
        if valid is not None:
            w = xp.where(valid, w, zero(inp))
        return xp.sum(w)
    # "valid", "given" (the count decides whether a divisor of 0 is 0/0), or a weight denominator without class weights
    return xp.sum(xp.astype(valid, inp.x.dtype)) if valid is not None else None


def denominator_total(inp: Inputs, part: Any, *, zero_fix: bool = True) -> Any:
    """The mean's denominator (0-d) from the summed contributions of :func:`denominator_part`.

    ``zero_fix=False``: before ``zero_denominator`` applies (see :func:`nonzero_denominator`).
    """
    xp, spec = inp.xp, inp.spec
    if spec.denominator == "given":  # the divisor given at call time (Hugging Face's num_items_in_batch)
        count = part if part is not None else math.prod(inp.keep_shape)
        # a divisor of 0 with items to count is invalid (eager calls raise in validation): NaN, not inf
        if isinstance(count, int):
            return xp.where(inp.den == 0, nan(inp), inp.den) if count else inp.den
        return xp.where((inp.den == 0) & (count != 0), nan(inp), inp.den)
    if part is not None:
        d = part
    else:
        n: float = math.prod(inp.keep_shape)
        if spec.denominator == "batch":
            n = inp.x.shape[axis_index(spec.batch_axis, inp.x.ndim, "batch_axis")]
        elif spec.denominator == "logits_per_class" and spec.activation == "softmax" and not inp.n_classes:
            n = math.nan  # PyTorch's numel / C with zero classes: 0 / 0
        d = xp.asarray(float(n), dtype=inp.x.dtype, device=inp.device)
    return nonzero_denominator(inp, d) if zero_fix else d


def nonzero_denominator(inp: Inputs, d: Any) -> Any:
    """A mean's denominator after ``spec.zero_denominator``: 0 stays 0 (0/0 = nan) or becomes 1."""
    xp = inp.xp
    if inp.spec.zero_denominator == "zero":
        d = xp.where(d == 0, xp.ones_like(d), d)
    return d


def denominator(inp: Inputs, parts: Any, valid: Any) -> Any:
    """The denominator of ``reduction="mean"`` for these items (0-d, before ``zero_denominator``).

    ``parts`` / ``valid``: the target parts of these items (targets.index_parts / probs_parts).
    """
    return denominator_total(inp, denominator_part(inp, valid, parts), zero_fix=False)


def sample_axes(inp: Inputs) -> tuple[int, tuple[int, ...], int]:
    """``(batch axis, the other axes of the keep shape, the number of items along them)``."""
    b = axis_index(inp.spec.batch_axis, inp.x.ndim, "batch_axis")
    axes = tuple(i for i in range(len(inp.keep_shape)) if i != b)
    count = math.prod(inp.keep_shape[i] for i in axes)
    return b, axes, count


def reduce(inp: Inputs, loss: Any, denom: Any) -> Any:
    """The output of weighted item losses (keep shape) per ``spec.reduction``; ``denom``: for a mean."""
    xp, spec = inp.xp, inp.spec
    if spec.reduction == "none":
        return loss if (spec.keepdims or spec.activation == "sigmoid") else xp.squeeze(loss, axis=inp.axis)
    if spec.reduction == "sum":
        return xp.sum(loss)
    if spec.reduction == "mean":
        return xp.sum(loss) / denom
    if spec.reduction == "axis_mean":  # (an empty axis: 0 / 0 = nan, as a mean over nothing)
        a = mean_axis(inp)
        return xp.sum(loss, axis=a) / _count(inp.keep_shape[a])
    _, axes, count = sample_axes(inp)  # sample_mean
    return xp.sum(loss, axis=axes) / float(count) if axes else loss


def _count(n: int) -> float:
    return float(n) if n else math.nan  # (a Python 1 / 0.0 raises)


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
    if spec.reduction == "axis_mean":
        return xp.expand_dims(g, axis=mean_axis(inp)) / _count(inp.keep_shape[mean_axis(inp)])
    b, _axes, count = sample_axes(inp)
    shape = [1] * len(inp.keep_shape)
    shape[b] = inp.keep_shape[b]
    return xp.reshape(g, tuple(shape)) / float(count)


def coefficient(inp: Inputs, res: Residuals, grad_output: Any) -> Any:
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

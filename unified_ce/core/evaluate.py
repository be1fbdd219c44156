# Math: the whole of CrossEntropySpec's docstring, by composing the stages in order --
# transforms -> stats (m, ls) -> targets (alpha, beta) -> terms (item loss) -> reduce (output) -- and
# back: reduce.coefficient (c) -> terms.item_grad (c * (alpha softmax - beta)).  The passes below
# only arrange the stages: in one piece, or in blocks of rows (the bounded-memory fast path), with
# the forward and gradient fused in one pass over the logits where that is covered.
"""The passes of the reference core: forward, backward and the fused forward-with-gradient."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from . import fastpath
from .inputs import REFERENCE, Inputs, Plan, Residuals, mask_valid
from .reduce import apply_item_weights, coefficient, denominator_part, denominator_total, reduce
from .reduce import denominator as _denominator
from .targets import index_parts, probs_parts
from .terms import item_grad, item_losses
from .transforms import chain, has_transform, transformed

__all__ = ["backward", "denominator", "finish", "forward", "forward_with_grad"]


def forward(inp: Inputs, plan: Plan = REFERENCE) -> tuple[Any, Residuals]:
    """The reduced loss (compute dtype) and the residuals for :func:`backward`."""
    inp = transformed(inp)  # scale and soft-cap: every later stage sees the transformed logits
    spec = inp.spec
    mean = spec.reduction == "mean"
    blocks = fastpath.row_blocks(inp)
    if blocks is None:
        loss, valid, res, parts = item_losses(inp, plan)
        loss = apply_item_weights(inp, loss, valid)
        dpart = denominator_part(inp, valid, parts) if mean else None
    else:
        loss, res, dpart = _blocked_forward(inp, plan, blocks)
    if mean:
        res.denom = denominator_total(inp, dpart)  # the residuals this forward just made
    return reduce(inp, loss, res.denom), res


def _blocked_forward(inp: Inputs, plan: Plan, blocks: fastpath.Blocks) -> tuple[Any, Residuals, Any]:
    """Bounded memory: items in blocks, O(block) temporaries, O(items) results."""
    xp, mean = inp.xp, inp.spec.reduction == "mean"
    losses, ms, lss, dparts = [], [], [], []  # type: list[Any], list[Any], list[Any], list[Any]
    scratch = fastpath.block_scratch(inp, blocks)
    for sl in blocks:
        sub = fastpath.block_inputs(inp, blocks, sl)
        exp_out = fastpath.block_of(scratch, blocks, slice(0, sl.stop - sl.start), inp.x.ndim)
        loss, valid, res, parts = item_losses(sub, dataclasses.replace(plan, exp_out=exp_out))
        losses.append(apply_item_weights(sub, loss, valid))
        ms.append(res.m)
        lss.append(res.ls)
        dparts.append(denominator_part(sub, valid, parts) if mean else None)
    loss = xp.concat(losses, axis=blocks.axis)
    if getattr(res.m, "ndim", 0):  # 0-d (log-probability inputs) are shared by every block
        res = Residuals(xp.concat(ms, axis=blocks.axis), xp.concat(lss, axis=blocks.axis), None)
    else:
        res = Residuals(res.m, res.ls, None)  # without the last block's parts
    dpart = None if dparts[0] is None else sum(dparts[1:], dparts[0])
    return loss, res, dpart


def denominator(inp: Inputs, plan: Plan = REFERENCE) -> Any:
    """The denominator of ``reduction="mean"`` for these items (0-d, before ``zero_denominator``).

    Denominators of parts of a batch add up: the mean over micro-batches or processes is the sum of
    their summed losses over the sum of their denominators (:func:`unified_ce.loss_sum_and_denominator`).
    """
    if inp.spec.target == "index":
        parts: Any = index_parts(inp, plan)
        return _denominator(inp, parts, parts.valid)
    return _denominator(inp, probs_parts(inp), mask_valid(inp))


def _fusable(inp: Inputs, grad_output: Any) -> bool:
    """Whether :func:`forward_with_grad` covers these inputs."""
    spec, x = inp.spec, inp.x
    return not (
        spec.activation != "softmax"
        or spec.inputs != "logits"
        or spec.target != "index"
        or spec.reduction not in ("sum", "mean")
        or inp.classes is not None
        or inp.in_dtype != x.dtype
        or x.ndim < 2
        or math.prod(x.shape) == 0  # no items: no block to fuse
        or (grad_output is not None and tuple(grad_output.shape) != ())
        or not fastpath.mutable(inp)
        or has_transform(inp)
    )


def forward_with_grad(inp: Inputs, grad_output: Any, plan: Plan = REFERENCE) -> tuple[Any, Any] | None:
    """Loss (compute dtype) and gradient in one pass over the logits, or None where not covered.

    The eager fast path of ``value_and_grad``: each block of items leaves ``exp(x - max)`` in its part
    of the gradient buffer (:func:`~.stats.stats`), which becomes the gradient in place while still in
    cache, so the logits are read once and ``exp`` runs once.  Covers class-index targets of logits
    with reduction ``sum`` or ``mean`` (a 0-d cotangent, known before the pass); None otherwise.
    """
    if plan.kernel is not None or not _fusable(inp, grad_output):
        return None
    xp, x = inp.xp, inp.x
    res0 = Residuals(None, None, None)
    if inp.spec.reduction == "mean":  # the denominator depends on the labels only: known before the pass
        parts = index_parts(inp, plan)
        res0 = Residuals(None, None, denominator_total(inp, denominator_part(inp, parts.valid, parts)))
    g = xp.ones((), dtype=x.dtype, device=inp.device) if grad_output is None else grad_output
    c = coefficient(inp, res0, g)
    grad = xp.empty(tuple(x.shape), dtype=x.dtype, device=inp.device)
    blocks = fastpath.row_blocks(inp) or fastpath.one_block(inp)
    nd = x.ndim
    losses = []
    for sl in blocks:
        sub = fastpath.block_inputs(inp, blocks, sl)
        sub_plan = dataclasses.replace(plan, exp_out=fastpath.block_of(grad, blocks, sl, nd))
        loss, valid, res, _ = item_losses(sub, sub_plan)
        losses.append(apply_item_weights(sub, loss, valid))
        cb = fastpath.block_of(c, blocks, sl, nd)
        item_grad(sub, res, cb, sub_plan.exp_out, exp_ready=True, plan=sub_plan)
    total = xp.sum(xp.concat(losses, axis=blocks.axis) if len(losses) > 1 else losses[0])
    return (total / res0.denom if inp.spec.reduction == "mean" else total), grad


def backward(inp: Inputs, res: Residuals, grad_output: Any, plan: Plan = REFERENCE) -> Any:
    """d sum(output * grad_output) / d logits, in the logits' dtype."""
    xp, x = inp.xp, inp.x
    c = coefficient(inp, res, grad_output)
    blocks = fastpath.row_blocks(inp)
    if blocks is None:
        grad = chain(inp, item_grad(transformed(inp), res, c, plan=plan))
        return grad if grad.dtype == inp.in_dtype else xp.astype(grad, inp.in_dtype)
    # bounded memory: the gradient is the only items x classes array; each block is computed in it
    grad = xp.empty(tuple(x.shape), dtype=inp.in_dtype, device=inp.device)
    nd = x.ndim
    for sl in blocks:
        sub = fastpath.block_inputs(inp, blocks, sl)
        m, ls = fastpath.block_of(res.m, blocks, sl, nd), fastpath.block_of(res.ls, blocks, sl, nd)
        out = fastpath.block_of(grad, blocks, sl, nd)
        cb = fastpath.block_of(c, blocks, sl, nd)
        if has_transform(sub):  # the gradient of the transformed logits, chained back to the logits
            gb = chain(sub, item_grad(transformed(sub), Residuals(m, ls, res.denom), cb, plan=plan))
        else:
            gb = item_grad(sub, Residuals(m, ls, res.denom), cb, out if grad.dtype == x.dtype else None, plan=plan)
        if gb is not out:
            out[...] = gb
    return grad


def finish(inp: Inputs, out: Any) -> Any:
    """Cast the output back to the logits' dtype (and make NumPy scalars 0-d arrays)."""
    out = out if out.dtype == inp.out_dtype else inp.xp.astype(out, inp.out_dtype)
    if isinstance(out, np.generic):
        out = np.asarray(out)
    return out

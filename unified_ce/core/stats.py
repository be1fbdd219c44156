# Math: the row statistics of CrossEntropySpec's docstring.  m = max_c x_c and
# ls = log sum_c exp(x_c - m), so that lse(x) = m + ls and softmax(x)_c = exp(x_c - m) / exp(ls).
# Gradient: d lse / dx = softmax(x); the backward (terms.item_grad) rebuilds softmax from the
# saved m and ls (O(items) residuals), never from a saved items x classes array.  Log-probability
# inputs (spec.inputs == "log_probs", and probabilities transformed to log-probabilities) are already
# normalised: m = ls = 0.
"""Row statistics (max and log-sum-exp along the class axis) and softmax."""

from __future__ import annotations

import math
from typing import Any

from . import fastpath
from .inputs import REFERENCE, Inputs, Plan, csum, mask_valid, masked, zero

__all__ = ["softmax", "stats"]


def stats(inp: Inputs, plan: Plan = REFERENCE) -> tuple[Any, Any]:
    """``(m, ls)`` with the keep shape; ``plan.exp_out`` receives ``exp(x - m)`` on the fast path."""
    xp, x = inp.xp, inp.x
    if inp.spec.inputs != "logits":  # log-probabilities (probabilities: transformed to them)
        z = zero(inp)
        return z, z
    if math.prod(x.shape) == 0:  # no items (dask cannot take the max of empty chunks)
        m = xp.zeros(inp.keep_shape, dtype=x.dtype, device=inp.device)
        if inp.classes is None and x.shape[inp.axis] == 0:
            # zero classes (probability targets): every class sum is empty and so is each item's loss;
            # ls = 0 rather than log(0) keeps alpha * ls (alpha an empty sum) at 0, not 0 * -inf
            return m, m
    elif inp.cm is not None:  # a class mask: masked classes at -inf; an item with none left: m = ls = 0
        x = masked(inp, x)
        kept = mask_valid(inp)
        m = xp.where(kept, xp.max(x, axis=inp.axis, keepdims=True), zero(inp))
        s = xp.sum(xp.exp(x - m), axis=inp.axis, keepdims=True)
        return m, xp.log(xp.where(kept, s, xp.ones_like(s)))
    else:
        m = xp.max(x, axis=inp.axis, keepdims=True)
        m = m if inp.classes is None else inp.classes.max(m)
    # a row of -inf (or +inf) has no finite max: keep it so that the row gives nan like log_softmax
    if fastpath.mutable(inp):  # in place, in the core's own buffer
        e = fastpath.exp_(xp, fastpath.subtract_into(xp, x, m, plan.exp_out))
    else:
        e = xp.exp(x - m)
    ls = xp.log(csum(inp, e))
    return m, ls


def softmax(inp: Inputs) -> Any:
    """softmax along the class axis (of logits in the compute dtype), in the logits' dtype."""
    xp = inp.xp
    m, ls = stats(inp)
    if fastpath.mutable(inp):
        p = inp.x - m
        p -= ls
        p = fastpath.exp_(xp, p)
    else:
        p = xp.exp((masked(inp, inp.x) - m) - ls)
    return p if p.dtype == inp.in_dtype else xp.astype(p, inp.in_dtype)

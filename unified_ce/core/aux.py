# Math: the auxiliary outputs of a softmax cross-entropy, on the (scaled, soft-capped) logits y of
# transforms.py: the per-item log-sum-exp lse = m + ls (stats.py), the per-item entropy of the softmax
# H = lse - sum_c softmax(y)_c y_c, and the z-loss part of the loss, z * lse^2 per item, masked,
# weighted and reduced exactly like the loss (reduce.py).  Values only: no gradient flows through
# them (what Liger and flash-attn return "for logging").
"""Auxiliary outputs: per-item log-sum-exp and entropy, and the reduced z-loss part of the loss."""

from __future__ import annotations

import dataclasses
from typing import Any

from .inputs import REFERENCE, Inputs, Plan, csum
from .reduce import apply_item_weights, denominator, nonzero_denominator, reduce
from .stats import stats
from .targets import index_parts, probs_parts
from .transforms import transformed

__all__ = ["aux_outputs"]


def aux_outputs(inp: Inputs, plan: Plan = REFERENCE) -> tuple[Any, Any, Any]:
    """``(lse, z_loss, entropy)``: per item (the loss's shape for ``reduction="none"``, ignored
    items 0), the z-loss part reduced like the loss, per item; compute dtype."""
    xp, spec = inp.xp, inp.spec
    y = transformed(inp)
    m, ls = stats(y)
    lse = m + ls
    p = xp.exp(y.x - m) * (1.0 / xp.exp(ls))
    ent = lse - csum(y, p * y.x)
    if spec.target == "index":
        parts: Any = index_parts(inp, plan)
        valid = parts.valid
    else:
        parts, valid = probs_parts(inp), None
    z = apply_item_weights(inp, spec.z_loss * (lse * lse), valid)
    denom = nonzero_denominator(inp, denominator(inp, parts, valid)) if spec.reduction == "mean" else None
    if valid is not None:
        zero = xp.zeros_like(lse)
        lse, ent = xp.where(valid, lse, zero), xp.where(valid, ent, zero)
    per_item = spec.replace(reduction="none")
    shaped = dataclasses.replace(inp, spec=per_item)
    return reduce(shaped, lse, None), reduce(inp, z, denom), reduce(shaped, ent, None)

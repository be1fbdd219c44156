# Math: the logit transforms of CrossEntropySpec applied before the loss terms.  Today one:
# min_shifted_logit clips the shifted logit x_c - max_c x_c from below, so that the loss sees
# m - x_c capped at -min_shifted_logit (Paddle's CPU softmax, -64).  Gradient: none of its own --
# the spec keeps the gradient alpha * softmax(x) - beta of the *unclipped* logits (as Paddle does),
# so the backward (terms.item_grad) does not read this stage.
# New transforms (logit_softcap, logit_scale) go here, each with its forward and its gradient.
"""Logit transforms: the distance below the row maximum, capped by ``min_shifted_logit``."""

from __future__ import annotations

from typing import Any

from .inputs import Inputs

__all__ = ["gap"]


def gap(inp: Inputs, d: Any) -> Any:
    """``m - x`` (the distance below the maximum logit), capped at ``-spec.min_shifted_logit`` if set."""
    floor = inp.spec.min_shifted_logit
    if floor is None or inp.spec.inputs != "logits":
        return d
    return inp.xp.minimum(d, inp.xp.asarray(-floor, dtype=d.dtype, device=inp.device))

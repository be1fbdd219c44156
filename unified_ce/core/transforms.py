# Math: the logit transforms of CrossEntropySpec applied before the loss terms.
# * logit_scale s and logit_softcap k: the loss sees y = k tanh(s x / k) (or y = s x without a cap)
#   instead of x.  Gradient: dL/dx = dL/dy * s * (1 - tanh(s x / k)^2) (chain, below); the forward
#   and backward passes (evaluate.py) evaluate every other stage on y.
# * min_shifted_logit clips the shifted logit y_c - max_c y_c from below, so that the loss sees
#   m - y_c capped at -min_shifted_logit (Paddle's CPU softmax, -64).  Gradient: none of its own --
#   the spec keeps the gradient alpha * softmax(y) - beta of the *unclipped* logits (as Paddle does),
#   so the backward (terms.item_grad) does not read it.
"""Logit transforms: scale and soft-cap (with their gradient), and the capped distance below the row maximum."""

from __future__ import annotations

import dataclasses
from typing import Any

from .inputs import Inputs

__all__ = ["chain", "gap", "has_transform", "transformed"]


def has_transform(inp: Inputs) -> bool:
    """Whether the logits are scaled or soft-capped before the loss."""
    return inp.spec.logit_softcap is not None or inp.spec.logit_scale != 1.0


def transformed(inp: Inputs) -> Inputs:
    """The inputs with the logits ``x`` replaced by ``y = cap * tanh(scale * x / cap)`` (a new array)."""
    if not has_transform(inp):
        return inp
    xp, spec = inp.xp, inp.spec
    y = inp.x * spec.logit_scale if spec.logit_scale != 1.0 else inp.x
    if spec.logit_softcap is not None:
        y = xp.tanh(y / spec.logit_softcap) * spec.logit_softcap
    return dataclasses.replace(inp, x=y)


def chain(inp: Inputs, g: Any) -> Any:
    """``dL/dx`` from ``g = dL/dy`` (``inp`` holds the untransformed logits ``x``)."""
    if not has_transform(inp):
        return g
    xp, spec = inp.xp, inp.spec
    if spec.logit_softcap is not None:
        z = inp.x * spec.logit_scale if spec.logit_scale != 1.0 else inp.x
        th = xp.tanh(z / spec.logit_softcap)
        g = g * (1.0 - th * th)
    return g * spec.logit_scale if spec.logit_scale != 1.0 else g


def gap(inp: Inputs, d: Any) -> Any:
    """``m - x`` (the distance below the maximum logit), capped at ``-spec.min_shifted_logit`` if set."""
    floor = inp.spec.min_shifted_logit
    if floor is None or inp.spec.inputs != "logits":
        return d
    return inp.xp.minimum(d, inp.xp.asarray(-floor, dtype=d.dtype, device=inp.device))

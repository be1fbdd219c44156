# Math: the logit transforms of CrossEntropySpec applied before the loss terms.
# * logit_scale s and logit_softcap k: the loss sees y = k tanh(s x / k) (or y = s x without a cap)
#   instead of x.  Gradient: dL/dx = dL/dy * s * (1 - tanh(s x / k)^2) (chain, below); the forward
#   and backward passes (evaluate.py) evaluate every other stage on y.
# * min_shifted_logit clips the shifted logit y_c - max_c y_c from below, so that the loss sees
#   m - y_c capped at -min_shifted_logit (Paddle's CPU softmax, -64).  Gradient: none of its own --
#   the spec keeps the gradient alpha * softmax(y) - beta of the *unclipped* logits (as Paddle does),
#   so the backward (terms.item_grad) does not read it.
# * inputs="probs" (softmax): the probabilities p become log-probabilities y, used like log_probs:
#   a = p / sum_c p_c (probs_normalize="before_clip"), a' = clip(a, d, 1 - d) (probs_clip d; both
#   bounds rounded to the input's dtype: 1 - 1e-7 is 1 in float16), b = a' / sum_c a'_c ("after_clip"),
#   y = max(log(b + e), min_log) (log_eps e, rounded to the input's dtype too: 0 in float16).  Gradient (chain,
#   below), as autodiff gives: g / (b + e) where the clamp does not bite (0 where it does; everywhere with
#   min_log_grad="unclamped", Paddle's -q / p, except classes an index target's loss does not read), through
#   the normalisation (g - sum_c g_c b_c) / s, times the clip's mask [d <= a <= 1 - d], through the
#   first normalisation.
# * inputs="probs" (sigmoid): L = -w q~ y(p') - (1 - q~) y(1 - p'), p' = clip(p), y(v) = max(log(v + e),
#   min_log), w = pos_weight (binary_loss).  Gradient (binary_grad): c (-w q~ [y1 bites]/(p' + e) +
#   (1 - q~) [y0 bites]/(1 - p' + e)) [clip passes] (no [bites] with min_log_grad="unclamped"), or PyTorch's c ((1 + (w - 1) q~) p - w q~) /
#   max(p (1 - p), probs_grad_floor).  With probs_in_range, p (and q) outside [0, 1] give NaN (lazy
#   inputs; eager ones were refused by validation).
"""Logit transforms: scale and soft-cap (with their gradient), the capped distance below the row maximum,
and probability inputs turned into log-probabilities (with their gradient)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .._backend import keep_order
from .inputs import Inputs, class_iota, csum
from .targets import index_parts

__all__ = ["binary_grad", "binary_loss", "chain", "gap", "has_transform", "transformed"]


def has_transform(inp: Inputs) -> bool:
    """Whether the logits are scaled or soft-capped (or softmax probabilities turned into logs) before the loss."""
    spec = inp.spec
    return (
        spec.logit_softcap is not None
        or spec.logit_scale != 1.0
        or (spec.inputs == "probs" and spec.activation == "softmax")
    )


def transformed(inp: Inputs) -> Inputs:
    """The inputs with the logits ``x`` replaced by ``y = cap * tanh(scale * x / cap)`` (a new array),
    or softmax probabilities by their log-probabilities."""
    if not has_transform(inp):
        return inp
    xp, spec = inp.xp, inp.spec
    if spec.inputs == "probs":
        return dataclasses.replace(inp, x=_probs_forward(inp)[0])
    y = inp.x * spec.logit_scale if spec.logit_scale != 1.0 else inp.x
    if spec.logit_softcap is not None:
        y = xp.tanh(y / spec.logit_softcap) * spec.logit_softcap
    return dataclasses.replace(inp, x=y)


def chain(inp: Inputs, g: Any) -> Any:
    """``dL/dx`` from ``g = dL/dy`` (``inp`` holds the untransformed logits ``x``)."""
    if not has_transform(inp):
        return g
    xp, spec = inp.xp, inp.spec
    if spec.inputs == "probs":
        return _probs_chain(inp, g)
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


# --------------------------------------------------------------------------- probability inputs


def _nan_where(inp: Inputs, bad: Any, v: Any) -> Any:
    return inp.xp.where(bad, inp.xp.asarray(math.nan, dtype=v.dtype, device=inp.device), v)


def _out_of_range(v: Any) -> Any:
    """``v`` not in [0, 1] (NaN included)."""
    return ~((v >= 0.0) & (v <= 1.0))


def _in_dtype(inp: Inputs, v: float, like: Any) -> Any:
    """The constant ``v`` rounded to the input's dtype (as the frameworks convert it), in ``like``'s dtype:
    in float16 ``1e-12`` is 0 and ``1 - 1e-7`` is 1."""
    c = inp.xp.asarray(v, dtype=inp.in_dtype, device=inp.device)
    return c if c.dtype == like.dtype else inp.xp.astype(c, like.dtype)


def _clip(inp: Inputs, a: Any) -> tuple[Any, Any]:
    """``(clip(a, d, 1 - d), mask of a inside [d, 1 - d])`` (``(a, None)`` without a clip).  The bounds
    are ``d`` and ``1 - d`` rounded to the input's dtype (as TensorFlow's ``clip_by_value`` converts
    them): in float16 and bfloat16 ``1 - 1e-7`` is 1, so nothing is clipped at the top."""
    d = inp.spec.probs_clip
    if not d:
        return a, None
    xp = inp.xp
    lo, hi = _in_dtype(inp, d, a), _in_dtype(inp, 1.0 - d, a)
    inside = (a >= lo) & (a <= hi)
    return xp.minimum(xp.maximum(a, lo), hi), inside


def _log(inp: Inputs, b: Any) -> tuple[Any, Any, Any]:
    """``(y = max(log(b + e), min_log), b + e, mask of the unclamped logs or None)``."""
    xp, spec = inp.xp, inp.spec
    z = keep_order(b) + _in_dtype(inp, spec.log_eps, b) if spec.log_eps else b  # (1 - p) + e, also under XLA
    if spec.min_log is None:
        return xp.log(z), z, None
    # log(0) = -inf, clamped below -- without NumPy's divide-by-zero warning
    zero = z == 0.0
    y = xp.where(zero, xp.asarray(-math.inf, dtype=z.dtype, device=inp.device), xp.log(z + xp.astype(zero, z.dtype)))
    keep = y >= spec.min_log
    return xp.maximum(y, xp.asarray(spec.min_log, dtype=y.dtype, device=inp.device)), z, keep


def _probs_forward(inp: Inputs) -> tuple[Any, ...]:
    """Softmax probabilities -> ``(y, z, keep, a, inside, s1, b, s2)`` (see the opening comment)."""
    spec, p = inp.spec, inp.x
    a, s1 = p, None
    if spec.probs_normalize == "before_clip":
        s1 = csum(inp, p)
        a = p / s1
    b, inside = _clip(inp, a)
    s2 = None
    if spec.probs_normalize == "after_clip":
        s2 = csum(inp, b)
        b = b / s2
    y, z, keep = _log(inp, b)
    if spec.probs_in_range and inp.lazy:  # the whole item, also where an index target reads another class
        y = _nan_where(inp, csum(inp, inp.xp.astype(_out_of_range(p), y.dtype)) > 0, y)
    return y, z, keep, a, inside, s1, b, s2


def _probs_chain(inp: Inputs, g: Any) -> Any:
    """``dL/dp`` from ``g = dL/dy`` for softmax probabilities."""
    _, z, keep, a, inside, s1, b, s2 = _probs_forward(inp)
    xp, spec = inp.xp, inp.spec
    if spec.min_log_grad == "unclamped" and spec.target == "index" and (read := _read(inp)) is not None:
        # the classes the loss does not read (other than the label, ignored items) keep 0, even where p = 0
        one = xp.asarray(1.0, dtype=z.dtype, device=inp.device)
        g = xp.where(read, g / xp.where(read, z, one), xp.zeros_like(g))
    else:
        if keep is not None and spec.min_log_grad == "zero":
            g = g * xp.astype(keep, g.dtype)
        g = g / z
    if s2 is not None:  # b = b' / s2: dL/db'_j = (g_j - sum_c g_c b_c) / s2
        g = (g - csum(inp, g * b)) / s2
    if inside is not None:
        g = g * xp.astype(inside, g.dtype)
    if s1 is not None:  # a = p / s1
        g = (g - csum(inp, g * a)) / s1
    return g


def _read(inp: Inputs) -> Any:
    """Index targets: where the loss reads the probabilities (the label's class of the non-ignored items; every
    class of them with label smoothing), or None where it reads them all."""
    parts = index_parts(inp)
    read = None if inp.spec.label_smoothing else class_iota(inp) == parts.idx
    if parts.valid is not None:
        read = parts.valid if read is None else read & parts.valid
    return read


def _binary_logs(inp: Inputs) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    """Sigmoid probabilities -> ``(y1, z1, keep1, y0, z0, keep0, inside)`` for p and 1 - p."""
    a, inside = _clip(inp, inp.x)
    y1, z1, keep1 = _log(inp, a)
    y0, z0, keep0 = _log(inp, 1.0 - a)
    return y1, z1, keep1, y0, z0, keep0, inside


def binary_loss(inp: Inputs, q: Any) -> Any:
    """The element loss ``-w q y(p) - (1 - q) y(1 - p)`` of sigmoid probabilities (``w = inp.cw``)."""
    y1, _, _, y0, _, _, _ = _binary_logs(inp)
    pos = q * y1 if inp.cw is None else (inp.cw * q) * y1
    loss = -(pos + (1.0 - q) * y0)
    if inp.spec.probs_in_range and inp.lazy:
        loss = _nan_where(inp, _out_of_range(inp.x) | _out_of_range(q), loss)
    return loss


def binary_grad(inp: Inputs, q: Any, c: Any) -> Any:
    """``c dL/dp`` of :func:`binary_loss`."""
    xp, spec, p, w = inp.xp, inp.spec, inp.x, inp.cw
    if spec.probs_grad_floor is not None:  # PyTorch's binary_cross_entropy backward
        num = p - q if w is None else (1.0 + (w - 1.0) * q) * p - w * q
        den = xp.maximum(p * (1.0 - p), xp.asarray(spec.probs_grad_floor, dtype=p.dtype, device=inp.device))
        return c * (num / den)
    _, z1, keep1, _, z0, keep0, inside = _binary_logs(inp)
    g1 = -(c * q) if w is None else -(c * (w * q))
    g0 = -(c * (1.0 - q))
    if keep1 is not None and spec.min_log_grad == "zero":
        g1 = g1 * xp.astype(keep1, g1.dtype)
        g0 = g0 * xp.astype(keep0, g0.dtype)
    g = g1 / z1 - g0 / z0
    return g if inside is None else g * xp.astype(inside, g.dtype)

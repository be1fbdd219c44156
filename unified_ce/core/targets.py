# Math: the target side of CrossEntropySpec's docstring, written as L = alpha * ls + sum_c beta_c (m - x_c)
# with beta_c = the weighted (smoothed) target mass of class c and alpha = the item's weight:
#   per_class: beta_c = w_c q~_c, alpha = sum_c beta_c;  per_item: beta_c = s q~_c, alpha = s with
#   s = sum_c w_c q~_c;  per_label: s = w_y.  Smoothing: q~ = (1 - eps) q + eps / C (eps / 2 for sigmoid).
# For index targets beta is kept in two pieces, beta_t at the label (a one-hot) plus beta_u (uniform),
# so nothing items x classes is built; ignored items get a mask ("valid"), and lazily checked labels
# a NaN flag ("bad").  Gradient: these are constants of the logits -- d L / dx = alpha softmax(x) - beta
# (terms.item_grad) reads alpha and beta from here.
"""Target parts: alpha and beta of index targets (without a one-hot) and of probability targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._backend import is_dask, is_floating, is_integer, is_torch
from .inputs import (
    REFERENCE,
    Inputs,
    Plan,
    along_axis,
    class_iota,
    csum,
    cw_total,
    holds_ignore,
    index_dtype,
    mask_valid,
    zero,
)

__all__ = ["IndexParts", "index_parts", "probs_parts", "sigmoid_target", "take_weights"]


@dataclass
class IndexParts:
    """What an index target contributes: valid mask, safe index, alpha, beta pieces."""

    valid: Any  # bool (keep shape) or None
    idx: Any  # index (keep shape), ignored -> 0
    w_t: Any  # class weight of the label (keep shape) or None
    alpha: Any  # sum_c beta_c (keep shape) or a Python float
    beta_t: Any  # beta at the label: coefficient of the one-hot part
    beta_u: Any  # coefficient of the uniform part (scalar or a class-axis vector)
    bad: Any  # bool (keep shape) for lazy label checks, or None


def take_weights(inp: Inputs, idx: Any) -> Any:
    """class_weight[idx] with the keep shape."""
    xp = inp.xp
    if is_dask(inp.x) or inp.classes is not None:  # a select, not one-hot x weight: 0 x NaN would be NaN
        return csum(inp, xp.where(class_iota(inp) == idx, along_axis(inp, inp.cw), zero(inp)))
    flat = xp.reshape(idx, (-1,))
    return xp.reshape(xp.take(inp.cw, flat, axis=0), tuple(idx.shape))


def _safe_labels(inp: Inputs, plan: Plan) -> tuple[Any, Any, Any]:
    """``(labels as an index with the keep shape, valid mask or None, lazy "bad" flag or None)``."""
    xp, spec = inp.xp, inp.spec
    t = xp.expand_dims(inp.t, axis=inp.axis) if spec.activation == "softmax" else inp.t
    float_bad = None
    if inp.lazy and is_floating(xp, t.dtype):  # integral-valued float labels: check before the cast
        float_bad = (xp.floor(t) != t) | (t < 0) | (t >= inp.n_classes)
        if spec.uses_ignore:
            float_bad = float_bad & (t != spec.ignore_index)
    if not is_integer(xp, t.dtype) or (is_torch(t) and t.dtype != xp.int64) or not holds_ignore(xp, spec, t):
        t = xp.astype(t, index_dtype(xp, t))
    valid = None
    if spec.uses_ignore and plan.mask_ignored:
        valid = t != spec.ignore_index
        t = xp.where(valid, t, xp.zeros_like(t))
    bad = None
    if inp.lazy:
        bad = (t < 0) | (t >= inp.n_classes)
        if float_bad is not None:
            bad = bad | float_bad
        t = xp.where(bad, xp.zeros_like(t), t)
    kept = mask_valid(inp)  # a class mask leaving no class: the item is ignored
    if kept is not None:
        valid = kept if valid is None else valid & kept
    return t, valid, bad


def index_parts(inp: Inputs, plan: Plan = REFERENCE) -> IndexParts:
    """alpha and the two pieces of beta for class-index targets (sigmoid: the safe labels only)."""
    spec = inp.spec
    t, valid, bad = _safe_labels(inp, plan)
    eps, C = spec.label_smoothing, inp.n_classes
    if spec.activation == "sigmoid":
        return IndexParts(valid, t, None, 1.0, None, None, bad)
    w_t: Any = take_weights(inp, t) if inp.cw is not None else None
    if spec.weighting == "per_class":
        if inp.cw is None:
            alpha: Any = 1.0
            beta_t: Any = 1.0 - eps
            beta_u: Any = eps / C
        else:
            alpha = (1.0 - eps) * w_t + (eps / C) * cw_total(inp) if eps else w_t
            beta_t = (1.0 - eps) * w_t
            beta_u = along_axis(inp, inp.cw) * (eps / C)
    else:  # per_item: s * ((1-eps) onehot + eps/C); per_label: s = w[label] (BrainPy)
        smoothed = eps and spec.weighting == "per_item"
        s = 1.0 if inp.cw is None else ((1.0 - eps) * w_t + (eps / C) * cw_total(inp) if smoothed else w_t)
        alpha = s
        beta_t = (1.0 - eps) * s
        beta_u = s * (eps / C)
    return IndexParts(valid, t, w_t, alpha, beta_t, beta_u, bad)


def probs_parts(inp: Inputs) -> tuple[Any, Any, Any]:
    """alpha (keep shape), beta (full shape), q (full shape) for a probability target (sigmoid: q only)."""
    spec = inp.spec
    eps = spec.label_smoothing
    q = inp.t
    if inp.cm is not None:  # masked classes leave the target (as if sliced out)
        q = inp.xp.where(inp.cm, q, zero(inp))
    if eps and inp.n_classes:  # (zero classes: q is empty, nothing to smooth)
        denom = inp.n_classes if spec.activation == "softmax" else 2
        q = q * (1.0 - eps) + eps / denom
    if spec.activation == "sigmoid":
        return None, None, q
    wq = q if inp.cw is None else q * along_axis(inp, inp.cw)
    if spec.weighting == "per_class":
        beta = wq
        alpha = csum(inp, wq)
    elif inp.cw is None:  # per_item without class weights: lse - sum_c q_c x_c
        beta = q
        alpha = 1.0
    else:  # per_item: s * (lse - sum_c q_c x_c), s = sum_c w_c q_c
        alpha = csum(inp, wq)
        beta = alpha * q
    return alpha, beta, q


def sigmoid_target(inp: Inputs, plan: Plan = REFERENCE) -> tuple[Any, Any]:
    """Sigmoid: ``(q~, parts)`` -- the smoothed binary target, and the index parts (None for probs)."""
    xp, spec = inp.xp, inp.spec
    if spec.target != "index":
        return probs_parts(inp)[2], None
    parts = index_parts(inp, plan)
    q = xp.astype(parts.idx, inp.x.dtype)
    if spec.label_smoothing:
        q = q * (1.0 - spec.label_smoothing) + spec.label_smoothing / 2
    return q, parts

"""An obviously correct float64 reference for :class:`~unified_ce.CrossEntropySpec`.

Independent of the core: plain Python loops over items, ``math`` functions, one item at a time,
following the formulas of the spec's docstring.  Slow and only for small arrays.  The gradient
is taken by central finite differences of this reference (``numeric_grad``).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from unified_ce import CrossEntropySpec


def _lse(v: list[float]) -> float:
    m = max(v)
    if math.isinf(m):
        return m
    return m + math.log(sum(math.exp(a - m) for a in v))


def _log(spec: CrossEntropySpec, v: float) -> float:
    """``max(log(v + log_eps), min_log)`` of one probability."""
    z = v + spec.log_eps
    y = math.log(z) if z > 0 else -math.inf
    return y if spec.min_log is None else max(y, spec.min_log)


def _clip(spec: CrossEntropySpec, v: float) -> float:
    d = spec.probs_clip
    return min(max(v, d), 1 - d) if d else v


def probs_logs(spec: CrossEntropySpec, ps: list[float]) -> list[float]:
    """The log-probabilities of one item's probabilities (``inputs="probs"``, softmax), step by step."""
    a = ps
    if spec.probs_normalize == "before_clip":
        a = [v / sum(ps) for v in ps]
    a = [_clip(spec, v) for v in a]
    if spec.probs_normalize == "after_clip":
        total = sum(a)
        a = [v / total for v in a]
    return [_log(spec, v) for v in a]


def reference(
    spec: CrossEntropySpec,
    logits: np.ndarray,
    target: np.ndarray,
    class_weight: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """The loss of ``spec`` in float64, by loops."""
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(target)
    nd = x.ndim
    if spec.activation == "softmax":
        ax = spec.axis % nd
        C = x.shape[ax]
        keep = (*x.shape[:ax], 1, *x.shape[ax + 1 :])
    else:
        ax, C, keep = None, 2, x.shape
    # sigmoid: the class weight is pos_weight, the weight of the positive term, broadcast against x
    sigmoid_w = class_weight if spec.activation == "sigmoid" and class_weight is not None else 1.0
    pw = np.broadcast_to(np.asarray(sigmoid_w, np.float64), keep)
    w = [1.0] * C if class_weight is None or spec.activation == "sigmoid" else [float(v) for v in class_weight]
    sw = None if sample_weight is None else np.broadcast_to(np.asarray(sample_weight, np.float64), keep)
    eps = spec.label_smoothing
    loss = np.zeros(keep)
    valid = np.ones(keep, dtype=bool)
    den_w = np.zeros(keep)  # per-item weight for the weight denominators
    for pos in itertools.product(*(range(s) for s in keep)):
        if spec.activation == "sigmoid":
            xv = float(x[pos])
            if spec.target == "index":
                lab = int(t[pos])
                if spec.uses_ignore and lab == spec.ignore_index:
                    valid[pos] = False
                    continue
                q = float(lab)
            else:
                q = float(t[pos])
            q = (1 - eps) * q + eps / 2
            # -pos_weight q log sigmoid(x) - (1-q) log(1 - sigmoid(x)), written stably
            if spec.inputs == "probs":  # xv is the probability itself
                log_sig, log_1msig = _log(spec, _clip(spec, xv)), _log(spec, 1 - _clip(spec, xv))
            else:
                log_sig = -(max(-xv, 0.0) + math.log1p(math.exp(-abs(xv))))
                log_1msig = -(max(xv, 0.0) + math.log1p(math.exp(-abs(xv))))
            loss[pos] = -(float(pw[pos]) * q * log_sig + (1 - q) * log_1msig)
            den_w[pos] = 1.0
            continue
        sl = list(pos)
        xs = []
        for c in range(C):
            sl[ax] = c
            xs.append(float(x[tuple(sl)]))
        if spec.target == "index":
            tpos = pos[:ax] + pos[ax + 1 :]
            lab = int(t[tpos])
            if spec.uses_ignore and lab == spec.ignore_index:
                valid[pos] = False
                continue
            q = [1.0 if c == lab else 0.0 for c in range(C)]
            label_w = w[lab]
        else:
            q = []
            for c in range(C):
                sl[ax] = c
                q.append(float(t[tuple(sl)]))
            label_w = sum(wc * qc for wc, qc in zip(w, q))
        qs = [(1 - eps) * qc + eps / C for qc in q]
        if spec.inputs == "probs":
            xs = probs_logs(spec, xs)
        lse = _lse(xs) if spec.inputs == "logits" else 0.0
        nll = [lse - xc for xc in xs]  # -log softmax (or -x for log-prob inputs)
        s = sum(wc * qc for wc, qc in zip(w, qs)) if spec.weighting != "per_label" else label_w
        if spec.weighting == "per_class":
            val = sum(wc * qc * lc for wc, qc, lc in zip(w, qs, nll) if qc != 0)
        else:
            val = s * (lse - sum(qc * xc for qc, xc in zip(qs, xs) if qc != 0))
        if spec.target == "probs" and spec.soft_loss == "kl":
            ent = [qc * math.log(qc + spec.kl_eps) if qc > 0 else 0.0 for qc in qs]
            val += s * sum(ent) if spec.weighting == "per_item" else sum(wc * e for wc, e in zip(w, ent))
        loss[pos] = val
        den_w[pos] = label_w if spec.denominator == "label_weight" else s
    if sw is not None:
        loss = loss * sw
    loss = loss * spec.scale
    loss[~valid] = 0.0
    if spec.reduction == "none":
        if spec.activation == "softmax" and not spec.keepdims:
            return loss.squeeze(ax)
        return loss
    if spec.reduction == "sum":
        return np.asarray(loss.sum())
    if spec.reduction == "axis_mean":  # the mean over axis (softmax: the class axis, size 1 here)
        return loss.mean(axis=spec.axis % nd)
    if spec.reduction == "sample_mean":
        b = spec.batch_axis % nd
        other = tuple(i for i in range(nd) if i != b)
        return loss.mean(axis=other) if other else loss
    d = spec.denominator
    if d in ("items", "logits_per_class"):  # logits / C is the item count when C >= 1
        den = float(loss.size)
    elif d == "batch":
        den = float(x.shape[spec.batch_axis % nd])
    elif d == "valid" or class_weight is None:
        den = float(valid.sum())
    else:
        den = float(den_w[valid].sum())
    if den == 0:
        return np.asarray(math.nan if spec.zero_denominator == "nan" else 0.0)
    return np.asarray(loss.sum() / den)


def numeric_grad(
    spec: CrossEntropySpec,
    logits: np.ndarray,
    target: np.ndarray,
    grad_output: np.ndarray | None = None,
    h: float = 1e-6,
    **weights: Any,
) -> np.ndarray:
    """``d sum(reference * grad_output) / d logits`` by central differences (float64)."""
    x = np.asarray(logits, dtype=np.float64)
    out = reference(spec, x, target, **weights)
    go = np.ones_like(out) if grad_output is None else np.asarray(grad_output, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        fp = np.sum(reference(spec, xp_, target, **weights) * go)
        fm = np.sum(reference(spec, xm, target, **weights) * go)
        g[i] = (fp - fm) / (2 * h)
    return g

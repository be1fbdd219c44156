"""Fused softmax cross-entropy for PyTorch tensors, written in Triton.

Imported only when :mod:`unified_ce.kernels` chooses this kernel (it imports torch and triton).
Covers ``activation="softmax"``, ``target="index"``, ``inputs="logits"`` with every other knob
of the spec: class weights (``weighting`` per class or per item), ``ignore_index``, label
smoothing, ``reduction`` none / sum / mean with every ``denominator`` and ``zero_denominator``,
``scale``, per-item ``sample_weight``, any class axis, and the LLM options ``z_loss`` (PaLM's
``z * lse**2``), ``logit_softcap`` (``cap * tanh(x / cap)``) and ``logit_scale``, applied to each
logit as it is read.  float32, float16 and bfloat16 logits are
read as they are and accumulated in float32; the gradient is written in the logits' dtype to a new
buffer (the caller's logits are never overwritten).

Design (one program per row of the logits, a row being the ``C`` scores of one item):

* **pass 1** reads the row in column blocks with an online max / sum-of-exponentials (and the
  smoothing sums), giving ``m``, ``ls = log sum exp(x - m)`` and the row's loss.  When the row
  fits in one block (``C <= MAX_SINGLE_BLOCK``) the block stays in registers and
* **pass 2** writes the gradient ``coef * (alpha * softmax(x) - beta)`` from it, so the logits
  are read once and the gradient written once; longer rows are read a second time (mostly from
  L2 while neighbouring programs still work on it).

How the passes are spent for ``torch`` autograd (no host synchronisation anywhere):

* ``reduction`` sum / mean with a logits tensor that requires grad: the forward computes the
  gradient for an upstream gradient of 1 together with the loss (*fused*); the backward multiplies
  it in place by the upstream gradient, on the device, skipping the multiplication entirely when
  that gradient is 1 (the usual ``loss.backward()``).  A second backward through the same graph
  (``retain_graph=True``) recomputes it from the logits instead of scaling it twice.
* ``reduction="none"``: the forward keeps ``(m, ls, alpha)`` per row (12 bytes); the backward
  kernel reads the logits again and writes the gradient with the per-item upstream gradient.
* :func:`unified_ce.value_and_grad` knows the upstream gradient up front: one fused launch.
* ``create_graph=True`` (double backward): the backward is the reference core's differentiable
  gradient.

The kernels are registered as torch custom ops (``torch.ops.unified_ce.*``) with fake
implementations and autograd formulas, so ``torch.compile`` treats them as opaque nodes and CUDA
graphs can capture them.  On CPU they run under Triton's interpreter (``TRITON_INTERPRET=1``,
tests only).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
import triton
import triton.language as tl

from .. import core
from .._spec import CrossEntropySpec
from ..core import check_grad_output

__all__ = ["MAX_SINGLE_BLOCK", "TritonKernel"]

#: Rows with at most this many classes (rounded up to a power of two) are kept in registers
#: between the two passes.  Larger rows loop over blocks of ``MULTI_BLOCK`` columns.
#: Chosen statically from the sm_90 build (``tools/check_triton_build.py``): 16384 columns with 32
#: warps and 8192 with 16 warps compile without register spills, 32768 spills.  Not timed: no
#: GPU was available when they were written.
MAX_SINGLE_BLOCK = 16384
MULTI_BLOCK = 8192

_INF = float("inf")


# --------------------------------------------------------------------------- Triton kernels


@triton.jit
def _transform(x, lscale, cap, TRANSFORM: tl.constexpr, SOFTCAP: tl.constexpr):
    """The logits the loss sees: ``y = cap * tanh(lscale * x / cap)`` (``lscale * x`` without a cap).

    tanh from one exponential, ``sign(a) (1 - e) / (1 + e)`` with ``e = exp(-2 |a|)``: no overflow,
    and ``tanh(-inf) = -1`` as the reference core's (a masked logit becomes ``-cap``).
    """
    if TRANSFORM:
        x = x * lscale
        if SOFTCAP:
            a = x / cap
            e = tl.exp(-2.0 * tl.abs(a))
            th = (1.0 - e) / (1.0 + e)
            x = cap * tl.where(a < 0, -th, th)
    return x


@triton.jit
def _dtransform(y, lscale, cap, TRANSFORM: tl.constexpr, SOFTCAP: tl.constexpr):
    """``dy/dx`` from ``y``: ``lscale * (1 - (y / cap)**2)`` (``lscale`` without a cap)."""
    if SOFTCAP:
        th = y / cap
        return lscale * (1.0 - th * th)
    else:
        return lscale  # a scalar: no 0 * inf for a masked (-inf) logit


@triton.jit
def _row_coefficients(w_t, Wsum, eps, C, HAS_CW: tl.constexpr, SMOOTH: tl.constexpr, PER_ITEM: tl.constexpr):
    """alpha (sum of the row's target mass), beta_t (one-hot part), u (uniform part per class)."""
    if HAS_CW:
        if SMOOTH:
            mass = (1.0 - eps) * w_t + (eps / C) * Wsum
        else:
            mass = w_t
    else:
        mass = w_t * 0.0 + 1.0
    if PER_ITEM:
        alpha = mass
        beta_t = (1.0 - eps) * mass
        u = mass * (eps / C)
    else:
        alpha = mass
        beta_t = (1.0 - eps) * w_t
        u = w_t * 0.0 + eps / C  # times w_c, per class, when there are class weights
    return alpha, beta_t, u


@triton.jit
def _row_target(T, r, ignore_index, C, HAS_IGNORE: tl.constexpr):
    """The row's label: (valid, bad, safe index)."""
    tgt = tl.load(T + r).to(tl.int64)
    if HAS_IGNORE:
        valid = tgt != ignore_index
    else:
        valid = tgt == tgt
    bad = valid & ((tgt < 0) | (tgt >= C))
    idx = tl.where(valid & (~bad), tgt, 0)
    return valid, bad, idx


@triton.jit
def _row_coef(
    G,
    SW,
    DEN,
    r,
    den_const,
    scale,
    valid,
    bad,
    HAS_SW: tl.constexpr,
    MEAN: tl.constexpr,
    DEN_PTR: tl.constexpr,
    G_MODE: tl.constexpr,
):
    """d(output)/d(row loss) times the upstream gradient: 0 for ignored rows, nan for bad labels."""
    if G_MODE == 0:
        c = scale + 0.0 * valid.to(tl.float32)
    elif G_MODE == 1:
        c = tl.load(G).to(tl.float32) * 1.0
    else:
        c = tl.load(G + r).to(tl.float32) * 1.0
    if MEAN:
        if DEN_PTR:
            c = c / tl.load(DEN)
        else:
            c = c / den_const
    if HAS_SW:
        c = c * tl.load(SW + r)
    if G_MODE != 0:
        c = c * scale
    c = tl.where(valid, c, 0.0)
    c = tl.where(bad, float("nan"), c)
    return c


@triton.jit
def _ce_fwd_kernel(
    X, T, CW, SW, G, DEN, ROWS, STATS, DX,
    R, C, INNER, ignore_index, eps, den_const, scale, zl, lscale, cap,
    HAS_CW: tl.constexpr, HAS_SW: tl.constexpr, HAS_IGNORE: tl.constexpr, SMOOTH: tl.constexpr,
    PER_ITEM: tl.constexpr, MEAN: tl.constexpr, DEN_PTR: tl.constexpr, GRAD: tl.constexpr,
    G_MODE: tl.constexpr, SINGLE: tl.constexpr, BLOCK: tl.constexpr,
    TRANSFORM: tl.constexpr, SOFTCAP: tl.constexpr, ZLOSS: tl.constexpr,
):  # fmt: skip
    """One program per row: the row's loss (masked, weighted, scaled), its stats and its gradient."""
    r = tl.program_id(0).to(tl.int64)
    o = r // INNER
    base = o * C * INNER + (r - o * INNER)
    valid, bad, idx = _row_target(T, r, ignore_index, C, HAS_IGNORE)
    x_t = _transform(tl.load(X + base + idx * INNER).to(tl.float32), lscale, cap, TRANSFORM, SOFTCAP)
    if HAS_CW:
        w_t = tl.load(CW + idx).to(tl.float32)
    else:
        w_t = x_t * 0.0 + 1.0
    # pivot for the smoothing sum  sum_c (m - x_c) = C (m - piv) + sum_c (piv - x_c)
    piv = tl.where(tl.abs(x_t) < float("inf"), x_t, 0.0)
    cols = tl.arange(0, BLOCK)

    # ---- pass 1: max, sum of exponentials, smoothing sums
    if SINGLE:
        mask = cols < C
        x = tl.load(X + base + cols * INNER, mask=mask, other=-float("inf")).to(tl.float32)
        if TRANSFORM:  # (a soft-cap turns the padding's -inf into -cap: padding again)
            x = tl.where(mask, _transform(x, lscale, cap, TRANSFORM, SOFTCAP), -float("inf"))
        m = tl.max(x, 0)
        s = tl.sum(tl.where(x == -float("inf"), 0.0, tl.exp(x - m)), 0)
        if SMOOTH:
            d = tl.where(mask, piv - x, 0.0)
            if HAS_CW:
                wc = tl.load(CW + cols, mask=mask, other=0.0).to(tl.float32)
                Wsum = tl.sum(wc, 0)
                if PER_ITEM:
                    sd = tl.sum(d, 0)
                else:
                    sd = tl.sum(wc * d, 0)
            else:
                Wsum = C * 1.0
                sd = tl.sum(d, 0)
        else:
            Wsum = C * 1.0
            sd = 0.0
    else:
        m = tl.max(tl.full([BLOCK], -float("inf"), tl.float32), 0)
        s = tl.sum(tl.zeros([BLOCK], tl.float32), 0)
        Wsum = tl.sum(tl.zeros([BLOCK], tl.float32), 0)
        sd = tl.sum(tl.zeros([BLOCK], tl.float32), 0)
        for start in range(0, C, BLOCK):
            cc = start + cols
            mask = cc < C
            xb = tl.load(X + base + cc * INNER, mask=mask, other=-float("inf")).to(tl.float32)
            if TRANSFORM:
                xb = tl.where(mask, _transform(xb, lscale, cap, TRANSFORM, SOFTCAP), -float("inf"))
            m_new = tl.maximum(m, tl.max(xb, 0))
            corr = tl.where(m_new == m, 1.0, tl.exp(m - m_new))
            s = s * corr + tl.sum(tl.where(xb == -float("inf"), 0.0, tl.exp(xb - m_new)), 0)
            m = m_new
            if SMOOTH:
                d = tl.where(mask, piv - xb, 0.0)
                if HAS_CW:
                    wc = tl.load(CW + cc, mask=mask, other=0.0).to(tl.float32)
                    Wsum += tl.sum(wc, 0)
                    if PER_ITEM:
                        sd += tl.sum(d, 0)
                    else:
                        sd += tl.sum(wc * d, 0)
                else:
                    sd += tl.sum(d, 0)
        if not HAS_CW:
            Wsum = Wsum + C * 1.0

    ls = tl.log(s)
    alpha, beta_t, u = _row_coefficients(w_t, Wsum, eps, C, HAS_CW, SMOOTH, PER_ITEM)
    loss = alpha * ls + beta_t * (m - x_t)
    if SMOOTH:
        if HAS_CW and not PER_ITEM:
            loss += u * (Wsum * (m - piv) + sd)
        else:
            loss += u * (C * (m - piv) + sd)
    if ZLOSS:  # PaLM's z-loss, per item, before the masking and the sample weight like the rest
        loss += zl * (m + ls) * (m + ls)
    loss = tl.where(bad, float("nan"), loss)
    loss = tl.where(valid, loss, 0.0)
    if HAS_SW:
        loss = loss * tl.load(SW + r)
    loss = loss * scale
    tl.store(ROWS + r, loss)
    tl.store(STATS + r, m)
    tl.store(STATS + R + r, ls)
    tl.store(STATS + 2 * R + r, alpha)

    # ---- pass 2: the gradient  coef * (alpha * softmax(x) - beta)
    if GRAD:
        coef = _row_coef(G, SW, DEN, r, den_const, scale, valid, bad, HAS_SW, MEAN, DEN_PTR, G_MODE)
        alpha_p = alpha
        if ZLOSS:  # d z lse^2 / dy = 2 z lse softmax(y)
            alpha_p = alpha + 2.0 * zl * (m + ls)
        if SINGLE:
            p = tl.exp((x - m) - ls)
            beta = tl.where(cols == idx, beta_t, 0.0)
            if SMOOTH:
                if HAS_CW and not PER_ITEM:  # reloaded (cached) rather than kept in registers
                    beta += u * tl.load(CW + cols, mask=mask, other=0.0).to(tl.float32)
                else:
                    beta += u
            dx = coef * (alpha_p * p - beta)
            if TRANSFORM:  # (the padding's -inf replaced: its lanes are not stored)
                dx = dx * _dtransform(tl.where(mask, x, 0.0), lscale, cap, TRANSFORM, SOFTCAP)
            tl.store(DX + base + cols * INNER, dx.to(DX.dtype.element_ty), mask=mask)
        else:
            for start in range(0, C, BLOCK):
                cc = start + cols
                mask = cc < C
                xb = tl.load(X + base + cc * INNER, mask=mask, other=0.0).to(tl.float32)
                xb = _transform(xb, lscale, cap, TRANSFORM, SOFTCAP)
                p = tl.exp((xb - m) - ls)
                beta = tl.where(cc == idx, beta_t, 0.0)
                if SMOOTH:
                    if HAS_CW and not PER_ITEM:
                        beta += u * tl.load(CW + cc, mask=mask, other=0.0).to(tl.float32)
                    else:
                        beta += u
                dx = coef * (alpha_p * p - beta)
                if TRANSFORM:
                    dx = dx * _dtransform(xb, lscale, cap, TRANSFORM, SOFTCAP)
                tl.store(DX + base + cc * INNER, dx.to(DX.dtype.element_ty), mask=mask)


@triton.jit
def _ce_bwd_kernel(
    X, T, CW, SW, G, DEN, STATS, DX,
    R, C, INNER, ignore_index, eps, den_const, scale, zl, lscale, cap,
    HAS_CW: tl.constexpr, HAS_SW: tl.constexpr, HAS_IGNORE: tl.constexpr, SMOOTH: tl.constexpr,
    PER_ITEM: tl.constexpr, MEAN: tl.constexpr, DEN_PTR: tl.constexpr, G_MODE: tl.constexpr,
    BLOCK: tl.constexpr, TRANSFORM: tl.constexpr, SOFTCAP: tl.constexpr, ZLOSS: tl.constexpr,
):  # fmt: skip
    """The gradient from the saved row stats: one read of the logits, one write."""
    r = tl.program_id(0).to(tl.int64)
    o = r // INNER
    base = o * C * INNER + (r - o * INNER)
    valid, bad, idx = _row_target(T, r, ignore_index, C, HAS_IGNORE)
    m = tl.load(STATS + r)
    ls = tl.load(STATS + R + r)
    alpha = tl.load(STATS + 2 * R + r)
    if HAS_CW:
        w_t = tl.load(CW + idx).to(tl.float32)
    else:
        w_t = m * 0.0 + 1.0
    if PER_ITEM:
        beta_t = (1.0 - eps) * alpha
        u = alpha * (eps / C)
    else:
        beta_t = (1.0 - eps) * w_t
        u = w_t * 0.0 + eps / C
    coef = _row_coef(G, SW, DEN, r, den_const, scale, valid, bad, HAS_SW, MEAN, DEN_PTR, G_MODE)
    alpha_p = alpha
    if ZLOSS:
        alpha_p = alpha + 2.0 * zl * (m + ls)
    cols = tl.arange(0, BLOCK)
    for start in range(0, C, BLOCK):
        cc = start + cols
        mask = cc < C
        xb = tl.load(X + base + cc * INNER, mask=mask, other=0.0).to(tl.float32)
        xb = _transform(xb, lscale, cap, TRANSFORM, SOFTCAP)
        p = tl.exp((xb - m) - ls)
        beta = tl.where(cc == idx, beta_t, 0.0)
        if SMOOTH:
            if HAS_CW and not PER_ITEM:
                beta += u * tl.load(CW + cc, mask=mask, other=0.0).to(tl.float32)
            else:
                beta += u
        dx = coef * (alpha_p * p - beta)
        if TRANSFORM:
            dx = dx * _dtransform(xb, lscale, cap, TRANSFORM, SOFTCAP)
        tl.store(DX + base + cc * INNER, dx.to(DX.dtype.element_ty), mask=mask)


@triton.jit
def _ce_denominator_kernel(
    T, CW, DEN, R, C, ignore_index, eps,
    MODE: tl.constexpr, HAS_IGNORE: tl.constexpr, SMOOTH: tl.constexpr, ZERO_IS_ONE: tl.constexpr,
    BLOCK: tl.constexpr,
):  # fmt: skip
    """One program: the mean's denominator over the non-ignored rows.

    MODE 0: their count; 1: the sum of ``w[label]``; 2: the sum of their target mass
    ``(1 - eps) w[label] + eps / C * sum(w)``.
    """
    cols = tl.arange(0, BLOCK)
    wsum = tl.sum(tl.zeros([BLOCK], tl.float32), 0)
    if MODE == 2 and SMOOTH:
        for start in range(0, C, BLOCK):
            cc = start + cols
            wsum += tl.sum(tl.load(CW + cc, mask=cc < C, other=0.0).to(tl.float32), 0)
    acc = tl.zeros([BLOCK], tl.float32)
    for start in range(0, R, BLOCK):
        rr = start + cols
        mask = rr < R
        tgt = tl.load(T + rr, mask=mask, other=0).to(tl.int64)
        if HAS_IGNORE:
            valid = mask & (tgt != ignore_index)
        else:
            valid = mask
        idx = tl.where(valid & (tgt >= 0) & (tgt < C), tgt, 0)
        if MODE == 0:
            w = tl.where(valid, 1.0, 0.0)
        else:
            w = tl.load(CW + idx, mask=valid, other=0.0).to(tl.float32)
            if MODE == 2 and SMOOTH:
                w = (1.0 - eps) * w + (eps / C) * wsum
            w = tl.where(valid, w, 0.0)
        acc += w
    d = tl.sum(acc, 0)
    if ZERO_IS_ONE:
        d = tl.where(d == 0.0, 1.0, d)
    tl.store(DEN, d)


@triton.jit
def _scale_kernel(DX, G, N, BLOCK: tl.constexpr):
    """dx *= g in place (grid-stride); when g == 1, decided on the device, no program touches dx."""
    pid = tl.program_id(0).to(tl.int64)
    step = tl.num_programs(0).to(tl.int64) * BLOCK
    g = tl.load(G).to(tl.float32)
    end = tl.where(g != 1.0, N, 0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    for start in range(pid * BLOCK, end, step):
        offs = start + cols
        mask = offs < N
        v = tl.load(DX + offs, mask=mask, other=0.0).to(tl.float32)
        tl.store(DX + offs, (v * g).to(DX.dtype.element_ty), mask=mask)


# --------------------------------------------------------------------------- launch helpers

_DEN_MODES = {"valid": 0, "label_weight": 1, "item_weight": 2}


def _next_pow2(n: int) -> int:
    return 1 << max(0, (n - 1).bit_length())


def _num_warps(block: int) -> int:
    return 4 if block <= 1024 else 8 if block <= 4096 else 16 if block <= 8192 else 32


def _layout(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """(rows, classes, inner) of a contiguous array whose class axis is ``axis``."""
    C = shape[axis]
    inner = math.prod(shape[axis + 1 :])
    return math.prod(shape) // C, C, inner


def _rows_of(a: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """A per-item array broadcast to ``shape`` (the per-item loss with the class axis kept), as (R,)."""
    return a.to(dtype).expand(shape).reshape(-1).contiguous()


class _Knobs:
    """The op's scalar arguments, decoded once per launch."""

    def __init__(
        self,
        x: Any,
        axis: int,
        ignore_index: int | None,
        label_smoothing: float,
        per_item: bool,
        reduction: str,
        denominator: str,
        zero_denominator: str,
        batch_axis: int,
        scale: float,
        z_loss: float = 0.0,
        logit_softcap: float | None = None,
        logit_scale: float = 1.0,
    ) -> None:
        shape = tuple(x.shape)
        self.R, self.C, self.inner = _layout(shape, axis)
        self.keep_shape = (*shape[:axis], 1, *shape[axis + 1 :])
        self.ignore_index = ignore_index
        self.eps = float(label_smoothing)
        self.per_item = per_item
        self.reduction = reduction
        self.denominator = denominator
        self.zero_one = zero_denominator == "zero"
        self.batch = shape[batch_axis % len(shape)]
        self.scale = float(scale)
        self.z_loss = float(z_loss)
        self.softcap = None if logit_softcap is None else float(logit_softcap)
        self.logit_scale = float(logit_scale)

    def transform_args(self) -> tuple[float, float, float]:
        """The kernels' runtime ``zl, lscale, cap``."""
        return self.z_loss, self.logit_scale, 1.0 if self.softcap is None else self.softcap

    def transform_flags(self) -> dict[str, bool]:
        """The kernels' ``TRANSFORM``, ``SOFTCAP``, ``ZLOSS`` constexprs."""
        softcap = self.softcap is not None
        return {"TRANSFORM": softcap or self.logit_scale != 1.0, "SOFTCAP": softcap, "ZLOSS": self.z_loss != 0.0}


def _denominator(k: _Knobs, t: Any, cw: Any) -> tuple[Any, float]:
    """The mean's denominator: a 0-d float32 tensor computed on the device, or a Python constant."""
    kind = k.denominator
    if kind in ("label_weight", "item_weight") and cw is None:
        kind = "valid"
    if kind == "valid" and k.ignore_index is None:
        kind = "items"
    if kind in ("items", "batch"):
        d = float(k.R if kind == "items" else k.batch)
        return None, 1.0 if (d == 0 and k.zero_one) else d
    den = torch.empty((), dtype=torch.float32, device=t.device)
    _ce_denominator_kernel[(1,)](
        t, cw if cw is not None else t, den, k.R, k.C, k.ignore_index if k.ignore_index is not None else 0, k.eps,
        MODE=_DEN_MODES[kind], HAS_IGNORE=k.ignore_index is not None, SMOOTH=k.eps != 0.0, ZERO_IS_ONE=k.zero_one,
        BLOCK=min(4096, _next_pow2(max(k.R, k.C if kind == "item_weight" else 1, 16))),
    )  # fmt: skip
    return den, 0.0


def _flat_target(t: Any, k: _Knobs) -> Any:
    """The labels as a flat (R,) integer tensor; non-integral float labels become out of range (nan)."""
    t = t.reshape(-1)
    if t.is_floating_point():
        bad = k.C if k.ignore_index != k.C else k.C + 1
        t = torch.where(t == torch.floor(t), t, torch.full_like(t, bad)).to(torch.int64)
    return t.contiguous()


def _launch(
    x: Any,
    t: Any,
    cw: Any,
    sw: Any,
    g: Any,
    k: _Knobs,
    *,
    grad: bool,
    g_mode: int,
) -> tuple[Any, Any, Any]:
    """Run the forward kernel: (output float32, stats (3, R), gradient or an empty tensor)."""
    x = x.contiguous()
    t = _flat_target(t, k)
    cw = cw.to(torch.float32).contiguous() if cw is not None else None
    swr = _rows_of(sw, k.keep_shape, torch.float32) if sw is not None else None
    mean = k.reduction == "mean"
    den, den_const = _denominator(k, t, cw) if mean else (None, 1.0)
    rows = torch.empty(k.R, dtype=torch.float32, device=x.device)
    stats = torch.empty((3, k.R), dtype=torch.float32, device=x.device)
    dx = torch.empty(x.shape, dtype=x.dtype, device=x.device) if grad else x.new_empty((0,))
    single = _next_pow2(k.C) <= MAX_SINGLE_BLOCK
    block = _next_pow2(k.C) if single else min(MULTI_BLOCK, _next_pow2(k.C))
    gt = g.to(torch.float32).reshape(-1).contiguous() if g is not None else rows
    dummy = rows
    _ce_fwd_kernel[(k.R,)](
        x, t, cw if cw is not None else dummy, swr if swr is not None else dummy, gt,
        den if den is not None else dummy, rows, stats, dx if grad else dummy,
        k.R, k.C, k.inner, k.ignore_index if k.ignore_index is not None else 0, k.eps, den_const, k.scale,
        *k.transform_args(),
        HAS_CW=cw is not None, HAS_SW=swr is not None, HAS_IGNORE=k.ignore_index is not None,
        SMOOTH=k.eps != 0.0, PER_ITEM=k.per_item, MEAN=mean, DEN_PTR=den is not None, GRAD=grad,
        G_MODE=g_mode, SINGLE=single, BLOCK=block, num_warps=_num_warps(block), **k.transform_flags(),
    )  # fmt: skip
    if k.reduction == "none":
        out = rows
    else:
        out = rows.sum()
        if mean:
            out = out / (den if den is not None else den_const)
    return out, stats, dx


def _launch_backward(x: Any, t: Any, cw: Any, sw: Any, stats: Any, g: Any, k: _Knobs, g_mode: int) -> Any:
    x = x.contiguous()
    t = _flat_target(t, k)
    cw = cw.to(torch.float32).contiguous() if cw is not None else None
    swr = _rows_of(sw, k.keep_shape, torch.float32) if sw is not None else None
    mean = k.reduction == "mean"
    den, den_const = _denominator(k, t, cw) if mean else (None, 1.0)
    dx = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    block = min(MULTI_BLOCK, _next_pow2(k.C))
    gt = g.to(torch.float32).reshape(-1).contiguous()
    dummy = stats
    _ce_bwd_kernel[(k.R,)](
        x, t, cw if cw is not None else dummy, swr if swr is not None else dummy, gt,
        den if den is not None else dummy, stats, dx,
        k.R, k.C, k.inner, k.ignore_index if k.ignore_index is not None else 0, k.eps, den_const, k.scale,
        *k.transform_args(),
        HAS_CW=cw is not None, HAS_SW=swr is not None, HAS_IGNORE=k.ignore_index is not None,
        SMOOTH=k.eps != 0.0, PER_ITEM=k.per_item, MEAN=mean, DEN_PTR=den is not None, G_MODE=g_mode,
        BLOCK=block, num_warps=_num_warps(block), **k.transform_flags(),
    )  # fmt: skip
    return dx


# --------------------------------------------------------------------------- torch custom ops

_KNOBS = (
    "int axis, int ignore_index, bool has_ignore, float label_smoothing, bool per_item, str reduction, "
    "str denominator, str zero_denominator, int batch_axis, float scale, float z_loss, bool has_softcap, "
    "float logit_softcap, float logit_scale"
)


def _knobs(x: Any, args: tuple[Any, ...]) -> _Knobs:
    (axis, ignore_index, has_ignore, eps, per_item, reduction, denominator, zero_den, batch_axis, scale,
     z_loss, has_softcap, softcap, logit_scale) = args  # fmt: skip
    return _Knobs(
        x,
        axis,
        ignore_index if has_ignore else None,
        eps,
        per_item,
        reduction,
        denominator,
        zero_den,
        batch_axis,
        scale,
        z_loss,
        softcap if has_softcap else None,
        logit_scale,
    )


@torch.library.custom_op(
    "unified_ce::softmax_ce",
    mutates_args=(),
    schema="(Tensor x, Tensor target, Tensor? class_weight, Tensor? sample_weight, Tensor? grad_output, "
    + _KNOBS
    + ", bool double_backprop, bool compute_grad) -> (Tensor, Tensor, Tensor)",
)
def _softmax_ce(
    x: Any, target: Any, class_weight: Any, sample_weight: Any, grad_output: Any, *args: Any
) -> tuple[Any, Any, Any]:
    k = _knobs(x, args[:-2])
    compute_grad = args[-1]
    g_mode = 0 if grad_output is None else (2 if k.reduction == "none" else 1)
    return _launch(x, target, class_weight, sample_weight, grad_output, k, grad=compute_grad, g_mode=g_mode)


@_softmax_ce.register_fake
def _softmax_ce_fake(
    x: Any, target: Any, class_weight: Any, sample_weight: Any, grad_output: Any, *args: Any
) -> tuple[Any, Any, Any]:
    axis, reduction, compute_grad = args[0], args[5], args[-1]
    R = x.numel() // x.shape[axis]
    out = x.new_empty((R,) if reduction == "none" else (), dtype=torch.float32)
    stats = x.new_empty((3, R), dtype=torch.float32)
    dx = x.new_empty(x.shape) if compute_grad else x.new_empty((0,))
    return out, stats, dx


@torch.library.custom_op(
    "unified_ce::softmax_ce_backward",
    mutates_args=(),
    schema="(Tensor x, Tensor target, Tensor? class_weight, Tensor? sample_weight, Tensor stats, "
    "Tensor grad_output, " + _KNOBS + ") -> Tensor",
)
def _softmax_ce_backward(
    x: Any, target: Any, class_weight: Any, sample_weight: Any, stats: Any, grad_output: Any, *args: Any
) -> Any:
    k = _knobs(x, args)
    g_mode = 2 if k.reduction == "none" else 1
    return _launch_backward(x, target, class_weight, sample_weight, stats, grad_output, k, g_mode)


@_softmax_ce_backward.register_fake
def _softmax_ce_backward_fake(
    x: Any, target: Any, class_weight: Any, sample_weight: Any, stats: Any, grad_output: Any, *args: Any
) -> Any:
    return x.new_empty(x.shape)


@torch.library.custom_op("unified_ce::scale_grad_", mutates_args=("grad",), schema="(Tensor(a!) grad, Tensor g) -> ()")
def _scale_grad_(grad: Any, g: Any) -> None:
    n = grad.numel()
    if n:
        block = 4096
        grid = (min(triton.cdiv(n, block), 4096),)
        _scale_kernel[grid](grad, g.reshape(-1).to(torch.float32), n, BLOCK=block, num_warps=8)


@_scale_grad_.register_fake
def _scale_grad_fake(grad: Any, g: Any) -> None:
    return None


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[Any, Any, Any]) -> None:
    x, t, cw, sw, g = inputs[:5]
    _, stats, dx = output
    ctx.knobs = inputs[5:-2]
    ctx.double_backprop = inputs[-2]
    # the gradient for an upstream gradient of 1 is in dx (a scalar upstream gradient scales it)
    fused = bool(inputs[-1]) and g is None and ctx.knobs[5] != "none"
    # Eagerly, dx is handed out once by the backward and scaled in place there (kept off the saved
    # tensors, whose version counter would reject the in-place scaling on a second backward).
    # While torch.compile / AOTAutograd traces (dx is then a functional or fake tensor), dx is saved
    # and scaled out of place, as a functional graph needs.
    eager = type(dx) is torch.Tensor
    ctx.fused_dx = dx if (fused and eager) else None
    ctx.save_for_backward(x, t, cw, sw, stats, dx if (fused and not eager) else None)
    ctx.mark_non_differentiable(stats, dx)


def _backward(ctx: Any, g_out: Any, g_stats: Any, g_dx: Any) -> tuple[Any, ...]:
    x, t, cw, sw, stats, saved_dx = ctx.saved_tensors
    nones = (None,) * 20  # target, class_weight, sample_weight, grad_output, the knobs, two flags
    if torch.is_grad_enabled():  # create_graph=True: the reference gradient, itself differentiable
        if ctx.double_backprop:
            return (_reference_grad(x, t, cw, sw, g_out, ctx.knobs), *nones)
        with torch.no_grad():
            gx = _reference_grad(x, t, cw, sw, g_out, ctx.knobs)
        return (_no_double_backward().apply(gx, x, g_out), *nones)
    dx = ctx.fused_dx
    if dx is not None:
        ctx.fused_dx = None  # a second backward (retain_graph) recomputes instead of scaling twice
        torch.ops.unified_ce.scale_grad_(dx, g_out)
        return (dx, *nones)
    if saved_dx is not None:
        return ((saved_dx.to(torch.float32) * g_out).to(saved_dx.dtype), *nones)
    return (torch.ops.unified_ce.softmax_ce_backward(x, t, cw, sw, stats, g_out, *ctx.knobs), *nones)


_softmax_ce.register_autograd(_backward, setup_context=_setup_context)


@functools.lru_cache(maxsize=1)
def _no_double_backward() -> Any:
    from .. import _autodiff

    message = getattr(_autodiff, "_NO_DOUBLE_BACKPROP", "double backprop was disabled for this loss")

    class NoDoubleBackward(torch.autograd.Function):
        """Identity on the gradient whose own backward raises (``double_backprop=False``)."""

        @staticmethod
        def forward(ctx: Any, gx: Any, *tracked: Any) -> Any:  # type: ignore[override]
            return gx.clone()

        @staticmethod
        def backward(ctx: Any, *grads: Any) -> Any:  # type: ignore[override]
            raise RuntimeError(message)

    return NoDoubleBackward


def _spec_of(knobs: tuple[Any, ...]) -> CrossEntropySpec:
    (axis, ignore_index, has_ignore, eps, per_item, reduction, denominator, zero_den, batch_axis, scale,
     z_loss, has_softcap, softcap, logit_scale) = knobs  # fmt: skip
    return CrossEntropySpec(
        axis=axis,
        ignore_index=ignore_index if has_ignore else None,
        label_smoothing=eps,
        weighting="per_item" if per_item else "per_class",
        reduction=reduction,
        denominator=denominator,
        zero_denominator=zero_den,
        batch_axis=batch_axis,
        scale=scale,
        z_loss=z_loss,
        logit_softcap=softcap if has_softcap else None,
        logit_scale=logit_scale,
    )


def _reference_grad(x: Any, t: Any, cw: Any, sw: Any, g: Any, knobs: tuple[Any, ...]) -> Any:
    spec = _spec_of(knobs)
    inp, plan = core.prepare(spec, x, t, cw, sw, check_values=False)
    _, res = core.forward(inp, plan)
    if spec.reduction == "none":
        g = g.reshape(t.shape)
    return core.backward(inp, res, g, plan)


# --------------------------------------------------------------------------- the kernel object


def _op_args(inp: core.Inputs) -> tuple[Any, ...]:
    spec = inp.spec
    return (
        inp.axis,
        spec.ignore_index if spec.ignore_index is not None else 0,
        spec.ignore_index is not None,
        spec.label_smoothing,
        spec.weighting == "per_item",
        spec.reduction,
        spec.denominator,
        spec.zero_denominator,
        spec.batch_axis,
        spec.scale,
        spec.z_loss,
        spec.logit_softcap is not None,
        spec.logit_softcap if spec.logit_softcap is not None else 1.0,
        spec.logit_scale,
    )


def _finish(inp: core.Inputs, out: Any) -> Any:
    out = out.to(inp.out_dtype)
    if inp.spec.reduction == "none":
        shape = inp.keep_shape if inp.spec.keepdims else tuple(inp.t.shape)
        out = out.reshape(shape)
    return out


class TritonKernel:
    """The Triton kernels behind :mod:`unified_ce.kernels`'s selection (torch tensors)."""

    name = "triton"

    def evaluate(self, inp: core.Inputs, double_backprop: bool = True) -> Any:
        """The loss, differentiable by torch autograd (gradient with respect to the logits).

        ``double_backprop=False``: differentiating the gradient again raises ``RuntimeError``.
        """
        x = inp.x
        # fused (gradient in the forward) for sum / mean in eager mode; under torch.compile the
        # forward keeps row stats and the backward kernel reads the logits again (functional graph)
        grad = bool(
            torch.is_grad_enabled()
            and x.requires_grad
            and inp.spec.reduction != "none"
            and not torch.compiler.is_compiling()
        )
        args = _op_args(inp)
        out, _, _ = torch.ops.unified_ce.softmax_ce(x, inp.t, inp.cw, inp.sw, None, *args, double_backprop, grad)
        return _finish(inp, out)

    def evaluate_with_grad(self, inp: core.Inputs, grad_output: Any) -> tuple[Any, Any]:
        """The loss and its gradient for a known upstream gradient: one fused launch."""
        x = inp.x
        out_shape = check_grad_output(inp, grad_output)
        if grad_output is None:
            g = torch.ones(out_shape, dtype=torch.float32, device=x.device)
        else:
            g = grad_output
        out, _, dx = torch.ops.unified_ce.softmax_ce(x, inp.t, inp.cw, inp.sw, g, *_op_args(inp), True, True)
        return _finish(inp, out), dx

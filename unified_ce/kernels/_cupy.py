"""Fused softmax cross-entropy for CuPy arrays: one CUDA kernel (``cupy.RawModule``).

Imported only when :mod:`unified_ce.kernels` chooses this kernel.  Same coverage as the Triton
kernel (softmax of logits, integer class targets, class weights per class or per item,
``ignore_index``, label smoothing, ``reduction`` none / sum / mean with every denominator,
``zero_denominator``, ``scale``, per-item sample weights, any class axis), for float32 and float16
logits with float32 accumulation.  CuPy has no autodiff, so the kernel serves
:func:`unified_ce.value_and_grad` (loss and analytic gradient in one launch; the gradient goes to a
new array) and the plain loss (no gradient written).

One thread block of ``NT`` threads per row: pass 1 keeps a per-thread online max / sum of
exponentials over a strided slice of the row, merged by a tree reduction in shared memory; pass 2
writes the gradient.  The row is read twice (the second time mostly from L2).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import cupy
import numpy as np

from .. import core
from ..core import check_grad_output

__all__ = ["CUDA_SOURCE", "CupyKernel"]

NT = 256

#: The kernel source.  ``UCE_CPU_EMULATION`` lets the same text be compiled as C++ with OpenMP
#: threads standing in for a thread block (a development check of the logic without a GPU).
CUDA_SOURCE = r"""
#ifndef UCE_CPU_EMULATION
#include <cuda_fp16.h>
__device__ __forceinline__ float uce_ld(const __half* p, long long i) { return __half2float(p[i]); }
__device__ __forceinline__ void uce_st(__half* p, long long i, float v) { p[i] = __float2half(v); }
#endif
__device__ __forceinline__ float uce_ld(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ void uce_st(float* p, long long i, float v) { p[i] = v; }

#define UCE_NT 256

// flags: 1 class weights, 2 sample weights, 4 ignore_index, 8 per-item weighting, 16 mean,
//        32 denominator from den_ptr, 64 write the gradient; g_mode 0: ones, 1: scalar, 2: per row
template <typename T>
__global__ void uce_softmax_ce(
    const T* __restrict__ x, const long long* __restrict__ t, const float* __restrict__ cw,
    const float* __restrict__ sw, const float* __restrict__ g, const float* __restrict__ den_ptr,
    float* __restrict__ rows, T* __restrict__ dx,
    long long R, long long C, long long inner, long long ignore_index,
    float eps, float den_const, float scale, int flags, int g_mode)
{
    __shared__ float sm_m[UCE_NT];
    __shared__ float sm_s[UCE_NT];
    __shared__ float sm_w[UCE_NT];
    __shared__ float sm_d[UCE_NT];
    const int tid = threadIdx.x;
    const long long r = blockIdx.x;
    const bool has_cw = flags & 1, has_sw = flags & 2, has_ignore = flags & 4, per_item = flags & 8;
    const bool mean = flags & 16, den_from_ptr = flags & 32, grad = flags & 64;
    const bool smooth = eps != 0.0f;
    const long long o = r / inner;
    const long long base = o * C * inner + (r - o * inner);

    const long long tgt = t[r];
    const bool valid = has_ignore ? (tgt != ignore_index) : true;
    const bool bad = valid && (tgt < 0 || tgt >= C);
    const long long idx = (valid && !bad) ? tgt : 0;
    const float x_t = uce_ld(x, base + idx * inner);
    const float w_t = has_cw ? cw[idx] : 1.0f;
    const float piv = isfinite(x_t) ? x_t : 0.0f;  // sum_c (m - x_c) = C (m - piv) + sum_c (piv - x_c)

    // ---- pass 1: per-thread online max / sum of exponentials, smoothing sums
    float m = -INFINITY, s = 0.0f, wsum = 0.0f, sd = 0.0f;
    for (long long c = tid; c < C; c += UCE_NT) {
        const float v = uce_ld(x, base + c * inner);
        const float mn = fmaxf(m, v);
        const float corr = (mn == m) ? 1.0f : expf(m - mn);
        s = s * corr + ((v == -INFINITY) ? 0.0f : expf(v - mn));
        m = mn;
        if (smooth) {
            const float wc = has_cw ? cw[c] : 1.0f;
            wsum += wc;
            sd += (has_cw && !per_item) ? wc * (piv - v) : (piv - v);
        }
    }
    sm_m[tid] = m; sm_s[tid] = s; sm_w[tid] = wsum; sm_d[tid] = sd;
    __syncthreads();
    for (int off = UCE_NT / 2; off > 0; off >>= 1) {
        if (tid < off) {
            const float m1 = sm_m[tid], m2 = sm_m[tid + off];
            const float mn = fmaxf(m1, m2);
            const float s1 = sm_s[tid], s2 = sm_s[tid + off];
            sm_s[tid] = ((m1 == mn) ? s1 : s1 * expf(m1 - mn)) + ((m2 == mn) ? s2 : s2 * expf(m2 - mn));
            sm_m[tid] = mn;
            sm_w[tid] += sm_w[tid + off];
            sm_d[tid] += sm_d[tid + off];
        }
        __syncthreads();
    }
    m = sm_m[0]; s = sm_s[0]; wsum = has_cw ? sm_w[0] : (float)C; sd = sm_d[0];
    const float ls = logf(s);

    // ---- the row's loss:  alpha * ls + beta_t (m - x_t) + sum_c beta_u,c (m - x_c)
    const float mass = has_cw ? (smooth ? (1.0f - eps) * w_t + (eps / (float)C) * wsum : w_t) : 1.0f;
    const float alpha = mass;
    const float beta_t = per_item ? (1.0f - eps) * mass : (1.0f - eps) * w_t;
    const float u = per_item ? mass * (eps / (float)C) : eps / (float)C;
    float loss = alpha * ls + beta_t * (m - x_t);
    if (smooth) {
        loss += (has_cw && !per_item) ? u * (wsum * (m - piv) + sd) : u * ((float)C * (m - piv) + sd);
    }
    if (bad) loss = NAN;
    if (!valid) loss = 0.0f;
    if (has_sw) loss *= sw[r];
    loss *= scale;
    if (tid == 0) rows[r] = loss;
    if (!grad) return;

    // ---- pass 2: the gradient  coef * (alpha * softmax(x) - beta)
    float coef = (g_mode == 0) ? 1.0f : (g_mode == 1 ? g[0] : g[r]);
    if (mean) coef = coef / (den_from_ptr ? den_ptr[0] : den_const);
    if (has_sw) coef *= sw[r];
    coef *= scale;
    if (!valid) coef = 0.0f;
    if (bad) coef = NAN;
    for (long long c = tid; c < C; c += UCE_NT) {
        const float v = uce_ld(x, base + c * inner);
        const float p = expf((v - m) - ls);
        float beta = (c == idx) ? beta_t : 0.0f;
        if (smooth) beta += (has_cw && !per_item) ? u * cw[c] : u;
        uce_st(dx, base + c * inner, coef * (alpha * p - beta));
    }
}
"""

_NAMES = {"float32": "uce_softmax_ce<float>", "float16": "uce_softmax_ce<__half>"}


@functools.lru_cache(maxsize=1)
def _module() -> Any:
    return cupy.RawModule(code=CUDA_SOURCE, options=("--std=c++14",), name_expressions=tuple(_NAMES.values()))


def _denominator(inp: core.Inputs, t: Any, cw: Any, R: int) -> tuple[Any, float]:
    """The mean's denominator: a 0-d float32 array (computed on the device), or a Python constant."""
    spec = inp.spec
    kind = spec.denominator
    zero_one = spec.zero_denominator == "zero"
    if kind in ("label_weight", "item_weight") and cw is None:
        kind = "valid"
    if kind == "valid" and spec.ignore_index is None:
        kind = "items"
    if kind in ("items", "batch"):
        d = float(R if kind == "items" else inp.x.shape[spec.batch_axis % inp.x.ndim])
        return None, 1.0 if (d == 0 and zero_one) else d
    valid = t != spec.ignore_index if spec.ignore_index is not None else cupy.ones(t.shape, dtype=bool)
    if kind == "valid":
        d = valid.sum(dtype=cupy.float32)
    else:
        idx = cupy.where(valid & (t >= 0) & (t < inp.n_classes), t, 0)
        w = cw[idx]
        if kind == "item_weight" and spec.label_smoothing:
            eps = spec.label_smoothing
            w = (1.0 - eps) * w + (eps / inp.n_classes) * cw.sum()
        d = cupy.where(valid, w, cupy.float32(0.0)).sum(dtype=cupy.float32)
    if zero_one:
        d = cupy.where(d == 0, cupy.float32(1.0), d)
    return cupy.asarray(d, dtype=cupy.float32), 0.0


def _launch(inp: core.Inputs, g: Any, grad: bool) -> tuple[Any, Any]:
    spec = inp.spec
    x = cupy.ascontiguousarray(inp.x)
    shape = tuple(x.shape)
    C = shape[inp.axis]
    inner = math.prod(shape[inp.axis + 1 :])
    R = math.prod(shape) // C
    t = inp.t.reshape(-1)
    if t.dtype.kind == "f":  # integral float labels; others become out of range (a NaN loss)
        off = C if spec.ignore_index != C else C + 1
        t = cupy.where(t == cupy.floor(t), t, off)
    t = cupy.ascontiguousarray(t.astype(cupy.int64, copy=False))
    cw = cupy.ascontiguousarray(inp.cw.astype(cupy.float32, copy=False)) if inp.cw is not None else None
    sw = None
    if inp.sw is not None:
        sw = cupy.ascontiguousarray(cupy.broadcast_to(inp.sw.astype(cupy.float32), inp.keep_shape).reshape(-1))
    mean = spec.reduction == "mean"
    den, den_const = _denominator(inp, t, cw, R) if mean else (None, 1.0)
    rows = cupy.empty(R, dtype=cupy.float32)
    dx = cupy.empty(shape, dtype=x.dtype) if grad else rows
    if g is None:
        g_mode, gp = 0, rows
    else:
        g_mode = 2 if spec.reduction == "none" else 1
        gp = cupy.ascontiguousarray(g.astype(cupy.float32).reshape(-1))
    flags = (
        (1 if cw is not None else 0)
        | (2 if sw is not None else 0)
        | (4 if spec.ignore_index is not None else 0)
        | (8 if spec.weighting == "per_item" else 0)
        | (16 if mean else 0)
        | (32 if den is not None else 0)
        | (64 if grad else 0)
    )
    kernel = _module().get_function(_NAMES[x.dtype.name])
    dummy = rows
    kernel(
        (R,),
        (NT,),
        (
            x, t, cw if cw is not None else dummy, sw if sw is not None else dummy, gp,
            den if den is not None else dummy, rows, dx,
            np.int64(R), np.int64(C), np.int64(inner),
            np.int64(spec.ignore_index if spec.ignore_index is not None else 0),
            np.float32(spec.label_smoothing), np.float32(den_const), np.float32(spec.scale),
            np.int32(flags), np.int32(g_mode),
        ),
    )  # fmt: skip
    if spec.reduction == "none":
        out = rows
    else:
        out = rows.sum()
        if mean:
            out = out / (den if den is not None else cupy.float32(den_const))
    return out, (dx if grad else None)


def _finish(inp: core.Inputs, out: Any) -> Any:
    out = out.astype(inp.out_dtype)
    if inp.spec.reduction == "none":
        out = out.reshape(inp.keep_shape if inp.spec.keepdims else tuple(inp.t.shape))
    return out


class CupyKernel:
    """The CuPy kernel behind :mod:`unified_ce.kernels`'s selection."""

    name = "cupy"

    def evaluate(self, inp: core.Inputs, double_backprop: bool = True) -> Any:
        """The loss (CuPy has no autodiff: no gradient is written)."""
        out, _ = _launch(inp, None, grad=False)
        return _finish(inp, out)

    def evaluate_with_grad(self, inp: core.Inputs, grad_output: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` in one launch."""
        check_grad_output(inp, grad_output)
        out, dx = _launch(inp, grad_output, grad=True)
        return _finish(inp, out), dx

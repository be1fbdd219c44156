"""Check the CuPy kernel's CUDA source and host code on a CPU, without CUDA or CuPy.

The CUDA source of :mod:`unified_ce.kernels._cupy` is compiled as C++ (``g++ -fopenmp``) with a
small shim: one OpenMP thread per CUDA thread of a block, ``__syncthreads()`` an OpenMP barrier,
``__shared__`` arrays static (shared by the block's threads), blocks run one after another.  A
stand-in ``cupy`` module backed by NumPy runs that build from ``RawModule``, so the real host code
(``_cupy._launch``: layout, targets, denominators, launch arguments) runs too.  The results are
compared with the reference core on a table of spec knobs (float32 only: the shim has no
``__half``).  This checks the logic; ``nvcc -arch=sm_90 -c`` checks that it compiles for a GPU
(``--nvcc``, when nvcc is installed).

Usage::

    python tools/check_cupy_kernel.py [--quick] [--nvcc]

Exit status 0 when every case matches.
"""

from __future__ import annotations

import argparse
import ctypes
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import types
from typing import Any

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "passive")

SHIM = r"""
#include <math.h>
#include <cmath>
#include <omp.h>
using std::isfinite;
#define UCE_CPU_EMULATION
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __shared__ static
#define __syncthreads() _Pragma("omp barrier")
struct uce_dim { long long x; };
static uce_dim blockIdx;
#define threadIdx (uce_dim{omp_get_thread_num()})
#include "source.cu"
extern "C" void run(const float* x, const long long* t, const float* cw, const float* sw, const float* g,
    const float* den_ptr, float* rows, float* dx, long long R, long long C, long long inner,
    long long ignore_index, float eps, float den_const, float scale, int flags, int g_mode) {
  omp_set_dynamic(0);
  for (long long b = 0; b < R; ++b) {
    blockIdx.x = b;
    #pragma omp parallel num_threads(UCE_NT)
    { uce_softmax_ce<float>(x, t, cw, sw, g, den_ptr, rows, dx, R, C, inner, ignore_index, eps, den_const,
                            scale, flags, g_mode); }
  }
}
"""

INSTANTIATE = """
template __global__ void uce_softmax_ce<float>(const float*, const long long*, const float*, const float*,
    const float*, const float*, float*, float*, long long, long long, long long, long long, float, float, float,
    int, int);
template __global__ void uce_softmax_ce<__half>(const __half*, const long long*, const float*, const float*,
    const float*, const float*, float*, __half*, long long, long long, long long, long long, float, float, float,
    int, int);
"""


class _RawModule:
    """``cupy.RawModule`` stand-in: the CUDA source built as an OpenMP shared library."""

    def __init__(self, code: str, options: tuple[str, ...] = (), name_expressions: tuple[str, ...] = ()) -> None:
        work = tempfile.mkdtemp(prefix="uce_cuda_emu_")
        with open(os.path.join(work, "source.cu"), "w") as f:
            f.write(code)
        with open(os.path.join(work, "shim.cpp"), "w") as f:
            f.write(SHIM)
        lib = os.path.join(work, "libshim.so")
        subprocess.run(["g++", "-O1", "-fopenmp", "-shared", "-fPIC", os.path.join(work, "shim.cpp"), "-o", lib],
                       check=True)  # fmt: skip
        self.lib = ctypes.CDLL(lib)

    def get_function(self, name: str) -> Any:
        if name != "uce_softmax_ce<float>":
            raise NotImplementedError(f"the CPU shim builds only the float kernel, not {name}")

        def launch(grid: tuple[int, ...], block: tuple[int, ...], args: tuple) -> None:
            conv: list = []
            for a in args:
                if isinstance(a, np.ndarray):
                    assert a.flags.c_contiguous
                    conv.append(ctypes.c_void_p(a.ctypes.data))
                elif isinstance(a, np.int64):
                    conv.append(ctypes.c_longlong(int(a)))
                elif isinstance(a, np.int32):
                    conv.append(ctypes.c_int(int(a)))
                elif isinstance(a, np.float32):
                    conv.append(ctypes.c_float(float(a)))
                else:
                    raise TypeError(f"unexpected kernel argument of type {type(a).__name__}")
            self.lib.run(*conv)

        return launch


def _fake_cupy() -> types.ModuleType:
    mod = types.ModuleType("cupy")
    for name in ("ascontiguousarray", "asarray", "where", "floor", "int64", "float32", "ones", "empty", "broadcast_to"):
        setattr(mod, name, getattr(np, name))
    mod.RawModule = _RawModule  # type: ignore[attr-defined]
    return mod


def check(quick: bool) -> int:
    if "cupy" in sys.modules:
        raise SystemExit("run this in a process without cupy imported")
    sys.modules["cupy"] = _fake_cupy()
    from unified_ce import CrossEntropySpec, _autodiff, core
    from unified_ce.kernels._cupy import CupyKernel

    kernel = CupyKernel()
    rng = np.random.default_rng(0)
    keep = 0.012 if quick else 0.25
    n = failures = 0
    worst = 0.0
    for shape, axis in (((6, 5), 1), ((3, 300), -1), ((2, 4, 3), 1), ((7,), 0)):
        C = shape[axis]
        ax = axis % len(shape)
        for cw_on, sw_on, ign, eps, weighting, red, den, zd, scale in itertools.product(
            (False, True), (False, True), (None, 1), (0.0, 0.2), ("per_class", "per_item"), ("none", "sum", "mean"),
            ("valid", "label_weight", "item_weight", "items", "batch"), ("nan", "zero"), (1.0, 0.5),
        ):  # fmt: skip
            if red != "mean" and (den != "valid" or zd != "nan"):
                continue
            if rng.random() > keep:
                continue
            spec = CrossEntropySpec(axis=axis, ignore_index=ign, label_smoothing=eps, weighting=weighting,
                                    reduction=red, denominator=den, zero_denominator=zd, scale=scale)  # fmt: skip
            x = (rng.standard_normal(shape) * 3).astype(np.float32)
            t = rng.integers(0, C, tuple(s for i, s in enumerate(shape) if i != ax))
            if ign is not None:
                t.flat[0] = ign
            cw = rng.uniform(0.2, 2, C).astype(np.float32) if cw_on else None
            sw = rng.uniform(0, 2, tuple(1 if i == ax else s for i, s in enumerate(shape))).astype(np.float32)
            inp, plan = core.prepare(spec, x, t, cw, sw if sw_on else None)
            out_ref, _ = _autodiff.evaluate_with_grad(inp, plan, None)
            go = rng.standard_normal(np.shape(out_ref)).astype(np.float32)
            with np.errstate(all="ignore"):
                out_ref, g_ref = _autodiff.evaluate_with_grad(inp, plan, go)
                out, g = kernel.evaluate_with_grad(inp, go)
                out2 = kernel.evaluate(inp)
            n += 1
            try:
                assert np.shape(out) == np.shape(out_ref) and g.shape == g_ref.shape and g.dtype == g_ref.dtype
                for a, b in ((out, out_ref), (g, g_ref), (out2, out_ref)):
                    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5, equal_nan=True)
                    d = np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))
                    worst = max(worst, float(np.nanmax(d)) if d.size and not np.all(np.isnan(d)) else 0.0)
            except AssertionError as exc:
                failures += 1
                print(f"MISMATCH shape={shape} {spec}: {exc}")
    print(f"{n} cases, {failures} mismatches, largest absolute difference {worst:.3g}")
    return 1 if failures else 0


def nvcc_check() -> int:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        print("nvcc not found: skipped the sm_90 build")
        return 0
    src = _cuda_source()
    with tempfile.TemporaryDirectory() as work:
        path = os.path.join(work, "k.cu")
        with open(path, "w") as f:
            f.write(src + INSTANTIATE)
        out = subprocess.run([nvcc, "-arch=sm_90", "-std=c++14", "-c", path, "-o", os.path.join(work, "k.o"),
                              "-Xptxas", "-v"], capture_output=True, text=True)  # fmt: skip
    print(out.stdout + out.stderr)
    return out.returncode


def _cuda_source() -> str:
    """CUDA_SOURCE, read without importing cupy."""
    import ast

    path = os.path.join(os.path.dirname(__file__), "..", "unified_ce", "kernels", "_cupy.py")
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "CUDA_SOURCE" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("CUDA_SOURCE not found")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small sample of the knob table")
    ap.add_argument("--nvcc", action="store_true", help="also build the source for sm_90 with nvcc")
    args = ap.parse_args()
    rc = check(args.quick)
    if args.nvcc:
        rc |= nvcc_check()
    return rc


if __name__ == "__main__":
    sys.exit(main())

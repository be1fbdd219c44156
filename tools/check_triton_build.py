"""Compile every Triton kernel variant of unified_ce for an NVIDIA target, without a GPU.

Triton's interpreter (``TRITON_INTERPRET=1``, used by the tests) runs Python semantics and accepts
code that the compiler rejects; this script runs the real compiler (Triton -> PTX -> cubin with the
bundled ``ptxas``) for sm_90 (H100) and prints each variant's register, stack (spill) and shared
memory use, read from the cubin with the bundled ``cuobjdump``.  No device is needed.

Usage::

    python tools/check_triton_build.py            # sm_90
    python tools/check_triton_build.py --arch 80  # A100

Exit status 1 if a variant fails to compile.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile

os.environ.pop("TRITON_INTERPRET", None)
os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")

import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from unified_ce.kernels import _triton as K

CUOBJDUMP = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin", "cuobjdump")

ROW_ARGS = {"R": "i32", "C": "i32", "INNER": "i32", "ignore_index": "i64", "eps": "fp32", "den_const": "fp32",
            "scale": "fp32", "zl": "fp32", "lscale": "fp32", "cap": "fp32"}  # fmt: skip


def usage(kernel: object) -> str:
    with tempfile.NamedTemporaryFile("wb", suffix=".cubin", delete=False) as f:
        f.write(kernel.asm["cubin"])  # type: ignore[attr-defined]
    try:
        out = subprocess.run([CUOBJDUMP, "--dump-resource-usage", f.name], capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    for line in out.splitlines():
        if "REG:" in line:
            fields = dict(p.split(":", 1) for p in line.split() if ":" in p)
            return f"regs {fields.get('REG')}, stack {fields.get('STACK')}, shared {fields.get('SHARED')}"
    return "?"


def build(fn: object, sig: dict[str, str], consts: dict[str, object], num_warps: int, target: GPUTarget) -> str:
    sig = dict(sig)
    sig.update({k: "constexpr" for k in consts})
    kernel = triton.compile(ASTSource(fn=fn, signature=sig, constexprs=consts), target=target,
                            options={"num_warps": num_warps})  # fmt: skip
    return usage(kernel)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", type=int, default=90, help="compute capability, e.g. 90 (H100), 80 (A100)")
    ap.add_argument("--quick", action="store_true", help="one flag combination per shape")
    args = ap.parse_args()
    target = GPUTarget("cuda", args.arch, 32)
    failures = 0
    flag_sets = [
        {},
        {"HAS_CW": True, "SMOOTH": True, "HAS_SW": True},
        {"HAS_CW": True, "SMOOTH": True, "PER_ITEM": True},
        {"TRANSFORM": True, "SOFTCAP": True, "ZLOSS": True},  # the LLM options: z-loss, soft-cap, logit scale
    ]
    if args.quick:
        flag_sets = flag_sets[:1]
    for dtype, C, flags in itertools.product(("bf16", "fp16", "fp32"), (1000, 10000, 32000, 128256), flag_sets):
        single = K._next_pow2(C) <= K.MAX_SINGLE_BLOCK
        block = K._next_pow2(C) if single else min(K.MULTI_BLOCK, K._next_pow2(C))
        consts = {"HAS_CW": False, "HAS_SW": False, "HAS_IGNORE": True, "SMOOTH": False, "PER_ITEM": False,
                  "MEAN": True, "DEN_PTR": True, "G_MODE": 0, "BLOCK": block, "TRANSFORM": False, "SOFTCAP": False,
                  "ZLOSS": False, **flags}  # fmt: skip
        ptrs = {"X": f"*{dtype}", "T": "*i64", "CW": "*fp32", "SW": "*fp32", "G": "*fp32", "DEN": "*fp32"}
        for name, fn, sig, extra in (
            ("fwd", K._ce_fwd_kernel, {**ptrs, "ROWS": "*fp32", "STATS": "*fp32", "DX": f"*{dtype}", **ROW_ARGS},
             {"GRAD": True, "SINGLE": single}),
            ("bwd", K._ce_bwd_kernel, {**ptrs, "STATS": "*fp32", "DX": f"*{dtype}", **ROW_ARGS}, {"G_MODE": 2}),
        ):  # fmt: skip
            c = {**consts, **extra}
            if name == "bwd":
                c["BLOCK"] = min(K.MULTI_BLOCK, K._next_pow2(C))
            label = f"{name} {dtype} C={C} block={c['BLOCK']} warps={K._num_warps(c['BLOCK'])} {flags or ''}"
            try:
                print(f"{label}: {build(fn, sig, c, K._num_warps(c['BLOCK']), target)}")
            except Exception as exc:  # report and go on
                failures += 1
                print(f"{label}: FAILED {type(exc).__name__}: {exc}")
    others = (
        ("denominator", K._ce_denominator_kernel,
         {"T": "*i64", "CW": "*fp32", "DEN": "*fp32", "R": "i32", "C": "i32", "ignore_index": "i64", "eps": "fp32"},
         {"MODE": 2, "HAS_IGNORE": True, "SMOOTH": True, "ZERO_IS_ONE": True, "BLOCK": 4096}, 8),
        ("scale", K._scale_kernel, {"DX": "*bf16", "G": "*fp32", "N": "i64"}, {"BLOCK": 4096}, 8),
    )  # fmt: skip
    for name, fn, sig, consts, warps in others:
        try:
            print(f"{name}: {build(fn, sig, consts, warps, target)}")
        except Exception as exc:
            failures += 1
            print(f"{name}: FAILED {type(exc).__name__}: {exc}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""GPU benchmark: forward + backward of softmax cross-entropy against the memory-bandwidth floor.

Run ``python benchmarks/bench_gpu.py`` on a machine with an NVIDIA GPU.  Without CUDA it prints
that it skipped and exits 0 (``--dry-run-cpu`` instead runs the tiny shapes on the CPU, the Triton
kernel under its interpreter, to check the script's plumbing; those times mean nothing).

What is measured
----------------
* **The floor.**  Forward + backward must read the logits once and write the gradient once, so it
  cannot take less than ``bytes / bandwidth`` with ``bytes = 2 * N * V * itemsize`` (the labels and
  the scalar loss are negligible) and ``bandwidth`` the device-to-device copy bandwidth measured in
  the same run (``dst.copy_(src)`` of a 2 GiB buffer: read + write bytes per second).  Each row gives
  its median time and the *fraction of the floor* ``floor / time`` (1.0 = at the copy bandwidth).
* **Rows, same inputs, same run**: unified_ce (``auto``: the fused Triton kernel), torch eager
  ``F.cross_entropy``, ``torch.compile(F.cross_entropy)``, Liger-Kernel's cross-entropy (when
  ``liger_kernel`` is importable; note that it writes the gradient into the logits' buffer),
  unified_ce's generic array-API path (``UNIFIED_CE_KERNEL=reference``), ``jax.jit`` of a native
  JAX cross-entropy and of unified_ce on JAX arrays (when JAX has a GPU), and the CuPy kernel (when
  CuPy is importable).  Each sample is one forward + backward (``loss.backward()`` with a fresh
  gradient buffer), timed with CUDA events after warm-up; rounds alternate between the rows.
* **Extra memory**: peak CUDA memory during one forward + backward minus what existed before and
  minus the gradient itself (torch rows; ``torch.cuda.max_memory_allocated``).
* **Correctness**: every row's loss and gradient are compared with a float32 PyTorch reference
  before timing.

``--linear`` runs the linear cross-entropy comparison instead (unified_ce vs Apple's CCE kernel vs
Liger's fused linear cross-entropy, when installed: ``benchmarks/bench_linear.py --sections cuda``).

``--write-docs`` replaces the generated block of ``docs/gpu.md`` with the table (device, date,
versions) and draws ``docs/img/bench_gpu.png``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHAPES = [(8192, 32000), (16384, 128256)]
QUICK_SHAPES = [(1024, 32000), (2048, 128256)]
DRY_SHAPES = [(6, 40)]
TARGETS = {(8192, 32000): 0.75, (16384, 128256): 0.63}
BEGIN, END = "<!-- bench_gpu:begin -->", "<!-- bench_gpu:end -->"


@dataclass
class Row:
    shape: tuple[int, int]
    dtype: str
    name: str
    ms: float | None = None
    floor_fraction: float | None = None
    extra_mib: float | None = None
    max_grad_err: float | None = None
    note: str = ""


class Clock:
    """Times a callable: CUDA events on a GPU, perf_counter (after a sync) otherwise."""

    def __init__(self, torch: Any, cuda: bool) -> None:
        self.torch, self.cuda = torch, cuda

    def time(self, fn: Callable[[], Any]) -> float:
        t = self.torch
        if self.cuda:
            start, stop = t.cuda.Event(enable_timing=True), t.cuda.Event(enable_timing=True)
            start.record()
            fn()
            stop.record()
            stop.synchronize()
            return start.elapsed_time(stop) / 1e3
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0


def copy_bandwidth(torch: Any, clock: Clock, device: str, nbytes: int) -> float:
    """Read + write bytes per second of a device-to-device copy."""
    src = torch.empty(nbytes, dtype=torch.uint8, device=device)
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    times = [clock.time(lambda: dst.copy_(src)) for _ in range(10)]
    return 2 * nbytes / statistics.median(times)


def torch_rows(torch: Any, args: argparse.Namespace) -> dict[str, Callable[..., Any] | str]:
    """name -> loss function of (logits, labels), or the reason the row is unavailable."""
    import torch.nn.functional as F

    from unified_ce.adapters import torch as uce_torch

    rows: dict[str, Callable[..., Any] | str] = {
        "unified_ce (auto)": lambda x, t: uce_torch.cross_entropy(x, t),
        "torch eager": lambda x, t: F.cross_entropy(x, t),
    }
    if args.no_compile:
        rows["torch.compile(F.cross_entropy)"] = "skipped (--no-compile)"
    else:
        compiled = torch.compile(F.cross_entropy)
        rows["torch.compile(F.cross_entropy)"] = lambda x, t: compiled(x, t)
    try:
        from liger_kernel.transformers.functional import liger_cross_entropy

        rows["Liger-Kernel (in place)"] = lambda x, t: liger_cross_entropy(x, t)
    except Exception as exc:  # not installed, or no Triton
        rows["Liger-Kernel (in place)"] = f"not importable ({type(exc).__name__})"
    rows["unified_ce reference (array-API ops)"] = "reference"
    return rows


def run_torch(torch: Any, clock: Clock, device: str, shape: tuple[int, int], dtype: str, args: argparse.Namespace,
              floor_s: float) -> list[Row]:  # fmt: skip
    import unified_ce.kernels as K
    from unified_ce import CrossEntropySpec

    N, V = shape
    gen = torch.Generator(device=device).manual_seed(0)
    x0 = torch.randn(N, V, device=device, dtype=getattr(torch, dtype), generator=gen)
    t = torch.randint(0, V, (N,), device=device, generator=gen)
    t[::16] = -100  # one item in 16 ignored, as in padded batches
    ref = x0.detach().float().clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(ref, t).backward()
    ref_grad = ref.grad.to(x0.dtype).float()
    del ref
    out: list[Row] = []
    for name, fn in torch_rows(torch, args).items():
        row = Row(shape, dtype, name)
        out.append(row)
        if isinstance(fn, str) and fn != "reference":
            row.note = fn
            continue
        previous = os.environ.get("UNIFIED_CE_KERNEL")
        if name == "unified_ce (auto)" and args.device == "cpu":
            os.environ["UNIFIED_CE_KERNEL"] = "triton"  # on the CPU (dry run) only when forced
        if fn == "reference":
            os.environ["UNIFIED_CE_KERNEL"] = "reference"
            from unified_ce.adapters import torch as uce_torch

            fn = lambda x, t: uce_torch.cross_entropy(x, t)  # noqa: E731
        try:
            if name == "unified_ce (auto)":
                row.note = K.explain(CrossEntropySpec(axis=1, ignore_index=-100, denominator="label_weight"), x0, t)
            x = x0.detach().clone().requires_grad_(True)

            def step(x: Any = x, fn: Any = fn) -> None:
                x.grad = None
                fn(x, t).backward()

            step()
            row.max_grad_err = float((x.grad.float() - ref_grad).abs().max())
            if name.startswith("Liger"):  # it overwrote x with the gradient: restore the logits
                x.data.copy_(x0)
            for _ in range(args.warmup):
                step()
            if args.device == "cuda":
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
                before = torch.cuda.memory_allocated()
                x.grad = None
                step()
                torch.cuda.synchronize()
                grad_bytes = x.grad.numel() * x.grad.element_size() if not name.startswith("Liger") else 0
                row.extra_mib = (torch.cuda.max_memory_allocated() - before - grad_bytes) / 2**20
            row.ms = 1e3 * statistics.median(clock.time(step) for _ in range(args.repeats))
            row.floor_fraction = floor_s / (row.ms / 1e3)
            del x
        except Exception as exc:  # out of memory, a missing compiler, ...
            row.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
            if args.device == "cuda":
                torch.cuda.empty_cache()
        finally:
            if previous is None:
                os.environ.pop("UNIFIED_CE_KERNEL", None)
            else:
                os.environ["UNIFIED_CE_KERNEL"] = previous
    return out


def run_jax(shape: tuple[int, int], dtype: str, args: argparse.Namespace, floor_s: float) -> list[Row]:
    rows = [Row(shape, dtype, "jax.jit (native)"), Row(shape, dtype, "jax.jit (unified_ce)")]
    try:
        import jax
        import jax.numpy as jnp
    except Exception as exc:
        for r in rows:
            r.note = f"jax not importable ({type(exc).__name__})"
        return rows
    platform_ = "cpu" if args.device == "cpu" else "gpu"
    try:
        dev = jax.devices(platform_)[0]
    except Exception:
        for r in rows:
            r.note = f"jax has no {platform_} device"
        return rows
    import unified_ce as uce

    N, V = shape
    key = jax.random.PRNGKey(0)
    x = jax.device_put(jax.random.normal(key, (N, V), dtype=getattr(jnp, dtype)), dev)
    t = jax.device_put(jax.random.randint(key, (N,), 0, V), dev)

    def native(x: Any, t: Any) -> Any:
        logp = jax.nn.log_softmax(x.astype(jnp.float32), axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=-1))

    def ours(x: Any, t: Any) -> Any:
        return uce.cross_entropy(x, t, axis=-1)

    for row, f in zip(rows, (native, ours)):
        step = jax.jit(jax.value_and_grad(f))
        try:
            jax.block_until_ready(step(x, t))
            for _ in range(args.warmup):
                jax.block_until_ready(step(x, t))
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                jax.block_until_ready(step(x, t))
                times.append(time.perf_counter() - t0)
            row.ms = 1e3 * statistics.median(times)
            row.floor_fraction = floor_s / (row.ms / 1e3)
        except Exception as exc:
            row.note = f"failed: {type(exc).__name__}"
    return rows


def run_cupy(shape: tuple[int, int], dtype: str, args: argparse.Namespace, floor_s: float) -> list[Row]:
    row = Row(shape, dtype, "unified_ce CuPy kernel (value_and_grad)")
    if dtype == "bfloat16":
        row.note = "CuPy has no bfloat16"
        return [row]
    try:
        import cupy
    except Exception as exc:
        row.note = f"cupy not importable ({type(exc).__name__})"
        return [row]
    if args.device != "cuda":
        row.note = "needs CUDA"
        return [row]
    import unified_ce as uce

    N, V = shape
    x = cupy.random.standard_normal((N, V), dtype=cupy.float32).astype(dtype)
    t = cupy.random.randint(0, V, (N,))
    step = lambda: uce.value_and_grad(x, t, axis=1)  # noqa: E731
    step()
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        step()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    row.ms = 1e3 * statistics.median(times)
    row.floor_fraction = floor_s / (row.ms / 1e3)
    return [row]


def table(rows: list[Row]) -> str:
    lines = ["| N×V | dtype | implementation | ms | fraction of floor | vs unified_ce | extra MiB | max grad err | note |",
             "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    ours = {(r.shape, r.dtype): r.ms for r in rows if r.name == "unified_ce (auto)"}
    for r in rows:
        base = ours.get((r.shape, r.dtype))
        ratio = f"{r.ms / base:.2f}×" if (r.ms and base) else ""
        lines.append(
            f"| {r.shape[0]}×{r.shape[1]} | {r.dtype} | {r.name} | {'' if r.ms is None else f'{r.ms:.3f}'} | "
            f"{'' if r.floor_fraction is None else f'{100 * r.floor_fraction:.0f}%'} | {ratio} | "
            f"{'' if r.extra_mib is None else f'{r.extra_mib:.1f}'} | "
            f"{'' if r.max_grad_err is None else f'{r.max_grad_err:.1e}'} | {r.note} |"
        )
    return "\n".join(lines)


def verdicts(rows: list[Row]) -> list[str]:
    out = []
    for (shape, dtype), target in ((k, v) for k in {(r.shape, r.dtype) for r in rows} for v in [TARGETS.get(k[0])]):
        ours = next((r for r in rows if r.shape == shape and r.dtype == dtype and r.name == "unified_ce (auto)"), None)
        if ours is None or ours.ms is None:
            continue
        if target is not None:
            ok = ours.floor_fraction is not None and ours.floor_fraction >= target
            out.append(f"{shape} {dtype}: {100 * (ours.floor_fraction or 0):.0f}% of the floor "
                       f"(target {100 * target:.0f}%): {'met' if ok else 'NOT met'}")  # fmt: skip
        for name in ("Liger-Kernel (in place)", "torch.compile(F.cross_entropy)"):
            other = next((r for r in rows if r.shape == shape and r.dtype == dtype and r.name == name), None)
            if other is not None and other.ms is not None:
                out.append(f"{shape} {dtype}: {other.ms / ours.ms:.2f}× faster than {name}"
                           f"{'' if other.ms >= ours.ms else ' (SLOWER)'}")  # fmt: skip
        if ours.extra_mib is not None:
            out.append(f"{shape} {dtype}: extra memory {ours.extra_mib:.2f} MiB (target ≤ 1 MiB)")
    return out


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = sorted({(r.shape, r.dtype) for r in rows})
    names = sorted({r.name for r in rows if r.floor_fraction is not None})
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        vals = [next((100 * (r.floor_fraction or 0) for r in rows if (r.shape, r.dtype) == g and r.name == name), 0)
                for g in groups]  # fmt: skip
        ax.bar([j + i * width for j in range(len(groups))], vals, width, label=name)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(groups))])
    ax.set_xticklabels([f"{s[0]}×{s[1]}\n{d}" for s, d in groups])
    ax.set_ylabel("% of the copy-bandwidth floor (fwd+bwd)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller shapes, fewer repeats")
    ap.add_argument("--dtypes", default="bfloat16", help="comma-separated: bfloat16,float16,float32")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    ap.add_argument("--dry-run-cpu", action="store_true", help="tiny shapes on the CPU (Triton interpreter)")
    ap.add_argument("--out-dir", type=Path, default=None, help="where to write bench_gpu.json (default: a temp dir)")
    ap.add_argument("--write-docs", action="store_true", help="update docs/gpu.md and docs/img/bench_gpu.png")
    ap.add_argument(
        "--linear", action="store_true", help="the linear cross-entropy rows instead: unified_ce vs CCE vs Liger "
        "(benchmarks/bench_linear.py --sections cuda)"
    )  # fmt: skip
    args = ap.parse_args()
    if args.linear:  # tokens 4096 x hidden 1024 x vocabulary 65536 (--quick: 256 x 64 x 2048), bfloat16
        sys.path.insert(0, str(REPO / "benchmarks"))
        import bench_linear

        size = ["--quick"] if args.quick else ["--size", "full"]
        bench_linear.main(["--sections", "cuda", "--dtype", args.dtypes.split(",")[0], *size]
                          + (["--out-dir", str(args.out_dir)] if args.out_dir else []))  # fmt: skip
        return 0

    if args.dry_run_cpu:
        os.environ["TRITON_INTERPRET"] = "1"
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    try:
        import torch
    except ImportError:
        print("bench_gpu: torch is not installed: skipped")
        return 0
    cuda = torch.cuda.is_available()
    if not cuda and not args.dry_run_cpu:
        print("bench_gpu: no CUDA device: skipped (use --dry-run-cpu to check the script on the CPU)")
        return 0
    args.device = "cuda" if cuda else "cpu"
    if not cuda:
        args.repeats, args.warmup, args.no_compile = 2, 0, True
    clock = Clock(torch, cuda)
    shapes = DRY_SHAPES if not cuda else (QUICK_SHAPES if args.quick else SHAPES)
    if args.quick:
        args.repeats = min(args.repeats, 5)
    bw = copy_bandwidth(torch, clock, args.device, (2 << 30) if cuda else (64 << 20))
    device_name = torch.cuda.get_device_name() if cuda else platform.processor() or "cpu"
    print(f"device: {device_name}; copy bandwidth (read+write): {bw / 1e12:.3f} TB/s")
    rows: list[Row] = []
    for dtype in args.dtypes.split(","):
        for shape in shapes:
            itemsize = torch.empty((), dtype=getattr(torch, dtype)).element_size()
            floor_s = 2 * shape[0] * shape[1] * itemsize / bw
            rows += run_torch(torch, clock, args.device, shape, dtype, args, floor_s)
            rows += run_jax(shape, dtype, args, floor_s)
            rows += run_cupy(shape, dtype, args, floor_s)
    text = table(rows)
    print(text)
    for line in verdicts(rows):
        print(line)
    meta = {
        "device": device_name,
        "date": datetime.date.today().isoformat(),
        "copy_bandwidth_TBps": bw / 1e12,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    out_dir = args.out_dir or Path(tempfile.mkdtemp(prefix="bench_gpu_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_gpu.json").write_text(json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1))
    print(f"wrote {out_dir / 'bench_gpu.json'}")
    if args.write_docs:
        if not cuda:
            print("--write-docs ignored: a CPU dry run is not a measurement")
            return 0
        doc = REPO / "docs" / "gpu.md"
        body = doc.read_text()
        block = (f"{BEGIN}\nMeasured on **{device_name}**, {meta['date']}, torch {meta['torch']}, copy bandwidth "
                 f"{bw / 1e12:.2f} TB/s.\n\n{text}\n\n" + "\n".join(f"- {v}" for v in verdicts(rows))
                 + "\n\n![fraction of the floor](img/bench_gpu.png)\n" + END)  # fmt: skip
        if BEGIN in body and END in body:
            body = body[: body.index(BEGIN)] + block + body[body.index(END) + len(END) :]
        else:
            body += "\n" + block + "\n"
        doc.write_text(body)
        try:
            plot(rows, REPO / "docs" / "img" / "bench_gpu.png")
        except ImportError:
            print("matplotlib not installed: no plot")
        print(f"updated {doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""CPU benchmark of :func:`unified_ce.linear_cross_entropy` against the naive path, in the same run.

``python benchmarks/bench_linear.py`` runs the issue's size (tokens 4,096, hidden 1,024, vocabulary
65,536, float32) and rewrites the ``bench_linear`` section of ``docs/performance.md`` and
``docs/img/bench_linear.png``; ``--quick`` (256 × 64 × 2,048, a few seconds; what CI runs) writes
to a temporary folder unless ``--out-dir`` is given.

Each row is forward + backward (the gradients with respect to ``hidden`` and ``weight``) of a mean
loss, timed interleaved with its baseline (the order flips every round; the ratio is the median of
the per-round ratios), as in ``bench.py``; beside the wall-time ratio, the ratio of the CPU time the
process used (``time.process_time``), which on a shared, loaded machine is the steadier of the two:

* torch: ``linear_cross_entropy`` vs ``F.cross_entropy(hidden @ weight.T, target)``;
* jax: ``jax.jit(jax.value_and_grad(...))`` of each (the naive one ``logsumexp - take_along_axis``
  of ``hidden @ weight.T``);
* CCE's torch fallback (``cut_cross_entropy.linear_cross_entropy(..., impl="torch_compile")``)
  vs the same naive torch path, when ``cut-cross-entropy`` is installed;
* ``--sections cuda`` (a CUDA GPU): unified_ce, CCE's kernel and Liger's
  ``LigerFusedLinearCrossEntropyLoss`` (when installed) against the naive path in bfloat16, peak
  memory from ``torch.cuda.max_memory_allocated`` -- the GPU comparison in one command:
  ``python benchmarks/bench_linear.py --sections cuda --size full``.

Peak extra memory: for torch, the growth of the peak resident set during one call minus the
gradients it leaves (``bench.peak_extra``: forked child, fixed mmap threshold); for jitted JAX, XLA's
count of the compiled program's temporary buffers.  Every library runs on one thread unless
``--threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import bench  # noqa: E402  (peak_extra, nbytes: the same memory measure as bench.py)
import numpy as np  # noqa: E402

SIZES = {"quick": (256, 64, 2048), "medium": (1024, 1024, 65536), "full": (4096, 1024, 65536)}
TARGET_TIME = {"torch": 1.1, "jax": 1.0}
TARGET_MEM = 1 / 16


@dataclass
class Result:
    section: str
    ours: str
    native: str
    t_ours: float
    t_native: float
    ratio: float
    target: float | None
    mem_ours: int | None = None
    mem_native: int | None = None
    note: str = ""
    cpu_ratio: float | None = None

    @property
    def mem_ratio(self) -> float | None:
        if self.mem_ours is None or not self.mem_native:
            return None
        return max(self.mem_ours, 0) / self.mem_native


def interleaved(ours: Callable[[], Any], native: Callable[[], Any], rounds: int) -> tuple[float, float, float, float]:
    """Median wall times, the median of the per-round wall-time ratios and of the CPU-time ratios.

    The CPU time (``time.process_time``: every thread of this process) is what a call costs when
    the machine is shared: on a loaded machine the wall time is mostly waiting for a core.
    """
    for f in (ours, native):  # warm up (compilation, allocator)
        f()
    t_o: list[float] = []
    t_n: list[float] = []
    c_o: list[float] = []
    c_n: list[float] = []
    for r in range(rounds):
        pair = [(ours, t_o, c_o), (native, t_n, c_n)]
        for fn, acc, cpu in pair if r % 2 == 0 else pair[::-1]:
            t0, p0 = time.perf_counter(), time.process_time()
            fn()
            acc.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - p0)
    ratios = [a / b for a, b in zip(t_o, t_n)]
    cpu_ratios = [a / b for a, b in zip(c_o, c_n)]
    return statistics.median(t_o), statistics.median(t_n), statistics.median(ratios), statistics.median(cpu_ratios)


def inputs(n: int, d: int, v: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    h = rng.standard_normal((n, d), dtype=np.float32)
    w = rng.standard_normal((v, d), dtype=np.float32) / float(np.sqrt(d))
    t = rng.integers(0, v, size=n)
    t[rng.random(n) < 0.05] = -100
    return h, w, t


def section_torch(size: tuple[int, int, int], rounds: int, memory: bool, out: list[Result]) -> None:
    import torch
    import torch.nn.functional as F

    import unified_ce as uce

    h0, w0, t0 = inputs(*size)
    h = torch.from_numpy(h0).requires_grad_(True)
    w = torch.from_numpy(w0).requires_grad_(True)
    t = torch.from_numpy(t0)

    def clear() -> None:
        h.grad = w.grad = None

    def ours() -> Any:
        clear()
        uce.linear_cross_entropy(h, w, t, ignore_index=-100).backward()
        return h.grad, w.grad

    def naive() -> Any:
        clear()
        F.cross_entropy(h @ w.T, t, ignore_index=-100).backward()
        return h.grad, w.grad

    def kept(gs: Any) -> int:
        return sum(bench.nbytes(g) for g in gs)

    rows = [("torch", "linear_cross_entropy", ours)]
    try:
        from cut_cross_entropy import linear_cross_entropy as cce

        def cce_fallback() -> Any:
            clear()
            cce(h, w, t, ignore_index=-100, impl="torch_compile").backward()
            return h.grad, w.grad

        rows.append(("cce", "CCE torch_compile fallback", cce_fallback))
    except ImportError:
        out.append(
            Result(
                "cce",
                "CCE torch_compile fallback",
                "naive torch",
                0,
                0,
                float("nan"),
                None,
                note="cut-cross-entropy not installed",
            )
        )
    naive_mem = bench.peak_extra(naive, kept, clear, repeats=1) if memory else None
    for section, name, fn in rows:
        to, tn, ratio, cpu = interleaved(fn, naive, rounds)
        r = Result(section, name, "F.cross_entropy(h @ w.T)", to, tn, ratio, TARGET_TIME["torch"], cpu_ratio=cpu)
        if memory:
            r.mem_ours = bench.peak_extra(fn, kept, clear, repeats=1)
            r.mem_native = naive_mem
        out.append(r)
        show(r)


def section_cuda(size: tuple[int, int, int], rounds: int, dtype: str, out: list[Result]) -> None:
    """On a CUDA GPU: unified_ce, CCE's kernel (``impl="cce"``) and Liger's fused linear cross-entropy
    (when installed) against the naive path, bfloat16 or float32; memory from ``max_memory_allocated``."""
    import torch
    import torch.nn.functional as F

    import unified_ce as uce

    if not torch.cuda.is_available():
        print("no CUDA device: skipped")
        return
    dt = getattr(torch, dtype)
    h0, w0, t0 = inputs(*size)
    h = torch.from_numpy(h0).to("cuda", dt).requires_grad_(True)
    w = torch.from_numpy(w0).to("cuda", dt).requires_grad_(True)
    t = torch.from_numpy(t0).to("cuda")

    def run(loss_fn: Callable[[], Any]) -> Callable[[], Any]:
        def step() -> Any:
            h.grad = w.grad = None
            loss_fn().backward()
            torch.cuda.synchronize()
            return h.grad, w.grad

        return step

    naive = run(lambda: F.cross_entropy((h @ w.T).float(), t, ignore_index=-100))
    rows: list[tuple[str, str, Callable[[], Any]]] = [
        ("cuda", "unified_ce.linear_cross_entropy", run(lambda: uce.linear_cross_entropy(h, w, t, ignore_index=-100)))
    ]
    try:
        from cut_cross_entropy import linear_cross_entropy as cce

        rows.append(("cuda", "CCE (impl='cce')", run(lambda: cce(h, w, t, ignore_index=-100, impl="cce"))))
    except ImportError:
        print("cut-cross-entropy not installed: no CCE row")
    try:
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        flce = LigerFusedLinearCrossEntropyLoss(ignore_index=-100)
        rows.append(("cuda", "LigerFusedLinearCrossEntropyLoss", run(lambda: flce(w, h, t))))
    except ImportError:
        print("liger-kernel not installed: no Liger row")

    def peak(fn: Callable[[], Any]) -> int:
        h.grad = w.grad = None
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        gs = fn()
        return torch.cuda.max_memory_allocated() - base - sum(g.nelement() * g.element_size() for g in gs)

    naive_mem = peak(naive)
    for section, name, fn in rows:
        to, tn, ratio, cpu = interleaved(fn, naive, rounds)
        r = Result(
            section, f"{name} ({dtype})", "F.cross_entropy((h @ w.T).float())", to, tn, ratio, None, cpu_ratio=cpu
        )
        r.mem_ours, r.mem_native = peak(fn), naive_mem
        out.append(r)
        show(r)


def section_jax(size: tuple[int, int, int], rounds: int, memory: bool, out: list[Result]) -> None:
    import jax
    import jax.numpy as jnp

    import unified_ce as uce

    h0, w0, t0 = inputs(*size)
    h, w, t = jnp.asarray(h0), jnp.asarray(w0), jnp.asarray(t0)

    def ours_loss(h: Any, w: Any, t: Any) -> Any:
        return uce.linear_cross_entropy(h, w, t, ignore_index=-100)

    def naive_loss(h: Any, w: Any, t: Any) -> Any:
        logits = h @ w.T
        valid = t != -100
        safe = jnp.where(valid, t, 0)
        lse = jax.nn.logsumexp(logits, axis=-1)
        tl = jnp.take_along_axis(logits, safe[:, None], axis=-1)[:, 0]
        return jnp.sum(jnp.where(valid, lse - tl, 0.0)) / jnp.sum(valid)

    fo = jax.jit(jax.value_and_grad(ours_loss, argnums=(0, 1)))
    fn_ = jax.jit(jax.value_and_grad(naive_loss, argnums=(0, 1)))
    to, tn, ratio, cpu = interleaved(
        lambda: jax.block_until_ready(fo(h, w, t)), lambda: jax.block_until_ready(fn_(h, w, t)), rounds
    )
    r = Result(
        "jax",
        "jit(value_and_grad(linear_cross_entropy))",
        "jit(value_and_grad(naive))",
        to,
        tn,
        ratio,
        TARGET_TIME["jax"],
        cpu_ratio=cpu,
    )
    if memory:
        r.mem_ours = bench._xla_temp(fo, h, w, t)
        r.mem_native = bench._xla_temp(fn_, h, w, t)
    out.append(r)
    show(r)


def mib(b: int | None) -> str:
    return "n/a" if b is None else f"{b / 2**20:.1f} MiB"


def show(r: Result) -> None:
    mr = r.mem_ratio
    print(
        f"{r.section:6s} {r.ours:45s} {r.t_ours:8.3f}s vs {r.t_native:8.3f}s  ratio {r.ratio:5.2f}"
        f" (CPU time {r.cpu_ratio if r.cpu_ratio is not None else float('nan'):5.2f})"
        f"  mem {mib(r.mem_ours)} vs {mib(r.mem_native)}" + (f" ({mr:.3f})" if mr is not None else ""),
        flush=True,
    )


def table(results: list[Result], size: tuple[int, int, int], threads: int) -> str:
    n, d, v = size
    lines = [
        f"Run of {datetime.date.today()}, {platform.machine()} {os.cpu_count()} cores, {threads} thread(s); "
        f"tokens {n}, hidden {d}, vocabulary {v}, float32, mean loss with 5 % ignored tokens, "
        "forward + backward (gradients wrt hidden and weight).",
        "",
        "| | ours | baseline | time ours | time baseline | ratio (target) | CPU-time ratio | peak extra memory ours | "
        "baseline | ratio (target ≤ 0.0625) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.note:
            lines.append(f"| {r.section} | {r.ours} | {r.native} | {r.note} | | | | | | |")
            continue
        mr = r.mem_ratio
        tgt = f" (≤ {r.target})" if r.target else ""
        lines.append(
            f"| {r.section} | {r.ours} | {r.native} | {r.t_ours:.2f} s | {r.t_native:.2f} s | {r.ratio:.2f}×{tgt} | "
            f"{'n/a' if r.cpu_ratio is None else f'{r.cpu_ratio:.2f}×'} | "
            f"{mib(r.mem_ours)} | {mib(r.mem_native)} | {'n/a' if mr is None else f'{mr:.3f}'} |"
        )
    return "\n".join(lines) + "\n"


def plot(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rs = [r for r in results if not r.note]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    names = [r.section for r in rs]
    a1.bar(names, [r.ratio for r in rs], color="tab:blue")
    for i, r in enumerate(rs):
        if r.target:
            a1.hlines(r.target, i - 0.4, i + 0.4, colors="k", linestyles="--")
    a1.set_ylabel("time ours / naive")
    a1.set_title("fwd+bwd time ratio (dashed: target)")
    a2.bar(names, [r.mem_ratio or 0 for r in rs], color="tab:green")
    a2.axhline(TARGET_MEM, color="k", linestyle="--")
    a2.set_ylabel("peak extra memory ours / naive")
    a2.set_title("memory ratio (dashed: 1/16)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def write_docs(text: str, doc: Path, name: str = "bench_linear") -> None:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    src = doc.read_text()
    block = f"{begin}\n{text}\n![linear cross-entropy benchmark](img/{name}.png)\n{end}"
    if begin in src:
        pre, rest = src.split(begin, 1)
        src = pre + block + rest.split(end, 1)[1]
    else:
        src = src.rstrip("\n") + "\n\n## Linear cross-entropy (LLM heads)\n\n" + block + "\n"
    doc.write_text(src)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny size, for CI")
    ap.add_argument("--size", choices=sorted(SIZES), default="full", help="tokens x hidden x vocabulary")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sections", default="torch,jax", help="torch,jax (CPU) or cuda (GPU: with CCE and Liger)")
    ap.add_argument("--dtype", default="bfloat16", help="the cuda section's dtype")
    ap.add_argument("--out-dir", type=Path, default=None, help="where the table and plot go")
    args = ap.parse_args(argv)
    size = SIZES["quick" if args.quick else args.size]
    rounds = args.rounds or 3
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" if args.threads == 1 else ""
    )
    import torch

    torch.set_num_threads(args.threads)
    results: list[Result] = []
    sections = set(args.sections.split(","))
    if "torch" in sections:
        section_torch(size, rounds, not args.quick, results)
    if "jax" in sections:
        section_jax(size, rounds, not args.quick, results)
    if "cuda" in sections:
        section_cuda(size, max(rounds, 5), args.dtype, results)
    text = table(results, size, args.threads)
    print(text)
    if args.out_dir is None and args.quick:
        args.out_dir = Path(tempfile.mkdtemp(prefix="bench_linear_"))
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        (args.out_dir / "bench_linear.md").write_text(text)
        plot(results, args.out_dir / "bench_linear.png")
        print(f"wrote {args.out_dir}")
    else:
        gpu = "cuda" in sections  # the GPU rows go to docs/gpu.md, the CPU rows to docs/performance.md
        name = "bench_linear_gpu" if gpu else "bench_linear"
        plot(results, REPO / "docs" / "img" / f"{name}.png")
        write_docs(text, REPO / "docs" / ("gpu.md" if gpu else "performance.md"), name)
        print(f"wrote the {name} section of the docs and docs/img/{name}.png")


if __name__ == "__main__":
    main()

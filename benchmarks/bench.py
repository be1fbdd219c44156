#!/usr/bin/env python
"""CPU benchmark: unified_ce against each backend's native cross-entropy, measured in the same run.

Run ``python benchmarks/bench.py`` for the full table (it rewrites the generated part of
``docs/performance.md`` and ``docs/img/bench_cpu.png``), or ``python benchmarks/bench.py --quick``
(tiny sizes, few repeats, well under a minute; what CI runs so that the script cannot rot; it writes
its plot and table to a temporary folder unless ``--out-dir`` is given).

What is measured
----------------
* **Time.** Each case has two callables, ``ours`` and ``native``, run on the *same* inputs.  Rounds
  alternate between them (the order flips every round), each sample is a batch of calls long enough to
  time reliably, and the table gives the median time of each and the median over rounds of the
  per-round ratio ``ours / native`` -- so slow drift of a shared machine cancels out of the ratio.
* **Peak extra memory** (medium and large sizes): the growth of the process's peak resident set
  (``VmHWM``, reset through ``/proc/self/clear_refs``) during one call, minus the bytes of the gradient
  that the call returns and the caller keeps.  Inputs already exist before the call, so what remains is
  every temporary the implementation allocated and touched.  ``malloc``'s mmap threshold is fixed at
  256 KiB for this pass so freed blocks go back to the kernel and the peak is not hidden by reuse.
  The same measure is used for NumPy, PyTorch and Chainer.  For jitted JAX it is XLA's own account
  of the compiled program's temporary buffers (``compiled.memory_analysis().temp_size_in_bytes``).
* **Three kinds of rows.**  ``1 thread``: every library pinned to one thread (reproducible on a shared
  machine; the main table).  ``default``: the libraries' own default thread count (what users get;
  measured in a child process started without the thread variables).  ``loaded``: the default
  thread count while a competing process spins on one core (pinned there), started before and
  stopped after the child by this script -- a data-loader worker or a second job on the machine.
  ``--kinds`` picks a subset.
* **The limit we know how to reach.**  The ``limit`` rows time the torch dialect's forward + backward
  against ``jax.jit(jax.value_and_grad(...))`` of the same loss (one fused XLA program) on the same
  machine and thread count, and the per-element table gives nanoseconds per logit for our torch
  path, ``F.cross_entropy`` and the fused JAX program.
* **Frameworks that need other NumPy versions** (Chainer, MXNet, Paddle, BrainPy) run in a worker
  process started with the Python of their virtual environment (``--golden-a``/``--golden-b`` or the
  ``UCE_BENCH_GOLDEN_A``/``UCE_BENCH_GOLDEN_B`` variables, see ``../shared/golden-frameworks.md``);
  the worker imports unified_ce from this checkout.  A library that is missing gives a row that says
  so instead of a number.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import datetime
import gc
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run from a checkout without installing (the golden venvs)
    sys.path.insert(0, str(REPO))
for _extra in filter(None, os.environ.get("UCE_BENCH_APPEND_PATH", "").split(os.pathsep)):
    sys.path.append(_extra)  # appended: the venv's own numpy keeps priority

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

SIZES = {"tiny": (8, 10), "small": (256, 1000), "medium": (2048, 32000), "large": (8192, 32000)}
_VENV_DIRS = ("/work/golden-venvs", "/work/venvs")
#: the golden venvs' interpreters: the first that exists (see ../shared/golden-frameworks.md)
DEFAULT_GOLDEN = {
    k: next(
        (p for d in _VENV_DIRS if os.path.exists(p := f"{d}/golden-{k}/bin/python")),
        f"{_VENV_DIRS[0]}/golden-{k}/bin/python",
    )
    for k in ("a", "b")
}

# --------------------------------------------------------------------------- results


@dataclass
class Row:
    section: str  # torch | jax | numpy | chainer | overhead
    case: str  # e.g. "fwd+bwd"
    size: str  # tiny | small | medium | large
    ours: str
    native: str
    t_ours: float | None = None  # median seconds per call
    t_native: float | None = None
    ratio: float | None = None  # median over rounds of ours / native
    target: float | None = None  # the target for the ratio (time)
    mem_ours: int | None = None  # peak extra bytes
    mem_native: int | None = None
    mem_target: float | None = None
    note: str = ""
    kind: str = "one"  # one (1 thread) | default (the libraries' default threads) | loaded (+ a busy core)
    threads: int = field(default_factory=lambda: THREADS)  # threads per library in this row's process

    @property
    def mem_ratio(self) -> float | None:
        if self.mem_ours is None or self.mem_native is None:
            return None
        if self.mem_native <= 0:
            return 0.0 if self.mem_ours <= 0 else math_inf()
        return max(self.mem_ours, 0) / self.mem_native


def math_inf() -> float:
    return float("inf")


@dataclass
class Config:
    quick: bool
    sizes: list[str]
    rounds_small: int
    rounds_big: int
    min_sample_s: float
    sections: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- timing


def _time_sample(fn: Callable[[], Any], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def interleaved(
    ours: Callable[[], Any], native: Callable[[], Any], cfg: Config, big: bool
) -> tuple[float, float, float]:
    """Median seconds per call of each, and the median of the per-round ratios ours/native."""
    for f in (ours, native):  # warm up: imports, caches, jit compilation, allocator
        f()
        f()
    number = 1
    if not big:  # calibrate a batch of calls that lasts at least min_sample_s
        one = min(_time_sample(ours, 3), _time_sample(native, 3))
        number = max(1, int(cfg.min_sample_s / max(one, 1e-7)))
    rounds = cfg.rounds_big if big else cfg.rounds_small
    t_o: list[float] = []
    t_n: list[float] = []
    for r in range(rounds):
        pair = [(ours, t_o), (native, t_n)]
        for fn, acc in pair if r % 2 == 0 else pair[::-1]:
            gc.collect()
            acc.append(_time_sample(fn, number))
    ratios = [a / b for a, b in zip(t_o, t_n)]
    return statistics.median(t_o), statistics.median(t_n), statistics.median(ratios)


# --------------------------------------------------------------------------- memory


def _status(field_name: str) -> int:
    with open("/proc/self/status") as f:
        m = re.search(rf"^{field_name}:\s+(\d+) kB", f.read(), re.M)
    assert m is not None
    return int(m.group(1)) * 1024


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


_MMAP_FIXED = False


def rss_available() -> bool:
    try:
        _reset_peak()
        _status("VmHWM")
    except OSError:
        return False
    return True


def _fix_mmap_threshold() -> None:
    global _MMAP_FIXED
    if _MMAP_FIXED:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 * 1024)  # M_MMAP_THRESHOLD: big blocks are mmapped and unmapped when freed
        libc.mallopt(-1, 256 * 1024)  # M_TRIM_THRESHOLD
    _MMAP_FIXED = True


def peak_extra(
    fn: Callable[[], Any], kept: Callable[[Any], int], setup: Callable[[], Any] | None = None, repeats: int = 3
) -> int | None:
    """Peak resident bytes a call adds beyond what it returns (``kept(result)`` bytes): min of repeats.

    ``setup`` runs before each measurement (e.g. dropping the previous gradient, so that freeing it
    inside the call cannot hide an allocation).
    """
    if not rss_available():
        return None
    # measured in a forked child: the fixed mmap threshold must not change the parent's later timings
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 1
        try:
            os.close(read_end)
            os.write(write_end, str(_peak_extra_here(fn, kept, setup, repeats)).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    import select

    ready, _, _ = select.select([read_end], [], [], 900)
    data = os.read(read_end, 64) if ready else b""
    os.close(read_end)
    if not ready:
        os.kill(pid, 9)
    os.waitpid(pid, 0)
    return int(data) if data else None


def _peak_extra_here(
    fn: Callable[[], Any], kept: Callable[[Any], int], setup: Callable[[], Any] | None, repeats: int
) -> int:
    _fix_mmap_threshold()
    fn()  # warm
    best: int | None = None
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        _reset_peak()
        base = _status("VmRSS")
        out = fn()
        peak = _status("VmHWM")
        extra = peak - base - kept(out)
        del out
        best = extra if best is None else min(best, extra)
    assert best is not None
    return best


def nbytes(a: Any) -> int:
    if a is None:
        return 0
    if hasattr(a, "nbytes"):
        return int(a.nbytes)
    if hasattr(a, "element_size"):
        return int(a.element_size() * a.nelement())
    return 0


# --------------------------------------------------------------------------- inputs


def make_inputs(n: int, c: int, seed: int = 0, ignore_frac: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c), dtype=np.float32) * 3
    t = rng.integers(0, c, size=n)
    if ignore_frac:
        t[rng.random(n) < ignore_frac] = -100
    return x, t


def numpy_threads() -> int:
    """The threads unified_ce's NumPy path uses in this process (``OMP_NUM_THREADS``, else the CPUs)."""
    try:
        from unified_ce.kernels._numpy_cpu import threads
    except ImportError:
        return 1
    return threads()


def is_big(size: str) -> bool:
    return size in ("medium", "large")


# --------------------------------------------------------------------------- plain NumPy baseline


def numpy_forward(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A careful plain-NumPy mean cross-entropy: max-shifted, in-place exp, target logit gathered."""
    m = x.max(axis=1, keepdims=True)
    e = x - m
    np.exp(e, out=e)
    lse = np.log(e.sum(axis=1)) + m[:, 0]
    return np.mean(lse - x[np.arange(x.shape[0]), t])


def numpy_value_and_grad(x: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The same loss and its gradient; the softmax buffer becomes the gradient in place."""
    n = x.shape[0]
    rows = np.arange(n)
    m = x.max(axis=1, keepdims=True)
    p = x - m
    np.exp(p, out=p)
    s = p.sum(axis=1, keepdims=True)
    loss = np.mean(np.log(s[:, 0]) + m[:, 0] - x[rows, t])
    p *= 1.0 / (s * n)
    p[rows, t] -= 1.0 / n
    return loss, p


# --------------------------------------------------------------------------- sections


def section_torch(cfg: Config, rows: list[Row]) -> None:
    try:
        import torch

        from unified_ce.adapters.torch import CrossEntropyLoss  # noqa: F401
    except ImportError as exc:
        rows.append(Row("torch", "fwd", "-", "torch dialect", "F.cross_entropy", note=f"skipped: {exc}"))
        return
    torch.set_num_threads(THREADS)
    for size in cfg.sizes:
        _torch_size(cfg, rows, size)
        gc.collect()


def _torch_size(cfg: Config, rows: list[Row], size: str, kind: str = "one") -> None:
    """The torch rows of one size: ours against ``F.cross_entropy`` on the same tensors.

    ``kind="one"``: the main table (with peak memory); other kinds (default threads, competing load)
    time the same cases without the memory pass.
    """
    import torch
    import torch.nn.functional as F

    from unified_ce.adapters.torch import CrossEntropyLoss

    n, c = SIZES[size]
    big = is_big(size)
    xn, tn = make_inputs(n, c)
    x, t = torch.from_numpy(xn), torch.from_numpy(tn)
    xg = x.clone().requires_grad_(True)
    ours_loss = CrossEntropyLoss()

    def clear() -> None:
        xg.grad = None

    def step(loss_fn: Callable[..., Any], t: Any = t) -> Any:
        xg.grad = None
        loss_fn(xg, t).backward()
        return xg.grad

    tiny = size == "tiny"
    # targets: tiny calls (issue 13) fwd <= 3x, fwd+bwd <= 2x the native call; one thread <= 0.7x;
    # default threads and under a competing load <= 1.0x (issue 18)
    if tiny:
        t_fwd, t_bwd = 3.0, 2.0
    else:
        t_fwd = t_bwd = 0.7 if kind == "one" else 1.0
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any], float | None, bool]] = [
        ("fwd", lambda: ours_loss(x, t), lambda: F.cross_entropy(x, t), t_fwd, False),
        ("fwd+bwd", lambda: step(ours_loss), lambda: step(F.cross_entropy), t_bwd, True),
    ]
    if not tiny:
        tw = torch.from_numpy(make_inputs(n, c, seed=1, ignore_frac=0.1)[1])
        w = torch.from_numpy(np.random.default_rng(2).uniform(0.5, 2.0, c).astype(np.float32))
        ours_w = CrossEntropyLoss(weight=w, ignore_index=-100, label_smoothing=0.1)

        def native_w(a: Any, b: Any) -> Any:
            return F.cross_entropy(a, b, weight=w, ignore_index=-100, label_smoothing=0.1)

        cases.append(
            ("fwd+bwd, smoothing+weight+ignore", lambda: step(ours_w, tw), lambda: step(native_w, tw), t_bwd, True)
        )
    for case, fo, fn_, target, grads in cases:
        to, tn_, ratio = interleaved(fo, fn_, cfg, big)
        row = Row("torch", case, size, "CrossEntropyLoss (torch dialect)", "F.cross_entropy", to, tn_, ratio, target)
        row.kind, row.threads = kind, torch.get_num_threads()
        if big and kind == "one":
            kept = nbytes if grads else (lambda out: 0)
            row.mem_ours = peak_extra(fo, kept, setup=clear)
            row.mem_native = peak_extra(fn_, kept, setup=clear)
            row.mem_target = 1.0
        rows.append(row)
        print_row(row)


def section_limit(cfg: Config, rows: list[Row], kind: str = "one") -> None:
    """Our forward + backward against the fused JAX program of the same loss, per element.

    ``jax.jit(jax.value_and_grad(loss))`` of an optax-style ``logsumexp - take_along_axis`` mean: XLA
    fuses it into a few loops that read the logits about once and write the gradient once -- the
    fastest CPU evaluation we know of, so its time per element is the line to compare with.  Two
    rows per size: the torch dialect's ``.backward()`` on torch tensors, and ``value_and_grad`` on
    NumPy arrays.
    """
    try:
        import jax
        import jax.numpy as jnp
        import torch

        import unified_ce as uce
        from unified_ce.adapters.torch import CrossEntropyLoss
    except ImportError as exc:
        rows.append(Row("limit", "fwd+bwd", "-", "torch dialect", "fused JAX", note=f"skipped: {exc}", kind=kind))
        return

    def plain(x: Any, t: Any) -> Any:
        lse = jax.nn.logsumexp(x, axis=-1)
        return jnp.mean(lse - jnp.take_along_axis(x, t[:, None], axis=-1)[:, 0])

    fused = jax.jit(jax.value_and_grad(plain))
    ours_loss = CrossEntropyLoss()
    for size in [s for s in cfg.sizes if s != "tiny"]:
        n, c = SIZES[size]
        xn, tn = make_inputs(n, c)
        xg = torch.from_numpy(xn).requires_grad_(True)
        t = torch.from_numpy(tn)
        xj, tj = jnp.asarray(xn), jnp.asarray(tn.astype(np.int32))

        def ours(xg: Any = xg, t: Any = t) -> Any:
            xg.grad = None
            ours_loss(xg, t).backward()
            return xg.grad

        def ours_np(x: Any = xn, t: Any = tn) -> Any:
            return uce.value_and_grad(x, t)

        def native(xj: Any = xj, tj: Any = tj) -> Any:
            return jax.block_until_ready(fused(xj, tj))

        target = 1.5 if size == "large" or (cfg.quick and size == "small") else None
        for case, fo, label in (
            ("fwd+bwd", ours, "torch dialect (torch tensors)"),
            ("value_and_grad", ours_np, "unified_ce on numpy"),
        ):
            to, tn_, ratio = interleaved(fo, native, cfg, is_big(size))
            row = Row("limit", case, size, label, "fused JAX", to, tn_, ratio, target)
            row.kind, row.threads = kind, (torch.get_num_threads() if case == "fwd+bwd" else numpy_threads())
            rows.append(row)
            print_row(row)
            xg.grad = None
            gc.collect()
        del xg, xj
        gc.collect()


def section_kind(cfg: Config, rows: list[Row], kind: str) -> None:
    """The rows of one thread kind other than ``one``: torch, NumPy and the fused-JAX limit, big sizes."""
    try:
        import torch  # noqa: F401  (the torch rows need it)
    except ImportError as exc:
        rows.append(Row("torch", "-", "-", "-", "-", note=f"skipped: {exc}", kind=kind))
        return

    for size in [s for s in cfg.sizes if s != "tiny"]:
        _torch_size(cfg, rows, size, kind)
        gc.collect()
    import unified_ce as uce

    for size in [s for s in cfg.sizes if s != "tiny"]:
        n, c = SIZES[size]
        x, t = make_inputs(n, c)
        cases = (
            ("fwd", lambda x=x, t=t: uce.cross_entropy(x, t), lambda x=x, t=t: numpy_forward(x, t)),
            ("value_and_grad", lambda x=x, t=t: uce.value_and_grad(x, t), lambda x=x, t=t: numpy_value_and_grad(x, t)),
        )
        for case, fo, fn_ in cases:
            to, tn_, ratio = interleaved(fo, fn_, cfg, is_big(size))
            row = Row("numpy", case, size, "unified_ce on numpy", "plain NumPy", to, tn_, ratio, 1.0)
            row.kind, row.threads = kind, numpy_threads()
            rows.append(row)
            print_row(row)
            gc.collect()
    section_limit(cfg, rows, kind)


def section_jax(cfg: Config, rows: list[Row]) -> None:
    try:
        import jax
        import jax.numpy as jnp

        from unified_ce.adapters.torch import cross_entropy as torch_ce
    except ImportError as exc:
        rows.append(Row("jax", "jit(value_and_grad)", "-", "torch dialect", "optax-style", note=f"skipped: {exc}"))
        return

    def optax_style(x: Any, t: Any) -> Any:
        lse = jax.nn.logsumexp(x, axis=-1)
        xt = jnp.take_along_axis(x, t[:, None], axis=-1)[:, 0]
        return jnp.mean(lse - xt)

    def ours(x: Any, t: Any) -> Any:
        return torch_ce(x, t)

    for size in cfg.sizes:
        n, c = SIZES[size]
        big = is_big(size)
        xn, tn = make_inputs(n, c)
        x = jnp.asarray(xn)
        t = jnp.asarray(tn.astype(np.int32))
        fo = jax.jit(jax.value_and_grad(ours))
        fn_ = jax.jit(jax.value_and_grad(optax_style))

        def run_o(fo: Any = fo, x: Any = x, t: Any = t) -> Any:
            return jax.block_until_ready(fo(x, t))

        def run_n(fn_: Any = fn_, x: Any = x, t: Any = t) -> Any:
            return jax.block_until_ready(fn_(x, t))

        to, tn_, ratio = interleaved(run_o, run_n, cfg, big)
        row = Row("jax", "jit(value_and_grad)", size, "torch dialect on jax", "optax-style", to, tn_, ratio, 1.0)
        if big:
            row.mem_ours = _xla_temp(fo, x, t)
            row.mem_native = _xla_temp(fn_, x, t)
        rows.append(row)
        print_row(row)
        if size == "tiny":  # eager per-call overhead
            eo = lambda x=x, t=t: jax.block_until_ready(ours(x, t))  # noqa: E731
            en = lambda x=x, t=t: jax.block_until_ready(optax_style(x, t))  # noqa: E731
            to, tn_, ratio = interleaved(eo, en, cfg, False)
            row = Row("overhead", "jax eager fwd", size, "torch dialect on jax", "optax-style (eager)", to, tn_, ratio)
            rows.append(row)
            print_row(row)


def _xla_temp(f: Any, *args: Any) -> int | None:
    try:
        ma = f.lower(*args).compile().memory_analysis()
        return int(ma.temp_size_in_bytes)
    except Exception:
        return None


def section_numpy(cfg: Config, rows: list[Row]) -> None:
    import unified_ce as uce

    for size in cfg.sizes:
        n, c = SIZES[size]
        big = is_big(size)
        x, t = make_inputs(n, c)
        cases = [
            ("fwd", lambda x=x, t=t: uce.cross_entropy(x, t), lambda x=x, t=t: numpy_forward(x, t), lambda out: 0),
            (
                "value_and_grad",
                lambda x=x, t=t: uce.value_and_grad(x, t),
                lambda x=x, t=t: numpy_value_and_grad(x, t),
                lambda out: nbytes(out[1]),
            ),
        ]
        for case, fo, fn_, kept in cases:
            to, tn_, ratio = interleaved(fo, fn_, cfg, big)
            # tiny calls: forward <= 3x plain NumPy (issue 13); bigger inputs <= 1.0x
            target = (3.0 if case == "fwd" else None) if size == "tiny" else 1.0
            row = Row("numpy", case, size, "unified_ce on numpy", "plain NumPy", to, tn_, ratio, target)
            if big:
                row.mem_ours = peak_extra(fo, kept)
                row.mem_native = peak_extra(fn_, kept)
            rows.append(row)
            print_row(row)


# ---- frameworks of the golden virtual environments (run in a worker process)


def _dialect(name: str) -> Any:
    import importlib

    return importlib.import_module(f"unified_ce.adapters.{name}")


def section_chainer(cfg: Config, rows: list[Row]) -> None:
    try:
        import chainer
        import chainer.functions as CF
    except ImportError as exc:
        rows.append(
            Row("chainer", "fwd", "-", "chainer dialect", "chainer", note=f"skipped: chainer not importable ({exc})")
        )
        return
    try:
        dialect = _dialect("chainer")
    except ImportError as exc:
        rows.append(
            Row("chainer", "fwd", "-", "chainer dialect", "chainer", note=f"skipped: no chainer dialect ({exc})")
        )
        return
    for size in cfg.sizes:
        n, c = SIZES[size]
        big = is_big(size)
        x, t = make_inputs(n, c)
        t32 = t.astype(np.int32)  # chainer's own label dtype

        def native_fwd(x: Any = x, t: Any = t32) -> Any:
            with chainer.no_backprop_mode():
                return CF.softmax_cross_entropy(x, t).array

        def native_bwd(x: Any = x, t: Any = t32) -> Any:
            v = chainer.Variable(x)
            CF.softmax_cross_entropy(v, t).backward()
            return v.grad

        def ours_fwd(x: Any = x, t: Any = t32) -> Any:
            return dialect.softmax_cross_entropy(x, t)

        def ours_bwd(x: Any = x, t: Any = t32) -> Any:
            return dialect.softmax_cross_entropy.value_and_grad(x, t)[1]

        section = "overhead" if size == "tiny" else "chainer"
        for case, fo, fn_, grads in (("fwd", ours_fwd, native_fwd, False), ("fwd+bwd", ours_bwd, native_bwd, True)):
            label = f"chainer {case}" if size == "tiny" else case
            to, tn_, ratio = interleaved(fo, fn_, cfg, big)
            target = None if size == "tiny" else 0.5
            row = Row(
                section,
                label,
                size,
                "chainer dialect on numpy",
                f"chainer {chainer.__version__}",
                to,
                tn_,
                ratio,
                target,
            )
            if big:
                kept = nbytes if grads else (lambda out: 0)
                row.mem_ours = peak_extra(fo, kept)
                row.mem_native = peak_extra(fn_, kept)
            rows.append(row)
            print_row(row)


def section_foreign_overhead(cfg: Config, rows: list[Row], which: list[str]) -> None:
    """Tiny-input per-call overhead of the mxnet, paddle and brainpy dialects against the real framework."""
    n, c = SIZES["tiny"]
    x, t = make_inputs(n, c)
    for name in which:
        try:
            fo, fn_, native_name = _foreign(name, x, t)
        except ImportError as exc:
            rows.append(Row("overhead", f"{name} fwd", "tiny", f"{name} dialect", name, note=f"skipped: {exc}"))
            continue
        to, tn_, ratio = interleaved(fo, fn_, cfg, False)
        row = Row("overhead", f"{name} fwd", "tiny", f"{name} dialect", native_name, to, tn_, ratio)
        rows.append(row)
        print_row(row)


def _foreign(name: str, x: np.ndarray, t: np.ndarray) -> tuple[Callable[[], Any], Callable[[], Any], str]:
    if name == "mxnet":
        import mxnet as mx

        d = _dialect("mxnet")
        ours = d.SoftmaxCrossEntropyLoss()
        nat = mx.gluon.loss.SoftmaxCrossEntropyLoss()
        xm, tm = mx.nd.array(x), mx.nd.array(t.astype(np.float32))
        tf = t.astype(np.float32)
        return (lambda: ours(x, tf)), (lambda: nat(xm, tm).wait_to_read()), f"mxnet {mx.__version__} gluon"
    if name == "paddle":
        import paddle

        d = _dialect("paddle")
        xp_, tp = paddle.to_tensor(x), paddle.to_tensor(t[:, None])
        t2 = t[:, None]
        return (
            (lambda: d.softmax_with_cross_entropy(x, t2)),
            (lambda: paddle.nn.functional.softmax_with_cross_entropy(xp_, tp)),
            f"paddle {paddle.__version__}",
        )
    if name == "brainpy":
        import brainpy
        import jax
        import jax.numpy as jnp

        d = _dialect("brainpy")
        xj, tj = jnp.asarray(x), jnp.asarray(t.astype(np.int32))
        ours = d.CrossEntropyLoss()
        nat = brainpy.losses.CrossEntropyLoss()
        return (
            (lambda: jax.block_until_ready(ours(xj, tj))),
            (lambda: jax.block_until_ready(nat(xj, tj))),
            f"brainpy {brainpy.__version__}",
        )
    raise ValueError(name)


def section_overhead(cfg: Config, rows: list[Row]) -> None:
    """Dialects on tiny inputs in this interpreter (torch and numpy rows come from their sections)."""
    n, c = SIZES["tiny"]
    x, t = make_inputs(n, c)
    import unified_ce as uce

    for name in ("mxnet", "paddle", "brainpy", "chainer"):
        try:
            d = _dialect(name)
        except ImportError:
            continue
        fo = {
            "mxnet": lambda d=d: d.SoftmaxCrossEntropyLoss()(x, t.astype(np.float32)),
            "paddle": lambda d=d: d.softmax_with_cross_entropy(x, t[:, None]),
            "brainpy": lambda d=d: d.CrossEntropyLoss()(x, t),
            "chainer": lambda d=d: d.softmax_cross_entropy(x, t),
        }[name]
        try:
            fo()
        except Exception as exc:  # a dialect still under construction
            rows.append(
                Row(
                    "overhead",
                    f"{name} dialect on numpy",
                    "tiny",
                    f"{name} dialect",
                    "plain NumPy",
                    note=f"failed: {exc}",
                )
            )
            continue
        to, tn_, ratio = interleaved(fo, lambda: numpy_forward(x, t), cfg, False)
        row = Row("overhead", f"{name} dialect on numpy", "tiny", f"{name} dialect", "plain NumPy fwd", to, tn_, ratio)
        rows.append(row)
        print_row(row)
    del uce


# --------------------------------------------------------------------------- workers


def run_worker(python: str, sections: str, cfg: Config, rows: list[Row]) -> None:
    """Run some sections under another interpreter (a golden venv) and collect its rows."""
    if not python or not Path(python).exists():
        rows.append(Row(sections.split(",")[0], "-", "-", "-", sections, note=f"skipped: no interpreter at {python!r}"))
        return
    import array_api_compat

    env = dict(os.environ)
    env["UCE_BENCH_APPEND_PATH"] = str(Path(array_api_compat.__file__).resolve().parent.parent)
    env.setdefault("GLOG_minloglevel", "2")
    cmd = [python, str(Path(__file__).resolve()), "--worker", sections, "--sizes", ",".join(cfg.sizes)]
    cmd += ["--threads", str(THREADS)]
    if cfg.quick:
        cmd.append("--quick")
    print(f"# worker: {' '.join(cmd)}", flush=True)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    got = False
    for line in proc.stdout.splitlines():
        if line.startswith("ROW "):
            row = Row(**json.loads(line[4:]))
            rows.append(row)
            print_row(row)
            got = True
    if proc.returncode != 0 or not got:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        rows.append(Row(sections.split(",")[0], "-", "-", "-", sections, note=f"worker failed: {' | '.join(tail)}"))


# --------------------------------------------------------------------------- output


def fmt_t(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_b(b: int | None) -> str:
    if b is None:
        return "-"
    if abs(b) < 1 << 20:
        return f"{b / 1024:.0f} KiB"
    return f"{b / (1 << 20):.0f} MiB"


def fmt_r(r: float | None, target: float | None = None) -> str:
    if r is None:
        return "-"
    s = f"{r:.2f}×"
    if target is not None:
        s += " ✅" if r <= target else " ❌"
    return s


def print_row(r: Row) -> None:
    if r.note and r.ratio is None:
        print(f"{r.section:9} {r.case:36} {r.size:7} {r.note}", flush=True)
        return
    mem = ""
    if r.mem_ours is not None or r.mem_native is not None:
        mem = f"  mem {fmt_b(r.mem_ours)} vs {fmt_b(r.mem_native)} ({fmt_r(r.mem_ratio)})"
    print(
        f"{r.section:9} {r.case:36} {r.size:7} {kind_label(r):24} {fmt_t(r.t_ours):>10} vs {fmt_t(r.t_native):>10}  "
        f"{fmt_r(r.ratio):>7}{mem}",
        flush=True,
    )


KIND_ORDER = {"one": 0, "default": 1, "loaded": 2}


def kind_label(r: Row) -> str:
    """How many threads a row ran on, and whether another process competed for a core."""
    if r.kind == "one":
        return f"{r.threads} thread" + ("s" if r.threads != 1 else "")
    if r.kind == "default":
        return f"default ({r.threads} threads)"
    return f"default ({r.threads}), 1 core busy"


def markdown(rows: list[Row]) -> str:
    head = (
        "| section | case | size (N×C) | threads | unified_ce | native | time ours | time native | ratio (target) "
        "| extra mem ours | extra mem native | mem ratio (target) |\n"
        "|---|---|---|---|---|---|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        size = f"{r.size} ({SIZES[r.size][0]}×{SIZES[r.size][1]})" if r.size in SIZES else r.size
        if r.note and r.ratio is None:
            lines.append(
                f"| {r.section} | {r.case} | {size} | {kind_label(r)} | {r.ours} | {r.native} | {r.note} | | | | | |"
            )
            continue
        tgt = f" (≤{r.target:g})" if r.target is not None else ""
        mtgt = f" (≤{r.mem_target:g})" if r.mem_target is not None and r.mem_ratio is not None else ""
        lines.append(
            f"| {r.section} | {r.case} | {size} | {kind_label(r)} | {r.ours} | {r.native} "
            f"| {fmt_t(r.t_ours)} | {fmt_t(r.t_native)} "
            f"| {fmt_r(r.ratio, r.target)}{tgt} | {fmt_b(r.mem_ours)} | {fmt_b(r.mem_native)} "
            f"| {fmt_r(r.mem_ratio, r.mem_target)}{mtgt} |"
        )
    return head + "\n".join(lines) + "\n"


def per_element(rows: list[Row]) -> str:
    """Nanoseconds per logit of forward + backward: our torch and NumPy paths, their native baselines,
    and the fused JAX program (each ``ours / fused JAX`` ratio measured interleaved in the same run)."""

    def ns(t: float | None, size: str) -> str:
        return "-" if t is None else f"{t / math.prod(SIZES[size]) * 1e9:.2f}"

    def find(section: str, case: str, size: str, kind: str) -> Row | None:
        return next((o for o in rows if (o.section, o.case, o.size, o.kind) == (section, case, size, kind)), None)

    lines = []
    seen: set[tuple[str, str]] = set()
    for r in rows:
        if r.section != "limit" or r.ratio is None or r.size not in SIZES or (r.size, r.kind) in seen:
            continue
        seen.add((r.size, r.kind))
        lt, ln = find("limit", "fwd+bwd", r.size, r.kind), find("limit", "value_and_grad", r.size, r.kind)
        tr, nr = find("torch", "fwd+bwd", r.size, r.kind), find("numpy", "value_and_grad", r.size, r.kind)
        jax_t = statistics.median([o.t_native for o in (lt, ln) if o is not None and o.t_native is not None])

        def ratio(o: Row | None) -> str:
            if o is None:
                return "-"
            return fmt_r(o.ratio, o.target) + (f" (≤{o.target:g})" if o.target is not None else "")

        lines.append(
            f"| {r.size} ({SIZES[r.size][0]}×{SIZES[r.size][1]}) | {kind_label(r)} "
            f"| {ns(lt and lt.t_ours, r.size)} | {ns(tr and tr.t_native, r.size)} "
            f"| {ns(ln and ln.t_ours, r.size)} | {ns(nr and nr.t_native, r.size)} | {ns(jax_t, r.size)} "
            f"| {ratio(lt)} | {ratio(ln)} |"
        )
    if not lines:
        return ""
    head = (
        "| size (N×C) | threads | torch dialect | F.cross_entropy | NumPy: unified_ce | plain NumPy | fused JAX "
        "| torch dialect / fused JAX (target) | NumPy: unified_ce / fused JAX (target) |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    return head + "\n".join(lines) + "\n"


def machine() -> str:
    lines = []
    with contextlib.suppress(Exception):
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        keep = ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache", "Hypervisor vendor")
        for ln in out.splitlines():
            k = ln.split(":")[0].strip()
            if k in keep:
                lines.append(f"{k}: {ln.split(':', 1)[1].strip()}")
    with contextlib.suppress(Exception):
        mem = _meminfo("MemTotal")
        lines.append(f"Memory: {mem / (1 << 30):.0f} GiB")
    vers = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for mod in ("torch", "jax"):
        with contextlib.suppress(Exception):
            vers.append(f"{mod} {__import__(mod).__version__}")
    lines.append(", ".join(vers))
    return "; ".join(lines)


def _meminfo(key: str) -> int:
    with open("/proc/meminfo") as f:
        m = re.search(rf"^{key}:\s+(\d+) kB", f.read(), re.M)
    return int(m.group(1)) * 1024 if m else 0


def plot(rows: list[Row], path: Path) -> None:
    """One panel per section, readable at page width: time ratio bars on a log axis (green: within the
    target, red: not), each row's value and its memory ratio written beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    timed = [r for r in rows if r.ratio is not None]
    sections = list(dict.fromkeys(r.section for r in timed))
    heights = [max(1, sum(r.section == s for r in timed)) for s in sections]
    fig, axes = plt.subplots(
        len(sections),
        1,
        figsize=(9.0, 0.42 * sum(heights) + 1.1 * len(sections) + 0.6),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    lo = min([r.ratio for r in timed if r.ratio] + [0.5]) / 1.6  # type: ignore[type-var]
    hi = max([r.ratio for r in timed if r.ratio] + [2.0]) * 3.0  # type: ignore[type-var]
    for ax, section in zip(axes[:, 0], sections):
        data = [r for r in timed if r.section == section]
        y = list(range(len(data)))[::-1]
        vals = [max(float(r.ratio or 0.0), 1e-3) for r in data]
        ok = [v <= (r.target if r.target else 1.0) for v, r in zip(vals, data)]
        ax.barh(y, vals, color=["#2e7d32" if o else "#c62828" for o in ok], height=0.7)
        ax.set_yticks(
            y,
            [f"{r.case} [{r.size}" + ("" if r.kind == "one" else f", {kind_label(r)}") + "]" for r in data],
            fontsize=11,
        )
        ax.axvline(1.0, color="k", lw=1.2)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.tick_params(axis="x", labelsize=11)
        ax.set_title(section, fontsize=12, fontweight="bold")
        for yi, v, r in zip(y, vals, data):
            mem = f"   mem {r.mem_ratio:.2f}×" if r.mem_ratio is not None else ""
            ax.text(v * 1.08, yi, f"{v:.2f}×{mem}", va="center", fontsize=10.5)
        ax.grid(axis="x", which="both", alpha=0.25)
    fig.suptitle(
        "time, unified_ce / native (log scale; lower is better; green: target met)\nrows on 1 thread unless marked",
        fontsize=12,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def rows_from_markdown(md_path: Path) -> list[Row]:
    """The rows of the table a previous run wrote into ``docs/performance.md`` (to redraw the plot
    without measuring again: ``--replot``)."""
    text = md_path.read_text()
    block = text[text.index(BEGIN) : text.index(END)] if BEGIN in text and END in text else text
    lines = [ln for ln in block.splitlines() if ln.startswith("| section |") or ln.startswith("| ")]
    head = next(ln for ln in lines if ln.startswith("| section |"))
    cols = [c.strip() for c in head.strip("|").split("|")]

    def num(cell: str) -> float | None:
        m = re.match(r"\s*([0-9.]+)×", cell)
        return float(m.group(1)) if m else None

    def target(cell: str) -> float | None:
        m = re.search(r"\(≤([0-9.]+)\)", cell)
        return float(m.group(1)) if m else None

    rows = []
    for ln in lines:
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if ln == head or len(cells) != len(cols) or set(cells[0]) <= {"-"}:
            continue
        c = dict(zip(cols, cells))
        threads = c.get("threads", "1 thread")
        kind = "loaded" if "busy" in threads else ("default" if threads.startswith("default") else "one")
        n_threads = int(m.group(1)) if (m := re.search(r"(\d+)", threads)) else 1
        row = Row(
            c["section"], c["case"], c["size (N×C)"].split(" ")[0], c["unified_ce"], c["native"],
            ratio=num(c["ratio (target)"]), target=target(c["ratio (target)"]), kind=kind, threads=n_threads,
        )  # fmt: skip
        row.t_ours, row.t_native = seconds(c.get("time ours", "")), seconds(c.get("time native", ""))
        row.mem_ours, row.mem_native = mem_bytes(c.get("extra mem ours", "")), mem_bytes(c.get("extra mem native", ""))
        row.mem_target = target(c.get("mem ratio (target)", ""))
        mem = num(c.get("mem ratio (target)", ""))
        if mem is not None and (row.mem_ours is None or row.mem_native is None):  # the ratio is enough to plot
            row.mem_ours, row.mem_native = max(1, round(mem * 1_000_000)), 1_000_000
        rows.append(row)
    return rows


_UNITS = {"µs": 1e-6, "ms": 1e-3, "s": 1.0, "KiB": 1024, "MiB": 1 << 20}


def seconds(cell: str) -> float | None:
    m = re.fullmatch(r"\s*(-?[0-9.]+) (µs|ms|s)\s*", cell)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def mem_bytes(cell: str) -> int | None:
    m = re.fullmatch(r"\s*(-?[0-9.]+) (KiB|MiB)\s*", cell)
    return round(float(m.group(1)) * _UNITS[m.group(2)]) if m else None


BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


def write_doc(rows: list[Row], md_path: Path, png_path: Path, elapsed: float, quick: bool) -> None:
    rel = os.path.relpath(png_path, md_path.parent)
    pe = per_element(rows)
    pe_block = (
        f"Forward + backward, nanoseconds per logit, against the fused JAX program (same run):\n\n{pe}\n" if pe else ""
    )
    block = (
        f"{BEGIN}\n"
        f"Generated by `python benchmarks/bench.py{' --quick' if quick else ''}` on "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} in {elapsed:.0f} s.\n\n"
        f"Machine: {machine()}.\n\n"
        f"{markdown(rows)}\n"
        f"{pe_block}"
        f"![unified_ce / native ratios]({rel})\n"
        f"{END}"
    )
    text = md_path.read_text() if md_path.exists() else f"# Performance on the CPU\n\n{BEGIN}\n{END}\n"
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END) :]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text)


# --------------------------------------------------------------------------- main

THREADS = 1
#: the environment as given, before :func:`set_threads`: the children measuring default threads get it
_ENV_AS_GIVEN = dict(os.environ)
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def set_threads(n: int) -> None:
    """Pin every library to ``n`` threads (before any of them is imported)."""
    global THREADS
    THREADS = n
    for var in _THREAD_VARS:
        os.environ[var] = str(n)
    if n == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()


SPIN = "import os, sys\nos.sched_setaffinity(0, {int(sys.argv[1])})\nwhile True:\n    pass\n"


@contextlib.contextmanager
def competing_load() -> Any:
    """A process that keeps one core busy (pinned to the last CPU this process may use) while inside."""
    cpu = max(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    proc = subprocess.Popen([sys.executable, "-c", SPIN, str(cpu)])
    try:
        time.sleep(0.2)  # let it start spinning
        yield cpu
    finally:
        proc.kill()
        proc.wait()


def run_kind(kind: str, cfg: Config, rows: list[Row]) -> None:
    """Measure the ``default`` or ``loaded`` rows in a child process with the environment as given."""
    env = dict(_ENV_AS_GIVEN)
    env.setdefault("JAX_PLATFORMS", "cpu")
    cmd = [sys.executable, str(Path(__file__).resolve()), "--kind-worker", kind, "--sizes", ",".join(cfg.sizes)]
    if cfg.quick:
        cmd.append("--quick")
    print(f"# {kind}: {' '.join(cmd)}", flush=True)
    with competing_load() if kind == "loaded" else contextlib.nullcontext():
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        got = False
        for line in proc.stdout:
            if line.startswith("ROW "):
                rows.append(Row(**json.loads(line[4:])))
                got = True
            else:
                print(line, end="", flush=True)
        proc.wait()
    if proc.returncode != 0 or not got:
        rows.append(Row("torch", "-", "-", "-", "-", note=f"{kind} worker failed (exit {proc.returncode})", kind=kind))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny and small sizes, few repeats (CI)")
    ap.add_argument("--sizes", help="comma-separated subset of " + ",".join(SIZES))
    ap.add_argument("--only", help="comma-separated sections: torch,jax,numpy,overhead,chainer,foreign")
    ap.add_argument("--out-dir", help="where docs/performance.md and docs/img/bench_cpu.png go (default: the repo)")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    ap.add_argument(
        "--replot", action="store_true", help="redraw docs/img/bench_cpu.png from the table in docs/performance.md"
    )
    ap.add_argument(
        "--keep",
        help="comma-separated sections whose rows are copied from the table in docs/performance.md instead of "
        "measured (e.g. chainer,overhead when the golden venvs are not at hand)",
    )
    ap.add_argument("--rounds-big", type=int, help="rounds per medium/large row (default 7, --quick 3)")
    ap.add_argument("--max-gib", type=float, default=6.0, help="skip 'large' unless this much memory is available")
    ap.add_argument("--golden-a", default=os.environ.get("UCE_BENCH_GOLDEN_A", DEFAULT_GOLDEN["a"]))
    ap.add_argument("--golden-b", default=os.environ.get("UCE_BENCH_GOLDEN_B", DEFAULT_GOLDEN["b"]))
    ap.add_argument(
        "--threads", type=int, default=1, help="threads per library (default 1: reproducible on a shared machine)"
    )
    ap.add_argument(
        "--kinds",
        default="one,default,loaded",
        help="comma-separated: one (every library on --threads threads), default (default thread count), "
        "loaded (default threads, one core kept busy by another process)",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--kind-worker", choices=("default", "loaded"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.replot:
        root = Path(args.out_dir) if args.out_dir else Path(__file__).resolve().parents[1]
        plot(rows_from_markdown(root / "docs" / "performance.md"), root / "docs" / "img" / "bench_cpu.png")
        return 0
    if not args.kind_worker:
        set_threads(args.threads)

    if args.sizes:
        sizes = args.sizes.split(",")
    elif args.quick:
        sizes = ["tiny", "small"]
    else:
        sizes = ["tiny", "medium", "large"]
    if "large" in sizes and not args.worker and _meminfo("MemAvailable") < args.max_gib * (1 << 30):
        print(f"# 'large' skipped: less than {args.max_gib} GiB available", flush=True)
        sizes.remove("large")
    cfg = Config(
        quick=args.quick,
        sizes=sizes,
        rounds_small=5 if args.quick else 15,
        rounds_big=args.rounds_big or (3 if args.quick else 7),
        min_sample_s=0.002 if args.quick else 0.02,
    )
    rows: list[Row] = []
    if args.kind_worker:  # default threads (the environment as given), maybe with a busy core
        if args.quick:
            cfg.sizes = ["small"]
        section_kind(cfg, rows, args.kind_worker)
        for r in rows:
            print("ROW " + json.dumps(asdict(r)), flush=True)
        return 0
    if args.worker:  # inside a golden venv: print rows as JSON lines
        for sec in args.worker.split(","):
            sub: list[Row] = []
            if sec == "chainer":
                section_chainer(cfg, sub)
            else:
                section_foreign_overhead(cfg, sub, [sec])
            for r in sub:
                print("ROW " + json.dumps(asdict(r)), flush=True)
        return 0

    only = set(args.only.split(",")) if args.only else {"torch", "jax", "numpy", "overhead", "chainer", "foreign"}
    kinds = args.kinds.split(",")
    start = time.perf_counter()
    print(f"# sizes: {sizes}; kinds: {kinds}; {machine()}", flush=True)
    if "one" not in kinds:
        only = set()
    if "torch" in only:
        section_torch(cfg, rows)
        section_limit(cfg, rows)
    if "jax" in only:
        section_jax(cfg, rows)
    if "numpy" in only:
        section_numpy(cfg, rows)
    if "overhead" in only:
        section_overhead(cfg, rows)
    if "chainer" in only or "foreign" in only:
        secs = (["chainer"] if "chainer" in only else []) + (["mxnet", "paddle"] if "foreign" in only else [])
        try:
            import chainer  # noqa: F401

            section_chainer(cfg, rows)
            if "foreign" in only:
                section_foreign_overhead(cfg, rows, ["mxnet", "paddle"])
        except ImportError:
            run_worker(args.golden_a, ",".join(secs), cfg, rows)
        if "foreign" in only:
            try:
                import brainpy  # noqa: F401

                section_foreign_overhead(cfg, rows, ["brainpy"])
            except ImportError:
                run_worker(args.golden_b, "brainpy", cfg, rows)
    for kind in ("default", "loaded"):
        if kind in kinds:
            run_kind(kind, cfg, rows)
    elapsed = time.perf_counter() - start
    if args.keep:  # rows of sections not measured in this run, copied from the stored table
        keep = set(args.keep.split(","))
        measured = {(r.section, r.case, r.size, r.kind) for r in rows}
        old = rows_from_markdown(REPO / "docs" / "performance.md")
        rows += [r for r in old if r.section in keep and (r.section, r.case, r.size, r.kind) not in measured]

    order = {"torch": 0, "numpy": 1, "limit": 2, "jax": 3, "chainer": 4, "overhead": 5}
    size_order = {s: i for i, s in enumerate(SIZES)}
    rows.sort(key=lambda r: (KIND_ORDER.get(r.kind, 9), order.get(r.section, 9), r.case, size_order.get(r.size, 9)))
    print()
    print(markdown(rows))
    if args.no_write:
        return 0
    if args.out_dir:
        out = Path(args.out_dir)
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="uce-bench-"))
    else:
        out = REPO
    md, png = out / "docs" / "performance.md", out / "docs" / "img" / "bench_cpu.png"
    try:
        plot(rows, png)
    except ImportError as exc:
        print(f"# no plot: {exc}")
    write_doc(rows, md, png, elapsed, args.quick)
    print(f"# wrote {md} and {png} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where the time of a tiny call goes, against the native call in the same run.

``python benchmarks/overhead.py`` prints, for an 8 x 10 torch input on the CPU (one thread):

* ``F.cross_entropy`` (the native call) and the torch dialect's ``CrossEntropyLoss`` call;
* its phases: translating the arguments to a spec, and the direct path a tiny call takes when its
  spec is PyTorch's own (``F.cross_entropy`` before any validation of ours,
  :func:`unified_ce._dispatch.direct`);
* the full path with its validation and the reference core's forward (``UNIFIED_CE_KERNEL=reference``);

the same for ``uce.cross_entropy`` on NumPy arrays against a plain NumPy mean (the tiny direct
path, :mod:`unified_ce.kernels._numpy_tiny`, and the full path); and, when JAX is installed, the first call of the torch dialect on eager JAX arrays of new shapes
(compiled as one program per spec) against the op-by-op evaluation of the same core.  These are the
numbers quoted in ``docs/performance.md`` and ``docs/backends.md``; ratios are to the native call
measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")


def per_call_us(f: Callable[[], Any], n: int) -> float:
    """Median over 5 rounds of the mean time of ``n`` calls, in microseconds."""
    for _ in range(min(n, 300)):
        f()
    rounds = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        rounds.append((time.perf_counter() - t0) / n * 1e6)
    return sorted(rounds)[2]


def torch_rows(n: int) -> None:
    import torch

    from unified_ce import _dispatch
    from unified_ce.adapters import _base
    from unified_ce.adapters.torch import CrossEntropyLoss

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, t = torch.randn(8, 10), torch.randint(0, 10, (8,))
    F = torch.nn.functional
    loss = CrossEntropyLoss()
    call = loss._translate(x, t)

    def reference_path() -> Any:  # what a call costs when the native op does not take it
        os.environ["UNIFIED_CE_KERNEL"] = "reference"
        try:
            return loss(x, t)
        finally:
            del os.environ["UNIFIED_CE_KERNEL"]

    os.environ["UNIFIED_CE_KERNEL"] = "reference"
    inp, plan, *_ = _base._prepared(call, None, None)
    os.environ.pop("UNIFIED_CE_KERNEL")
    native = per_call_us(lambda: F.cross_entropy(x, t), n)
    rows = {
        "F.cross_entropy (native)": native,
        "CrossEntropyLoss (torch dialect), whole call": per_call_us(lambda: loss(x, t), n),
        "  translate the arguments to a spec": per_call_us(lambda: loss._translate(x, t), n),
        "  the native op, taken directly (_dispatch.direct)": per_call_us(lambda: _dispatch.direct(call), n),
        "the full path (UNIFIED_CE_KERNEL=reference), whole call": per_call_us(reference_path, n),
        "  validate (prepare)": per_call_us(lambda: _base._prepared(call, None, None), n),
        "  array-API forward of the reference core": per_call_us(
            lambda: _dispatch.evaluate(inp, plan, x, t, None, None), n
        ),
    }
    print(f"torch {torch.__version__}, 8 x 10 float32 on the CPU, 1 thread")
    for name, us in rows.items():
        print(f"  {name:<56} {us:8.1f} us  {us / native:6.2f}x native")


def numpy_rows(n: int) -> None:
    import numpy as np

    import unified_ce as uce
    from unified_ce.adapters._base import Call
    from unified_ce.kernels import _numpy_tiny

    rng = np.random.default_rng(0)
    x, t = rng.standard_normal((8, 10), dtype=np.float32) * 3, rng.integers(0, 10, 8)

    def plain() -> Any:  # the same careful plain-NumPy mean as benchmarks/bench.py's baseline
        m = x.max(axis=1, keepdims=True)
        e = x - m
        np.exp(e, out=e)
        return np.mean(np.log(e.sum(axis=1)) + m[:, 0] - x[np.arange(8), t])

    def full() -> Any:
        os.environ["UNIFIED_CE_KERNEL"] = "reference"
        try:
            return uce.cross_entropy(x, t)
        finally:
            del os.environ["UNIFIED_CE_KERNEL"]

    call = Call(uce.CrossEntropySpec(), x, t)
    native = per_call_us(plain, n)
    rows = {
        "plain NumPy (native)": native,
        "uce.cross_entropy, whole call": per_call_us(lambda: uce.cross_entropy(x, t), n),
        "  the tiny direct path (kernels._numpy_tiny.direct)": per_call_us(lambda: _numpy_tiny.direct(call), n),
        "the full path (UNIFIED_CE_KERNEL=reference), whole call": per_call_us(full, n),
    }
    print(f"numpy {np.__version__}, 8 x 10 float32")
    for name, us in rows.items():
        print(f"  {name:<56} {us:8.1f} us  {us / native:6.2f}x native")


def jax_rows() -> None:
    try:
        import jax
        import numpy as np
    except ImportError:
        print("jax: not installed")
        return
    from unified_ce import core
    from unified_ce.adapters import _base
    from unified_ce.adapters.torch import cross_entropy

    rng = np.random.default_rng(0)
    shapes = [(5 + i, 7 + 2 * i) for i in range(4)]

    def first_calls(fn: Callable[[Any, Any], Any]) -> float:
        times = []
        for n, c in shapes:
            x = jax.numpy.asarray(rng.standard_normal((n, c)).astype(np.float32))
            t = jax.numpy.asarray(rng.integers(0, c, n))
            t0 = time.perf_counter()
            jax.block_until_ready(fn(x, t))
            times.append(time.perf_counter() - t0)
        return sorted(times)[len(times) // 2] * 1e3

    def op_by_op(x: Any, t: Any) -> Any:  # the same core, each operation dispatched eagerly
        inp, plan, *_ = _base._prepared(cross_entropy.translate(x, t), None, None)
        out, _ = core.forward(inp, plan)
        return core.finish(inp, out)

    compiled = first_calls(lambda x, t: cross_entropy(x, t))
    eager = first_calls(op_by_op)
    print(f"jax {jax.__version__}: first call on a new shape, torch dialect forward (median of {len(shapes)} shapes)")
    print(f"  one compiled program per spec (what unified_ce does) {compiled:8.1f} ms")
    print(f"  the same core op by op                              {eager:8.1f} ms  ({eager / compiled:.1f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer calls per round")
    args = ap.parse_args()
    try:
        torch_rows(500 if args.quick else 5000)
    except ImportError:
        print("torch: not installed")
    numpy_rows(500 if args.quick else 5000)
    jax_rows()


if __name__ == "__main__":
    main()

"""The ``numpy_cpu`` evaluator (:mod:`unified_ce.kernels._numpy_cpu`) computes the reference core's spec.

NumPy arrays go to it by default.  Every index-target case of the fast-path table runs through it
two ways -- the forward alone and ``value_and_grad`` -- in one block, in blocks of three rows, and
in blocks of three rows shared by three threads; values and gradients must equal the reference
core's (``UNIFIED_CE_KERNEL=reference``) to rounding and the float64 loop reference, and the
caller's arrays stay untouched.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from unified_ce import CrossEntropySpec, kernels
from unified_ce.kernels import _numpy_cpu

from .reference import reference
from .test_fastpaths import CASES, _inputs

INDEX_CASES = [c for c in CASES if c[3] in ("index", "ignored")]
COVERED = [c for c in INDEX_CASES if c[1].get("reduction") != "sample_mean"] + [
    ("all-ignored-nan", {"ignore_index": -1, "axis": 1, "denominator": "label_weight"}, (6, 4), "ignored", True, None),
    ("axis0-vector-smoothing", {"axis": 0, "label_smoothing": 0.2, "reduction": "sum"}, (5, 9, 2), "index", True, None),
    ("3d-per-item", {"axis": 1, "weighting": "per_item", "label_smoothing": 0.1}, (4, 6, 3), "index", True, (4, 1, 3)),
]


@pytest.fixture(params=["one-block", "blocks", "threads", "shifted"])
def regime(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """``one-block``: the whole input as one block; ``blocks``: 3-row blocks (row sums by ``np.einsum``);
    ``threads``: the same on 3 threads; ``shifted``: 3-row blocks, every one through ``exp(x - m)`` (no
    row maximum is in the ``UNSHIFTED`` window)."""
    if request.param == "shifted":
        monkeypatch.setattr(_numpy_cpu, "UNSHIFTED", {4: (1.0, -1.0), 8: (1.0, -1.0)})
    if request.param == "one-block":
        monkeypatch.setattr(_numpy_cpu, "BLOCK_BYTES", 1 << 40)
        monkeypatch.setattr(_numpy_cpu, "THREADS", 1)
        return "one-block"
    real = _numpy_cpu.fastpath.Blocks

    def three(axis: int, size: int, step: int) -> Any:
        return real(axis, size, min(size, 3))

    monkeypatch.setattr(_numpy_cpu.fastpath, "Blocks", three)
    monkeypatch.setattr(_numpy_cpu, "EINSUM_MIN_CLASSES", 1)  # row sums by einsum wherever the class axis is last
    if request.param == "threads":
        monkeypatch.setattr(_numpy_cpu, "MIN_PARALLEL_BYTES", 0)
        monkeypatch.setattr(_numpy_cpu, "THREADS", 3)
    else:
        monkeypatch.setattr(_numpy_cpu, "THREADS", 1)
    return str(request.param)


def _run(x: Any, t: Any, spec: CrossEntropySpec, w: Any, s: Any, go: Any) -> dict[str, np.ndarray]:
    kw = {"class_weight": w, "sample_weight": s}
    out = {"forward": np.asarray(uce.cross_entropy(x, t, spec, **kw))}
    loss, grad = uce.value_and_grad(x, t, spec, grad_output=go, **kw)
    out["value_and_grad loss"], out["value_and_grad grad"] = loss, grad
    loss, grad = uce.value_and_grad(x, t, spec, **kw)  # grad_output defaults to ones
    out["value_and_grad ones"] = grad
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cid", "fields", "shape", "kind", "cw", "sw"), COVERED, ids=[c[0] for c in COVERED])
def test_matches_reference_core(
    dtype: str, cid: str, fields: dict, shape: tuple, kind: str, cw: bool, sw: Any, regime: str, monkeypatch: Any
) -> None:
    spec = CrossEntropySpec(**fields)
    x, t, w, s = _inputs(shape, kind, spec, cw, sw, seed=len(cid))
    xs = x.astype(dtype)
    ws = None if w is None else w.astype(dtype)
    ss = None if s is None else s.astype(dtype)
    copies = [None if a is None else a.copy() for a in (xs, t, ws, ss)]
    assert kernels.explain(spec, xs, t, ws, ss) == "numpy_cpu"
    loss_shape = np.shape(reference(spec, x, t, w, s))
    go = np.random.default_rng(1).uniform(0.5, 1.5, loss_shape).astype(dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        ours = _run(xs, t, spec, ws, ss, go)
        monkeypatch.setenv("UNIFIED_CE_KERNEL", "reference")
        ref = _run(xs, t, spec, ws, ss, go)
    tol = {"float64": 1e-12, "float32": 3e-6}[dtype]
    for key, value in ours.items():
        assert type(value) is np.ndarray, key
        assert value.dtype == ref[key].dtype and value.shape == ref[key].shape, key
        np.testing.assert_allclose(value, ref[key], rtol=tol * 10, atol=tol, err_msg=key)
    with np.errstate(invalid="ignore"):
        expected = reference(spec, x, t, w, s)
        np.testing.assert_allclose(
            ours["forward"], expected, rtol={"float64": 1e-10, "float32": 1e-4}[dtype], atol=1e-5
        )
        np.testing.assert_allclose(
            ours["value_and_grad loss"], expected, rtol={"float64": 1e-10, "float32": 1e-4}[dtype], atol=1e-5
        )
    for a, c in zip((xs, t, ws, ss), copies):  # the caller's arrays are never written
        if a is not None:
            np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_rows_outside_the_unshifted_window(dtype: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Row maxima far above, inside and far below the window, in blocks of three rows: the same
    per-item losses and gradient as the reference core and the float64 reference."""
    lo, hi = _numpy_cpu.UNSHIFTED[np.dtype(dtype).itemsize]
    real = _numpy_cpu.fastpath.Blocks
    monkeypatch.setattr(_numpy_cpu.fastpath, "Blocks", lambda axis, size, step: real(axis, size, 3))
    rng = np.random.default_rng(3)
    shifts = np.array([0.0, 0.0, 0.0, hi + 40, 0.0, 0.0, lo - 40, lo - 40, lo - 40, hi - 15, lo + 1, 0.0])
    x = (rng.standard_normal((12, 300)) * 3 + shifts[:, None]).astype(dtype)
    t = rng.integers(0, 300, 12)
    spec = CrossEntropySpec(reduction="none", label_smoothing=0.1)
    seen: list[bool] = []
    block_pass = _numpy_cpu._block_pass

    def spy(xb: Any, *args: Any) -> None:
        m = xb.max(axis=-1)
        seen.append(bool(lo <= m.min() and m.max() <= hi))
        block_pass(xb, *args)

    monkeypatch.setattr(_numpy_cpu, "_block_pass", spy)
    loss, grad = uce.value_and_grad(x, t, spec)
    assert seen == [True, False, False, True]  # both branches ran
    monkeypatch.setenv("UNIFIED_CE_KERNEL", "reference")
    loss0, grad0 = uce.value_and_grad(x, t, spec)
    tol = {"float64": 1e-12, "float32": 3e-6}[dtype]
    np.testing.assert_allclose(loss, loss0, rtol=tol * 10, atol=tol)
    np.testing.assert_allclose(grad, grad0, rtol=tol * 10, atol=tol)
    expected = reference(spec, x.astype(np.float64), t, None, None)
    np.testing.assert_allclose(loss, expected, rtol={"float64": 1e-10, "float32": 1e-5}[dtype])


def test_gradient_against_finite_differences() -> None:
    """The fused gradient is the derivative of the loss (central differences in float64)."""
    spec = CrossEntropySpec(axis=1, ignore_index=-100, label_smoothing=0.2, denominator="label_weight")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((5, 4))
    t = np.array([0, 3, -100, 2, 1])
    w = rng.uniform(0.5, 2.0, 4)
    _, grad = uce.value_and_grad(x, t, spec, class_weight=w)
    h = 1e-6
    fd = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        fd[i] = (reference(spec, xp_, t, w, None) - reference(spec, xm, t, w, None)) / (2 * h)
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def test_non_finite_rows_give_nan_like_the_reference_core(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.zeros((4, 5))
    x[1, 2] = np.inf
    x[2, :] = -np.inf
    t = np.array([0, 1, 2, 3])
    with np.errstate(invalid="ignore"):
        ours = uce.cross_entropy(x, t, reduction="none"), uce.value_and_grad(x, t)[1]
        monkeypatch.setenv("UNIFIED_CE_KERNEL", "reference")
        ref = uce.cross_entropy(x, t, reduction="none"), uce.value_and_grad(x, t)[1]
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a[np.isfinite(b)], b[np.isfinite(b)], rtol=1e-12)


def test_chosen_only_where_it_covers_the_call() -> None:
    spec = CrossEntropySpec()
    x = np.zeros((4, 3))
    t = np.zeros(4, dtype=np.int64)
    assert kernels.explain(spec, x, t) == "numpy_cpu"
    assert kernels.explain(spec, x.astype(np.float32), t.astype(np.uint8)) == "numpy_cpu"
    assert kernels.explain(spec, x.astype(np.float16), t).startswith("reference (logits of dtype")
    assert kernels.explain(spec, np.ma.masked_array(x), t).startswith("reference (not a NumPy array")
    assert kernels.explain(spec, np.zeros(3), np.int64(0)).startswith("reference (fewer than two")
    assert kernels.explain(CrossEntropySpec(target="probs"), x, x + 1 / 3).startswith("reference (")
    assert kernels.explain(CrossEntropySpec(axis=1, reduction="sample_mean"), x, t).startswith("reference (")
    assert kernels.explain(CrossEntropySpec(z_loss=1e-4), x, t).startswith("reference (")


def test_threads_share_the_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several threads take the blocks (each one once), and an error in a block reaches the caller."""
    monkeypatch.setattr(_numpy_cpu, "THREADS", 4)
    assert _numpy_cpu.threads() == 4
    monkeypatch.setattr(_numpy_cpu, "THREADS", None)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setattr(_numpy_cpu, "_load", lambda: 0.5)
    assert _numpy_cpu.threads() == 3
    monkeypatch.setattr(_numpy_cpu, "_load", lambda: _numpy_cpu._cpus() + 2.0)  # oversubscribed: one thread
    assert _numpy_cpu.threads() == 1
    monkeypatch.setattr(_numpy_cpu, "DYNAMIC", False)
    assert _numpy_cpu.threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _numpy_cpu.threads() == _numpy_cpu._cpus()
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def work(i: int, tid: int) -> None:
        with lock:
            seen.append((i, threading.current_thread().name))

    _numpy_cpu._parallel(50, work, 4)
    assert sorted(i for i, _ in seen) == list(range(50))

    def fail(i: int, tid: int) -> None:
        if i == 7:
            raise ValueError("block 7")

    with pytest.raises(ValueError, match="block 7"):
        _numpy_cpu._parallel(20, fail, 3)


def test_caller_error_state_applies_in_the_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """NumPy's error state is per thread: the workers take the caller's."""
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def work(i: int, tid: int) -> None:
        time.sleep(0.01)  # every thread gets blocks
        with lock:
            seen.append((threading.get_ident(), np.geterr()["invalid"]))

    with np.errstate(invalid="raise"):
        _numpy_cpu._parallel(8, work, 2)
    assert len({ident for ident, _ in seen}) == 2
    assert {state for _, state in seen} == {"raise"}
    monkeypatch.setattr(_numpy_cpu, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(_numpy_cpu, "BLOCK_BYTES", 1)
    monkeypatch.setattr(_numpy_cpu, "THREADS", 2)
    x = np.zeros((6, 3))
    x[:, 0] = np.inf  # inf - inf: an invalid operation in every block
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError):
        uce.value_and_grad(x, np.zeros(6, dtype=np.int64))


def test_forward_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 64 MiB input: the forward allocates a block of scratch per thread and O(items), not O(items x classes)."""
    monkeypatch.setattr(_numpy_cpu, "THREADS", 2)
    rng = np.random.default_rng(0)
    n, c = 4096, 4096
    x = rng.standard_normal((n, c), dtype=np.float32)
    t = rng.integers(0, c, n)
    assert kernels.explain(CrossEntropySpec(), x, t) == "numpy_cpu"
    uce.cross_entropy(x, t)
    tracemalloc.start()
    try:
        uce.cross_entropy(x, t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * _numpy_cpu.BLOCK_BYTES + 64 * n, peak

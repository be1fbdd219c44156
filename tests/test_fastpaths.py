"""The eager fast paths (:mod:`unified_ce.core.fastpath`) compute the same spec as the plain path.

Each case runs three ways on NumPy and PyTorch arrays: the plain array-API path
(``_fastpath.disabled()``), the in-place path on the whole input, and the bounded-memory path with
the items cut into blocks of a few rows.  Values and gradients must agree with the plain path to
rounding, values with the float64 loop reference, and the caller's arrays must stay untouched.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from unified_ce import CrossEntropySpec, _dispatch
from unified_ce.core import fastpath as _fastpath

from .reference import reference


def _prepare(*args: Any) -> Any:
    """The validated inputs of a call (as the dispatcher builds them)."""
    return _dispatch.prepare(*args)[0]


# (id, spec fields, logits shape, target kind, class weight?, sample weight shape or None)
CASES: list[tuple[str, dict[str, Any], tuple[int, ...], str, bool, tuple[int, ...] | None]] = [
    ("mean", {}, (13, 7), "index", False, None),
    (
        "torch-style",
        {"axis": 1, "ignore_index": -100, "label_smoothing": 0.2, "denominator": "label_weight"},
        (13, 7),
        "index",
        True,
        None,
    ),
    ("per-item-smoothing", {"weighting": "per_item", "label_smoothing": 0.1}, (11, 6), "index", True, None),
    ("ignore-sum-scale", {"ignore_index": 2, "reduction": "sum", "scale": 2.5}, (9, 5), "index", False, None),
    ("none-keepdims", {"reduction": "none", "keepdims": True, "axis": 1}, (10, 4, 3), "index", True, (10, 1, 3)),
    ("none-3d-sw", {"reduction": "none", "axis": 1}, (8, 5, 3), "index", False, (8, 1, 1)),
    ("axis0", {"axis": 0, "label_smoothing": 0.3}, (6, 17), "index", True, None),
    ("sample-mean", {"axis": 1, "reduction": "sample_mean", "batch_axis": 0}, (7, 4, 5), "index", False, (7, 1, 5)),
    ("all-ignored-zero", {"ignore_index": -1, "zero_denominator": "zero"}, (6, 4), "ignored", False, None),
    ("item-weight", {"denominator": "item_weight", "label_smoothing": 0.1}, (12, 5), "index", True, None),
    ("probs", {}, (12, 6), "probs", False, None),
    ("probs-weight-kl", {"soft_loss": "kl", "denominator": "item_weight"}, (12, 6), "probs", True, None),
    ("probs-per-item", {"weighting": "per_item", "label_smoothing": 0.1}, (12, 6), "probs", True, None),
    ("log-probs", {"inputs": "log_probs", "ignore_index": 0}, (10, 5), "logprobs", True, None),
]


def _inputs(shape: tuple[int, ...], kind: str, spec: CrossEntropySpec, cw: bool, sw: tuple[int, ...] | None, seed: int):
    rng = np.random.default_rng(seed)
    axis = spec.axis % len(shape)
    C = shape[axis]
    x = rng.standard_normal(shape) * 4
    x.flat[0] = 60.0  # a large gap
    tshape = shape[:axis] + shape[axis + 1 :]
    if kind in ("index", "ignored", "logprobs"):
        t = rng.integers(0, C, size=tshape)
        if spec.ignore_index is not None:
            t.flat[::3] = spec.ignore_index
        if kind == "ignored":
            t[...] = spec.ignore_index
        if kind == "logprobs":
            x = x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))
    else:
        t = rng.random(shape) + 0.05
        t = t / t.sum(axis=axis, keepdims=True)
    w = rng.uniform(0.5, 2.0, C) if cw else None
    s = rng.uniform(0.5, 1.5, sw) if sw is not None else None
    return x, t, w, s


def _convert(lib: str, dtype: str, *arrays: Any) -> list[Any]:
    out = []
    for a in arrays:
        if a is None:
            out.append(None)
            continue
        if lib == "torch":
            torch = pytest.importorskip("torch")
            a = torch.from_numpy(np.array(a))
            if a.is_floating_point():
                a = a.to(getattr(torch, dtype))
        elif a.dtype.kind == "f":
            a = a.astype(dtype)
        out.append(a)
    return out


def _np(a: Any) -> np.ndarray:
    return a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)


@pytest.fixture(autouse=True)
def _reference_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reference core's fast paths (eager CPU torch tensors would otherwise go to ``torch_cpu``)."""
    monkeypatch.setenv("UNIFIED_CE_KERNEL", "reference")


@pytest.fixture
def tiny_blocks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Cut every input into blocks of about 3 rows; the list counts the blocked evaluations."""
    monkeypatch.setattr(_fastpath, "MIN_BLOCKED_BYTES", 0)
    monkeypatch.setattr(_fastpath, "BLOCK_BYTES", 1)  # one row per block ...
    real = _fastpath.row_blocks
    used: list[int] = []

    def three_rows(inp: Any) -> Any:  # ... widened to three rows, with a short last block
        b = real(inp)
        if b is None:
            return None
        used.append(1)
        return _fastpath.Blocks(b.axis, b.size, 3)

    monkeypatch.setattr(_fastpath, "row_blocks", three_rows)
    return used


@pytest.mark.parametrize("lib", ["numpy", "torch"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("cid", "fields", "shape", "kind", "cw", "sw"), CASES, ids=[c[0] for c in CASES])
def test_fast_paths_match_plain_path(
    lib: str, dtype: str, cid: str, fields: dict, shape: tuple, kind: str, cw: bool, sw: Any, tiny_blocks: list[int]
) -> None:
    spec = CrossEntropySpec(target="probs" if kind == "probs" else "index", **fields)
    x, t, w, s = _inputs(shape, kind, spec, cw, sw, seed=len(cid))
    xs, ts, ws, ss = _convert(lib, dtype, x, t, w, s)
    copies = [None if a is None else _np(a).copy() for a in (xs, ts, ws, ss)]
    rng = np.random.default_rng(1)

    def run(blocks: bool) -> tuple[np.ndarray, np.ndarray]:
        kw = {"class_weight": ws, "sample_weight": ss}
        loss, _ = uce.value_and_grad(xs, ts, spec, **kw)
        go = _convert(lib, dtype, rng.uniform(0.5, 1.5, np.shape(_np(loss))))[0]
        if not blocks:  # the in-place path on the whole input
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(_fastpath, "row_blocks", lambda inp: None)
                loss, grad = uce.value_and_grad(xs, ts, spec, grad_output=go, **kw)
        else:
            loss, grad = uce.value_and_grad(xs, ts, spec, grad_output=go, **kw)
        with _fastpath.disabled():
            loss0, grad0 = uce.value_and_grad(xs, ts, spec, grad_output=go, **kw)
        tol = {"float64": 1e-12, "float32": 2e-6}[dtype]
        np.testing.assert_allclose(_np(loss), _np(loss0), rtol=tol, atol=tol)
        np.testing.assert_allclose(_np(grad), _np(grad0), rtol=tol * 10, atol=tol)
        assert str(_np(grad).dtype) == dtype and _np(grad).shape == shape
        return _np(loss), _np(grad)

    loss_b, _ = run(blocks=True)
    assert len(tiny_blocks) >= 2  # forward and backward went through blocks
    run(blocks=False)
    ref = reference(spec, x, t, w, s)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(loss_b, ref, rtol={"float64": 1e-10, "float32": 1e-4}[dtype], atol=1e-5)
    for a, c in zip((xs, ts, ws, ss), copies):  # the caller's arrays are never written
        if a is not None:
            np.testing.assert_array_equal(_np(a), c)


@pytest.mark.parametrize("cid", ["torch-style", "none-3d-sw", "axis0", "probs"])
def test_torch_autograd_blocks(cid: str, tiny_blocks: list[int]) -> None:
    """torch autograd (the custom Function) on the blocked path gives the plain path's gradient."""
    torch = pytest.importorskip("torch")
    _, fields, shape, kind, cw, sw = next(c for c in CASES if c[0] == cid)
    spec = CrossEntropySpec(target="probs" if kind == "probs" else "index", **fields)
    x, t, w, s = _inputs(shape, kind, spec, cw, sw, seed=3)
    xs, ts, ws, ss = _convert("torch", "float64", x, t, w, s)

    def grad() -> tuple[np.ndarray, np.ndarray]:
        xr = xs.clone().requires_grad_(True)
        loss = uce.cross_entropy(xr, ts, spec, class_weight=ws, sample_weight=ss)
        loss.sum().backward()
        return _np(loss), _np(xr.grad)

    fast = grad()
    assert len(tiny_blocks) >= 2
    with _fastpath.disabled():
        plain = grad()
    for a, b in zip(fast, plain):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    # double backward differentiates the plain path (no in-place work while autograd records)
    xr = xs.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(
        uce.cross_entropy(xr, ts, spec, class_weight=ws, sample_weight=ss).sum(), xr, create_graph=True
    )
    (h,) = torch.autograd.grad(g.pow(2).sum(), xr)
    assert torch.isfinite(h).all()


def test_mutable_only_for_eager_buffers() -> None:
    spec = CrossEntropySpec()
    x = np.zeros((4, 3))
    t = np.zeros(4, dtype=np.int64)
    inp = _prepare(spec, x, t)
    assert _fastpath.mutable(inp)
    with _fastpath.disabled():
        assert not _fastpath.mutable(inp)
    torch = pytest.importorskip("torch")
    xt = torch.zeros(4, 3, requires_grad=True)
    inp = _prepare(spec, xt, torch.zeros(4, dtype=torch.int64))
    assert not _fastpath.mutable(inp)  # autograd records the core's operations
    with torch.no_grad():
        assert _fastpath.mutable(inp)


def test_not_mutable_for_immutable_or_lazy_libraries() -> None:
    spec = CrossEntropySpec()
    for name in ("jax.numpy", "array_api_strict"):
        try:
            xp = __import__(name, fromlist=["_"])
        except ImportError:
            continue
        inp = _prepare(spec, xp.zeros((40, 30)), xp.zeros(40, dtype=xp.int32))
        assert not _fastpath.mutable(inp)
        assert _fastpath.row_blocks(inp) is None


@pytest.mark.parametrize("lib", ["numpy", "torch"])
def test_primitives(lib: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((5, 4, 3))
    idx = rng.integers(0, 4, (5, 1, 3))
    v = rng.standard_normal((5, 1, 3))
    expect = a.copy()
    for i in range(5):
        for k in range(3):
            expect[i, idx[i, 0, k], k] -= v[i, 0, k]
    (aa, ii, vv) = _convert(lib, "float64", a, idx, v)
    xp = uce._backend.namespace_of({"a": aa})
    out = _fastpath.scatter_sub_(xp, aa, ii, vv, 1)
    np.testing.assert_allclose(_np(out), expect)
    buf = _convert(lib, "float64", np.empty((5, 4, 3)))[0]
    m = _convert(lib, "float64", a.max(axis=1, keepdims=True))[0]
    r = _fastpath.subtract_into(xp, aa, m, buf)
    np.testing.assert_allclose(_np(buf), _np(aa) - a.max(axis=1, keepdims=True))
    _fastpath.exp_(xp, r)
    np.testing.assert_allclose(_np(buf), np.exp(_np(aa) - a.max(axis=1, keepdims=True)))


def test_blocked_forward_memory_is_bounded() -> None:
    """A 64 MiB input: the forward allocates O(block) temporaries, not O(items x classes)."""
    rng = np.random.default_rng(0)
    n, c = 4096, 4096
    x = rng.standard_normal((n, c), dtype=np.float32)
    t = rng.integers(0, c, n)
    inp = _prepare(CrossEntropySpec(), x, t)
    assert _fastpath.row_blocks(inp) is not None
    uce.cross_entropy(x, t)
    tracemalloc.start()
    try:
        loss = uce.cross_entropy(x, t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * _fastpath.BLOCK_BYTES + 64 * n, peak
    with _fastpath.disabled():
        np.testing.assert_allclose(loss, uce.cross_entropy(x, t), rtol=1e-6)
    tracemalloc.start()
    try:
        _, grad = uce.value_and_grad(x, t)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < grad.nbytes + 3 * _fastpath.BLOCK_BYTES + 64 * n, peak - grad.nbytes

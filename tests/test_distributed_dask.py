"""Dask arrays on a ``dask.distributed`` cluster: every dialect stays lazy and computes the single-process result.

One ``LocalCluster`` per module (loopback, 2 worker processes with 1 thread each, no dashboard):
the graphs really are pickled, shipped and run in other processes.  Logits are chunked along the
batch, along the classes, or both (uneven chunks); ignore labels fill the first chunk.  Each result
(value and analytic gradient) must equal the same call on the whole NumPy arrays to 1e-12 relative.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from tests.distributed_cases import (
    CORE_CASES,
    CoreCase,
    DialectCall,
    assert_same,
    core_case_ids,
    dialect_calls,
    dialect_ids,
)

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

#: how the logits are chunked: (rows per batch chunk, classes per class chunk); None = one chunk
CHUNKINGS = {"batch": ((2, 3, 7), None), "classes": (None, (3, 4)), "both": ((5, 7), (2, 2, 3))}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _chunks(shape: tuple[int, ...], class_axis: int, chunking: str, *, class_dim: bool = True) -> tuple[Any, ...]:
    """Chunks for an array of ``shape`` whose axis 0 is the batch and ``class_axis`` the classes."""
    rows, classes = CHUNKINGS[chunking]
    out: list[Any] = []
    for i, s in enumerate(shape):
        if i == 0 and rows is not None:
            out.append(_fit(rows, s))
        elif class_dim and i == class_axis and classes is not None:
            out.append(_fit(classes, s))
        else:
            out.append((s,))
    return tuple(out)


def _fit(sizes: tuple[int, ...], n: int) -> tuple[int, ...]:
    """``sizes`` trimmed or extended so that they add up to ``n``."""
    out, left = [], n
    for s in sizes:
        if left <= 0:
            break
        out.append(min(s, left))
        left -= out[-1]
    if left:
        out.append(left)
    return tuple(out)


def _to_dask(arrays: dict[str, np.ndarray], class_axis: int, chunking: str) -> dict[str, Any]:
    x = arrays["logits"]
    out = {"logits": da.from_array(x, chunks=_chunks(x.shape, class_axis, chunking))}
    t = arrays["target"]
    if t.shape == x.shape:  # probabilities: chunked like the logits
        out["target"] = da.from_array(t, chunks=_chunks(t.shape, class_axis, chunking))
    else:  # labels: the logits' chunks without the class axis (a kept size-1 class axis is one chunk)
        t_axis = class_axis if t.ndim == x.ndim else -1
        out["target"] = da.from_array(t, chunks=_chunks(t.shape, t_axis, chunking))
    if "class_weight" in arrays:
        cw = arrays["class_weight"]
        classes = CHUNKINGS[chunking][1]
        out["class_weight"] = da.from_array(cw, chunks=(_fit(classes, cw.size),) if classes else cw.shape)
    if "sample_weight" in arrays:
        sw = arrays["sample_weight"]
        out["sample_weight"] = da.from_array(sw, chunks=_chunks(sw.shape, class_axis, chunking, class_dim=False))
    return out


def _compute(client: Any, lazy: list[Any]) -> list[Any]:
    """Compute on the cluster (explicitly: never the local threaded scheduler)."""
    return client.gather(client.compute(lazy))


# --------------------------------------------------------------------------- core and dialects
#
# Every graph of a table is built first and computed on the cluster in one go (a module fixture):
# the cluster's per-compute overhead, not the arithmetic, is what takes time here.


def _lazy_results(loss: Any, arrays: dict[str, np.ndarray], class_axis: int, **kw: Any) -> list[Any]:
    """[loss, value, gradient] for every chunking, lazy; ``loss(x, t, **weights)`` is the call."""
    lazy = []
    for chunking in CHUNKINGS:
        d = _to_dask(arrays, class_axis, chunking)
        out = loss(d["logits"], d["target"], d)
        value, grad = loss.value_and_grad(d["logits"], d["target"], d)
        assert all(isinstance(a, da.Array) for a in (out, value, grad)), "the loss stays lazy"
        assert grad.chunks == d["logits"].chunks, "the gradient is chunked like the logits"
        lazy += [out, value, grad]
    return lazy


def _check(results: list[Any], expected: Any, exp_value: Any, exp_grad: Any, what: str) -> None:
    for i, chunking in enumerate(CHUNKINGS):
        out, value, grad = results[3 * i : 3 * i + 3]
        assert_same(out, expected, f"{what} {chunking}: loss")
        assert_same(value, exp_value, f"{what} {chunking}: value_and_grad value")
        assert_same(grad, exp_grad, f"{what} {chunking}: gradient")


class _Core:
    """``uce.cross_entropy`` / ``uce.value_and_grad`` of one case, weights taken from the arrays."""

    def __init__(self, case: CoreCase) -> None:
        self.case = case

    def _kw(self, arrays: dict[str, Any]) -> dict[str, Any]:
        return {k: arrays[k] for k in ("class_weight", "sample_weight") if k in arrays}

    def __call__(self, x: Any, t: Any, arrays: dict[str, Any]) -> Any:
        return uce.cross_entropy(x, t, self.case.spec, **self._kw(arrays))

    def value_and_grad(self, x: Any, t: Any, arrays: dict[str, Any]) -> Any:
        return uce.value_and_grad(x, t, self.case.spec, **self._kw(arrays))


class _Dialect:
    """A dialect call bound to the class weights in the arrays."""

    def __init__(self, call: DialectCall) -> None:
        self.call = call

    def __call__(self, x: Any, t: Any, arrays: dict[str, Any]) -> Any:
        return self.call.bind(arrays.get("class_weight"))(x, t)

    def value_and_grad(self, x: Any, t: Any, arrays: dict[str, Any]) -> Any:
        return self.call.bind(arrays.get("class_weight")).value_and_grad(x, t)


CALLS = dialect_calls()


@pytest.fixture(scope="module")
def cluster_results(client: Any) -> dict[str, list[Any]]:
    """Every case's and every dialect call's results, computed on the cluster in one compute."""
    lazy: dict[str, list[Any]] = {}
    for case in CORE_CASES:
        lazy[case.name] = _lazy_results(_Core(case), case.inputs(), case.class_axis)
    for call in CALLS:
        lazy[call.id] = _lazy_results(_Dialect(call), call.inputs(), 1)
    keys = list(lazy)
    flat = [a for k in keys for a in lazy[k]]
    computed = _compute(client, flat)
    out, i = {}, 0
    for k in keys:
        out[k] = computed[i : i + len(lazy[k])]
        i += len(lazy[k])
    return out


@pytest.mark.parametrize("case", CORE_CASES, ids=core_case_ids())
def test_core_on_cluster(cluster_results: dict[str, list[Any]], case: CoreCase) -> None:
    arrays = case.inputs()
    loss = _Core(case)
    expected = loss(arrays["logits"], arrays["target"], arrays)
    exp_value, exp_grad = loss.value_and_grad(arrays["logits"], arrays["target"], arrays)
    _check(cluster_results[case.name], expected, exp_value, exp_grad, case.name)


@pytest.mark.parametrize("call", CALLS, ids=dialect_ids(CALLS))
def test_dialect_on_cluster(cluster_results: dict[str, list[Any]], call: DialectCall) -> None:
    arrays = call.inputs()
    loss = _Dialect(call)
    expected = loss(arrays["logits"], arrays["target"], arrays)
    exp_value, exp_grad = loss.value_and_grad(arrays["logits"], arrays["target"], arrays)
    _check(cluster_results[call.id], expected, exp_value, exp_grad, call.id)


def _boom(block: Any) -> Any:
    raise RuntimeError("computed too early")


@pytest.mark.parametrize("call", CALLS, ids=dialect_ids(CALLS))
def test_dialect_stays_lazy(call: DialectCall) -> None:
    """Calling the dialect computes nothing: logits whose every chunk raises when computed are fine."""
    arrays = call.inputs()
    d = _to_dask(arrays, 1, "both")
    x = d["logits"].map_blocks(_boom, dtype=d["logits"].dtype)
    loss = call.bind(d.get("class_weight"))
    out = loss(x, d["target"])
    value, grad = loss.value_and_grad(x, d["target"])
    assert all(isinstance(a, da.Array) for a in (out, value, grad))
    with pytest.raises(RuntimeError, match="computed too early"):
        out.compute(scheduler="sync")


# --------------------------------------------------------------------------- larger than memory


def _example() -> Any:
    path = Path(__file__).resolve().parents[1] / "examples" / "dask_larger_than_memory.py"
    spec = importlib.util.spec_from_file_location("dask_larger_than_memory", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_larger_than_memory_example_small(client: Any) -> None:
    """The documented example (docs/scaling.md), at a size whose logits fit in memory to check it."""
    ex = _example()
    logits, labels = ex.lazy_dataset(n_rows=600, n_classes=50, rows_per_chunk=128, classes_per_chunk=20, seed=3)
    loss, grad_norm = ex.evaluate(logits, labels)
    assert isinstance(loss, da.Array)
    loss_v, grad_norm_v = _compute(client, [loss, grad_norm])
    x, t = logits.compute(), labels.compute()  # small: the whole arrays, for the single-process result
    assert (t == -100).any() and x.dtype == np.float32
    from unified_ce.adapters.torch import cross_entropy

    exp_loss, exp_grad = cross_entropy.value_and_grad(x, t)
    np.testing.assert_allclose(loss_v, exp_loss, rtol=1e-5)
    np.testing.assert_allclose(grad_norm_v, np.sqrt((exp_grad.astype(np.float64) ** 2).sum()), rtol=1e-5)

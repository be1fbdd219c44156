"""torch.distributed: data-parallel global means, vocabulary-parallel cross-entropy, and both at once.

``torch.multiprocessing.spawn`` starts 2 and 4 processes in a gloo group on loopback (127.0.0.1, a
free port); each runs ``tests/distributed_torch_worker.py`` once for every case and returns what it
got.  Here those parts are put together and compared with the single-process result on the whole
float64 arrays, to 1e-12 relative: values, gradients by autograd (the custom ``autograd.Function``
and the autograd fallback), ``value_and_grad`` and ``loss_sum_and_denominator``, for every reduction
and denominator of :data:`tests.distributed_cases.CORE_CASES` (ignore labels fill the first rows, so
a process may hold no valid item at all) and every dialect present.
"""

from __future__ import annotations

import os
import pickle
import socket
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
    uneven_splits,
)

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not (dist.is_available() and dist.is_gloo_available()):
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

from tests import distributed_torch_worker as worker  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")

WORLDS = (2, 4)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module", params=WORLDS, ids=lambda w: f"world{w}")
def records(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, list[dict[str, Any]]]:
    """Spawn ``world`` processes once and collect every process's record."""
    world = request.param
    out = tmp_path_factory.mktemp(f"world{world}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.multiprocessing.spawn(worker.main, args=(world, _free_port(), str(out)), nprocs=world, join=True)
    recs = []
    for r in range(world):
        with open(out / f"rank{r}.pkl", "rb") as f:
            recs.append(pickle.load(f))
    return world, recs


# --------------------------------------------------------------------------- single-process results


def _weights(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: a[k] for k in ("class_weight", "sample_weight") if k in a}


def _expected_core(case: CoreCase) -> dict[str, Any]:
    a = case.inputs()
    w = _weights(a)
    value = uce.cross_entropy(a["logits"], a["target"], case.spec, **w)
    go = worker.cotangent(np.shape(value))
    exp = {"value": value, "grad": uce.value_and_grad(a["logits"], a["target"], case.spec, grad_output=go, **w)[1]}
    # autograd of the whole (single-process) torch evaluation with the target / class weights as leaves
    others = {}
    if case.spec.target == "probs":
        others["target"] = torch.from_numpy(a["target"]).requires_grad_(True)
    if "class_weight" in a:
        others["class_weight"] = torch.from_numpy(a["class_weight"]).requires_grad_(True)
    if others:
        x = torch.from_numpy(a["logits"]).requires_grad_(True)
        tw = {k: torch.from_numpy(v) for k, v in w.items()}
        tw.update({k: v for k, v in others.items() if k != "target"})
        out = uce.cross_entropy(x, others.get("target", torch.from_numpy(a["target"])), case.spec, **tw)
        out.backward(torch.from_numpy(np.asarray(go)))
        exp["fallback_grad"] = x.grad.numpy()
        for k, v in others.items():
            exp[f"fallback_grad_{k}"] = v.grad.numpy()
    if case.spec.reduction == "mean":
        s, d = uce.loss_sum_and_denominator(a["logits"], a["target"], case.spec, **w)
        exp["sum"], exp["den"] = s, d
    return exp


def _cat(parts: list[Any], axis: int) -> np.ndarray:
    return np.concatenate([np.asarray(p) for p in parts], axis=axis)


def _check_core_record(
    what: str, case: CoreCase, recs: list[dict[str, Any]], *, row_parts: int, class_parts: int
) -> None:
    """Put the processes' parts together (row_parts x class_parts grid, rank = row * class_parts + col)."""
    exp = _expected_core(case)
    ax = case.class_axis
    grid = [[recs[r * class_parts + c] for c in range(class_parts)] for r in range(row_parts)]

    def whole(key: str, *, per_class: bool, summed_rows: bool = False) -> np.ndarray:
        rows = []
        for r in range(row_parts):
            cols = [grid[r][c][key] for c in range(class_parts)]
            rows.append(_cat(cols, ax) if per_class and class_parts > 1 else cols[0])
            if not per_class:  # a per-item value: every process of a row holds the same
                for c in range(1, class_parts):
                    assert_same(grid[r][c][key], cols[0], f"{what} {key}: processes of one row agree")
        if summed_rows:
            return np.sum(rows, axis=0)
        return _cat(rows, 0) if row_parts > 1 else rows[0]

    def scalar(key: str) -> np.ndarray:
        for rec in recs[1:]:
            assert_same(rec[key], recs[0][key], f"{what} {key}: every process holds the same value")
        return recs[0][key]

    per_item = case.item_output()
    for key in ("value", "vg_value") + (("fallback_value",) if "fallback_value" in recs[0] else ()):
        got = whole(key, per_class=False) if per_item else scalar(key)
        assert_same(got, exp["value"], f"{what}: {key}")
    for key in ("grad", "vg_grad") + (("fallback_grad",) if "fallback_grad" in recs[0] else ()):
        assert_same(whole(key, per_class=True), exp["grad"], f"{what}: {key}")
    if "fallback_grad_target" in exp:
        assert_same(whole("fallback_grad_target", per_class=True), exp["fallback_grad_target"], f"{what}: target grad")
    if "fallback_grad_class_weight" in exp:
        # class weights: each process holds all (data parallel) or its slice (class shard); the
        # gradient of a replicated weight is the sum of the processes' parts (what DDP's all-reduce adds)
        parts = [
            np.sum([grid[r][c]["fallback_grad_class_weight"] for r in range(row_parts)], axis=0)
            for c in range(class_parts)
        ]
        assert_same(_cat(parts, 0), exp["fallback_grad_class_weight"], f"{what}: class-weight grad")
    if "sum" in exp:
        assert_same(scalar("sum"), exp["sum"], f"{what}: loss_sum_and_denominator sum")
        assert_same(scalar("den"), exp["den"], f"{what}: loss_sum_and_denominator denominator")


@pytest.mark.parametrize("case", CORE_CASES, ids=core_case_ids())
def test_core_data_parallel(records: tuple[int, list[dict[str, Any]]], case: CoreCase) -> None:
    world, recs = records
    _check_core_record(
        f"data-parallel x{world} {case.name}",
        case,
        [r[f"dp/{case.name}"] for r in recs],
        row_parts=world,
        class_parts=1,
    )


@pytest.mark.parametrize("case", CORE_CASES, ids=core_case_ids())
def test_core_class_parallel(records: tuple[int, list[dict[str, Any]]], case: CoreCase) -> None:
    world, recs = records
    _check_core_record(
        f"class-parallel x{world} {case.name}",
        case,
        [r[f"cp/{case.name}"] for r in recs],
        row_parts=1,
        class_parts=world,
    )


@pytest.mark.parametrize("case", CORE_CASES, ids=core_case_ids())
def test_core_data_and_class_parallel(records: tuple[int, list[dict[str, Any]]], case: CoreCase) -> None:
    world, recs = records
    if world != 4:
        pytest.skip("the 2 x 2 grid needs 4 processes")
    _check_core_record(f"2x2 {case.name}", case, [r[f"2d/{case.name}"] for r in recs], row_parts=2, class_parts=2)


# --------------------------------------------------------------------------- dialects

CALLS = dialect_calls()


def _expected_dialect(call: DialectCall) -> tuple[np.ndarray, np.ndarray]:
    a = call.inputs()
    loss = call.bind(a.get("class_weight"))
    value = loss(a["logits"], a["target"])
    _, grad = loss.value_and_grad(a["logits"], a["target"], grad_output=worker.cotangent(np.shape(value)))
    return value, grad


@pytest.mark.parametrize("call", CALLS, ids=dialect_ids(CALLS))
def test_dialect_data_parallel(records: tuple[int, list[dict[str, Any]]], call: DialectCall) -> None:
    world, recs = records
    value, grad = _expected_dialect(call)
    parts = [r[f"dp/{call.id}"] for r in recs]
    for key in ("value", "vg_value"):
        if call.per_item:
            assert_same(_cat([p[key] for p in parts], 0), value, f"{call.id} x{world}: {key}")
        else:
            for p in parts:
                assert_same(p[key], value, f"{call.id} x{world}: {key} (every process)")
    for key in ("grad", "vg_grad"):
        assert_same(_cat([p[key] for p in parts], 0), grad, f"{call.id} x{world}: {key}")


@pytest.mark.parametrize("call", CALLS, ids=dialect_ids(CALLS))
def test_dialect_class_parallel(records: tuple[int, list[dict[str, Any]]], call: DialectCall) -> None:
    world, recs = records
    value, grad = _expected_dialect(call)
    parts = [r[f"cp/{call.id}"] for r in recs]
    for key in ("value", "vg_value"):
        for p in parts:
            assert_same(p[key], value, f"{call.id} x{world}: {key} (every process)")
    for key in ("grad", "vg_grad"):
        assert_same(_cat([p[key] for p in parts], 1), grad, f"{call.id} x{world}: {key}")


# --------------------------------------------------------------------------- the rest


def test_mean_of_means_is_not_the_global_mean(records: tuple[int, list[dict[str, Any]]]) -> None:
    """The pitfall of docs/scaling.md: averaging per-process means weighs a process with few
    non-ignored items like a full one; process_group gives the global mean."""
    _, recs = records
    case = CORE_CASES[0]
    a = case.inputs()
    expected = uce.cross_entropy(a["logits"], a["target"], case.spec)
    for r in recs:
        assert_same(r["pitfall/global"], expected, "global mean")
    naive = float(recs[0]["pitfall/mean_of_means"])
    assert abs(naive - float(expected)) > 0.05 * abs(float(expected)), (naive, float(expected))


def test_class_shard_helpers(records: tuple[int, list[dict[str, Any]]]) -> None:
    world, recs = records
    even = [r["shard/even"] for r in recs]
    assert [s[:2] for s in even] == [(b[0], b[1] - b[0]) for b in _tensor_split_bounds(11, world)]
    assert [r["shard/gather"] for r in recs] == even
    assert all("class_shard.size is 4" in r["error/size"] for r in recs)


def _tensor_split_bounds(n: int, parts: int) -> list[tuple[int, int]]:
    sizes = [len(p) for p in torch.tensor_split(torch.arange(n), parts)]
    starts = np.cumsum([0, *sizes[:-1]])
    return [(int(s), int(s) + z) for s, z in zip(starts, sizes)]


def test_uneven_splits_leave_a_process_without_valid_items() -> None:
    """The data really is uneven: the first process holds only ignored labels."""
    case = CORE_CASES[0]
    t = case.inputs()["target"]
    for world in WORLDS:
        lo, hi = uneven_splits(t.shape[0], world)[0]
        assert (t[lo:hi] == case.spec.ignore_index).all()


def test_errors_without_a_group() -> None:
    x, t = np.zeros((2, 3)), np.array([0, 1])
    with pytest.raises(uce.InvalidTypeError, match="torch tensors"):
        uce.cross_entropy(x, t, process_group=object())
    if not dist.is_initialized():
        with pytest.raises(uce.InvalidArgumentError, match="init_process_group"):
            uce.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), process_group=object())
    with pytest.raises(uce.InvalidArgumentError, match="start"):
        uce.distributed.ClassShard(3, 2, 4)

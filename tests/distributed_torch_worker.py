"""The process side of ``tests/test_distributed_torch.py``: runs in each spawned process of a gloo group.

Every process builds the same whole float64 inputs (fixed seeds), keeps its part -- rows of the
batch (``process_group``), classes (``class_shard``), or both (a 2 x 2 grid) -- and records what
unified_ce gives it: the loss and the gradients by torch autograd (the custom ``autograd.Function``
path, and the autograd fallback when a probability target or the class weights need a gradient too),
``value_and_grad`` and ``loss_sum_and_denominator``.  The test process compares the records with the
single-process results.  Nothing here computes an expected value.
"""

from __future__ import annotations

import datetime
import pickle
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

import unified_ce as uce
from tests.distributed_cases import CORE_CASES, DialectCall, dialect_calls, uneven_splits
from unified_ce.distributed import ClassShard

#: the cotangent of scalar losses (not 1, so that a missing factor shows)
SCALAR_COTANGENT = 0.75


def cotangent(shape: tuple[int, ...]) -> np.ndarray:
    """The cotangent (``grad_output``) of a loss of ``shape``, the same in every process."""
    if not shape:
        return np.asarray(SCALAR_COTANGENT)
    return np.random.default_rng(7).random(shape) + 0.5


def _np(a: Any) -> Any:
    return None if a is None else a.detach().cpu().numpy().copy()


def _part(a: np.ndarray, axis: int, bounds: tuple[int, int]) -> np.ndarray:
    index = [slice(None)] * a.ndim
    index[axis] = slice(*bounds)
    return np.ascontiguousarray(a[tuple(index)])


# --------------------------------------------------------------------------- the core


def core_inputs(case: Any, rows: tuple[int, int] | None, classes: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """The case's whole inputs cut to this process's rows and / or classes."""
    a = case.inputs()
    probs = a["target"].shape == a["logits"].shape
    out = {}
    for name, v in a.items():
        if rows is not None and name != "class_weight":
            v = _part(v, 0, rows)
        if classes is not None:
            if name == "class_weight":
                v = _part(v, 0, classes)
            elif name == "logits" or (name == "target" and probs):
                v = _part(v, case.class_axis, classes)
        out[name] = v
    return out


def run_core(spec: Any, arrays: dict[str, np.ndarray], go: np.ndarray, **options: Any) -> dict[str, Any]:
    """Everything one process gets from unified_ce for ``spec`` on its arrays."""
    rec: dict[str, Any] = {}
    t = torch.from_numpy(arrays["target"])
    w = {k: torch.from_numpy(arrays[k]) for k in ("class_weight", "sample_weight") if k in arrays}
    g = torch.from_numpy(np.asarray(go))

    # autograd through the custom autograd.Function (only the logits need a gradient)
    x = torch.from_numpy(arrays["logits"]).requires_grad_(True)
    out = uce.cross_entropy(x, t, spec, **w, **options)
    out.backward(g)
    rec["value"], rec["grad"] = _np(out), _np(x.grad)

    # the analytic gradient
    value, grad = uce.value_and_grad(torch.from_numpy(arrays["logits"]), t, spec, grad_output=g, **w, **options)
    rec["vg_value"], rec["vg_grad"] = _np(value), _np(grad)

    # autograd of the core's forward (a probability target or the class weights need a gradient too)
    others = {}
    if spec.target == "probs":
        others["target"] = t.clone().requires_grad_(True)
    if "class_weight" in w:
        others["class_weight"] = w["class_weight"].clone().requires_grad_(True)
    if others:
        x2 = torch.from_numpy(arrays["logits"]).requires_grad_(True)
        kw = {**w, **{k: v for k, v in others.items() if k != "target"}}
        out2 = uce.cross_entropy(x2, others.get("target", t), spec, **kw, **options)
        out2.backward(g)
        rec["fallback_value"], rec["fallback_grad"] = _np(out2), _np(x2.grad)
        for k, v in others.items():
            rec[f"fallback_grad_{k}"] = _np(v.grad)

    if spec.reduction == "mean":
        s, d = uce.loss_sum_and_denominator(torch.from_numpy(arrays["logits"]), t, spec, **w, **options)
        rec["sum"], rec["den"] = _np(s), _np(d)
    return rec


def core_data_parallel(rank: int, world: int) -> dict[str, Any]:
    out = {}
    for case in CORE_CASES:
        whole = case.inputs()
        rows = uneven_splits(whole["logits"].shape[0], world)[rank]
        full_shape = np.shape(uce.cross_entropy(whole["logits"], whole["target"], case.spec, **_weights(whole)))
        go = cotangent(full_shape)
        go = _part(go, 0, rows) if go.ndim else go
        out[f"dp/{case.name}"] = run_core(case.spec, core_inputs(case, rows, None), go, process_group=dist.group.WORLD)
    return out


def core_class_parallel(rank: int, world: int) -> dict[str, Any]:
    out = {}
    for case in CORE_CASES:
        whole = case.inputs()
        C = whole["logits"].shape[case.class_axis]
        classes = uneven_splits(C, world)[rank]
        shard = ClassShard(classes[0], classes[1] - classes[0], C)
        full_shape = np.shape(uce.cross_entropy(whole["logits"], whole["target"], case.spec, **_weights(whole)))
        out[f"cp/{case.name}"] = run_core(
            case.spec, core_inputs(case, None, classes), cotangent(full_shape), class_shard=shard
        )
    return out


def core_two_d(rank: int) -> dict[str, Any]:
    """4 processes as a 2 x 2 grid: rows over the data groups, classes over the class groups."""
    d, c = divmod(rank, 2)
    class_groups = [dist.new_group([0, 1]), dist.new_group([2, 3])]
    data_groups = [dist.new_group([0, 2]), dist.new_group([1, 3])]
    out = {}
    for case in CORE_CASES:
        whole = case.inputs()
        C = whole["logits"].shape[case.class_axis]
        rows = uneven_splits(whole["logits"].shape[0], 2)[d]
        classes = uneven_splits(C, 2)[c]
        shard = ClassShard(classes[0], classes[1] - classes[0], C, class_groups[d])
        full_shape = np.shape(uce.cross_entropy(whole["logits"], whole["target"], case.spec, **_weights(whole)))
        go = cotangent(full_shape)
        go = _part(go, 0, rows) if go.ndim else go
        arrays = core_inputs(case, rows, classes)
        out[f"2d/{case.name}"] = run_core(case.spec, arrays, go, process_group=data_groups[c], class_shard=shard)
    return out


def _weights(a: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: a[k] for k in ("class_weight", "sample_weight") if k in a}


# --------------------------------------------------------------------------- dialects


def run_dialect(call: DialectCall, arrays: dict[str, np.ndarray], go: np.ndarray, **options: Any) -> dict[str, Any]:
    cw = torch.from_numpy(arrays["class_weight"]) if "class_weight" in arrays else None
    loss = call.bind(cw)
    if call.kind == "class":  # a loss object: the options are settable attributes
        for k, v in options.items():
            setattr(loss, k, v)
    else:
        loss = loss.distributed(**options)
    t = torch.from_numpy(arrays["target"])
    g = torch.from_numpy(np.asarray(go))
    x = torch.from_numpy(arrays["logits"]).requires_grad_(True)
    out = loss(x, t)
    out.backward(g)
    value, grad = loss.value_and_grad(torch.from_numpy(arrays["logits"]), t, grad_output=g)
    return {"value": _np(out), "grad": _np(x.grad), "vg_value": _np(value), "vg_grad": _np(grad)}


def dialect_parallel(rank: int, world: int) -> dict[str, Any]:
    out = {}
    for call in dialect_calls():
        whole = call.inputs()
        full_shape = np.shape(call.bind(whole.get("class_weight"))(whole["logits"], whole["target"]))
        go = cotangent(full_shape)
        rows = uneven_splits(whole["logits"].shape[0], world)[rank]
        arrays = {k: (v if k == "class_weight" else _part(v, 0, rows)) for k, v in whole.items()}
        out[f"dp/{call.id}"] = run_dialect(
            call, arrays, _part(go, 0, rows) if go.ndim else go, process_group=dist.group.WORLD
        )
        C = whole["logits"].shape[1]
        classes = uneven_splits(C, world)[rank]
        arrays = {k: (v if k == "target" else _part(v, v.ndim - 1, classes)) for k, v in whole.items()}
        shard = ClassShard(classes[0], classes[1] - classes[0], C)
        out[f"cp/{call.id}"] = run_dialect(call, arrays, go, class_shard=shard)
    return out


# --------------------------------------------------------------------------- the rest


def misc(rank: int, world: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    # the pitfall: averaging per-process means (what averaging a local mean loss over processes gives)
    case = CORE_CASES[0]
    whole = case.inputs()
    rows = uneven_splits(whole["logits"].shape[0], world)[rank]
    x = torch.from_numpy(_part(whole["logits"], 0, rows))
    t = torch.from_numpy(_part(whole["target"], 0, rows))
    local = uce.cross_entropy(x, t, case.spec.replace(zero_denominator="zero"))  # a rank may have no valid item
    naive = local.clone()
    dist.all_reduce(naive)
    out["pitfall/mean_of_means"] = _np(naive / world)
    out["pitfall/global"] = _np(uce.cross_entropy(x, t, case.spec, process_group=dist.group.WORLD))
    # ClassShard helpers
    C = 11
    even = ClassShard.even(C)
    gathered = ClassShard.gather(even.size)
    out["shard/even"] = (even.start, even.size, even.n_classes)
    out["shard/gather"] = (gathered.start, gathered.size, gathered.n_classes)
    # a class shard that does not match the logits
    try:
        uce.cross_entropy(torch.zeros(2, 3, dtype=torch.float64), torch.tensor([0, 1]), class_shard=ClassShard(0, 4, 8))
    except uce.InvalidArgumentError as exc:
        out["error/size"] = str(exc)
    return out


def main(rank: int, world: int, port: int, out_dir: str) -> None:
    """The spawned process: join the gloo group on loopback, record, leave."""
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world,
        timeout=datetime.timedelta(seconds=180),
    )
    results: dict[str, Any] = {}
    try:
        results.update(core_data_parallel(rank, world))
        results.update(core_class_parallel(rank, world))
        results.update(dialect_parallel(rank, world))
        if world == 4:
            results.update(core_two_d(rank))
        results.update(misc(rank, world))
    except Exception:
        results["error"] = traceback.format_exc()
        raise
    finally:
        with open(Path(out_dir) / f"rank{rank}.pkl", "wb") as f:
            pickle.dump(results, f)
        dist.destroy_process_group()

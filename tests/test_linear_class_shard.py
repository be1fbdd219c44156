"""linear_cross_entropy with vocabulary parallelism: ``class_shard=ClassShard(...)`` over torch.distributed.

``torch.multiprocessing.spawn`` starts 2 and 3 processes in a gloo group on loopback; each holds the
rows of ``weight`` (and of ``bias`` and ``class_weight``) of its classes -- an uneven split with 2
processes, ``ClassShard.even`` with 3 -- and the whole ``hidden`` and ``target``.  Each records the
loss, the gradients by torch autograd and by ``linear_value_and_grad``, and the auxiliary outputs.
Here every process's loss and ``d hidden`` must equal the float64 naive computation of
``tests/test_linear.py`` (logits held, autograd of the textbook formula), and the processes' ``d
weight`` / ``d bias`` slices put together must equal its ``d weight`` / ``d bias``.
"""

from __future__ import annotations

import os
import pickle
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from unified_ce import CrossEntropySpec, InvalidArgumentError, InvalidTypeError, linear_cross_entropy
from unified_ce.linear import linear_value_and_grad

from .test_linear import BUDGETS, CASES, make, naive, split

torch = pytest.importorskip("torch")
dist = pytest.importorskip("torch.distributed")
if not (dist.is_available() and dist.is_gloo_available()):
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SHARD_CASES = [
    "ignore-mean",
    "ignore-sum-bias",
    "none",
    "smoothing",
    "all",
    "class-weight",
    "class-weight-smooth",
    "sample-weight-none",
    "items-denominator-scale",
    "all-ignored-zero",
    "shift-none",
]
#: world size -> classes per process (None: ClassShard.even); V = 11
SPLITS: dict[int, tuple[int, ...] | None] = {2: (3, 8), 3: None}
AUX_CASE = "all"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _np(a: Any) -> Any:
    return None if a is None else a.detach().numpy().copy()


def _worker(rank: int, world: int, port: int, out: str, sizes: tuple[int, ...] | None) -> None:
    """One process of the group: its classes of every case, and what unified_ce gives it."""
    from unified_ce.distributed import ClassShard

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        n_classes = make({})["weight"].shape[0]
        shard = ClassShard.even(n_classes) if sizes is None else ClassShard.gather(sizes[rank])
        recs: dict[Any, Any] = {"shard": (shard.start, shard.size)}
        for case in SHARD_CASES:
            opts = dict(CASES)[case]
            a = make(opts)
            spec, llm = split(opts)
            sl = shard.classes
            for budget, mb in BUDGETS.items():
                h = torch.tensor(a["hidden"], requires_grad=True)
                w = torch.tensor(a["weight"][sl], requires_grad=True)
                b = None if a["bias"] is None else torch.tensor(a["bias"][sl], requires_grad=True)
                kw: dict[str, Any] = dict(
                    spec=CrossEntropySpec(**spec),
                    class_weight=None if a["class_weight"] is None else torch.tensor(a["class_weight"][sl]),
                    sample_weight=None if a["sample_weight"] is None else torch.tensor(a["sample_weight"]),
                    memory_budget=mb,
                    class_shard=shard,
                    **llm,
                )
                t, go = torch.tensor(a["target"]), torch.tensor(a["grad_output"])
                loss = linear_cross_entropy(h, w, t, b, **kw)
                ins = [h, w] + ([b] if b is not None else [])
                gs = torch.autograd.grad(loss, ins, go)
                value, vg = linear_value_and_grad(h.detach(), w.detach(), t, b, grad_output=go, **kw)
                rec = {
                    "loss": _np(loss),
                    "grads": [_np(g) for g in gs] + ([None] if b is None else []),
                    "vg_loss": _np(value),
                    "vg_grads": [_np(g) for g in vg],
                }
                if case == AUX_CASE:
                    with torch.no_grad():
                        _, aux = linear_cross_entropy(h, w, t, b, return_aux=True, **kw)
                    rec["aux"] = {k: _np(getattr(aux, k)) for k in ("lse", "entropy", "z_loss")}
                recs[case, budget] = rec
        with open(Path(out) / f"rank{rank}.pkl", "wb") as f:
            pickle.dump(recs, f)
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module", params=sorted(SPLITS), ids=lambda w: f"world{w}")
def records(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> list[dict[Any, Any]]:
    world = request.param
    out = tmp_path_factory.mktemp(f"linear-world{world}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args = (world, _free_port(), str(out), SPLITS[world])
    torch.multiprocessing.spawn(_worker, args=args, nprocs=world, join=True)
    recs = []
    for r in range(world):
        with open(out / f"rank{r}.pkl", "rb") as f:
            recs.append(pickle.load(f))
    return recs


def _close(got: Any, expected: Any, what: str) -> None:
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12, err_msg=what)


@pytest.mark.parametrize("budget", list(BUDGETS))
@pytest.mark.parametrize("case", SHARD_CASES)
def test_class_shard_equals_naive(records: list[dict[Any, Any]], case: str, budget: str) -> None:
    opts = dict(CASES)[case]
    expected, exp_grads, aux = naive(opts, make(opts))
    starts = [r["shard"][0] for r in records]
    assert starts == sorted(starts) and sum(r["shard"][1] for r in records) == 11
    for how in ("", "vg_"):  # autograd, then linear_value_and_grad
        for rank, rec in enumerate(records):
            got = rec[case, budget]
            what = f"{case} rank {rank} {how or 'autograd '}"
            _close(got[how + "loss"], expected, what + "loss")
            _close(got[how + "grads"][0], exp_grads[0], what + "d hidden")
        for k, name in ((1, "weight"), (2, "bias")):
            parts = [rec[case, budget][how + "grads"][k] for rec in records]
            if exp_grads[k] is None:
                assert all(p is None for p in parts)
                continue
            _close(np.concatenate(parts, axis=0), exp_grads[k], f"{case} {how}d {name} (slices put together)")
    if case == AUX_CASE:
        for rec in records:
            for name in ("lse", "entropy", "z_loss"):
                _close(rec[case, budget]["aux"][name], aux[name], f"aux {name}")


def test_class_shard_errors() -> None:
    from unified_ce.distributed import ClassShard

    a = make({})
    with pytest.raises(InvalidTypeError, match="class_shard works on torch tensors"):
        linear_cross_entropy(a["hidden"], a["weight"], a["target"], class_shard=ClassShard(0, 11, 11))
    with pytest.raises(InvalidTypeError, match=r"class_shard must be a unified_ce\.distributed\.ClassShard"):
        linear_cross_entropy(a["hidden"], a["weight"], a["target"], class_shard=(0, 11))
    h, w, t = (torch.tensor(a[k]) for k in ("hidden", "weight", "target"))
    with pytest.raises(InvalidArgumentError, match=r"initialised torch\.distributed"):
        linear_cross_entropy(h, w, t, class_shard=ClassShard(0, 11, 22))

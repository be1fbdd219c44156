"""Record golden data for the rest of the torch loss family from the real PyTorch (CPU).

APIs (attribute names of ``unified_ce.adapters.torch``):

* ``nll_loss`` / ``NLLLoss`` -- log-probability input, ``weight``, ``ignore_index``, ``reduction``;
* ``binary_cross_entropy_with_logits`` / ``BCEWithLogitsLoss`` -- ``weight``, ``pos_weight``;
* ``binary_cross_entropy`` / ``BCELoss`` -- probability input (PyTorch clamps each log at -100).

Run from the repository root with any Python that has torch 2.13.0 (CPU)::

    python tools/golden/record_torch_losses.py            # -> tools/golden/pending/torch_losses.json

The cases of the APIs in ``READY`` (those the dialect implements) are merged into
``unified_ce/conformance/golden/torch.json``, the others wait in ``tools/golden/pending/`` (``_split.py``);
the recorder draws from its own seeded generator, so rerunning it reproduces the data.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import _split  # noqa: E402
from _common import Recorder, err  # noqa: E402

#: the APIs that unified_ce.adapters.torch implements: their cases go into golden/torch.json, the others
#: wait in tools/golden/pending/torch_losses.json (tests/test_golden.py runs every case of the golden file)
READY: set[str] = {"nll_loss", "NLLLoss", "binary_cross_entropy_with_logits", "BCEWithLogitsLoss", "BCELoss",
                   "binary_cross_entropy"}

F16, F32, F64 = np.float16, np.float32, np.float64

#: api name -> (module class, functional)
APIS = {
    "NLLLoss": torch.nn.NLLLoss,
    "nll_loss": F.nll_loss,
    "BCEWithLogitsLoss": torch.nn.BCEWithLogitsLoss,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "BCELoss": torch.nn.BCELoss,
    "binary_cross_entropy": F.binary_cross_entropy,
}
PAIRS = {"nll": ("NLLLoss", "nll_loss"), "bcel": ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits"),
         "bce": ("BCELoss", "binary_cross_entropy")}


def to_t(v):
    if isinstance(v, np.ndarray):
        return torch.from_numpy(np.array(v, copy=True, order="C"))
    return v


def add_cases(R: Recorder) -> None:  # noqa: C901, PLR0915 - a flat list of cases
    rng = np.random.default_rng(20261129)

    def logits(shape, dtype=F32, scale=2.0):
        return np.asarray(rng.standard_normal(shape) * scale, dtype=dtype)

    def log_probs(shape, dtype=F32, axis=1):
        x = rng.standard_normal(shape) * 2.0
        m = x.max(axis=axis, keepdims=True)
        return (x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).astype(dtype)

    def labels(shape, C, dtype=np.int64):
        return rng.integers(0, C, size=shape).astype(dtype)

    def probs01(shape, dtype=F32):
        return np.asarray(rng.uniform(0.02, 0.98, size=shape), dtype=dtype)

    def binary(shape, dtype=F32):
        return rng.integers(0, 2, size=shape).astype(dtype)

    def run(api, init, args, kwargs):
        x = args[0]
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            try:
                xt = to_t(x)
                diff = isinstance(x, np.ndarray) and x.dtype.kind == "f"
                if diff:
                    xt.requires_grad_(True)
                targs = [xt] + [to_t(a) for a in args[1:]]
                tkw = {k: to_t(v) for k, v in kwargs.items()}
                if init is not None:
                    out = APIS[api](**{k: to_t(v) for k, v in init.items()})(*targs, **tkw)
                else:
                    out = APIS[api](*targs, **tkw)
            except Exception as e:  # noqa: BLE001
                return err(e), None, [str(w.message) for w in wl]
            o = out.detach().numpy().copy()
            go = grad = None
            if diff:
                try:
                    if out.dim() == 0:
                        out.backward()
                    else:
                        go = rng.standard_normal(o.shape).astype(o.dtype)
                        (out * torch.from_numpy(go)).sum().backward()
                    grad = None if xt.grad is None else xt.grad.numpy().copy()
                except Exception as e:  # noqa: BLE001
                    wl.append(warnings.WarningMessage(f"backward raised {type(e).__name__}: {e}", Warning, "", 0))
            return {"output": o, "grad": grad}, go, [str(w.message) for w in wl]

    def case(cid, api, params, args, tags=(), note="", invalid=None):
        """A class api (capitalised) takes ``params`` as constructor kwargs, a function as call kwargs."""
        init, kwargs = (dict(params), {}) if api[0].isupper() else (None, dict(params))
        expect, go, wmsgs = run(api, init, args, kwargs)
        wmsgs = [m for m in wmsgs if "size_average" in m or "reduce" in m or "backward" in m or "size" in m]
        if wmsgs:
            note = (note + " " if note else "") + "warnings: " + " | ".join(sorted(set(wmsgs)))[:300]
        tags = list(tags)
        if isinstance(args[0], np.ndarray) and args[0].dtype.kind == "f":
            tags.append(args[0].dtype.name)
        return R.add(id=f"{api}/{cid}", api=api, init=init, method="__call__", args=args, kwargs=kwargs,
                     grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note)

    def both(family, cid, params, args, **kw):
        cls, fn = PAIRS[family]
        case(cid, cls, params, args, **kw)
        case(cid, fn, params, args, **kw)

    N, C = 4, 5
    RED = ("mean", "sum", "none")

    # ============================================================== nll_loss / NLLLoss
    x = log_probs((3, 5), F32)
    both("nll", "doc_example", {}, [x, np.array([1, 0, 4], np.int64)], tags=["doc_example"],
         note="torch docstring: NLLLoss()(LogSoftmax(dim=1)(randn(3,5)), tensor([1,0,4]))")
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        for red in RED:
            both("nll", f"basic-{red}-{dn}", {"reduction": red}, [log_probs((N, C), dt), labels((N,), C)],
                 tags=[f"reduction:{red}"])
            w = rng.uniform(0.2, 2.0, C).astype(dt)
            both("nll", f"weight-{red}-{dn}", {"weight": w, "reduction": red},
                 [log_probs((N, C), dt), labels((N,), C)], tags=["class_weight", f"reduction:{red}"])
    for red in RED:
        x = logits((N, C), F64)
        both("nll", f"raw_scores-{red}", {"reduction": red}, [x, labels((N,), C)], tags=["raw_scores"],
             note="input is not log-probabilities (any real scores): -x[y] taken as it is")
    t = np.array([0, 1, 2, 1, 4, 3], np.int64)
    for red in RED:
        x = log_probs((6, C), F64)
        w = rng.uniform(0.2, 2.0, C).astype(F64)
        both("nll", f"ignore1-{red}", {"ignore_index": 1, "reduction": red}, [x, t],
             tags=["ignore_index", f"reduction:{red}"])
        both("nll", f"ignore1-weight-{red}", {"ignore_index": 1, "weight": w, "reduction": red}, [x, t],
             tags=["ignore_index", "class_weight", f"reduction:{red}"],
             note="mean divides by the sum of weight[target] over non-ignored items")
    x = log_probs((5, C), F32)
    both("nll", "ignore_default-mean-f32", {}, [x, np.array([0, -100, 2, -100, 4], np.int64)], tags=["ignore_index"])
    case("ignore_neg1-mean", "nll_loss", {"ignore_index": -1}, [log_probs((5, C), F64),
         np.array([0, -1, 2, -1, 4], np.int64)], tags=["ignore_index"])
    case("ignore_above_C-mean", "nll_loss", {"ignore_index": 7}, [log_probs((5, C), F64),
         np.array([0, 7, 2, 7, 4], np.int64)], tags=["ignore_index"])
    # all ignored / empty / C=1 / N=1
    x = log_probs((3, C), F64)
    tall = np.full((3,), -100, np.int64)
    for red in RED:
        both("nll", f"all_ignored-{red}", {"reduction": red}, [x, tall], tags=["all_ignored", f"reduction:{red}"])
    case("all_ignored-weight-mean", "nll_loss", {"weight": rng.uniform(0.2, 2, C)}, [x, tall],
         tags=["all_ignored", "class_weight"])
    case("all_ignored-mean-f32", "nll_loss", {}, [x.astype(F32), tall], tags=["all_ignored"])
    for red in RED:
        both("nll", f"N0-{red}", {"reduction": red}, [np.zeros((0, C), F64), np.zeros((0,), np.int64)],
             tags=["empty", f"reduction:{red}"])
    case("N0-weight-mean", "nll_loss", {"weight": np.ones(C)}, [np.zeros((0, C), F64), np.zeros((0,), np.int64)],
         tags=["empty", "class_weight"])
    case("N0-rank3-none", "nll_loss", {"reduction": "none"}, [np.zeros((0, C, 2), F64), np.zeros((0, 2), np.int64)],
         tags=["empty", "higher_rank"])
    both("nll", "N1-mean", {}, [log_probs((1, C), F64), labels((1,), C)], tags=["N=1"])
    both("nll", "C1-mean", {}, [np.zeros((N, 1), F64), np.zeros((N,), np.int64)], tags=["C=1"])
    case("C1-raw-none", "nll_loss", {"reduction": "none"}, [logits((N, 1), F64), np.zeros((N,), np.int64)],
         tags=["C=1", "raw_scores"])
    # unbatched (C,), ranks 3 and 4 (and 5)
    for red in RED:
        both("nll", f"unbatched-{red}", {"reduction": red}, [log_probs((C,), F64, axis=0), np.array(2, np.int64)],
             tags=["unbatched", f"reduction:{red}"])
    both("nll", "unbatched-weight-mean", {"weight": rng.uniform(0.2, 2, C)},
         [log_probs((C,), F64, axis=0), np.array(3, np.int64)], tags=["unbatched", "class_weight"])
    case("unbatched-ignored-mean", "nll_loss", {"ignore_index": 1}, [log_probs((C,), F64, axis=0),
         np.array(1, np.int64)], tags=["unbatched", "all_ignored"])
    case("unbatched-target_1d", "nll_loss", {}, [log_probs((C,), F64, axis=0), np.array([2], np.int64)],
         tags=["unbatched"], note="(C,) input with a (1,) target: torch's forward gives the loss, its backward fails")
    for red in RED:
        x = log_probs((3, C, 2), F64)
        both("nll", f"rank3-{red}", {"reduction": red}, [x, labels((3, 2), C)], tags=["higher_rank"])
    x = log_probs((2, C, 3, 2), F64)
    t4 = labels((2, 3, 2), C)
    t4[0, 1, 1] = 2
    w = rng.uniform(0.2, 2.0, C).astype(F64)
    for red in RED:
        both("nll", f"rank4-weight-ignore2-{red}", {"weight": w, "ignore_index": 2, "reduction": red}, [x, t4],
             tags=["higher_rank", "class_weight", "ignore_index", f"reduction:{red}"])
    case("rank4-mean-f32", "nll_loss", {}, [log_probs((2, C, 3, 2), F32), labels((2, 3, 2), C)],
         tags=["higher_rank"])
    case("rank5-none", "nll_loss", {"reduction": "none"}, [log_probs((2, 3, 2, 2, 2), F64), labels((2, 2, 2, 2), 3)],
         tags=["higher_rank"])
    # large values, float16, label dtypes
    x = np.array([[1e4, -1e4, 0, 5], [-1e4, 1e4, 1e4, 0], [0, 0, 0, -1e4]], F32)
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        case(f"large-none-{dn}", "nll_loss", {"reduction": "none"}, [x.astype(dt), np.array([1, 2, 3], np.int64)],
             tags=["large_logits"])
    case("inf-none", "nll_loss", {"reduction": "none"}, [np.array([[-np.inf, 0.0], [0.0, -np.inf]], F64),
         np.array([0, 1], np.int64)], tags=["nonfinite"], note="-inf log-probabilities give +inf")
    case("float16-mean", "nll_loss", {}, [log_probs((N, C), F16), labels((N,), C)], tags=["float16"])
    case("float16-weight-none", "nll_loss", {"reduction": "none", "weight": rng.uniform(0.2, 2, C).astype(F16)},
         [log_probs((N, C), F16), labels((N,), C)], tags=["float16", "class_weight"])
    for ldt in (np.int32, np.uint8):
        case(f"labels-{np.dtype(ldt).name}", "nll_loss", {}, [log_probs((N, C), F64), labels((N,), C, ldt)],
             tags=["label_dtype"])
    # legacy size_average / reduce
    for params, name in (({"size_average": False}, "size_average=False"), ({"reduce": False}, "reduce=False"),
                         ({"size_average": True, "reduce": True}, "size_average=True,reduce=True")):
        t = labels((N,), C)
        t[1] = -100
        both("nll", f"legacy-{name}", dict(params, weight=rng.uniform(0.2, 2, C)), [log_probs((N, C), F64), t],
             tags=["legacy"])
    # errors
    x = log_probs((N, C), F64)
    for name, tv in (("label_eq_C", [0, C, 1, 2]), ("label_neg1", [0, -1, 1, 2])):
        both("nll", f"{name}-error", {}, [x, np.array(tv, np.int64)], tags=["invalid_label", "error"])
    case("label_eq_C-none-error", "nll_loss", {"reduction": "none"}, [x, np.array([0, C, 1, 2], np.int64)],
         tags=["invalid_label", "error"])
    case("target_batch_mismatch-error", "nll_loss", {}, [x, labels((N + 1,), C)], tags=["error"])
    case("target_float-error", "nll_loss", {}, [x, labels((N,), C).astype(F64)], tags=["error"])
    case("target_probs-error", "nll_loss", {}, [x, np.full((N, C), 0.2)], tags=["error"],
         note="nll_loss has no probability targets")
    both("nll", "weight_wrong_size-error", {"weight": np.ones(C + 1)}, [x, labels((N,), C)], tags=["error"])
    both("nll", "reduction_invalid-error", {"reduction": "avg"}, [x, labels((N,), C)], tags=["error"])
    case("input_0d-error", "nll_loss", {}, [np.array(1.0), np.array(0, np.int64)], tags=["error"])
    case("rank4-target_shape-error", "nll_loss", {}, [log_probs((2, C, 3, 2), F64), labels((2, 3), C)],
         tags=["error"])

    # ============================================================== BCEWithLogitsLoss
    x = logits((3,), F32)
    both("bcel", "doc_example", {}, [x, binary((3,), F32)], tags=["doc_example"],
         note="torch docstring: BCEWithLogitsLoss()(randn(3), empty(3).random_(2))")
    x = logits((10, 64), F32, 1.0)
    case("doc_example-pos_weight", "BCEWithLogitsLoss", {"pos_weight": np.ones(64, F32)},
         [x, np.full((10, 64), 1.5, F32)], tags=["doc_example", "pos_weight"],
         note="torch docstring: target = ones([10, 64]) * 1.5, output = full([10, 64], 1.5), pos_weight = ones([64])")
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        for red in RED:
            both("bcel", f"basic-{red}-{dn}", {"reduction": red}, [logits((N, C), dt), binary((N, C), dt)],
                 tags=[f"reduction:{red}"])
            both("bcel", f"soft-{red}-{dn}", {"reduction": red}, [logits((N, C), dt), probs01((N, C), dt)],
                 tags=["soft_target", f"reduction:{red}"])
    for red in RED:
        x, y = logits((N, C), F64), probs01((N, C), F64)
        both("bcel", f"weight_elem-{red}", {"weight": rng.uniform(0.2, 2, (N, C)), "reduction": red}, [x, y], tags=["weight"])
        both("bcel", f"weight_class-{red}", {"weight": rng.uniform(0.2, 2, C), "reduction": red}, [x, y],
             tags=["weight"], note="weight (C,) broadcast over the last axis")
        both("bcel", f"weight_row-{red}", {"weight": rng.uniform(0.2, 2, (N, 1)), "reduction": red}, [x, y],
             tags=["weight"], note="weight (N, 1): one weight per sample")
        both("bcel", f"pos_weight-{red}", {"pos_weight": rng.uniform(0.5, 3, C), "reduction": red}, [x, y],
             tags=["pos_weight"])
        both("bcel", f"pos_weight-weight-{red}",
             {"pos_weight": rng.uniform(0.5, 3, C), "weight": rng.uniform(0.2, 2, (N, 1)), "reduction": red},
             [x, binary((N, C), F64)], tags=["pos_weight", "weight"])
    x, y = logits((N, C), F64), binary((N, C), F64)
    case("pos_weight_scalar-mean", "binary_cross_entropy_with_logits", {"pos_weight": np.array(2.5)}, [x, y],
         tags=["pos_weight"], note="0-d pos_weight")
    case("pos_weight_full-none", "binary_cross_entropy_with_logits",
         {"pos_weight": rng.uniform(0.5, 3, (N, C)), "reduction": "none"}, [x, y], tags=["pos_weight"],
         note="pos_weight of the input's shape")
    case("pos_weight_1-none", "binary_cross_entropy_with_logits", {"pos_weight": np.ones(1), "reduction": "none"},
         [x, y], tags=["pos_weight"], note="pos_weight (1,) broadcast")
    case("pos_weight_zero-none", "binary_cross_entropy_with_logits",
         {"pos_weight": np.array([0.0, 1, 2, 0, 3]), "reduction": "none"}, [x, y], tags=["pos_weight"])
    case("pos_weight_neg-none", "binary_cross_entropy_with_logits",
         {"pos_weight": np.array([-1.0, 1, 2, 0.5, 3]), "reduction": "none"}, [x, y], tags=["pos_weight"],
         note="negative pos_weight: torch computes it")
    case("pos_weight_wrong-error", "binary_cross_entropy_with_logits", {"pos_weight": np.ones(C + 1)}, [x, y],
         tags=["pos_weight", "error"])
    case("pos_weight_rowwise-error", "binary_cross_entropy_with_logits", {"pos_weight": np.ones(N)}, [x, y],
         tags=["pos_weight", "error"], note="pos_weight broadcasts against the last axis, not the first")
    case("weight_wrong-error", "binary_cross_entropy_with_logits", {"weight": np.ones(C + 1)}, [x, y],
         tags=["weight", "error"])
    case("weight_bigger-error", "binary_cross_entropy_with_logits", {"weight": np.ones((2, N, C)),
         "reduction": "none"}, [x, y], tags=["weight", "error"],
         note="a weight that broadcasts the loss to a bigger shape")
    for shape, name in (((), "rank0"), ((7,), "rank1"), ((2, 3, 4), "rank3"), ((2, 3, 2, 2), "rank4")):
        for red in ("mean", "none"):
            case(f"{name}-{red}", "binary_cross_entropy_with_logits", {"reduction": red},
                 [logits(shape, F64), probs01(shape, F64)], tags=["rank"])
    x4 = logits((2, 3, 2, 4), F64)
    case("rank4-pos_weight-weight-none", "BCEWithLogitsLoss",
         {"pos_weight": rng.uniform(0.5, 3, 4), "weight": rng.uniform(0.2, 2, (3, 1, 1)), "reduction": "none"},
         [x4, binary((2, 3, 2, 4), F64)], tags=["rank", "pos_weight", "weight"])
    for red in RED:
        both("bcel", f"N0-{red}", {"reduction": red}, [np.zeros((0, C), F64), np.zeros((0, C), F64)],
             tags=["empty"])
    case("N0-pos_weight-mean", "binary_cross_entropy_with_logits", {"pos_weight": np.ones(C)},
         [np.zeros((0, C), F64), np.zeros((0, C), F64)], tags=["empty", "pos_weight"])
    case("C1-none", "binary_cross_entropy_with_logits", {"reduction": "none"}, [logits((N, 1), F64),
         binary((N, 1), F64)], tags=["C=1"])
    xl = np.array([[1e4, -1e4, 0, 30], [-1e4, 1e4, -30, 100], [88, -88, 17, -17]], F32)
    yl = np.array([[1, 1, 0.5, 0], [0, 0, 1, 1], [0.3, 0.7, 1, 0]], F32)
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        case(f"large-none-{dn}", "binary_cross_entropy_with_logits", {"reduction": "none"},
             [xl.astype(dt), yl.astype(dt)], tags=["large_logits"])
        case(f"large-pos_weight-none-{dn}", "binary_cross_entropy_with_logits",
             {"reduction": "none", "pos_weight": np.array([2.0, 0.5, 3.0, 1.5], dt)},
             [xl.astype(dt), yl.astype(dt)], tags=["large_logits", "pos_weight"])
    case("inf-none", "binary_cross_entropy_with_logits", {"reduction": "none"},
         [np.array([np.inf, -np.inf, np.inf, -np.inf]), np.array([1.0, 0.0, 0.0, 1.0])], tags=["nonfinite"])
    case("float16-none", "binary_cross_entropy_with_logits", {"reduction": "none"},
         [logits((N, C), F16), probs01((N, C), F16)], tags=["float16"])
    case("float16-pos_weight-mean", "binary_cross_entropy_with_logits", {"pos_weight": np.full(C, 2.0, F16)},
         [logits((N, C), F16), binary((N, C), F16)], tags=["float16", "pos_weight"])
    case("target_outside01-none", "binary_cross_entropy_with_logits", {"reduction": "none"},
         [logits((N, C), F64), rng.uniform(-1, 2, (N, C))], tags=["soft_target"],
         note="targets outside [0, 1]: BCEWithLogits computes the formula (BCELoss refuses them)",
         invalid="targets outside [0, 1] (PyTorch's own OpInfo samples draw them from [0, 1])")
    case("target_shape-error", "binary_cross_entropy_with_logits", {}, [logits((N, C), F64),
         probs01((N, C + 1), F64)], tags=["error"])
    case("target_broadcast-error", "binary_cross_entropy_with_logits", {}, [logits((N, C), F64),
         probs01((C,), F64)], tags=["error"], note="target (C,) with input (N, C): torch refuses")
    case("target_int", "binary_cross_entropy_with_logits", {}, [logits((N, C), F64), binary((N, C), np.int64)],
         tags=["label_dtype"], note="integer targets")
    case("target_f32_input_f64", "binary_cross_entropy_with_logits", {}, [logits((N, C), F64),
         probs01((N, C), F32)], tags=["dtype"])
    both("bcel", "reduction_invalid-error", {"reduction": "avg"}, [logits((N, C), F64), probs01((N, C), F64)],
         tags=["error"])

    # ============================================================== BCELoss
    x = probs01((3,), F32)
    both("bce", "doc_example", {}, [x, probs01((3,), F32)], tags=["doc_example"],
         note="torch docstring: BCELoss()(sigmoid(randn(3, 2)), rand(3, 2)) (shape (3,) here)")
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        for red in RED:
            both("bce", f"basic-{red}-{dn}", {"reduction": red}, [probs01((N, C), dt), binary((N, C), dt)],
                 tags=[f"reduction:{red}"])
            both("bce", f"soft-{red}-{dn}", {"reduction": red}, [probs01((N, C), dt), probs01((N, C), dt)],
                 tags=["soft_target", f"reduction:{red}"])
    for red in RED:
        x, y = probs01((N, C), F64), probs01((N, C), F64)
        both("bce", f"weight_elem-{red}", {"weight": rng.uniform(0.2, 2, (N, C)), "reduction": red}, [x, y],
             tags=["weight"])
        both("bce", f"weight_class-{red}", {"weight": rng.uniform(0.2, 2, C), "reduction": red}, [x, y],
             tags=["weight"])
    xe = np.array([[0.0, 1.0, 0.0, 1.0, 0.5], [1e-50, 1 - 1e-16, 1e-45, 0.999999, 1e-5]], F64)
    ye = np.array([[0.0, 1.0, 1.0, 0.0, 0.5], [1.0, 0.0, 0.3, 0.6, 0.0]], F64)
    for red in RED:
        case(f"clamp-{red}", "binary_cross_entropy", {"reduction": red}, [xe, ye], tags=["clamp"],
             note="inputs at / near 0 and 1: each log clamped at -100; backward divides by max(x(1-x), 1e-12)")
    case("clamp-f32-none", "binary_cross_entropy", {"reduction": "none"},
         [xe.astype(F32), ye.astype(F32)], tags=["clamp"])
    case("clamp-weight-none", "BCELoss", {"weight": np.array([0.5, 2.0, 1.0, 3.0, 1.5]), "reduction": "none"},
         [xe, ye], tags=["clamp", "weight"])
    for red in RED:  # every argument together: class-shaped weight, exact 0 and 1, float32
        both("bce", f"clamp-weight-f32-{red}", {"weight": np.array([0.5, 2.0, 1.0, 3.0, 1.5], F32), "reduction": red},
             [xe.astype(F32), ye.astype(F32)], tags=["clamp", "weight", "float32"])
    for shape, name in (((), "rank0"), ((7,), "rank1"), ((2, 3, 4), "rank3"), ((2, 3, 2, 2), "rank4")):
        case(f"{name}-mean", "binary_cross_entropy", {}, [probs01(shape, F64), probs01(shape, F64)], tags=["rank"])
    for red in RED:
        both("bce", f"N0-{red}", {"reduction": red}, [np.zeros((0, C), F64), np.zeros((0, C), F64)], tags=["empty"])
    case("C1-none", "binary_cross_entropy", {"reduction": "none"}, [probs01((N, 1), F64), binary((N, 1), F64)],
         tags=["C=1"])
    case("float16-none", "binary_cross_entropy", {"reduction": "none"}, [probs01((N, C), F16),
         probs01((N, C), F16)], tags=["float16"])
    case("input_outside01-error", "binary_cross_entropy", {}, [np.array([0.5, 1.2, 0.1]),
         np.array([1.0, 0.0, 1.0])], tags=["error"])
    case("input_negative-error", "BCELoss", {}, [np.array([0.5, -0.1, 0.1]), np.array([1.0, 0.0, 1.0])],
         tags=["error"])
    case("input_nan", "binary_cross_entropy", {"reduction": "none"}, [np.array([0.5, np.nan]),
         np.array([1.0, 0.0])], tags=["nonfinite"])
    case("target_outside01-none", "binary_cross_entropy", {"reduction": "none"},
         [probs01((N, C), F64), rng.uniform(-1, 2, (N, C))], tags=["soft_target"])
    case("target_shape-error", "binary_cross_entropy", {}, [probs01((N, C), F64), probs01((N, C + 1), F64)],
         tags=["error"])
    case("target_broadcast-error", "binary_cross_entropy", {}, [probs01((N, C), F64), probs01((1, C), F64)],
         tags=["error"], note="target size differs from the input size")
    case("weight_wrong-error", "binary_cross_entropy", {"weight": np.ones(C + 1)},
         [probs01((N, C), F64), probs01((N, C), F64)], tags=["error"])
    case("target_f32_input_f64-error", "binary_cross_entropy", {}, [probs01((N, C), F64), probs01((N, C), F32)],
         tags=["dtype", "error"])
    both("bce", "reduction_invalid-error", {"reduction": "avg"}, [probs01((N, C), F64), probs01((N, C), F64)],
         tags=["error"])

    # ============================================================== PyTorch's own OpInfo samples
    # torch.testing._internal.common_methods_invocations: the sample inputs PyTorch's own test suite
    # feeds these ops (float64, CPU), with the values the real op returns for them
    from torch.testing._internal.common_methods_invocations import op_db

    torch.manual_seed(0)
    names = {"nn.functional.nll_loss": "nll_loss", "nn.functional.binary_cross_entropy": "binary_cross_entropy",
             "nn.functional.binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits"}
    for op in op_db:
        if op.name not in names or op.variant_test_name:
            continue
        for k, smp in enumerate(op.sample_inputs("cpu", torch.float64, requires_grad=False)):
            arrays = [smp.input, *smp.args]
            args = [a.numpy().copy() if torch.is_tensor(a) else a for a in arrays]
            kwargs = {n: v.numpy().copy() if torch.is_tensor(v) else v for n, v in smp.kwargs.items()}
            case(f"opinfo-{k}", names[op.name], kwargs, args, tags=["opinfo"],
                 note="sample input of PyTorch's OpInfo for " + op.name)


if __name__ == "__main__":
    torch.set_num_threads(1)
    R = Recorder("torch", "torch", torch.__version__.split("+")[0],
                 {"numpy": np.__version__, "torch": torch.__version__})
    add_cases(R)
    _split.write(R.payload, "torch", "torch_losses", READY, set(APIS))

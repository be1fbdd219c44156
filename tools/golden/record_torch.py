"""Record golden data for the ``torch`` dialect from the real PyTorch (CPU).

Run from the repository root with the golden-a venv::

    /work/golden-venvs/golden-a/bin/python tools/golden/record_torch.py

APIs: ``torch.nn.CrossEntropyLoss`` (class, api "CrossEntropyLoss", method "__call__") and
``torch.nn.functional.cross_entropy`` (api "cross_entropy").
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from _common import Recorder, err  # noqa: E402

torch.set_num_threads(1)
rng = np.random.default_rng(20240613)
R = Recorder(
    "torch", "torch", torch.__version__.split("+")[0],
    {"numpy": np.__version__, "torch": torch.__version__},
)

F32, F64 = np.float32, np.float64


def logits(shape, dtype=F32, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def labels(shape, C, dtype=np.int64):
    return rng.integers(0, C, size=shape).astype(dtype)


def probs(shape, dtype=F32, axis=1):
    x = rng.standard_normal(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)


def to_t(v):
    if isinstance(v, np.ndarray):
        return torch.from_numpy(np.array(v, copy=True, order="C"))
    return v


def run(api, init, args, kwargs):
    """Call the framework; return (expect, grad_output, warning texts)."""
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
            if api == "CrossEntropyLoss":
                mod = torch.nn.CrossEntropyLoss(**{k: to_t(v) for k, v in (init or {}).items()})
                out = mod(*targs, **tkw)
            else:
                out = F.cross_entropy(*targs, **tkw)
        except Exception as e:  # noqa: BLE001
            return err(e), None, [str(w.message) for w in wl]
        o = out.detach().numpy().copy()
        go = None
        grad = None
        if diff:
            try:
                if out.dim() == 0:
                    out.backward()
                else:
                    go = rng.standard_normal(o.shape).astype(o.dtype)
                    (out * torch.from_numpy(go)).sum().backward()
                grad = None if xt.grad is None else xt.grad.numpy().copy()
            except Exception as e:  # noqa: BLE001
                grad = None
                wl.append(warnings.WarningMessage(f"backward raised {type(e).__name__}: {e}", Warning, "", 0))
        return {"output": o, "grad": grad}, go, [str(w.message) for w in wl]


def case(cid, api, params, args, tags=(), note="", invalid=None, call_kwargs=None):
    """api: 'CrossEntropyLoss' -> params are constructor kwargs; 'cross_entropy' -> call kwargs."""
    if api == "CrossEntropyLoss":
        init, kwargs = dict(params), dict(call_kwargs or {})
    else:
        init, kwargs = None, dict(params)
    expect, go, wmsgs = run(api, init, args, kwargs)
    wmsgs = [m for m in wmsgs if "size_average" in m or "reduce" in m or "backward" in m]
    if wmsgs:
        note = (note + " " if note else "") + "warnings: " + " | ".join(sorted(set(wmsgs)))[:300]
    dt = args[0].dtype.name if isinstance(args[0], np.ndarray) else None
    tags = list(tags)
    if dt == "float64" and "float64" not in tags:
        tags.append("float64")
    return R.add(id=f"{api}/{cid}", api=api, init=init, method="__call__", args=args, kwargs=kwargs,
                 grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note)


def both(cid, params, args, **kw):
    case(cid, "CrossEntropyLoss", params, args, **kw)
    case(cid, "cross_entropy", params, args, **kw)


N, C = 4, 5

# ---------------------------------------------------------------- doc example (shapes of the docstring)
x = logits((3, 5), F32, 1.0)
t = labels((3,), 5)
case("doc_example-index", "CrossEntropyLoss", {}, [x, t], tags=["doc_example"],
     note="torch docstring example: input randn(3,5), target random_(5); fixed values here")
x = logits((3, 5), F32, 1.0)
p = probs((3, 5), F32)
case("doc_example-probs", "CrossEntropyLoss", {}, [x, p], tags=["doc_example", "soft_target"],
     note="torch docstring example: target randn(3,5).softmax(dim=1)")
x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]], F32)
t = np.array([3, 0], np.int64)
both("chainer_example", {}, [x, t], tags=["doc_example"], note="chainer doc example input; 0.44018972 expected")

# ---------------------------------------------------------------- basic reductions, both dtypes
for dt, dn in ((F32, "f32"), (F64, "f64")):
    for red in ("mean", "sum", "none"):
        x = logits((N, C), dt)
        t = labels((N,), C)
        both(f"basic-{red}-{dn}", {"reduction": red}, [x, t], tags=[f"reduction:{red}"])
    # class weights
    for red in ("mean", "sum", "none"):
        x = logits((N, C), dt)
        t = labels((N,), C)
        w = rng.uniform(0.2, 2.0, C).astype(dt)
        both(f"weight-{red}-{dn}", {"weight": w, "reduction": red}, [x, t], tags=["class_weight", f"reduction:{red}"])

# ---------------------------------------------------------------- ignore_index
for red in ("mean", "sum", "none"):
    x = logits((6, C), F64)
    t = np.array([0, 1, 2, 1, 4, 3], np.int64)
    both(f"ignore1-{red}", {"ignore_index": 1, "reduction": red}, [x, t], tags=["ignore_index", f"reduction:{red}"],
         note="ignore_index inside class range")
    w = rng.uniform(0.2, 2.0, C).astype(F64)
    both(f"ignore1-weight-{red}", {"ignore_index": 1, "weight": w, "reduction": red}, [x, t],
         tags=["ignore_index", "class_weight", f"reduction:{red}"],
         note="mean denominator = sum of w[label] over non-ignored")
x = logits((5, C), F32)
t = np.array([0, -100, 2, -100, 4], np.int64)
both("ignore_default-mean-f32", {}, [x, t], tags=["ignore_index"], note="default ignore_index=-100")
x = logits((5, C), F32)
t = np.array([0, -1, 2, -1, 4], np.int64)
both("ignore_neg1-mean-f32", {"ignore_index": -1}, [x, t], tags=["ignore_index"])
x = logits((5, C), F64)
t = np.array([0, 7, 2, 7, 4], np.int64)
case("ignore_above_C-mean", "cross_entropy", {"ignore_index": 7}, [x, t], tags=["ignore_index"],
     note="ignore_index outside the class range (above C)")

# ---------------------------------------------------------------- label smoothing
for dt, dn in ((F32, "f32"), (F64, "f64")):
    for red in ("mean", "sum", "none"):
        x = logits((N, C), dt)
        t = labels((N,), C)
        both(f"ls0.1-{red}-{dn}", {"label_smoothing": 0.1, "reduction": red}, [x, t],
             tags=["label_smoothing", f"reduction:{red}"])
for red in ("mean", "sum", "none"):
    x = logits((6, C), F64)
    t = np.array([0, 1, 2, 1, 4, 3], np.int64)
    w = rng.uniform(0.2, 2.0, C).astype(F64)
    both(f"ls0.3-weight-{red}", {"label_smoothing": 0.3, "weight": w, "reduction": red}, [x, t],
         tags=["label_smoothing", "class_weight", f"reduction:{red}"])
    both(f"ls0.2-weight-ignore1-{red}", {"label_smoothing": 0.2, "weight": w, "ignore_index": 1, "reduction": red},
         [x, t], tags=["label_smoothing", "class_weight", "ignore_index", f"reduction:{red}"])
x = logits((6, C), F64)
t = np.array([0, 1, 2, 1, 4, 3], np.int64)
both("ls0.25-ignore1-mean", {"label_smoothing": 0.25, "ignore_index": 1}, [x, t],
     tags=["label_smoothing", "ignore_index"])
x = logits((N, C), F64)
t = labels((N,), C)
case("ls1.0-mean", "cross_entropy", {"label_smoothing": 1.0}, [x, t], tags=["label_smoothing"],
     note="label_smoothing=1.0 (uniform target)")
case("ls-0.1-negative", "cross_entropy", {"label_smoothing": -0.1}, [logits((N, C), F64), labels((N,), C)],
     tags=["label_smoothing"], invalid="label_smoothing < 0",
     note="torch only checks label_smoothing <= 1.0 in C++; a negative value computes a number")
case("ls1.5-error", "cross_entropy", {"label_smoothing": 1.5}, [logits((N, C), F64), labels((N,), C)],
     tags=["label_smoothing", "error"])
case("ls-0.1-negative-probs", "cross_entropy", {"label_smoothing": -0.1}, [logits((N, C), F64), probs((N, C), F64)],
     tags=["label_smoothing", "soft_target"], invalid="label_smoothing < 0")

# ---------------------------------------------------------------- probability targets
for dt, dn in ((F32, "f32"), (F64, "f64")):
    for red in ("mean", "sum", "none"):
        x = logits((N, C), dt)
        p = probs((N, C), dt)
        both(f"probs-{red}-{dn}", {"reduction": red}, [x, p], tags=["soft_target", f"reduction:{red}"])
for red in ("mean", "sum", "none"):
    x = logits((N, C), F64)
    p = probs((N, C), F64)
    w = rng.uniform(0.2, 2.0, C).astype(F64)
    both(f"probs-weight-{red}", {"weight": w, "reduction": red}, [x, p], tags=["soft_target", "class_weight", f"reduction:{red}"],
         note="probs + weight: per class inside the sum; mean divides by N (not by weights)")
    both(f"probs-weight-ls0.2-{red}", {"weight": w, "label_smoothing": 0.2, "reduction": red}, [x, p],
         tags=["soft_target", "class_weight", "label_smoothing", f"reduction:{red}"])
x = logits((N, C), F64)
p = probs((N, C), F64)
both("probs-ls0.1-mean", {"label_smoothing": 0.1}, [x, p], tags=["soft_target", "label_smoothing"])
x = logits((N, C), F64)
p = rng.uniform(0, 2, (N, C)).astype(F64)
both("probs-unnormalised-mean", {}, [x, p], tags=["soft_target", "unnormalised"],
     note="soft target rows do not sum to 1; torch takes them as given")
case("probs-unnormalised-ls0.3-none", "cross_entropy", {"label_smoothing": 0.3, "reduction": "none"}, [x, p],
     tags=["soft_target", "unnormalised", "label_smoothing", "reduction:none"])
x = logits((N, C), F64)
p = probs((N, C), F64)
both("probs-ignore_index-mean", {"ignore_index": 1}, [x, p], tags=["soft_target", "ignore_index"],
     note="ignore_index has no effect with probability targets")
x = logits((N, C), F64)
p = np.eye(C, dtype=F64)[labels((N,), C)]
case("probs-onehot-mean", "cross_entropy", {}, [x, p], tags=["soft_target"])
x = logits((N, C), F32)
p = probs((N, C), F64)
case("probs-dtype_mismatch", "cross_entropy", {}, [x, p], tags=["soft_target", "error"],
     note="float32 input with float64 probability target: torch promotes, output is float64")
x = logits((N, C), F64)
p = np.array([[0.5, 0.5, 0, 0, 0], [-0.2, 1.2, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1]], F64)
case("probs-negative", "cross_entropy", {"reduction": "none"}, [x, p], tags=["soft_target", "reduction:none"],
     note="negative entries in a probability target: valid input (PyTorch's own tests feed them)")

# ---------------------------------------------------------------- unbatched
for red in ("mean", "sum", "none"):
    x = logits((C,), F64)
    t = np.array(2, np.int64)
    both(f"unbatched-{red}", {"reduction": red}, [x, t], tags=["unbatched", f"reduction:{red}"])
x = logits((C,), F32)
t = np.array(3, np.int64)
w = rng.uniform(0.2, 2.0, C).astype(F32)
both("unbatched-weight-mean-f32", {"weight": w}, [x, t], tags=["unbatched", "class_weight"])
both("unbatched-weight-ls0.1-none", {"weight": w.astype(F64), "label_smoothing": 0.1, "reduction": "none"}, [x.astype(F64), t],
     tags=["unbatched", "class_weight", "label_smoothing", "reduction:none"])
x = logits((C,), F64)
t = np.array(1, np.int64)
both("unbatched-ignored-mean", {"ignore_index": 1}, [x, t], tags=["unbatched", "ignore_index", "all_ignored"])
case("unbatched-ignored-none", "cross_entropy", {"ignore_index": 1, "reduction": "none"}, [x, t],
     tags=["unbatched", "ignore_index", "all_ignored", "reduction:none"])
for red in ("mean", "none"):
    x = logits((C,), F64)
    p = probs((C,), F64, axis=0)
    w = rng.uniform(0.2, 2.0, C).astype(F64)
    both(f"unbatched-probs-{red}", {"reduction": red}, [x, p], tags=["unbatched", "soft_target", f"reduction:{red}"])
    both(f"unbatched-probs-weight-ls0.2-{red}", {"reduction": red, "weight": w, "label_smoothing": 0.2}, [x, p],
         tags=["unbatched", "soft_target", "class_weight", "label_smoothing", f"reduction:{red}"])
x = logits((C,), F64)
case("unbatched-target_1d", "cross_entropy", {}, [x, np.array([2], np.int64)], tags=["unbatched"],
     note="(C,) input with (1,) target: forward returns the loss of class 2, backward raises size mismatch")
case("unbatched-target_1d-ls0.1", "cross_entropy", {"label_smoothing": 0.1}, [x, np.array([2], np.int64)],
     tags=["unbatched", "label_smoothing"])

# ---------------------------------------------------------------- higher rank (N,C,d1,d2) and (N,C,d1)
for red in ("mean", "sum", "none"):
    x = logits((2, C, 3, 2), F64)
    t = labels((2, 3, 2), C)
    both(f"rank4-{red}", {"reduction": red}, [x, t], tags=["higher_rank", f"reduction:{red}"])
x = logits((2, C, 3, 2), F64)
t = labels((2, 3, 2), C)
t[0, 1, 1] = 2
t[1, 0, 0] = 2
w = rng.uniform(0.2, 2.0, C).astype(F64)
for red in ("mean", "none"):
    both(f"rank4-weight-ignore2-ls0.1-{red}", {"weight": w, "ignore_index": 2, "label_smoothing": 0.1, "reduction": red},
         [x, t], tags=["higher_rank", "class_weight", "ignore_index", "label_smoothing", f"reduction:{red}"])
x = logits((2, C, 3, 2), F32)
t = labels((2, 3, 2), C)
both("rank4-weight-mean-f32", {"weight": rng.uniform(0.2, 2.0, C).astype(F32)}, [x, t], tags=["higher_rank", "class_weight"])
for red in ("mean", "none"):
    x = logits((2, C, 3, 2), F64)
    p = probs((2, C, 3, 2), F64, axis=1)
    both(f"rank4-probs-weight-ls0.1-{red}", {"reduction": red, "weight": w, "label_smoothing": 0.1}, [x, p],
         tags=["higher_rank", "soft_target", "class_weight", "label_smoothing", f"reduction:{red}"])
x = logits((3, C, 2), F64)
t = labels((3, 2), C)
both("rank3-mean", {}, [x, t], tags=["higher_rank"])
case("rank3-none", "cross_entropy", {"reduction": "none"}, [x, t], tags=["higher_rank", "reduction:none"])
x = logits((2, C, 3, 2), F64)
case("rank4-target_shape-error", "cross_entropy", {}, [x, labels((2, 3), C)], tags=["higher_rank", "error"])
case("rank4-target_transposed-error", "cross_entropy", {}, [x, labels((2, 2, 3), C)], tags=["higher_rank", "error"])

# ---------------------------------------------------------------- deprecated size_average / reduce
combos = [
    ({"size_average": False}, "size_average=False"),
    ({"size_average": True}, "size_average=True"),
    ({"reduce": False}, "reduce=False"),
    ({"reduce": True}, "reduce=True"),
    ({"size_average": False, "reduce": True}, "size_average=False,reduce=True"),
    ({"size_average": True, "reduce": False}, "size_average=True,reduce=False"),
    ({"size_average": False, "reduce": False}, "size_average=False,reduce=False"),
    ({"size_average": True, "reduction": "sum"}, "size_average=True,reduction=sum"),
    ({"reduce": False, "reduction": "mean"}, "reduce=False,reduction=mean"),
    ({"size_average": False, "reduction": "none"}, "size_average=False,reduction=none"),
    ({"size_average": None, "reduce": None, "reduction": "sum"}, "size_average=None,reduce=None,reduction=sum"),
]
for params, name in combos:
    x = logits((N, C), F64)
    t = labels((N,), C)
    t[1] = -100
    w = rng.uniform(0.2, 2.0, C).astype(F64)
    tags = ["size_average" if "size_average" in params else "reduce"]
    if "size_average" in params and "reduce" in params:
        tags.append("reduce")
    both(f"legacy-{name}", dict(params, weight=w), [x, t], tags=tags + ["class_weight", "ignore_index"],
         note="deprecated args override reduction")

# ---------------------------------------------------------------- label dtypes
for ldt in (np.int32, np.uint8, np.int16, np.int8):
    x = logits((N, C), F64)
    t = labels((N,), C, ldt)
    both(f"labels-{np.dtype(ldt).name}", {}, [x, t], tags=[f"{np.dtype(ldt).name}_labels"])
x = logits((N, C), F64)
t = labels((N,), C, np.int32)
t[2] = 1
case("labels-int32-ignore1-weight", "cross_entropy", {"ignore_index": 1, "weight": rng.uniform(0.2, 2, C)},
     [x, t], tags=["int32_labels", "ignore_index", "class_weight"])
x = logits((N, C), F64)
case("labels-float-error", "cross_entropy", {}, [x, labels((N,), C).astype(F64)], tags=["float_labels", "error"],
     note="float (N,) target is neither index (needs integer) nor probs (needs input's shape)")
case("labels-bool-error", "cross_entropy", {}, [x, np.array([True, False, True, True])], tags=["error"])

# ---------------------------------------------------------------- all ignored, N=0, N=1, C=1
x = logits((3, C), F64)
t = np.full((3,), -100, np.int64)
for red in ("mean", "sum", "none"):
    both(f"all_ignored-{red}", {"reduction": red}, [x, t], tags=["all_ignored", "ignore_index", f"reduction:{red}"])
both("all_ignored-weight-mean", {"weight": rng.uniform(0.2, 2, C)}, [x, t], tags=["all_ignored", "class_weight"])
case("all_ignored-ls0.1-mean", "cross_entropy", {"label_smoothing": 0.1}, [x, t], tags=["all_ignored", "label_smoothing"])
x = logits((3, C), F32)
case("all_ignored-mean-f32", "cross_entropy", {}, [x, t], tags=["all_ignored"])
for red in ("mean", "sum", "none"):
    x = np.zeros((0, C), F64)
    t = np.zeros((0,), np.int64)
    both(f"N0-{red}", {"reduction": red}, [x, t], tags=["empty", f"reduction:{red}"])
    case(f"N0-probs-{red}", "cross_entropy", {"reduction": red}, [x, np.zeros((0, C), F64)],
         tags=["empty", "soft_target", f"reduction:{red}"])
case("N0-weight-mean", "cross_entropy", {"weight": np.ones(C)}, [np.zeros((0, C), F64), np.zeros((0,), np.int64)],
     tags=["empty", "class_weight"])
case("N0-ls0.1-mean", "cross_entropy", {"label_smoothing": 0.1}, [np.zeros((0, C), F32), np.zeros((0,), np.int64)],
     tags=["empty", "label_smoothing"])
x = logits((1, C), F64)
both("N1-mean", {}, [x, labels((1,), C)], tags=["N=1"])
x = logits((N, 1), F64)
t = np.zeros((N,), np.int64)
both("C1-mean", {}, [x, t], tags=["C=1"])
case("C1-ls0.3-none", "cross_entropy", {"label_smoothing": 0.3, "reduction": "none"}, [x, t], tags=["C=1", "label_smoothing"])
case("C1-probs-none", "cross_entropy", {"reduction": "none"}, [x, np.ones((N, 1), F64)], tags=["C=1", "soft_target"])

# ---------------------------------------------------------------- large logits
x = np.array([[1e4, -1e4, 0, 5], [-1e4, 1e4, 1e4, 0], [64, 0, -64, 1], [0, 0, 0, 1e4]], F32)
t = np.array([1, 2, 2, 0], np.int64)
for dt, dn in ((F32, "f32"), (F64, "f64")):
    both(f"large_logits-none-{dn}", {"reduction": "none"}, [x.astype(dt), t], tags=["large_logits", "reduction:none"])
    case(f"large_logits-ls0.1-none-{dn}", "cross_entropy", {"reduction": "none", "label_smoothing": 0.1},
         [x.astype(dt), t], tags=["large_logits", "label_smoothing", "reduction:none"])
    p = probs((4, 4), dt)
    case(f"large_logits-probs-none-{dn}", "cross_entropy", {"reduction": "none"}, [x.astype(dt), p],
         tags=["large_logits", "soft_target", "reduction:none"])
x = np.array([[88.0, 0.0, -20.0], [0.0, 100.0, 30.0]], F32)
case("large_logits-gap88-f32", "cross_entropy", {"reduction": "none"}, [x, np.array([2, 0], np.int64)],
     tags=["large_logits", "reduction:none"])
x = np.array([[np.inf, 0.0, 1.0], [-np.inf, 0.0, 1.0]], F64)
case("inf_logits-none", "cross_entropy", {"reduction": "none"}, [x, np.array([1, 1], np.int64)],
     tags=["large_logits", "nonfinite", "reduction:none"], note="+inf/-inf logits")

# ---------------------------------------------------------------- invalid labels / shapes / args
x = logits((N, C), F64)
for name, tv in (("label_eq_C", [0, C, 1, 2]), ("label_above_C", [0, 9, 1, 2]), ("label_neg1", [0, -1, 1, 2]),
                 ("label_neg2_ignore_neg1", [0, -2, 1, 2])):
    params = {"ignore_index": -1} if "ignore" in name else {}
    both(f"{name}-error", params, [x, np.array(tv, np.int64)], tags=["invalid_label", "error"])
case("label_eq_C-none-error", "cross_entropy", {"reduction": "none"}, [x, np.array([0, C, 1, 2], np.int64)],
     tags=["invalid_label", "error", "reduction:none"])
case("label_eq_C-ls0.1-error", "cross_entropy", {"label_smoothing": 0.1}, [x, np.array([0, C, 1, 2], np.int64)],
     tags=["invalid_label", "error", "label_smoothing"])
case("label_eq_C-weight-error", "cross_entropy", {"weight": np.ones(C)}, [x, np.array([0, C, 1, 2], np.int64)],
     tags=["invalid_label", "error", "class_weight"])
case("target_batch_mismatch-error", "cross_entropy", {}, [x, labels((N + 1,), C)], tags=["error"])
case("probs_shape_mismatch-error", "cross_entropy", {}, [x, probs((N, C + 1), F64)], tags=["soft_target", "error"])
both("weight_wrong_size-error", {"weight": np.ones(C + 1)}, [x, labels((N,), C)], tags=["class_weight", "error"])
case("weight_2d-error", "cross_entropy", {"weight": np.ones((1, C))}, [x, labels((N,), C)], tags=["class_weight", "error"])
case("weight_dtype_mismatch", "cross_entropy", {"weight": np.ones(C, F32)}, [x, labels((N,), C)],
     tags=["class_weight", "error"], note="float64 input with float32 weight")
both("reduction_invalid-error", {"reduction": "avg"}, [x, labels((N,), C)], tags=["error"])
case("input_int-error", "cross_entropy", {}, [np.arange(N * C).reshape(N, C).astype(np.int64), labels((N,), C)],
     tags=["error"])
case("input_0d-error", "cross_entropy", {}, [np.array(1.0), np.array(0, np.int64)], tags=["error"])
x = logits((N, C), F64)
case("probs_int_same_shape", "cross_entropy", {}, [x, labels((N, C), 2)], tags=["error"],
     note="integer target with the input's shape (not probs since not floating)")

R.write("torch")

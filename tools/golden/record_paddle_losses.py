"""Record golden data for Paddle's modern losses from the real PaddlePaddle 3.3.1 (CPU).

APIs (attribute names of ``unified_ce.adapters.paddle``):

* ``cross_entropy`` / ``CrossEntropyLoss`` -- ``weight``, ``ignore_index``, ``reduction``,
  ``soft_label``, ``axis``, ``use_softmax``, ``label_smoothing``;
* ``binary_cross_entropy_with_logits`` / ``BCEWithLogitsLoss`` -- ``weight``, ``pos_weight``.

Run from the repository root in the golden-a venv (tools/golden/README.md)::

    /work/venvs/golden-a/bin/python tools/golden/record_paddle_losses.py
    # -> tools/golden/pending/paddle_losses.json

The cases of the APIs in ``READY`` (those the dialect implements) are merged into
``unified_ce/conformance/golden/paddle.json``, the others wait in ``tools/golden/pending/`` (``_split.py``);
the recorder draws from its own seeded generator, so rerunning it reproduces the data.

Quirks seen in ``python/paddle/nn/functional/loss.py``
(3.3.1) that these cases pin down:

* ``reduction='mean'`` with the default ``ignore_index=-100`` (any negative value) and no
  ``weight`` divides by *all* items (``mean_all``), ignored ones included; a non-negative
  ``ignore_index`` divides by the non-ignored count, and 0 / 0 gives 0 (``count + (count == 0)``);
  with ``weight`` it divides by the sum of ``weight[label]`` over non-ignored items;
* soft labels with ``weight`` multiply each item by ``sum_c label_c weight_c`` and the mean divides
  by the sum of those;
* ``label_smoothing > 0`` turns any label into a smoothed one-hot soft label (the soft-label weight
  rule above applies; ``ignore_index`` then has no effect);
* ``use_softmax=False`` takes probabilities: ``-log(p)``, with ``log(0)`` clipped to -1e20;
* empty input with ``reduction='mean'`` gives nan;
* ``binary_cross_entropy_with_logits``'s ``pos_weight`` enters the phi kernel as a log-weight
  ``label * (pos_weight - 1) + 1`` on the ``log(1 + exp(-|x|))`` term only.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import paddle  # noqa: E402

import _split  # noqa: E402
from _common import Recorder, err  # noqa: E402

#: the APIs that unified_ce.adapters.paddle implements: their cases go into golden/paddle.json, the others
#: wait in tools/golden/pending/paddle_losses.json (tests/test_golden.py runs every case of the golden file)
READY: set[str] = {"binary_cross_entropy_with_logits", "BCEWithLogitsLoss", "cross_entropy", "CrossEntropyLoss"}

F16, F32, F64 = np.float16, np.float32, np.float64

APIS = {
    "cross_entropy": paddle.nn.functional.cross_entropy,
    "CrossEntropyLoss": paddle.nn.CrossEntropyLoss,
    "binary_cross_entropy_with_logits": paddle.nn.functional.binary_cross_entropy_with_logits,
    "BCEWithLogitsLoss": paddle.nn.BCEWithLogitsLoss,
}
PAIRS = {"ce": ("CrossEntropyLoss", "cross_entropy"), "bce": ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits")}


def _tensor(v, grad=False):
    if not isinstance(v, np.ndarray):
        return v
    t = paddle.to_tensor(np.array(v, copy=True))
    t.stop_gradient = not grad
    return t


def add_cases(R: Recorder) -> None:  # noqa: C901, PLR0915 - a flat list of cases
    rng = np.random.default_rng(20261130)

    def logits(shape, dt=F32, scale=2.0):
        return np.asarray(rng.standard_normal(shape) * scale, dtype=dt)

    def labels(shape, C, dt=np.int64):
        return np.asarray(rng.integers(0, C, size=shape), dtype=dt)

    def soft(shape, dt=F32, axis=-1):
        e = rng.uniform(0.05, 1.0, size=shape)
        return np.asarray(e / e.sum(axis=axis, keepdims=True), dtype=dt)

    def probs01(shape, dt=F32):
        return np.asarray(rng.uniform(0.02, 0.98, size=shape), dtype=dt)

    def binary(shape, dt=F32):
        return np.asarray(rng.integers(0, 2, size=shape), dtype=dt)

    def run(api, init, args, kwargs):
        x = args[0]
        diff = isinstance(x, np.ndarray) and x.dtype.kind == "f"
        go = g = None
        note = ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                xt = _tensor(x, grad=diff)
                targs = [xt] + [_tensor(a) for a in args[1:]]
                tkw = {k: _tensor(v) for k, v in kwargs.items()}
                if init is not None:
                    out = APIS[api](**{k: _tensor(v) for k, v in init.items()})(*targs, **tkw)
                else:
                    out = APIS[api](*targs, **tkw)
                o = np.array(out.numpy(), copy=True)
            except Exception as exc:  # noqa: BLE001
                return err(exc), None, ""
            if diff and x.size > 0:
                try:
                    if o.ndim == 0:
                        (gt,) = paddle.grad([out], [xt])
                    else:
                        go = rng.uniform(-1.0, 1.0, size=o.shape).astype(o.dtype)
                        (gt,) = paddle.grad([out], [xt], grad_outputs=[_tensor(go)])
                    g = None if gt is None else np.array(gt.numpy(), copy=True)
                except Exception as exc:  # noqa: BLE001
                    go = None
                    note = f"backward raised {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
        return {"output": o, "grad": g}, go, note

    def bce_grad_of_forward(x, z, pos_weight, go):
        """The derivative of binary_cross_entropy_with_logits' forward by Paddle's autodiff of the same
        function written smoothly, (1 - z) x + (1 + (q - 1) z) softplus(-x): Paddle's kernel backward at
        x == 0 is not the derivative (its |x| / max(x, 0) pieces)."""
        xt = _tensor(x, grad=True)
        zt = _tensor(z)
        coef = 1.0 if pos_weight is None else 1.0 + (_tensor(pos_weight) - 1.0) * zt
        out = (1.0 - zt) * xt + coef * paddle.nn.functional.softplus(-xt)
        (gt,) = paddle.grad([out], [xt], grad_outputs=[_tensor(go)])
        return np.array(gt.numpy(), copy=True)

    def case(cid, api, params, args, tags=(), note="", invalid=None):
        init, kwargs = (dict(params), {}) if api[0].isupper() else (None, dict(params))
        expect, go, n2 = run(api, init, args, kwargs)
        if (api == "binary_cross_entropy_with_logits" and "large_logits" in tags and go is not None
                and expect.get("grad") is not None):
            g = bce_grad_of_forward(args[0], args[1], kwargs.get("pos_weight"), go)
            if not np.allclose(g, expect["grad"], rtol=1e-6, atol=1e-7):
                expect["grad_of_forward"] = g
                note = (note + "; " if note else "") + "Paddle's backward at x == 0 is not the derivative of its forward"
        if n2:
            note = (note + " " if note else "") + n2
        tags = list(tags)
        if isinstance(args[0], np.ndarray) and args[0].dtype.kind == "f":
            tags.append(args[0].dtype.name)
        tol = None
        if (params.get("label_smoothing", 0) > 0 and not params.get("soft_label") and len(args) > 1
                and getattr(args[0], "dtype", None) == F64 and np.dtype(getattr(args[1], "dtype", "f8")).kind in "iu"):
            # Paddle smooths a float32 one_hot and casts it to float64: the smoothed target (and so the
            # loss, and a backward softmax - q~ that is not quite the forward's derivative) is float32-rounded
            tol = "float32"
        return R.add(id=f"{api}/{cid}", api=api, init=init, method="__call__", args=args, kwargs=kwargs,
                     grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note, tolerance_dtype=tol)

    def both(family, cid, params, args, **kw):
        cls, fn = PAIRS[family]
        case(cid, cls, params, args, **kw)
        case(cid, fn, params, args, **kw)

    N, C = 4, 5
    RED = ("mean", "sum", "none")

    # ============================================================== cross_entropy / CrossEntropyLoss
    x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]], F32)
    both("ce", "chainer_example", {}, [x, np.array([3, 0], np.int64)], tags=["doc_example"])
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        for red in RED:
            both("ce", f"basic-{red}-{dn}", {"reduction": red}, [logits((N, C), dt), labels((N,), C)],
                 tags=[f"reduction:{red}"])
            both("ce", f"weight-{red}-{dn}", {"weight": rng.uniform(0.2, 2, C).astype(dt), "reduction": red},
                 [logits((N, C), dt), labels((N,), C)], tags=["class_weight", f"reduction:{red}"])
    # label with the class axis kept as size 1
    both("ce", "label_kept_axis-none", {"reduction": "none"}, [logits((N, C), F64), labels((N, 1), C)],
         tags=["label_shape"])
    case("label_kept_axis-mean", "cross_entropy", {}, [logits((N, C), F64), labels((N, 1), C)], tags=["label_shape"])
    case("label_int32-mean", "cross_entropy", {}, [logits((N, C), F64), labels((N,), C, np.int32)],
         tags=["label_dtype"])
    # ignore_index: default -100 (mean over all items!), non-negative, with weight
    t = np.array([0, 1, 2, 1, 4, 3], np.int64)
    tm = np.array([0, -100, 2, -100, 4, 3], np.int64)
    for red in RED:
        x = logits((6, C), F64)
        w = rng.uniform(0.2, 2, C)
        both("ce", f"ignore1-{red}", {"ignore_index": 1, "reduction": red}, [x, t], tags=["ignore_index"])
        both("ce", f"ignore1-weight-{red}", {"ignore_index": 1, "weight": w, "reduction": red}, [x, t],
             tags=["ignore_index", "class_weight"])
        both("ce", f"ignore_default-{red}", {"reduction": red}, [x, tm], tags=["ignore_index"],
             note="labels -100 ignored; mean divides by all 6 items (negative ignore_index: mean_all)")
        both("ce", f"ignore_default-weight-{red}", {"weight": w, "reduction": red}, [x, tm],
             tags=["ignore_index", "class_weight"])
    x = logits((6, C), F64)
    case("ignore_neg1-mean", "cross_entropy", {"ignore_index": -1}, [x, np.array([0, -1, 2, -1, 4, 3])],
         tags=["ignore_index"])
    case("ignore0-mean", "cross_entropy", {"ignore_index": 0}, [x, np.array([0, 1, 0, 1, 4, 3])],
         tags=["ignore_index"])
    case("ignore_above_C-mean", "cross_entropy", {"ignore_index": 7}, [x, np.array([0, 7, 2, 7, 4, 3])],
         tags=["ignore_index"])
    x = logits((3, C), F64)
    for red in RED:
        both("ce", f"all_ignored1-{red}", {"ignore_index": 1, "reduction": red}, [x, np.ones(3, np.int64)],
             tags=["all_ignored"])
        case(f"all_ignored_default-{red}", "cross_entropy", {"reduction": red}, [x, np.full(3, -100)],
             tags=["all_ignored"])
    case("all_ignored1-weight-mean", "cross_entropy", {"ignore_index": 1, "weight": rng.uniform(0.2, 2, C)},
         [x, np.ones(3, np.int64)], tags=["all_ignored", "class_weight"])
    case("all_ignored_default-weight-mean", "cross_entropy", {"weight": rng.uniform(0.2, 2, C)},
         [x, np.full(3, -100)], tags=["all_ignored", "class_weight"])
    # soft labels
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        for red in RED:
            both("ce", f"soft-{red}-{dn}", {"soft_label": True, "reduction": red}, [logits((N, C), dt),
                 soft((N, C), dt)], tags=["soft_label"])
    for red in RED:
        both("ce", f"soft-weight-{red}", {"soft_label": True, "weight": rng.uniform(0.2, 2, C), "reduction": red},
             [logits((N, C), F64), soft((N, C), F64)], tags=["soft_label", "class_weight"],
             note="item weight sum_c label_c w_c; mean divides by its sum")
    case("soft-ignore_index5-error", "cross_entropy", {"soft_label": True, "ignore_index": 5},
         [logits((N, C), F64), soft((N, C), F64)], tags=["soft_label", "error"])
    case("soft-ignore_index_neg1", "cross_entropy", {"soft_label": True, "ignore_index": -1},
         [logits((N, C), F64), soft((N, C), F64)], tags=["soft_label"])
    case("soft-unnormalised-none", "cross_entropy", {"soft_label": True, "reduction": "none"},
         [logits((N, C), F64), rng.uniform(0, 1, (N, C))], tags=["soft_label"],
         invalid="soft labels that do not sum to 1 (the paddle dialect requires distributions)")
    # label smoothing
    for red in RED:
        x = logits((N, C), F64)
        both("ce", f"ls0.1-{red}", {"label_smoothing": 0.1, "reduction": red}, [x, labels((N,), C)],
             tags=["label_smoothing"])
        both("ce", f"ls0.2-weight-{red}", {"label_smoothing": 0.2, "weight": rng.uniform(0.2, 2, C),
             "reduction": red}, [x, labels((N,), C)], tags=["label_smoothing", "class_weight"])
        case(f"ls0.3-soft-{red}", "cross_entropy", {"label_smoothing": 0.3, "soft_label": True, "reduction": red},
             [x, soft((N, C), F64)], tags=["label_smoothing", "soft_label"])
        case(f"ls0.3-onehot-{red}", "cross_entropy", {"label_smoothing": 0.3, "reduction": red},
             [x, np.eye(C)[labels((N,), C)]], tags=["label_smoothing"],
             note="label_smoothing > 0 with a one-hot label of the input's shape (soft_label False)")
    case("ls0.1-f32-mean", "cross_entropy", {"label_smoothing": 0.1}, [logits((N, C), F32), labels((N,), C)],
         tags=["label_smoothing"])
    case("ls0.1-ignore1-mean", "cross_entropy", {"label_smoothing": 0.1, "ignore_index": 1},
         [logits((6, C), F64), np.array([0, 1, 2, 1, 4, 3])], tags=["label_smoothing", "ignore_index"],
         note="label_smoothing turns labels into soft ones: ignore_index no longer applies")
    case("ls0.1-ignore0-mean", "cross_entropy", {"label_smoothing": 0.1, "ignore_index": 0},
         [logits((6, C), F64), np.array([0, 1, 2, 1, 4, 3])], tags=["label_smoothing", "ignore_index"],
         note="the mean divides by the smoothed label's entries != ignore_index: N * C")
    case("ls0.1-ignore1-weight-mean", "cross_entropy", {"label_smoothing": 0.1, "ignore_index": 1,
         "weight": rng.uniform(0.2, 2, C)}, [logits((6, C), F64), np.array([0, 1, 2, 1, 4, 3])],
         tags=["label_smoothing", "ignore_index", "class_weight"],
         note="the mean divides by C * sum_i sum_c q~_ic w_c")
    case("ls0.1-ignore1-sum", "cross_entropy", {"label_smoothing": 0.1, "ignore_index": 1, "reduction": "sum"},
         [logits((6, C), F64), np.array([0, 1, 2, 1, 4, 3])], tags=["label_smoothing", "ignore_index"])
    case("soft-ignore0-mean", "cross_entropy", {"soft_label": True, "ignore_index": 0},
         [logits((N, C), F64), soft((N, C), F64)], tags=["soft_label", "ignore_index"],
         note="the mean divides by the soft label's nonzero entries")
    case("ls0.1-ignore_default-mean", "cross_entropy", {"label_smoothing": 0.1},
         [logits((6, C), F64), np.array([0, -100, 2, -100, 4, 3])], tags=["label_smoothing", "ignore_index"])
    case("ls1.0-mean", "cross_entropy", {"label_smoothing": 1.0}, [logits((N, C), F64), labels((N,), C)],
         tags=["label_smoothing"])
    case("ls1.5", "cross_entropy", {"label_smoothing": 1.5}, [logits((N, C), F64), labels((N,), C)],
         tags=["label_smoothing"], invalid="label_smoothing > 1")
    case("ls-0.1", "cross_entropy", {"label_smoothing": -0.1}, [logits((N, C), F64), labels((N,), C)],
         tags=["label_smoothing"], note="label_smoothing <= 0: no smoothing at all")
    case("ls0.1-axis0-mean", "cross_entropy", {"label_smoothing": 0.1, "axis": 0},
         [logits((C, N), F64), labels((N,), C)], tags=["label_smoothing", "axis"])
    # use_softmax=False: probabilities in
    for red in RED:
        p = soft((N, C), F64)
        both("ce", f"no_softmax-{red}", {"use_softmax": False, "reduction": red}, [p, labels((N,), C)],
             tags=["use_softmax"])
        case(f"no_softmax-soft-{red}", "cross_entropy", {"use_softmax": False, "soft_label": True, "reduction": red},
             [soft((N, C), F64), soft((N, C), F64)], tags=["use_softmax", "soft_label"])
        case(f"no_softmax-weight-ignore1-{red}", "cross_entropy", {"use_softmax": False, "ignore_index": 1,
             "weight": rng.uniform(0.2, 2, C), "reduction": red}, [soft((6, C), F64), t],
             tags=["use_softmax", "ignore_index", "class_weight"])
    case("no_softmax-ls0.1-mean", "cross_entropy", {"use_softmax": False, "label_smoothing": 0.1},
         [soft((N, C), F64), labels((N,), C)], tags=["use_softmax", "label_smoothing"])
    case("no_softmax-f32-none", "cross_entropy", {"use_softmax": False, "reduction": "none"},
         [soft((N, C), F32), labels((N,), C)], tags=["use_softmax"])
    pz = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [1e-30, 0.2, 0.8]], F64)
    case("no_softmax-zero_prob-none", "cross_entropy", {"use_softmax": False, "reduction": "none"},
         [pz, np.array([0, 2, 0])], tags=["use_softmax", "clip"], note="log(0) of the label's probability")
    case("no_softmax-zero_prob-soft-none", "cross_entropy",
         {"use_softmax": False, "soft_label": True, "reduction": "none"},
         [pz, np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])], tags=["use_softmax", "clip"])
    case("no_softmax-zero_prob-f32-none", "cross_entropy", {"use_softmax": False, "reduction": "none"},
         [pz.astype(F32), np.array([0, 2, 0])], tags=["use_softmax", "clip"])
    case("no_softmax-raw-none", "cross_entropy", {"use_softmax": False, "reduction": "none"},
         [rng.uniform(0.1, 3, (N, C)), labels((N,), C)], tags=["use_softmax"],
         note="use_softmax=False on inputs that are not probabilities (> 1): -log(x) as given",
         invalid="probabilities above 1 (the paddle dialect requires them in [0, 1])")
    # axis and ranks
    for red in ("mean", "none"):
        both("ce", f"axis1-rank3-{red}", {"axis": 1, "reduction": red}, [logits((2, C, 3), F64), labels((2, 3), C)],
             tags=["axis", "higher_rank"])
        case(f"axis1-rank4-weight-ignore2-{red}", "cross_entropy", {"axis": 1, "weight": rng.uniform(0.2, 2, C),
             "ignore_index": 2, "reduction": red}, [logits((2, C, 3, 2), F64), labels((2, 3, 2), C)],
             tags=["axis", "higher_rank", "class_weight", "ignore_index"])
        case(f"axis0-{red}", "cross_entropy", {"axis": 0, "reduction": red}, [logits((C, N), F64), labels((N,), C)],
             tags=["axis"])
        case(f"axis-1-rank4-{red}", "cross_entropy", {"reduction": red}, [logits((2, 3, 2, C), F64),
             labels((2, 3, 2), C)], tags=["higher_rank"])
        case(f"axis1-soft-weight-{red}", "cross_entropy", {"axis": 1, "soft_label": True, "reduction": red,
             "weight": rng.uniform(0.2, 2, C)}, [logits((2, C, 3), F64), soft((2, C, 3), F64, axis=1)],
             tags=["axis", "soft_label", "class_weight"])
    case("rank1-mean", "cross_entropy", {}, [logits((C,), F64), np.array(2)], tags=["rank1"],
         note="(C,) input with a 0-d label")
    case("rank1-label1-none", "cross_entropy", {"reduction": "none"}, [logits((C,), F64), np.array([2])],
         tags=["rank1"])
    # empty, C=1, N=1, large logits
    for red in RED:
        both("ce", f"N0-{red}", {"reduction": red}, [np.zeros((0, C), F64), np.zeros((0,), np.int64)],
             tags=["empty"])
    case("N0-weight-mean", "cross_entropy", {"weight": np.ones(C)}, [np.zeros((0, C), F64),
         np.zeros((0,), np.int64)], tags=["empty", "class_weight"])
    case("N0-soft-mean", "cross_entropy", {"soft_label": True}, [np.zeros((0, C), F64), np.zeros((0, C))],
         tags=["empty", "soft_label"])
    case("C1-mean", "cross_entropy", {}, [logits((N, 1), F64), np.zeros((N,), np.int64)], tags=["C=1"])
    case("C1-ls0.3-none", "cross_entropy", {"label_smoothing": 0.3, "reduction": "none"},
         [logits((N, 1), F64), np.zeros((N,), np.int64)], tags=["C=1"])
    case("N1-mean", "cross_entropy", {}, [logits((1, C), F64), labels((1,), C)], tags=["N=1"])
    xl = np.array([[1e4, -1e4, 0, 5], [-1e4, 1e4, 1e4, 0], [64, 0, -64, 1], [0, 0, 0, 1e4]], F32)
    tl = np.array([1, 2, 2, 0])
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        case(f"large-none-{dn}", "cross_entropy", {"reduction": "none"}, [xl.astype(dt), tl], tags=["large_logits"])
        case(f"large-ls0.1-none-{dn}", "cross_entropy", {"reduction": "none", "label_smoothing": 0.1},
             [xl.astype(dt), tl], tags=["large_logits"])
    case("float16-mean", "cross_entropy", {}, [logits((N, C), F16), labels((N,), C)], tags=["float16"])
    # errors
    x = logits((N, C), F64)
    for name, tv in (("label_eq_C", [0, C, 1, 2]), ("label_neg1", [0, -1, 1, 2])):
        case(f"{name}-error", "cross_entropy", {}, [x, np.array(tv)], tags=["invalid_label", "error"])
    case("label_eq_C-weight-error", "cross_entropy", {"weight": np.ones(C)}, [x, np.array([0, C, 1, 2])],
         tags=["invalid_label", "error"])
    both("ce", "reduction_invalid-error", {"reduction": "avg"}, [x, labels((N,), C)], tags=["error"])
    case("weight_wrong_size-error", "cross_entropy", {"weight": np.ones(C + 1)}, [x, labels((N,), C)],
         tags=["error"])
    case("label_rank-error", "cross_entropy", {}, [x, labels((N, 2, 2), C)], tags=["error"])
    case("input_0d-error", "cross_entropy", {}, [np.array(1.0), np.array(0)], tags=["error"])
    case("soft_shape-error", "cross_entropy", {"soft_label": True}, [x, soft((N, C + 1), F64)], tags=["error"])
    case("label_float", "cross_entropy", {"reduction": "none"}, [x, np.array([0.0, 2.0, 1.0, 3.0])],
         tags=["label_dtype"], note="float hard labels")

    # ============================================================== binary_cross_entropy_with_logits
    x = np.array([5.0, 1.0, 3.0], F32)
    both("bce", "doc_example", {}, [x, np.array([1.0, 0.0, 1.0], F32)], tags=["doc_example"],
         note="paddle docstring: logit [5.0, 1.0, 3.0], label [1.0, 0.0, 1.0] -> 0.45618808")
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        for red in RED:
            both("bce", f"basic-{red}-{dn}", {"reduction": red}, [logits((N, C), dt), binary((N, C), dt)],
                 tags=[f"reduction:{red}"])
            both("bce", f"soft-{red}-{dn}", {"reduction": red}, [logits((N, C), dt), probs01((N, C), dt)],
                 tags=["soft_target"])
    for red in RED:
        x, y = logits((N, C), F64), probs01((N, C), F64)
        both("bce", f"weight_elem-{red}", {"weight": rng.uniform(0.2, 2, (N, C)), "reduction": red}, [x, y],
             tags=["weight"])
        both("bce", f"weight_class-{red}", {"weight": rng.uniform(0.2, 2, C), "reduction": red}, [x, y],
             tags=["weight"])
        both("bce", f"pos_weight-{red}", {"pos_weight": rng.uniform(0.5, 3, C), "reduction": red}, [x, y],
             tags=["pos_weight"])
        both("bce", f"pos_weight-binary-{red}", {"pos_weight": rng.uniform(0.5, 3, C), "reduction": red},
             [x, binary((N, C), F64)], tags=["pos_weight"])
        both("bce", f"pos_weight-weight-{red}", {"pos_weight": rng.uniform(0.5, 3, C),
             "weight": rng.uniform(0.2, 2, (N, 1)), "reduction": red}, [x, binary((N, C), F64)],
             tags=["pos_weight", "weight"])
    x, y = logits((N, C), F64), binary((N, C), F64)
    case("pos_weight_full-none", "binary_cross_entropy_with_logits", {"pos_weight": rng.uniform(0.5, 3, (N, C)),
         "reduction": "none"}, [x, y], tags=["pos_weight"])
    case("pos_weight_1-none", "binary_cross_entropy_with_logits", {"pos_weight": np.array([2.0]),
         "reduction": "none"}, [x, y], tags=["pos_weight"])
    case("pos_weight_wrong-error", "binary_cross_entropy_with_logits", {"pos_weight": np.ones(C + 1)}, [x, y],
         tags=["pos_weight", "error"])
    case("weight_wrong-error", "binary_cross_entropy_with_logits", {"weight": np.ones(C + 1)}, [x, y],
         tags=["weight", "error"])
    xl = np.array([[1e4, -1e4, 0, 30], [-1e4, 1e4, -30, 100], [88, -88, 17, -17]], F32)
    yl = np.array([[1, 1, 0.5, 0], [0, 0, 1, 1], [0.3, 0.7, 1, 0]], F32)
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        case(f"large-none-{dn}", "binary_cross_entropy_with_logits", {"reduction": "none"},
             [xl.astype(dt), yl.astype(dt)], tags=["large_logits"])
        case(f"large-pos_weight-none-{dn}", "binary_cross_entropy_with_logits",
             {"reduction": "none", "pos_weight": np.array([2.0, 0.5, 3.0, 1.5], dt)},
             [xl.astype(dt), yl.astype(dt)], tags=["large_logits", "pos_weight"])
    for shape, name in (((7,), "rank1"), ((2, 3, 4), "rank3"), ((2, 3, 2, 2), "rank4")):
        case(f"{name}-none", "binary_cross_entropy_with_logits", {"reduction": "none"},
             [logits(shape, F64), probs01(shape, F64)], tags=["rank"])
    case("rank0-mean", "binary_cross_entropy_with_logits", {}, [np.array(0.7), np.array(1.0)], tags=["rank"])
    for red in RED:
        case(f"N0-{red}", "binary_cross_entropy_with_logits", {"reduction": red},
             [np.zeros((0, C), F64), np.zeros((0, C), F64)], tags=["empty"])
    case("label_minus100-none", "binary_cross_entropy_with_logits", {"reduction": "none"},
         [logits((2, 3), F64), np.array([[1.0, -100.0, 0.0], [0.0, 1.0, -100.0]])], tags=["ignore"],
         note="the phi kernel ignores label == -100 (kIgnoreIndex)")
    case("label_outside01-none", "binary_cross_entropy_with_logits", {"reduction": "none"},
         [logits((N, C), F64), rng.uniform(-1, 2, (N, C))], tags=["soft_target"],
         invalid="labels outside [0, 1] (probabilities)")
    case("label_shape-error", "binary_cross_entropy_with_logits", {}, [logits((N, C), F64),
         probs01((N, C + 1), F64)], tags=["error"])
    case("label_broadcast", "binary_cross_entropy_with_logits", {}, [logits((N, C), F64), probs01((C,), F64)],
         tags=["error"])
    case("float16-none", "binary_cross_entropy_with_logits", {"reduction": "none"},
         [logits((N, C), F16), probs01((N, C), F16)], tags=["float16"])
    both("bce", "reduction_invalid-error", {"reduction": "avg"}, [logits((N, C), F64), probs01((N, C), F64)],
         tags=["error"])

    # ============================================================== use_softmax=False, every argument
    # (a generator of their own: the cases above keep their data)
    rng = np.random.default_rng(20261201)  # noqa: F841 - read by the helpers above through their closure
    _no_softmax_cases(case, both, logits, labels, soft)


def _no_softmax_cases(case, both, logits, labels, soft) -> None:  # noqa: PLR0915 - a flat list of cases
    """``use_softmax=False``: probabilities in, ``-TolerableValue(log p)`` (log 0 -> -1e20), backward ``-q / p``."""
    N, C, RED = 4, 5, ("mean", "sum", "none")
    ns = {"use_softmax": False}
    tags = ["use_softmax"]
    t = np.array([0, 1, 2, 1, 4, 3], np.int64)
    tm = np.array([0, -100, 2, -100, 4, 3], np.int64)
    for red in RED:
        both("ce", f"no_softmax-f32-{red}", {**ns, "reduction": red}, [soft((N, C), F32), labels((N,), C)], tags=tags)
        w = np.random.default_rng(len(red)).uniform(0.2, 2, C)
        both("ce", f"no_softmax-weight-{red}", {**ns, "weight": w, "reduction": red},
             [soft((N, C), F64), labels((N,), C)], tags=[*tags, "class_weight"])
        case(f"no_softmax-weight-f32-{red}", "cross_entropy", {**ns, "weight": w.astype(F32), "reduction": red},
             [soft((N, C), F32), labels((N,), C)], tags=[*tags, "class_weight"])
        both("ce", f"no_softmax-ignore1-{red}", {**ns, "ignore_index": 1, "reduction": red}, [soft((6, C), F64), t],
             tags=[*tags, "ignore_index"])
        both("ce", f"no_softmax-ignore_default-{red}", {**ns, "reduction": red}, [soft((6, C), F64), tm],
             tags=[*tags, "ignore_index"], note="labels -100 ignored; mean divides by all 6 items (mean_all)")
        case(f"no_softmax-ignore_default-weight-{red}", "cross_entropy", {**ns, "weight": w, "reduction": red},
             [soft((6, C), F64), tm], tags=[*tags, "ignore_index", "class_weight"])
        both("ce", f"no_softmax-soft-weight-{red}", {**ns, "soft_label": True, "weight": w, "reduction": red},
             [soft((N, C), F64), soft((N, C), F64)], tags=[*tags, "soft_label", "class_weight"])
        case(f"no_softmax-soft-f32-{red}", "cross_entropy", {**ns, "soft_label": True, "reduction": red},
             [soft((N, C), F32), soft((N, C), F32)], tags=[*tags, "soft_label"])
        # label smoothing in float32 (float64 input has Paddle's float32-rounded smoothing, pending)
        case(f"no_softmax-ls0.1-f32-{red}", "cross_entropy", {**ns, "label_smoothing": 0.1, "reduction": red},
             [soft((N, C), F32), labels((N,), C)], tags=[*tags, "label_smoothing"])
        case(f"no_softmax-ls0.2-weight-f32-{red}", "cross_entropy",
             {**ns, "label_smoothing": 0.2, "weight": w.astype(F32), "reduction": red},
             [soft((N, C), F32), labels((N,), C)], tags=[*tags, "label_smoothing", "class_weight"])
        case(f"no_softmax-ls0.3-soft-f32-{red}", "cross_entropy",
             {**ns, "label_smoothing": 0.3, "soft_label": True, "reduction": red},
             [soft((N, C), F32), soft((N, C), F32)], tags=[*tags, "label_smoothing", "soft_label"])
        case(f"no_softmax-ls0.3-onehot-f32-{red}", "cross_entropy", {**ns, "label_smoothing": 0.3, "reduction": red},
             [soft((N, C), F32), np.eye(C, dtype=F32)[labels((N,), C)]], tags=[*tags, "label_smoothing"])
    for red in ("mean", "none"):
        both("ce", f"no_softmax-axis1-rank3-{red}", {**ns, "axis": 1, "reduction": red},
             [soft((2, C, 3), F64, axis=1), labels((2, 3), C)], tags=[*tags, "axis", "higher_rank"])
        case(f"no_softmax-axis0-{red}", "cross_entropy", {**ns, "axis": 0, "reduction": red},
             [soft((C, N), F64, axis=0), labels((N,), C)], tags=[*tags, "axis"])
        case(f"no_softmax-axis1-rank4-weight-ignore2-{red}", "cross_entropy",
             {**ns, "axis": 1, "weight": np.linspace(0.5, 1.5, C), "ignore_index": 2, "reduction": red},
             [soft((2, C, 3, 2), F64, axis=1), labels((2, 3, 2), C)],
             tags=[*tags, "axis", "higher_rank", "class_weight", "ignore_index"])
        case(f"no_softmax-axis-1-rank4-{red}", "cross_entropy", {**ns, "reduction": red},
             [soft((2, 3, 2, C), F64), labels((2, 3, 2), C)], tags=[*tags, "higher_rank"])
        case(f"no_softmax-axis1-soft-{red}", "cross_entropy", {**ns, "axis": 1, "soft_label": True, "reduction": red},
             [soft((2, C, 3), F64, axis=1), soft((2, C, 3), F64, axis=1)], tags=[*tags, "axis", "soft_label"])
        case(f"no_softmax-axis1-soft-weight-{red}", "cross_entropy",
             {**ns, "axis": 1, "soft_label": True, "weight": np.linspace(0.5, 1.5, C), "reduction": red},
             [soft((2, C, 3), F64, axis=1), soft((2, C, 3), F64, axis=1)],
             tags=[*tags, "axis", "soft_label", "class_weight"])
    both("ce", "no_softmax-label_kept_axis-none", {**ns, "reduction": "none"},
         [soft((N, C), F64), labels((N, 1), C)], tags=[*tags, "label_shape"])
    case("no_softmax-label_int32-mean", "cross_entropy", ns, [soft((N, C), F64), labels((N,), C, np.int32)],
         tags=[*tags, "label_dtype"])
    case("no_softmax-rank1-mean", "cross_entropy", ns, [soft((C,), F64), np.array(2)], tags=[*tags, "rank1"])
    case("no_softmax-rank1-label1-none", "cross_entropy", {**ns, "reduction": "none"}, [soft((C,), F64),
         np.array([2])], tags=[*tags, "rank1"])
    for red in RED:
        both("ce", f"no_softmax-N0-{red}", {**ns, "reduction": red}, [np.zeros((0, C), F64),
             np.zeros((0,), np.int64)], tags=[*tags, "empty"])
    case("no_softmax-N0-soft-mean", "cross_entropy", {**ns, "soft_label": True},
         [np.zeros((0, C), F64), np.zeros((0, C))], tags=[*tags, "empty", "soft_label"])
    case("no_softmax-C1-mean", "cross_entropy", ns, [np.ones((N, 1)), np.zeros((N,), np.int64)], tags=[*tags, "C=1"])
    case("no_softmax-N1-mean", "cross_entropy", ns, [soft((1, C), F64), labels((1,), C)], tags=[*tags, "N=1"])
    case("no_softmax-all_ignored1-mean", "cross_entropy", {**ns, "ignore_index": 1},
         [soft((3, C), F64), np.ones(3, np.int64)], tags=[*tags, "all_ignored"])
    case("no_softmax-all_ignored1-weight-mean", "cross_entropy", {**ns, "ignore_index": 1, "weight": np.ones(C)},
         [soft((3, C), F64), np.ones(3, np.int64)], tags=[*tags, "all_ignored", "class_weight"])
    case("no_softmax-unnormalised-none", "cross_entropy", {**ns, "reduction": "none"},
         [np.random.default_rng(1).uniform(0.05, 1.0, (N, C)), labels((N,), C)], tags=tags,
         note="probabilities in [0, 1] whose rows do not sum to 1: -log p as given")
    case("no_softmax-unnormalised-soft-none", "cross_entropy", {**ns, "soft_label": True, "reduction": "none"},
         [np.random.default_rng(2).uniform(0.05, 1.0, (N, C)), soft((N, C), F64)], tags=[*tags, "soft_label"])
    # edges: p = 1 and p = 0 (log 0 -> -1e20, backward -1/p = inf; soft: -q/p, 0/0 = nan), tiny p
    pe = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [1e-300, 0.5, 0.5]], F64)
    for red in RED:
        case(f"no_softmax-edges-{red}", "cross_entropy", {**ns, "reduction": red}, [pe, np.array([0, 1, 2, 0])],
             tags=[*tags, "clip"])
        case(f"no_softmax-edges-weight-ignore1-{red}", "cross_entropy",
             {**ns, "reduction": red, "ignore_index": 1, "weight": np.array([0.5, 2.0, 0.0])},
             [pe, np.array([0, 1, 2, 1])], tags=[*tags, "clip", "class_weight", "ignore_index"],
             note="p = 0 at a label of weight 0 (backward -1/0 * 0 = nan) and at an ignored label (0)")
        case(f"no_softmax-edges-soft-{red}", "cross_entropy", {**ns, "soft_label": True, "reduction": red},
             [pe, np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5]])],
             tags=[*tags, "clip", "soft_label"])
    case("no_softmax-edges-f32-none", "cross_entropy", {**ns, "reduction": "none"},
         [np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2e-38, 0.5, 0.5]], F32), np.array([0, 0, 0])],
         tags=[*tags, "clip"], note="float32: 1e20, and p near the smallest normal float32 (XLA flushes subnormals)")
    # invalid: outside [0, 1], NaN, soft labels that are no distributions
    x = soft((N, C), F64)
    case("no_softmax-negative_prob-none", "cross_entropy", {**ns, "reduction": "none"},
         [np.where(np.eye(N, C, dtype=bool), -0.1, x), labels((N,), C)], tags=tags,
         invalid="negative probabilities (Paddle: log of a negative number, nan)")
    case("no_softmax-prob_above1-mean", "cross_entropy", ns, [x * 3, labels((N,), C)], tags=tags,
         invalid="probabilities above 1 (Paddle: -log p < 0)")
    case("no_softmax-soft-unnormalised-none", "cross_entropy", {**ns, "soft_label": True, "reduction": "none"},
         [x, np.random.default_rng(3).uniform(0, 1, (N, C))], tags=[*tags, "soft_label"],
         invalid="soft labels that do not sum to 1 (the paddle dialect requires distributions)")
    # errors
    case("no_softmax-float16-mean", "cross_entropy", ns, [soft((N, C), F16), labels((N,), C)],
         tags=[*tags, "float16"])
    case("no_softmax-label_eq_C-error", "cross_entropy", ns, [x, np.array([0, C, 1, 2])],
         tags=[*tags, "invalid_label", "error"])
    case("no_softmax-label_neg1-error", "cross_entropy", ns, [x, np.array([0, -1, 1, 2])],
         tags=[*tags, "invalid_label", "error"])
    case("no_softmax-soft-ignore_index5-error", "cross_entropy", {**ns, "soft_label": True, "ignore_index": 5},
         [x, soft((N, C), F64)], tags=[*tags, "soft_label", "error"])
    case("no_softmax-weight_wrong_size-error", "cross_entropy", {**ns, "weight": np.ones(C + 1)},
         [x, labels((N,), C)], tags=[*tags, "error"])
    case("no_softmax-soft_shape-error", "cross_entropy", {**ns, "soft_label": True}, [x, soft((N, C + 1), F64)],
         tags=[*tags, "error"])
    both("ce", "no_softmax-reduction_invalid-error", {**ns, "reduction": "avg"}, [x, labels((N,), C)],
         tags=[*tags, "error"])


if __name__ == "__main__":
    paddle.set_device("cpu")
    R = Recorder("paddle", "paddle", paddle.__version__, {"numpy": np.__version__, "paddle": paddle.__version__})
    add_cases(R)
    _split.write(R.payload, "paddle", "paddle_losses", READY, set(APIS))

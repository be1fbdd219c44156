"""Record golden cases from the real Chainer 7.8.1 (dialect ``chainer``).

Run from the repository root with the golden venv (see /work/shared/golden-frameworks.md)::

    /work/golden-venvs/golden-a/bin/python tools/golden/record_chainer.py

Writes ``unified_ce/conformance/golden/chainer.json``.  Deterministic (fixed seeds).
Covers ``chainer.functions.softmax_cross_entropy`` (every argument) and
``chainer.functions.sigmoid_cross_entropy``.  The gradient is d sum(out * grad_output) / d x,
taken with Chainer's own backward (CPU, non-debug mode, as users run it).

Two additions to the plain case format (``unified_ce/conformance/_format.py``):

* ``expect["grad_of_forward"]`` (soft-target cases only, and only where it differs from
  ``expect["grad"]``): the derivative of Chainer's *forward* formula
  (``softmax_cross_entropy.py`` lines 249-259), taken by Chainer's own autodiff of the same
  formula written with ``F.log_softmax``.  Chainer's hand-written backward (line 291,
  ``gx = y - t``) assumes that every soft-target row sums to 1, so for unnormalised targets its
  gradient is not the derivative of the loss it returns.
* a top-level ``"double_backward"`` list: second derivatives.  For each entry, ``gx`` is the
  first gradient taken with ``chainer.grad(..., enable_double_backprop=True)`` and
  ``expect["output"]`` is ``d sum(gx * v) / d x`` (a Hessian-vector product), or
  ``expect["error"]`` where Chainer refuses (``enable_double_backprop=False``).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

import chainer
import chainer.functions as F
from chainer.functions.loss.softmax_cross_entropy import SoftmaxCrossEntropy

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("_format", ROOT / "unified_ce/conformance/_format.py")
_format = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_format)

OUT = ROOT / "unified_ce/conformance/golden/chainer.json"

rng = np.random.default_rng(20240611)
go_rng = np.random.default_rng(7781)

CASES: list[dict] = []
_IDS: set[str] = set()

FUNCS = {"softmax_cross_entropy": F.softmax_cross_entropy, "sigmoid_cross_entropy": F.sigmoid_cross_entropy}


def _err(exc: BaseException) -> dict:
    return {"type": type(exc).__name__, "message": str(exc)[:300]}


def record(cid, api, args, kwargs=None, tags=(), note="", invalid=None):
    """Run ``api(*args, **kwargs)`` in Chainer, record output and gradient (or the error)."""
    kwargs = dict(kwargs or {})
    assert cid not in _IDS, cid
    _IDS.add(cid)
    fn = FUNCS[api]
    x = args[0]
    grad_output = None
    try:
        xv = chainer.Variable(np.array(x, copy=True))
        rest = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args[1:]]
        kw = {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        y = fn(xv, *rest, **kw)
        out = np.array(y.array, copy=True)
        grad = None
        try:
            if out.ndim == 0:
                y.backward()
            else:
                grad_output = go_rng.uniform(-1.0, 1.0, size=out.shape).astype(out.dtype)
                y.grad = grad_output.copy()
                y.backward()
            grad = None if xv.grad is None else np.array(xv.grad, copy=True)
        except Exception as exc:  # backward refused: record the output, grad null, note why
            note = (note + " " if note else "") + f"backward raised {type(exc).__name__}: {str(exc)[:200]}"
        expect = {"output": out, "grad": grad}
        t = args[1]
        unnormalised = _is_soft(x, t) and np.abs(t.astype(np.float64).sum(axis=1) - 1).max(initial=0.0) > 1e-6
        if api == SCE and grad is not None and unnormalised and x.dtype != np.float16:  # float16: within its rounding
            expect["grad_of_forward"] = soft_grad_of_forward(x, t, kwargs, out, grad_output)
            note = (note + " " if note else "") + (
                "Chainer's backward (y - t) is not the derivative of its forward here (the soft-target rows do "
                "not sum to 1); grad_of_forward is that derivative, by Chainer's autodiff of the forward formula"
            )
    except Exception as exc:
        expect = {"error": _err(exc)}
    CASES.append({
        "id": cid, "api": api, "init": None, "method": "__call__",
        "args": list(args), "kwargs": kwargs, "grad_output": grad_output,
        "expect": expect, "invalid": invalid, "tags": list(tags), "note": note,
    })
    return expect


def _is_soft(x, t):
    return isinstance(t, np.ndarray) and t.dtype.kind == "f" and t.shape == np.shape(x)


def soft_grad_of_forward(x, t, kwargs, out, grad_output):
    """d sum(out * grad_output) / dx of Chainer's soft-target forward, by Chainer's autodiff.

    The forward formula is copied from ``SoftmaxCrossEntropy._soft_target_loss`` (chainer 7.8.1,
    ``softmax_cross_entropy.py`` lines 249-259) and written with differentiable ``F`` functions.
    """
    xv = chainer.Variable(np.array(x, copy=True))
    log_y = F.log_softmax(xv, axis=1)
    eps = SoftmaxCrossEntropy.eps  # 1e-7, a class attribute (line 72)
    if kwargs.get("soft_target_loss", "cross-entropy") == "kl-divergence":
        ret = F.sum(t * (np.log(t + eps) - log_y), axis=1)
    else:
        ret = -F.sum(t * log_y, axis=1)
    if kwargs.get("reduce", "mean") == "mean":
        ret = F.sum(ret) * (1.0 / (x.size / x.shape[1]))
    np.testing.assert_allclose(ret.array, out, rtol=1e-5, atol=1e-6)  # it is Chainer's forward
    if grad_output is None:
        ret.backward()
    else:
        ret.grad = grad_output.copy()
        ret.backward()
    return np.array(xv.grad, copy=True)


def logits(shape, dt, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dt)


def labels(shape, C, dt=np.int32, ignore=None, frac=0.3):
    t = rng.integers(0, C, size=shape).astype(dt)
    if ignore is not None:
        m = rng.random(shape) < frac
        t[m] = ignore
    return t


def probs(shape, dt, normalized=True, zeros=False):
    p = rng.random(shape)
    if zeros:
        p[rng.random(shape) < 0.3] = 0.0
    if normalized:
        p = p / p.sum(axis=1, keepdims=True)
    return p.astype(dt)


DTS = [("f32", np.float32), ("f64", np.float64)]
SCE = "softmax_cross_entropy"
SIG = "sigmoid_cross_entropy"


def softmax_cases():
    # ---- documentation example -------------------------------------------------------------
    for name, dt in DTS:
        x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]]).astype(dt)
        t = np.array([3, 0]).astype(np.int32)
        record(f"sce/doc_example-{name}", SCE, [x, t], tags=["doc_example"] + (["float64"] if dt == np.float64 else []),
               note="docstring: variable(0.44018972)")

    for name, dt in DTS:
        f64 = ["float64"] if dt == np.float64 else []
        N, C = 5, 4
        x = logits((N, C), dt)
        record(f"sce/basic-int32-{name}", SCE, [x, labels(N, C)], tags=["int32_labels"] + f64)
        record(f"sce/basic-int64-{name}", SCE, [x, labels(N, C, np.int64)], tags=["int64_labels"] + f64)
        t = labels(N, C, ignore=-1, frac=0.4)
        t[0] = -1
        record(f"sce/ignore_default-{name}", SCE, [x, t], tags=["ignore_index"] + f64)
        record(f"sce/ignore_default-reduce_no-{name}", SCE, [x, t], {"reduce": "no"},
               tags=["ignore_index", "reduction:none"] + f64, note="ignored items give 0")
        record(f"sce/ignore_default-normalize_false-{name}", SCE, [x, t], {"normalize": False},
               tags=["ignore_index", "normalize"] + f64, note="denominator = len(x) = N")
        record(f"sce/reduce_no-{name}", SCE, [x, labels(N, C)], {"reduce": "no"}, tags=["reduction:none"] + f64)
        record(f"sce/reduce_no-normalize_false-{name}", SCE, [x, labels(N, C)], {"reduce": "no", "normalize": False},
               tags=["reduction:none", "normalize"] + f64, note="normalize is ignored with reduce='no'")
        record(f"sce/cache_score_false-{name}", SCE, [x, t], {"cache_score": False}, tags=["cache_score", "ignore_index"] + f64)
        # custom ignore labels
        t2 = labels(N, C)
        t2[[1, 3]] = 2
        record(f"sce/ignore_label_in_range-{name}", SCE, [x, t2], {"ignore_label": 2},
               tags=["ignore_index"] + f64, note="ignore_label=2 is a real class index: items with label 2 are ignored")
        t3 = labels(N, C)
        t3[[0, 4]] = 9
        record(f"sce/ignore_label_9-{name}", SCE, [x, t3], {"ignore_label": 9, "reduce": "no"},
               tags=["ignore_index", "reduction:none"] + f64)
        t4 = labels(N, C)
        t4[2] = -100
        record(f"sce/ignore_label_-100-{name}", SCE, [x, t4], {"ignore_label": -100}, tags=["ignore_index"] + f64)
        # class weights
        cw = np.array([0.5, 2.0, 1.0, 3.0], dtype=dt)
        record(f"sce/class_weight-{name}", SCE, [x, labels(N, C)], {"class_weight": cw}, tags=["class_weight"] + f64,
               note="mean divides by the count of non-ignored items, not by the sum of weights")
        record(f"sce/class_weight-ignore-{name}", SCE, [x, t], {"class_weight": cw},
               tags=["class_weight", "ignore_index"] + f64)
        record(f"sce/class_weight-ignore-reduce_no-{name}", SCE, [x, t], {"class_weight": cw, "reduce": "no"},
               tags=["class_weight", "ignore_index", "reduction:none"] + f64)
        record(f"sce/class_weight-ignore-normalize_false-{name}", SCE, [x, t], {"class_weight": cw, "normalize": False},
               tags=["class_weight", "ignore_index", "normalize"] + f64)
        # all ignored
        ta = np.full(N, -1, np.int32)
        record(f"sce/all_ignored-{name}", SCE, [x, ta], tags=["all_ignored", "ignore_index"] + f64,
               note="count is max(count, 1): gives 0, not nan")
        record(f"sce/all_ignored-reduce_no-{name}", SCE, [x, ta], {"reduce": "no"},
               tags=["all_ignored", "ignore_index", "reduction:none"] + f64)
        record(f"sce/all_ignored-class_weight-normalize_false-{name}", SCE, [x, ta], {"class_weight": cw, "normalize": False},
               tags=["all_ignored", "ignore_index", "class_weight", "normalize"] + f64)
        # higher rank
        x3 = logits((3, C, 2), dt)
        t3d = labels((3, 2), C, ignore=-1, frac=0.3)
        record(f"sce/rank3-{name}", SCE, [x3, t3d], tags=["higher_rank", "ignore_index"] + f64)
        record(f"sce/rank3-normalize_false-{name}", SCE, [x3, t3d], {"normalize": False},
               tags=["higher_rank", "ignore_index", "normalize"] + f64, note="denominator is N=x.shape[0], not N*d1")
        x4 = logits((2, C, 3, 2), dt)
        t4d = labels((2, 3, 2), C, ignore=-1, frac=0.3)
        record(f"sce/rank4-{name}", SCE, [x4, t4d], tags=["higher_rank", "ignore_index"] + f64)
        record(f"sce/rank4-reduce_no-class_weight-{name}", SCE, [x4, t4d], {"reduce": "no", "class_weight": cw},
               tags=["higher_rank", "ignore_index", "reduction:none", "class_weight"] + f64)
        record(f"sce/rank4-class_weight-normalize_false-{name}", SCE, [x4, t4d], {"class_weight": cw, "normalize": False},
               tags=["higher_rank", "ignore_index", "class_weight", "normalize"] + f64)
        # enable_double_backprop=True path (a different implementation)
        record(f"sce/dbp-basic-{name}", SCE, [x, labels(N, C)], {"enable_double_backprop": True},
               tags=["enable_double_backprop"] + f64)
        record(f"sce/dbp-class_weight-ignore-{name}", SCE, [x, t], {"enable_double_backprop": True, "class_weight": cw},
               tags=["enable_double_backprop", "class_weight", "ignore_index"] + f64)
        record(f"sce/dbp-rank4-reduce_no-{name}", SCE, [x4, t4d], {"enable_double_backprop": True, "reduce": "no"},
               tags=["enable_double_backprop", "higher_rank", "reduction:none", "ignore_index"] + f64)
        record(f"sce/dbp-rank3-normalize_false-class_weight-{name}", SCE, [x3, t3d],
               {"enable_double_backprop": True, "normalize": False, "class_weight": cw},
               tags=["enable_double_backprop", "higher_rank", "normalize", "class_weight", "ignore_index"] + f64)
        record(f"sce/dbp-all_ignored-{name}", SCE, [x, ta], {"enable_double_backprop": True},
               tags=["enable_double_backprop", "all_ignored", "ignore_index"] + f64)
        record(f"sce/dbp-ignore_label_in_range-{name}", SCE, [x, t2], {"enable_double_backprop": True, "ignore_label": 2},
               tags=["enable_double_backprop", "ignore_index"] + f64)
        # soft targets
        q = probs((N, C), dt)
        record(f"sce/soft-ce-{name}", SCE, [x, q], tags=["soft_target"] + f64)
        record(f"sce/soft-ce-reduce_no-{name}", SCE, [x, q], {"reduce": "no"}, tags=["soft_target", "reduction:none"] + f64)
        q0 = probs((N, C), dt, zeros=True)
        record(f"sce/soft-kl-{name}", SCE, [x, q0], {"soft_target_loss": "kl-divergence"}, tags=["soft_target", "kl"] + f64,
               note="kl = sum t*(log(t+1e-7) - log_softmax(x)); eps=1e-7 (class attribute SoftmaxCrossEntropy.eps)")
        record(f"sce/soft-kl-reduce_no-{name}", SCE, [x, q0], {"soft_target_loss": "kl-divergence", "reduce": "no"},
               tags=["soft_target", "kl", "reduction:none"] + f64)
        record(f"sce/soft-ce-explicit-{name}", SCE, [x, q0], {"soft_target_loss": "cross-entropy"}, tags=["soft_target"] + f64)
        qu = probs((N, C), dt, normalized=False) * dt(3.0)
        record(f"sce/soft-ce-unnormalized-{name}", SCE, [x, qu], tags=["soft_target", "unnormalized"] + f64,
               note="soft targets need not sum to 1; gradient is (softmax(x) - t)/N, i.e. assumes sum t = 1")
        record(f"sce/soft-kl-unnormalized-{name}", SCE, [x, qu], {"soft_target_loss": "kl-divergence", "reduce": "no"},
               tags=["soft_target", "kl", "unnormalized", "reduction:none"] + f64)
        record(f"sce/soft-class_weight-{name}", SCE, [x, q], {"class_weight": cw}, tags=["soft_target", "class_weight"] + f64,
               note="class_weight is silently IGNORED for soft targets (and in the gradient)")
        record(f"sce/soft-class_weight-kl-reduce_no-{name}", SCE, [x, q0],
               {"class_weight": cw, "soft_target_loss": "kl-divergence", "reduce": "no"},
               tags=["soft_target", "class_weight", "kl", "reduction:none"] + f64, note="class_weight ignored for soft targets")
        record(f"sce/soft-normalize_false-{name}", SCE, [x, q], {"normalize": False}, tags=["soft_target", "normalize"] + f64,
               note="normalize is ignored for soft targets: mean over N*prod(spatial)")
        qn = q.copy()
        qn[1] = -1.0
        record(f"sce/soft-minus_one_row-{name}", SCE, [x, qn], {"ignore_label": -1},
               tags=["soft_target", "ignore_index"] + f64, note="ignore_label has no effect on soft targets; a row of -1 is used as weights",
               invalid="a soft target with negative entries (a row of -1, as if to ignore the item) is used as weights: "
               "the loss of that row is sum_c log_softmax(x)_c, a number with no meaning")
        qs = probs((3, C, 2), dt)
        record(f"sce/soft-rank3-{name}", SCE, [x3, qs], tags=["soft_target", "higher_rank"] + f64,
               note="mean denominator is x.size / x.shape[1] = N*d1")
        record(f"sce/soft-rank3-reduce_no-kl-{name}", SCE, [x3, qs], {"reduce": "no", "soft_target_loss": "kl-divergence"},
               tags=["soft_target", "higher_rank", "reduction:none", "kl"] + f64)
        record(f"sce/soft-cache_score_false-{name}", SCE, [x, q], {"cache_score": False}, tags=["soft_target", "cache_score"] + f64)
        record(f"sce/soft-dbp-{name}", SCE, [x, q], {"enable_double_backprop": True},
               tags=["soft_target", "enable_double_backprop"] + f64,
               note="the double-backprop implementation does not support soft targets (select_item needs int labels)")
        # ignore_label=None: nothing is ignored (t != None is all True)
        record(f"sce/ignore_label_None-{name}", SCE, [x, labels(N, C)], {"ignore_label": None}, tags=["ignore_index"] + f64,
               note="ignore_label=None: t != None is all True, nothing is ignored")
        tm1 = labels(N, C)
        tm1[3] = -1
        record(f"sce/ignore_label_None-label_-1-{name}", SCE, [x, tm1], {"ignore_label": None, "reduce": "no"},
               tags=["ignore_index", "out_of_range", "reduction:none"] + f64,
               invalid="with ignore_label=None the label -1 is not ignored: numpy indexing wraps it to class C-1")
        record(f"sce/label_-1-ignore_label_-100-{name}", SCE, [x, tm1], {"ignore_label": -100, "reduce": "no"},
               tags=["ignore_index", "out_of_range", "reduction:none"] + f64,
               invalid="-1 is not the ignore label (-100): numpy indexing wraps it to class C-1")
        record(f"sce/dbp-ignore_label_None-label_-1-{name}", SCE, [x, tm1],
               {"ignore_label": None, "reduce": "no", "enable_double_backprop": True},
               tags=["ignore_index", "out_of_range", "reduction:none", "enable_double_backprop"] + f64,
               invalid="with ignore_label=None the label -1 is not ignored: the double-backprop path clips it to class 0")
        record(f"sce/dbp-normalize_false-{name}", SCE, [x, t], {"enable_double_backprop": True, "normalize": False},
               tags=["enable_double_backprop", "normalize", "ignore_index"] + f64)
        record(f"sce/dbp-cache_score_false-reduce_no-{name}", SCE, [x, t],
               {"enable_double_backprop": True, "cache_score": False, "reduce": "no"},
               tags=["enable_double_backprop", "cache_score", "reduction:none", "ignore_index"] + f64,
               note="cache_score is forcibly off with enable_double_backprop=True (docstring)")
        record(f"sce/dbp-all_ignored-normalize_false-class_weight-{name}", SCE, [x, ta],
               {"enable_double_backprop": True, "normalize": False, "class_weight": cw},
               tags=["enable_double_backprop", "all_ignored", "ignore_index", "normalize", "class_weight"] + f64)
        record(f"sce/soft-class_weight_wrong_length-{name}", SCE, [x, q], {"class_weight": np.ones(C + 2, dt)},
               tags=["soft_target", "class_weight"] + f64,
               note="class_weight is ignored for soft targets, so its length is never checked")
        record(f"sce/soft-kl-normalize_false-ignore_label-{name}", SCE, [x3, qs],
               {"soft_target_loss": "kl-divergence", "normalize": False, "ignore_label": 0},
               tags=["soft_target", "kl", "normalize", "ignore_index", "higher_rank"] + f64,
               note="normalize and ignore_label have no effect on soft targets")
        # N=1, C=1
        record(f"sce/N=1-{name}", SCE, [logits((1, C), dt), np.array([2], np.int32)], tags=["N=1"] + f64)
        record(f"sce/C=1-{name}", SCE, [logits((3, 1), dt), np.zeros(3, np.int32)], tags=["C=1"] + f64)
        record(f"sce/C=1-soft-{name}", SCE, [logits((3, 1), dt), np.ones((3, 1), dt)], tags=["C=1", "soft_target"] + f64)
        # large logits
        xl = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [64.0, 0.0, -64.0], [0.0, 64.5, 0.5]], dt)
        tl = np.array([1, 1, 0, 2], np.int32)
        record(f"sce/large_logits-{name}", SCE, [xl, tl], {"reduce": "no"}, tags=["large_logits", "reduction:none"] + f64)
        record(f"sce/large_logits-mean-{name}", SCE, [xl, tl], tags=["large_logits"] + f64)
        record(f"sce/large_logits-class_weight-ignore-{name}", SCE, [xl, np.array([1, -1, 0, 2], np.int32)],
               {"class_weight": np.array([2.0, 0.5, 1.5], dt)}, tags=["large_logits", "class_weight", "ignore_index"] + f64)
        record(f"sce/large_logits-dbp-{name}", SCE, [xl, tl], {"enable_double_backprop": True, "reduce": "no"},
               tags=["large_logits", "enable_double_backprop", "reduction:none"] + f64)
        ql = np.array([[0.0, 1.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]], dt)
        record(f"sce/large_logits-soft-kl-{name}", SCE, [xl, ql], {"soft_target_loss": "kl-divergence", "reduce": "no"},
               tags=["large_logits", "soft_target", "kl", "reduction:none"] + f64)
        # empty batch
        x0 = np.zeros((0, C), dt)
        record(f"sce/empty-mean-{name}", SCE, [x0, np.zeros(0, np.int32)], tags=["empty"] + f64,
               note="forward gives -0.0; backward raises (the grad function returns an extra None for size-0 x)")
        record(f"sce/empty-reduce_no-{name}", SCE, [x0, np.zeros(0, np.int32)], {"reduce": "no"},
               tags=["empty", "reduction:none"] + f64)
        record(f"sce/empty-dbp-{name}", SCE, [x0, np.zeros(0, np.int32)], {"enable_double_backprop": True},
               tags=["empty", "enable_double_backprop"] + f64)
        record(f"sce/empty-soft-mean-{name}", SCE, [x0, np.zeros((0, C), dt)], tags=["empty", "soft_target"] + f64,
               note="soft mean divides by x.size/x.shape[1] = 0 in Python: ZeroDivisionError")
        record(f"sce/empty-soft-reduce_no-{name}", SCE, [x0, np.zeros((0, C), dt)], {"reduce": "no"},
               tags=["empty", "soft_target", "reduction:none"] + f64)
        # out-of-range labels
        to = labels(N, C)
        to[1] = C
        record(f"sce/label_eq_C-{name}", SCE, [x, to], tags=["out_of_range"] + f64)
        tn = labels(N, C)
        tn[1] = -2
        record(f"sce/label_-2-{name}", SCE, [x, tn], {"reduce": "no"}, tags=["out_of_range", "reduction:none"] + f64,
               invalid="negative label -2 (not the ignore label) wraps around like a numpy index: picks class C-2",
               note="numpy fancy indexing wraps negative labels (no check outside chainer debug mode)")
        record(f"sce/dbp-label_eq_C-{name}", SCE, [x, to], {"enable_double_backprop": True, "reduce": "no"},
               tags=["out_of_range", "enable_double_backprop", "reduction:none"] + f64,
               invalid="label C is clipped to C-1 by the double-backprop implementation (t.clip(0, C-1))")
        record(f"sce/dbp-label_-2-{name}", SCE, [x, tn], {"enable_double_backprop": True, "reduce": "no"},
               tags=["out_of_range", "enable_double_backprop", "reduction:none"] + f64,
               invalid="label -2 is clipped to 0 by the double-backprop implementation (t.clip(0, C-1))")

    # float16
    x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1], [0.5, 0.25, -3, 1]], np.float16)
    record("sce/float16", SCE, [x, np.array([3, 0, 1], np.int32)], tags=["float16"],
           note="float16 accumulates the reduction in float32, returns float16")
    record("sce/float16-reduce_no", SCE, [x, np.array([3, -1, 1], np.int32)], {"reduce": "no"},
           tags=["float16", "reduction:none", "ignore_index"])

    x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1], [0.5, 0.25, -3, 1]], np.float16)
    record("sce/float16-soft", SCE, [x, probs((3, 4), np.float16)], tags=["float16", "soft_target"])

    # signed label dtypes other than int32/int64 (dtype kind 'i')
    N, C = 5, 4
    x = logits((N, C), np.float32)
    for ldt in (np.int8, np.int16):
        t = labels(N, C, ldt, ignore=-1)
        record(f"sce/labels-{np.dtype(ldt).name}", SCE, [x, t], tags=[f"{np.dtype(ldt).name}_labels", "ignore_index"])
    record("sce/dbp-labels-int8", SCE, [x, labels(N, C, np.int8, ignore=-1)], {"enable_double_backprop": True},
           tags=["int8_labels", "ignore_index", "enable_double_backprop"])

    # mixed dtypes
    N, C = 4, 3
    x = logits((N, C), np.float32)
    record("sce/soft-mixed-x32-t64", SCE, [x, probs((N, C), np.float64)], tags=["soft_target", "mixed_dtype"],
           note="float32 logits with float64 soft targets: numpy promotes the loss to float64")
    record("sce/class_weight-f64-x32", SCE, [x, labels(N, C)], {"class_weight": np.array([1.0, 2.0, 0.5])},
           tags=["class_weight", "mixed_dtype"], note="float64 class_weight with float32 logits")
    record("sce/soft-mixed-x32-t16", SCE, [x, probs((N, C), np.float16)], tags=["soft_target", "mixed_dtype"],
           note="float32 logits with float16 soft targets: float32 loss")
    record("sce/soft-mixed-x64-t32", SCE, [x.astype(np.float64), probs((N, C), np.float32)],
           tags=["soft_target", "mixed_dtype", "float64"])

    # errors
    x = logits((4, 3), np.float32)
    record("sce/err-uint8_labels", SCE, [x, np.array([0, 1, 2, 1], np.uint8)], tags=["uint8_labels", "error"],
           note="dtype kind 'u' is not 'i': treated as soft target, then type check fails")
    record("sce/err-float_labels_hard_shape", SCE, [x, np.array([0, 1, 2, 1], np.float32)], tags=["float_labels", "error"])
    record("sce/err-label_shape", SCE, [x, np.array([0, 1, 2], np.int32)], tags=["error"])
    record("sce/err-label_ndim", SCE, [x, np.array([[0, 1, 2, 1]], np.int32)], tags=["error"])
    record("sce/err-soft_shape", SCE, [x, probs((4, 4), np.float32)], tags=["soft_target", "error"])
    record("sce/err-int_x", SCE, [np.array([[1, 2, 3]], np.int32), np.array([0], np.int32)], tags=["error"])
    record("sce/err-class_weight_int", SCE, [x, labels(4, 3)], {"class_weight": np.array([1, 2, 3], np.int32)},
           tags=["class_weight", "error"])
    record("sce/err-class_weight_2d", SCE, [x, labels(4, 3)], {"class_weight": np.ones((1, 3), np.float32)},
           tags=["class_weight", "error"])
    record("sce/err-class_weight_len", SCE, [x, labels(4, 3)], {"class_weight": np.ones(4, np.float32)},
           tags=["class_weight", "error"])
    record("sce/err-reduce_sum", SCE, [x, labels(4, 3)], {"reduce": "sum"}, tags=["error"])
    record("sce/err-soft_target_loss", SCE, [x, labels(4, 3)], {"soft_target_loss": "kl"}, tags=["error"])
    record("sce/err-label_above_C-reduce_no", SCE, [x, np.array([0, 7, 2, 1], np.int32)], {"reduce": "no"},
           tags=["out_of_range", "error"])
    record("sce/err-1d_x", SCE, [np.array([1.0, 2.0, 3.0], np.float32), np.array(1, np.int32)], tags=["error"])
    record("sce/err-1d_x-soft", SCE, [np.array([1.0, 2.0, 3.0], np.float32), np.array([0.2, 0.3, 0.5], np.float32)],
           tags=["error", "soft_target"])
    record("sce/err-bool_labels", SCE, [x, np.array([0, 1, 1, 0], bool)], tags=["error"])
    record("sce/err-C=0", SCE, [np.zeros((2, 0), np.float32), np.zeros(2, np.int32)], tags=["error", "C=0"])
    record("sce/err-x3d_t1d", SCE, [logits((4, 3, 2), np.float32), labels(4, 3)], tags=["error", "higher_rank"])
    record("sce/err-int_soft_shape", SCE, [x, np.zeros((4, 3), np.int32)], tags=["error"],
           note="integer t with x's shape: integer labels must have x's shape without axis 1")
    record("sce/err-dbp-uint8_labels", SCE, [x, np.array([0, 1, 2, 1], np.uint8)], {"enable_double_backprop": True},
           tags=["uint8_labels", "error", "enable_double_backprop"])
    record("sce/err-dbp-float_labels_hard_shape", SCE, [x, np.array([0, 1, 2, 1], np.float32)],
           {"enable_double_backprop": True}, tags=["float_labels", "error", "enable_double_backprop"])
    record("sce/err-dbp-reduce_sum", SCE, [x, labels(4, 3)], {"enable_double_backprop": True, "reduce": "sum"},
           tags=["error", "enable_double_backprop"])
    record("sce/err-class_weight_2d-soft", SCE, [x, probs((4, 3), np.float32)], {"class_weight": np.ones((1, 3), np.float32)},
           tags=["class_weight", "soft_target", "error"], note="class_weight's ndim and dtype are checked even for soft targets")
    record("sce/err-class_weight_int-dbp", SCE, [x, labels(4, 3)],
           {"class_weight": np.array([1, 2, 3], np.int32), "enable_double_backprop": True},
           tags=["class_weight", "error", "enable_double_backprop"])


def sigmoid_cases():
    x = np.array([[-2.0, 3.0, 0.5], [5.0, 2.0, -0.5]]).astype(np.float32)
    t = np.array([[0, 1, 0], [1, 1, -1]]).astype(np.int32)
    record("sig/doc_example", SIG, [x, t], tags=["doc_example", "ignore_index"], note="docstring: variable(0.25664714)")
    record("sig/doc_example-normalize_false", SIG, [x, t], {"normalize": False}, tags=["doc_example", "normalize"],
           note="docstring: variable(0.64161783)")
    record("sig/doc_example-reduce_no", SIG, [x, t], {"reduce": "no"}, tags=["doc_example", "reduction:none"],
           note="docstring: [[0.126928, 0.04858735, 0.974077], [0.00671535, 0.126928, -0.]]")
    for name, dt in DTS:
        f64 = ["float64"] if dt == np.float64 else []
        N, C = 4, 5
        x = logits((N, C), dt)
        tb = rng.integers(0, 2, size=(N, C)).astype(np.int32)
        record(f"sig/basic-{name}", SIG, [x, tb], tags=f64)
        record(f"sig/int64-{name}", SIG, [x, tb.astype(np.int64)], tags=["int64_labels"] + f64)
        ti = tb.copy()
        ti[rng.random((N, C)) < 0.35] = -1
        record(f"sig/ignore-{name}", SIG, [x, ti], tags=["ignore_index"] + f64, note="mean over non-ignored elements")
        record(f"sig/ignore-normalize_false-{name}", SIG, [x, ti], {"normalize": False}, tags=["ignore_index", "normalize"] + f64,
               note="denominator len(x) = N")
        record(f"sig/ignore-reduce_no-{name}", SIG, [x, ti], {"reduce": "no"}, tags=["ignore_index", "reduction:none"] + f64)
        ta = np.full((N, C), -1, np.int32)
        record(f"sig/all_ignored-{name}", SIG, [x, ta], tags=["all_ignored", "ignore_index"] + f64, note="count max(1, 0): 0")
        x3 = logits((2, 3, 2), dt)
        t3 = rng.integers(-1, 2, size=(2, 3, 2)).astype(np.int32)
        record(f"sig/rank3-{name}", SIG, [x3, t3], tags=["higher_rank", "ignore_index"] + f64)
        record(f"sig/rank3-normalize_false-{name}", SIG, [x3, t3], {"normalize": False},
               tags=["higher_rank", "ignore_index", "normalize"] + f64)
        x1 = logits((5,), dt)
        t1 = np.array([0, 1, -1, 1, 0], np.int32)
        record(f"sig/rank1-{name}", SIG, [x1, t1], {"normalize": False}, tags=["unbatched", "normalize", "ignore_index"] + f64,
               note="1-D input: len(x) is the number of elements")
        record(f"sig/N=1-{name}", SIG, [logits((1, 3), dt), np.array([[1, 0, 1]], np.int32)], tags=["N=1"] + f64)
        xl = np.array([[1e4, -1e4, 64.0, -64.0], [-1e4, 1e4, 0.0, 100.0]], dt)
        tl = np.array([[0, 1, 1, 0], [0, 1, 0, 1]], np.int32)
        record(f"sig/large_logits-{name}", SIG, [xl, tl], {"reduce": "no"}, tags=["large_logits", "reduction:none"] + f64)
        record(f"sig/empty-{name}", SIG, [np.zeros((0, 3), dt), np.zeros((0, 3), np.int32)], tags=["empty"] + f64)
        record(f"sig/empty-reduce_no-{name}", SIG, [np.zeros((0, 3), dt), np.zeros((0, 3), np.int32)], {"reduce": "no"},
               tags=["empty", "reduction:none"] + f64)
        tv = tb.copy()
        tv[0, 0] = 2
        tv[1, 1] = -2
        record(f"sig/label_2_and_-2-{name}", SIG, [x, tv], {"reduce": "no"}, tags=["out_of_range", "reduction:none"] + f64,
               invalid="labels other than 0/1/-1 are used as numbers in x*(t-(x>=0)) - log1p(exp(-|x|))")
        record(f"sig/ignore-reduce_no-normalize_false-{name}", SIG, [x, ti], {"reduce": "no", "normalize": False},
               tags=["ignore_index", "reduction:none", "normalize"] + f64, note="normalize is ignored with reduce='no'")
        record(f"sig/all_ignored-normalize_false-{name}", SIG, [x, ta], {"normalize": False},
               tags=["all_ignored", "ignore_index", "normalize"] + f64)
        record(f"sig/rank3-reduce_no-{name}", SIG, [x3, t3], {"reduce": "no"},
               tags=["higher_rank", "ignore_index", "reduction:none"] + f64)
        record(f"sig/large_logits-mean-{name}", SIG, [xl, tl], tags=["large_logits"] + f64)
        record(f"sig/C=1-{name}", SIG, [logits((4, 1), dt), np.array([[1], [0], [-1], [1]], np.int32)],
               tags=["C=1", "ignore_index"] + f64)
        record(f"sig/0d-{name}", SIG, [np.array(0.5, dt), np.array(1, np.int32)], tags=["unbatched"] + f64,
               note="0-d input works with normalize=True")
        record(f"sig/empty-normalize_false-{name}", SIG, [np.zeros((0, 3), dt), np.zeros((0, 3), np.int32)],
               {"normalize": False}, tags=["empty", "normalize"] + f64, note="max(1, len(x)) = 1")
    x = logits((3, 2), np.float32)
    for ldt in (np.int8, np.int16):
        record(f"sig/labels-{np.dtype(ldt).name}", SIG, [x, np.array([[0, 1], [-1, 1], [1, 0]], ldt)],
               tags=[f"{np.dtype(ldt).name}_labels", "ignore_index"])
    xh = np.array([[-2.0, 3.0, 0.5], [5.0, 2.0, -0.5]], np.float16)
    record("sig/float16", SIG, [xh, np.array([[0, 1, 0], [1, 1, -1]], np.int32)], tags=["float16", "ignore_index"])
    record("sig/err-bool_labels", SIG, [x, np.zeros((3, 2), bool)], tags=["error"])
    record("sig/err-0d-normalize_false", SIG, [np.array(0.5, np.float32), np.array(1, np.int32)], {"normalize": False},
           tags=["error", "normalize", "unbatched"], note="normalize=False divides by len(x); a 0-d x has no len")
    record("sig/err-uint8_labels", SIG, [x, np.zeros((3, 2), np.uint8)], tags=["uint8_labels", "error"])
    record("sig/err-float_labels", SIG, [x, np.zeros((3, 2), np.float32)], tags=["float_labels", "error"])
    record("sig/err-shape", SIG, [x, np.zeros((3,), np.int32)], tags=["error"])
    record("sig/err-reduce_sum", SIG, [x, np.zeros((3, 2), np.int32)], {"reduce": "sum"}, tags=["error"])
    record("sig/err-int_x", SIG, [np.zeros((3, 2), np.int32), np.zeros((3, 2), np.int32)], tags=["error"])


DOUBLE: list[dict] = []
dd_rng = np.random.default_rng(31337)


def record_double(cid, api, args, kwargs=None, tags=(), note=""):
    """Second derivative: gx = d sum(out * grad_output)/dx (differentiable), then d sum(gx * v)/dx."""
    kwargs = dict(kwargs or {})
    assert cid not in _IDS, cid
    _IDS.add(cid)
    x = args[0]
    v = dd_rng.uniform(-1.0, 1.0, size=x.shape).astype(x.dtype)
    xv = chainer.Variable(np.array(x, copy=True))
    y = FUNCS[api](xv, *[np.array(a, copy=True) for a in args[1:]], **kwargs)
    grad_output = None if y.ndim == 0 else dd_rng.uniform(-1.0, 1.0, size=y.shape).astype(y.dtype)
    gy = None if grad_output is None else [grad_output.copy()]
    (gx,) = chainer.grad([y], [xv], grad_outputs=gy, enable_double_backprop=True)
    try:
        (hv,) = chainer.grad([F.sum(gx * v)], [xv])
        expect = {"output": np.array(hv.array, copy=True), "first_grad": np.array(gx.array, copy=True)}
    except Exception as exc:
        expect = {"error": _err(exc), "first_grad": np.array(gx.array, copy=True)}
    DOUBLE.append({
        "id": cid, "api": api, "args": list(args), "kwargs": kwargs, "grad_output": grad_output, "v": v,
        "expect": expect, "tags": list(tags), "note": note,
    })


def double_backward_cases():
    for name, dt in DTS:
        N, C = 4, 3
        x = logits((N, C), dt)
        t = np.array([2, -1, 0, 1], np.int32)
        cw = np.array([0.5, 2.0, 1.5], dt)
        record_double(f"dd/sce-dbp-{name}", SCE, [x, t], {"enable_double_backprop": True}, tags=["enable_double_backprop"])
        record_double(f"dd/sce-no_dbp-{name}", SCE, [x, t], tags=["enable_double_backprop"],
                      note="enable_double_backprop=False (default): the first gradient works, differentiating it raises")
        record_double(f"dd/sce-no_dbp-soft-{name}", SCE, [x, probs((N, C), dt)], tags=["enable_double_backprop", "soft_target"])
        record_double(f"dd/sce-dbp-class_weight-normalize_false-{name}", SCE, [x, t],
                      {"enable_double_backprop": True, "class_weight": cw, "normalize": False},
                      tags=["enable_double_backprop", "class_weight", "normalize"])
        x3 = logits((2, C, 2), dt)
        t3 = np.array([[0, 2], [-1, 1]], np.int32)
        record_double(f"dd/sce-dbp-rank3-reduce_no-{name}", SCE, [x3, t3], {"enable_double_backprop": True, "reduce": "no"},
                      tags=["enable_double_backprop", "higher_rank", "reduction:none"])
        tb = np.array([[0, 1, -1], [1, 1, 0], [-1, 0, 1], [1, 0, 0]], np.int32)
        record_double(f"dd/sig-{name}", SIG, [x, tb], tags=["ignore_index"],
                      note="sigmoid_cross_entropy always supports double backprop (SigmoidCrossEntropyGrad.backward)")
        record_double(f"dd/sig-reduce_no-{name}", SIG, [x, tb], {"reduce": "no"}, tags=["reduction:none"])
        record_double(f"dd/sig-normalize_false-{name}", SIG, [x, tb], {"normalize": False}, tags=["normalize"])


def main():
    softmax_cases()
    sigmoid_cases()
    double_backward_cases()
    payload = {
        "dialect": "chainer", "framework": "chainer", "version": chainer.__version__,
        "recorded_with": {"numpy": np.__version__, "chainer": chainer.__version__, "python": sys.version.split()[0]},
        "double_backward": DOUBLE,
        "cases": CASES,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    _format.dump(payload, OUT)
    back = _format.load(OUT)
    assert len(back["cases"]) == len(CASES) and len(back["double_backward"]) == len(DOUBLE)
    print(f"wrote {OUT} with {len(CASES)} cases + {len(DOUBLE)} double-backward cases ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()

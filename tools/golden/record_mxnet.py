"""Record golden data for the ``mxnet`` dialect from the real MXNet 1.9.1 (Gluon, CPU).

Run from the repository root with the golden-a venv::

    /work/golden-venvs/golden-a/bin/python tools/golden/record_mxnet.py

Writes ``unified_ce/conformance/golden/mxnet.json``.  Deterministic (fixed seeds).

API: ``mxnet.gluon.loss.SoftmaxCrossEntropyLoss(axis=-1, sparse_label=True, from_logits=False,
weight=None, batch_axis=0, **kwargs)`` called as ``loss(pred, label, sample_weight=None)``
(api "SoftmaxCrossEntropyLoss", a few cases through the alias "SoftmaxCELoss").  Classic
NDArray mode (``is_np_array()`` False, as in MXNet 1.x by default).  The gradient is
d sum(out * grad_output) / d pred, taken with ``mx.autograd``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")

import mxnet as mx  # noqa: E402
from mxnet import autograd, nd  # noqa: E402
from mxnet.gluon import loss as gloss  # noqa: E402

from _common import Recorder, err  # noqa: E402

rng = np.random.default_rng(20240615)
go_rng = np.random.default_rng(9191)
R = Recorder("mxnet", "mxnet", mx.__version__, {"numpy": np.__version__, "mxnet": mx.__version__})

F32, F64 = np.float32, np.float64
SCE = "SoftmaxCrossEntropyLoss"
ALIAS = "SoftmaxCELoss"
CLASSES = {SCE: gloss.SoftmaxCrossEntropyLoss, ALIAS: gloss.SoftmaxCELoss}
assert gloss.SoftmaxCELoss is gloss.SoftmaxCrossEntropyLoss


def to_nd(v):
    if isinstance(v, np.ndarray):
        return nd.array(np.array(v, copy=True), dtype=v.dtype)
    return v


def run(api, init, args, kwargs):
    """Call MXNet; return (expect, grad_output)."""
    x = args[0]
    try:
        loss = CLASSES[api](**(init or {}))
        xn = to_nd(x)
        diff = isinstance(x, np.ndarray) and x.dtype.kind == "f"
        if diff:
            xn.attach_grad()
        rest = [to_nd(a) for a in args[1:]]
        kw = {k: to_nd(v) for k, v in kwargs.items()}
        with autograd.record():
            out = loss(xn, *rest, **kw)
        o = out.asnumpy().copy()
    except Exception as e:  # noqa: BLE001
        return err(e), None
    go = go_rng.uniform(-1.0, 1.0, size=o.shape).astype(o.dtype)
    grad = None
    if diff:
        out.backward(nd.array(go, dtype=go.dtype))
        grad = xn.grad.asnumpy().copy()
    return {"output": o, "grad": grad}, go


def record(cid, args, init=None, kwargs=None, tags=(), note="", invalid=None, api=SCE, expect_error=None):
    """Record one case; ``expect_error`` (True/False) asserts what MXNet does."""
    init = dict(init or {})
    kwargs = dict(kwargs or {})
    expect, go = run(api, init, args, kwargs)
    if expect_error is not None:
        assert ("error" in expect) == expect_error, (cid, expect)
    if invalid is not None:
        assert "error" not in expect, (cid, expect)
    R.add(id=f"{api}/{cid}", api=api, init=init, method="__call__", args=args, kwargs=kwargs,
          grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note)
    return expect


def logits(shape, dt=F32, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dt)


def labels(shape, C, dt=F32):
    return rng.integers(0, C, size=shape).astype(dt)


def probs(shape, axis=-1, dt=F32):
    x = rng.standard_normal(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dt)


def log_softmax(x, axis=-1):
    x64 = x.astype(F64)
    m = x64.max(axis=axis, keepdims=True)
    return (x64 - m - np.log(np.exp(x64 - m).sum(axis=axis, keepdims=True))).astype(x.dtype)


def weights(shape, dt=F32):
    return rng.uniform(0.0, 2.0, size=shape).astype(dt)


DTS = [("f32", F32), ("f64", F64)]


def per_dtype():
    for name, dt in DTS:
        f64 = ["float64"] if dt == F64 else []

        # ---- the documentation examples ---------------------------------------------------
        x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]], dt)
        record(f"doc_example-{name}", [x, np.array([3, 0], F32)], tags=["doc_example"] + f64,
               note="the cross-framework example x=[[-1,0,1,2],[2,0,1,-1]], t=[3,0]: one loss per sample "
               "(MXNet's docstring has no numeric example)")
        xd = logits((1, 2, 3, 4), dt)
        record(f"doc_shape_example-axis2-{name}", [xd, labels((1, 2, 4), 3)], {"axis": 2},
               tags=["doc_example", "axis", "higher_rank"] + f64,
               note="docstring: 'for pred with shape (1,2,3,4) and axis = 2, label's shape should be (1,2,4)'")

        # ---- label dtypes ------------------------------------------------------------------
        N, C = 5, 4
        x = logits((N, C), dt)
        t = labels(N, C, np.int64)
        record(f"basic-float32_labels-{name}", [x, t.astype(F32)], tags=["float_labels"] + f64,
               note="float32 labels: MXNet's usual label dtype")
        record(f"basic-float64_labels-{name}", [x, t.astype(F64)], tags=["float_labels"] + f64)
        record(f"basic-int32_labels-{name}", [x, t.astype(np.int32)], tags=["int32_labels"] + f64)
        record(f"basic-int64_labels-{name}", [x, t], tags=["int64_labels"] + f64)
        record(f"basic-uint8_labels-{name}", [x, t.astype(np.uint8)], tags=["uint8_labels"] + f64)
        record(f"label_keepdims_shape-{name}", [x, t.astype(F32).reshape(N, 1)], tags=["label_shape"] + f64,
               note="pick accepts the label with the class axis kept as size 1: (N, 1) for (N, C)")
        record(f"alias-basic-{name}", [x, t.astype(F32)], tags=["alias"] + f64, api=ALIAS)

        # ---- class axis and batch axis -------------------------------------------------------
        x3 = logits((3, 4, 2), dt)
        t3 = labels((3, 2), 4)
        record(f"axis1-rank3-{name}", [x3, t3], {"axis": 1}, tags=["axis", "higher_rank"] + f64,
               note="output (N,): the mean over the remaining axis d1")
        xc = logits((4, 5), dt)
        record(f"axis0-batch_axis1-{name}", [xc, labels(5, 4)], {"axis": 0, "batch_axis": 1},
               tags=["axis", "batch_axis"] + f64, note="(C, N) layout")
        record(f"axis-2-rank3-{name}", [x3.transpose(0, 2, 1).copy(), labels((3, 4), 2)], {"axis": -2},
               tags=["axis", "higher_rank"] + f64)
        xb = logits((2, 3, 4), dt)
        record(f"batch_axis1-rank3-{name}", [xb, labels((2, 3), 4)], {"batch_axis": 1},
               tags=["batch_axis", "higher_rank"] + f64, note="output (3,): the mean over axes 0 and 2")
        record(f"batch_axis-1-rank3-axis1-{name}", [xb, labels((2, 4), 3)], {"axis": 1, "batch_axis": -1},
               tags=["batch_axis", "axis", "higher_rank"] + f64, note="negative batch_axis counts from the end")
        record(f"batch_axis_eq_axis-{name}", [xb, labels((2, 4), 3)], {"axis": 1, "batch_axis": 1},
               tags=["batch_axis", "axis", "higher_rank"] + f64,
               note="batch_axis == axis: the loss has size 1 there, output shape (1,) = the mean of everything")
        x4 = logits((2, 4, 3, 2), dt)
        t4 = labels((2, 3, 2), 4)
        record(f"nchw-axis1-{name}", [x4, t4], {"axis": 1}, tags=["axis", "higher_rank"] + f64)
        record(f"nchw-axis1-batch_axis2-{name}", [x4, t4], {"axis": 1, "batch_axis": 2},
               tags=["axis", "batch_axis", "higher_rank"] + f64)
        record(f"nhwc-{name}", [logits((2, 3, 2, 4), dt), labels((2, 3, 2), 4, np.int32)],
               tags=["higher_rank", "int32_labels"] + f64)
        record(f"alias-axis1-rank3-{name}", [x3, t3], {"axis": 1, "batch_axis": 0}, api=ALIAS,
               tags=["alias", "axis", "higher_rank"] + f64)

        # ---- sample_weight broadcasting -------------------------------------------------------
        tl = labels(N, C)
        record(f"sw-N1-{name}", [x, tl, weights((N, 1), dt)], tags=["sample_weight"] + f64,
               note="the documented per-sample shape (N, 1)")
        record(f"sw-N1-kwarg-{name}", [x, tl], kwargs={"sample_weight": weights((N, 1), dt)},
               tags=["sample_weight"] + f64, expect_error=True,
               note="Block.__call__(*args) takes no keywords: sample_weight only positionally (apache/mxnet#7918)")
        record(f"sw-N-{name}", [x, tl, weights((N,), dt)], tags=["sample_weight", "broadcast_quirk"] + f64,
               note="(N,) against the loss (N, 1) broadcasts to (N, N): loss_i * mean(sample_weight), "
               "NOT loss_i * sample_weight_i")
        record(f"sw-1-{name}", [x, tl, weights((1,), dt)], tags=["sample_weight"] + f64)
        record(f"sw-11-{name}", [x, tl, weights((1, 1), dt)], tags=["sample_weight"] + f64)
        record(f"sw-C-{name}", [x, tl, weights((C,), dt)], tags=["sample_weight", "broadcast_quirk"] + f64,
               note="(C,) broadcasts to (N, C): loss_i * mean(sample_weight)")
        record(f"sw-NC-{name}", [x, tl, weights((N, C), dt)], tags=["sample_weight", "broadcast_quirk"] + f64,
               note="pred's full shape: loss_i * mean_c sample_weight[i, c]")
        sw0 = weights((N, 1), dt)
        sw0[[1, 3]] = 0
        record(f"sw-zeros-{name}", [x, tl, sw0], tags=["sample_weight"] + f64, note="sample_weight 0 masks items")
        lw = labels((3, 2), 4)
        record(f"sw-rank3-keep-{name}", [x3, lw, weights((3, 1, 2), dt)], {"axis": 1},
               tags=["sample_weight", "higher_rank", "axis"] + f64)
        record(f"sw-rank3-N11-{name}", [x3, lw, weights((3, 1, 1), dt)], {"axis": 1},
               tags=["sample_weight", "higher_rank", "axis"] + f64)
        record(f"sw-rank3-label_shape-{name}", [x3, lw, weights((3, 2), dt)], {"axis": 1},
               tags=["sample_weight", "higher_rank", "axis", "broadcast_quirk"] + f64,
               note="the label's shape (N, d1) right-aligns against the loss (N, 1, d1) as (1, N, d1): "
               "the axis of size 1 is averaged over the N weights")
        record(f"sw-rank3-full-{name}", [x3, lw, weights((3, 4, 2), dt)], {"axis": 1},
               tags=["sample_weight", "higher_rank", "axis", "broadcast_quirk"] + f64,
               note="pred's full shape: the class axis of the weights is averaged")
        record(f"sw-rank3-d1-{name}", [x3, lw, weights((2,), dt)], {"axis": 1},
               tags=["sample_weight", "higher_rank", "axis"] + f64)
        record(f"sw-batch_axis1-{name}", [xc, labels(5, 4), weights((1, 5), dt)], {"axis": 0, "batch_axis": 1},
               tags=["sample_weight", "axis", "batch_axis"] + f64)
        record(f"sw-batch_axis1-N-{name}", [xc, labels(5, 4), weights((5,), dt)], {"axis": 0, "batch_axis": 1},
               tags=["sample_weight", "axis", "batch_axis"] + f64,
               note="(N,) against the loss (1, N): a per-sample weight here")

        # ---- weight (global scalar) -------------------------------------------------------------
        record(f"weight-{name}", [x, tl], {"weight": 2.5}, tags=["weight"] + f64)
        record(f"weight-int-{name}", [x, tl], {"weight": 3}, tags=["weight"] + f64)
        record(f"weight-negative-{name}", [x, tl], {"weight": -0.5}, tags=["weight"] + f64)
        record(f"weight-zero-{name}", [x, tl], {"weight": 0.0}, tags=["weight"] + f64)
        record(f"weight-sw-{name}", [x, tl, weights((N, 1), dt)], {"weight": 0.75},
               tags=["weight", "sample_weight"] + f64)
        record(f"alias-weight-sw-{name}", [x3, lw, weights((3, 1, 2), dt)], {"weight": 1.5, "axis": 1}, api=ALIAS,
               tags=["alias", "weight", "sample_weight", "axis", "higher_rank"] + f64)

        # ---- from_logits -------------------------------------------------------------------------
        lp = log_softmax(x)
        record(f"from_logits-log_softmax-{name}", [lp, tl], {"from_logits": True}, tags=["from_logits"] + f64,
               note="pred is used as log-probabilities: loss = -pred[label]")
        record(f"from_logits-raw-{name}", [x, tl], {"from_logits": True}, tags=["from_logits"] + f64,
               note="no normalisation check: any scores are used as they are")
        record(f"from_logits-rank3-axis1-{name}", [log_softmax(x3, 1), lw], {"from_logits": True, "axis": 1},
               tags=["from_logits", "axis", "higher_rank"] + f64)
        record(f"from_logits-sw-weight-{name}", [lp, tl, weights((N, 1), dt)], {"from_logits": True, "weight": 2.0},
               tags=["from_logits", "sample_weight", "weight"] + f64)
        record(f"from_logits-dense-{name}", [lp, probs((N, C), dt=dt)], {"from_logits": True, "sparse_label": False},
               tags=["from_logits", "soft_target"] + f64)

        # ---- sparse_label=False (probability targets) -------------------------------------------------
        q = probs((N, C), dt=dt)
        record(f"dense-{name}", [x, q], {"sparse_label": False}, tags=["soft_target"] + f64)
        oh = np.eye(C, dtype=dt)[tl.astype(int)]
        record(f"dense-onehot-{name}", [x, oh], {"sparse_label": False}, tags=["soft_target"] + f64,
               note="one-hot targets equal the sparse loss")
        qu = (rng.random((N, C)) * 3).astype(dt)
        record(f"dense-unnormalized-{name}", [x, qu], {"sparse_label": False},
               tags=["soft_target", "unnormalized"] + f64, note="-sum_c q_c log p_c; gradient sum(q) p - q")
        qz = q.copy()
        qz[:, 1] = 0
        qz[2] = 0
        record(f"dense-zeros-{name}", [x, qz], {"sparse_label": False}, tags=["soft_target"] + f64,
               note="an all-zero target row gives 0")
        q3 = probs((3, 4, 2), axis=1, dt=dt)
        record(f"dense-rank3-axis1-{name}", [x3, q3], {"sparse_label": False, "axis": 1},
               tags=["soft_target", "axis", "higher_rank"] + f64)
        record(f"dense-flat_label-{name}", [x3, q3.reshape(-1)], {"sparse_label": False, "axis": 1},
               tags=["soft_target", "label_shape", "higher_rank"] + f64,
               note="the label is reshaped to pred's shape (_reshape_like): any shape of the same size is accepted")
        record(f"dense-sw-weight-{name}", [x, q, weights((N, 1), dt)], {"sparse_label": False, "weight": 0.5},
               tags=["soft_target", "sample_weight", "weight"] + f64)
        record(f"dense-sw-full-{name}", [x, q, weights((N, C), dt)], {"sparse_label": False},
               tags=["soft_target", "sample_weight", "broadcast_quirk"] + f64,
               note="the docs call sample_weight element-wise; a full-shape weight gives loss_i * mean_c w_ic, "
               "not sum_c w_ic q_ic (-log p_ic)")
        record(f"alias-dense-batch_axis1-{name}", [xc, probs((4, 5), axis=0, dt=dt)],
               {"sparse_label": False, "axis": 0, "batch_axis": 1}, api=ALIAS,
               tags=["alias", "soft_target", "axis", "batch_axis"] + f64)

        # ---- edge sizes ----------------------------------------------------------------------------
        record(f"N=1-{name}", [logits((1, 4), dt), np.array([2], F32)], tags=["N=1"] + f64)
        record(f"C=1-{name}", [logits((3, 1), dt), np.zeros(3, F32)], tags=["C=1"] + f64, note="loss 0, gradient 0")
        # MXNet's float32 log_softmax of a single class is -1.43e-6, not 0 (12 ulp): an unnormalised float32
        # target of 2 would scale that float32 error past the float32 tolerance, so f32 keeps targets <= 1
        qc = [[1.0], [0.5], [2.0]] if dt == F64 else [[1.0], [0.5], [0.25]]
        record(f"C=1-dense-{name}", [logits((3, 1), dt), np.array(qc, dt)],
               {"sparse_label": False}, tags=["C=1", "soft_target", "unnormalized"] + f64,
               note="the loss is 0 for any target; MXNet's float32 log_softmax gives -1.43e-6 for one class")
        record(f"unbatched-{name}", [logits((4,), dt), np.array(2.0, F32)], tags=["unbatched"] + f64,
               note="pred (C,), label (): output shape (1,) (the batch axis is the class axis, kept as size 1)")
        record(f"empty-{name}", [np.zeros((0, 4), dt), np.zeros((0,), F32)], tags=["empty"] + f64)
        record(f"empty-dense-{name}", [np.zeros((0, 4), dt), np.zeros((0, 4), dt)], {"sparse_label": False},
               tags=["empty", "soft_target"] + f64)
        record(f"empty-spatial-{name}", [np.zeros((2, 3, 0), dt), np.zeros((2, 0), F32)], {"axis": 1},
               tags=["empty", "higher_rank", "axis"] + f64, note="mean over an empty axis")

        # ---- large logits --------------------------------------------------------------------------
        xl = np.array([[1e4, -1e4, 0.0, 1.0], [-1e4, 1e4, 64.0, -64.0], [64.0, 0.0, -1e4, 1e4],
                       [100.0, 36.0, 0.0, 0.0]], dt)
        tll = np.array([1, 1, 3, 1], F32)
        record(f"large_logits-{name}", [xl, tll], tags=["large_logits"] + f64)
        record(f"large_logits-dense-{name}", [xl, probs((4, 4), dt=dt)], {"sparse_label": False},
               tags=["large_logits", "soft_target"] + f64)
        record(f"large_gap64-{name}", [np.array([[64.0, 0.0, 0.0], [0.0, 64.5, 0.0]], dt), np.array([0, 0], F32)],
               tags=["large_logits"] + f64)

        # ---- labels that MXNet turns into numbers ---------------------------------------------------
        clip = "pick's default mode='clip' clamps labels into [0, C-1] (apache/mxnet#12009)"
        record(f"label_eq_C-{name}", [x, np.array([4, 0, 1, 2, 3], F32)], tags=["out_of_range"] + f64,
               invalid="label 4 >= C=4: " + clip)
        record(f"label_above_C-int32-{name}", [x, np.array([0, 9, 1, 2, 3], np.int32)],
               tags=["out_of_range", "int32_labels"] + f64, invalid="label 9 >= C: " + clip)
        record(f"label_negative-{name}", [x, np.array([0, 1, -1, 2, 3], F32)], tags=["out_of_range"] + f64,
               invalid="label -1 < 0: " + clip)
        record(f"label_negative-int64-{name}", [x, np.array([-3, 1, 0, 2, 3], np.int64)],
               tags=["out_of_range", "int64_labels"] + f64, invalid="label -3 < 0: " + clip)
        record(f"label_uint8_255-{name}", [x, np.array([0, 1, 255, 2, 3], np.uint8)],
               tags=["out_of_range", "uint8_labels"] + f64, invalid="label 255 >= C: " + clip)
        record(f"label_fractional-{name}", [x, np.array([0.5, 1.0, 2.7, 3.0, 1.2], F32)],
               tags=["float_labels", "non_integer"] + f64,
               invalid="non-integer float labels are truncated toward zero by pick's cast to an index")
        record(f"label_fractional_negative-{name}", [x, np.array([-0.5, 1.0, 2.0, 3.0, 1.0], F32)],
               tags=["float_labels", "non_integer"] + f64, invalid="-0.5 truncates to 0")
        record(f"label_out_of_range-rank3-{name}", [x3, np.array([[0, 4], [1, 2], [3, 7]], F32)], {"axis": 1},
               tags=["out_of_range", "higher_rank", "axis"] + f64, invalid="labels 4, 7 >= C=4: " + clip)

        # ---- sample weights that change the output's shape --------------------------------------------
        record(f"sw-extra_leading_axis-{name}", [x, tl, weights((3, N, 1), dt)],
               tags=["sample_weight", "broadcast_quirk"] + f64,
               invalid="a sample_weight with more axes than the loss shifts the batch axis: output shape (3,), "
               "one value per index of the weight's first axis, not per sample")
        record(f"sw-batch_axis_eq_axis-{name}", [xb, labels((2, 4), 3), weights((4,), dt)],
               {"axis": 1, "batch_axis": 1}, tags=["sample_weight", "batch_axis", "axis"] + f64,
               note="(4,) right-aligns with the loss (2, 1, 4) on its last axis: output (1,)")
        record(f"sw-extends_batch_axis-{name}", [xb, labels((2, 4), 3), weights((3, 1), dt)],
               {"axis": 1, "batch_axis": 1}, tags=["sample_weight", "batch_axis", "broadcast_quirk"] + f64,
               invalid="batch_axis == axis: the loss has size 1 on the batch axis and the weight's axis "
               "right-aligned to it is not 1, so the output gets the weight's size there")


def errors():
    x = logits((3, 4))
    t = labels(3, 4)
    record("err-label_shape", [x, np.zeros(4, F32)], tags=["error", "label_shape"], expect_error=True)
    record("err-label_shape_rank3", [logits((2, 3, 4)), np.zeros((2, 4, 1), F32)], {"axis": 1},
           tags=["error", "label_shape"], expect_error=True)
    record("err-label_transposed_keepdims", [x, np.zeros((1, 3), F32)], tags=["error", "label_shape"], expect_error=True)
    record("err-dense_label_size", [x, np.zeros(11, F32)], {"sparse_label": False},
           tags=["error", "soft_target", "label_shape"], expect_error=True)
    record("err-dense_label_larger", [x, np.zeros(16, F32)], {"sparse_label": False},
           tags=["error", "soft_target", "label_shape"], expect_error=True,
           note="under autograd.record a label with more elements is refused; outside it NDArray.reshape "
           "would silently take its first pred.size elements")
    record("err-dense_label_float64", [x, probs((3, 4), dt=F64)], {"sparse_label": False},
           tags=["error", "soft_target"], expect_error=True, note="the label must have pred's dtype")
    record("err-dense_label_int", [x, np.eye(4, dtype=np.int32)[[0, 1, 2]]], {"sparse_label": False},
           tags=["error", "soft_target"], expect_error=True)
    record("err-dense_label_float32_for_f64", [x.astype(F64), probs((3, 4), dt=F32)], {"sparse_label": False},
           tags=["error", "soft_target", "float64"], expect_error=True)
    record("ok-sparse_label_float64_for_f32", [x, t.astype(F64)], tags=["float_labels"],
           note="sparse labels may have any dtype")
    record("err-sw_dtype", [x, t, weights((3, 1), F64)], tags=["error", "sample_weight"], expect_error=True,
           note="sample_weight must have pred's dtype (broadcast_mul)")
    record("err-sw_int", [x, t, np.ones((3, 1), np.int32)], tags=["error", "sample_weight"], expect_error=True)
    record("err-sw_0d", [x, t, np.array(2.0, F32)], tags=["error", "sample_weight"], expect_error=True,
           note="classic NDArray mode has no 0-d arrays: broadcast_mul cannot infer the shape")
    record("sw-any_length", [x, t, weights((2,))], tags=["sample_weight", "broadcast_quirk"], expect_error=False,
           note="a 1-D weight of any length k broadcasts with the loss (N, 1) to (N, k): loss_i * mean(w)")
    record("sw-rank3-extends_d1", [logits((3, 4, 2)), labels((3, 2), 4), weights((3, 2, 2))], {"axis": 1},
           tags=["sample_weight", "higher_rank", "broadcast_quirk"], expect_error=False,
           note="(3, 2, 2) against the loss (3, 1, 2): averaged over its axis 1")
    record("err-sw_shape", [x, t, weights((2, 1))], tags=["error", "sample_weight"], expect_error=True)
    record("err-sw_shape_rank3", [logits((3, 4, 2)), labels((3, 2), 4), weights((2, 1, 2))], {"axis": 1},
           tags=["error", "sample_weight", "higher_rank"], expect_error=True)
    record("err-axis", [x, t], {"axis": 2}, tags=["error", "axis"], expect_error=True)
    record("err-axis_negative", [x, t], {"axis": -3}, tags=["error", "axis"], expect_error=True)
    record("err-batch_axis", [x, t], {"batch_axis": 2}, tags=["error", "batch_axis"], expect_error=True)
    record("err-batch_axis_negative", [x, t], {"batch_axis": -3}, tags=["error", "batch_axis"], expect_error=True)
    record("err-weight_array", [x, t], {"weight": np.array(2.0, F32)}, tags=["error", "weight"], expect_error=True,
           note="assert isinstance(weight, numeric_types): an AssertionError at call time")
    record("err-weight_str", [x, t], {"weight": "2"}, tags=["error", "weight"], expect_error=True)
    record("err-int_pred", [np.zeros((3, 4), np.int32), t], tags=["error"], expect_error=True)
    record("err-unknown_kwarg", [x, t], {"foo": 1}, tags=["error"], expect_error=True,
           note="Block.__init__ takes only prefix and params")
    record("ok-prefix_params", [x, t], {"prefix": "ce_", "params": None}, tags=["prefix"],
           note="the Block kwargs prefix/params are accepted and have no effect on the value")


def main():
    per_dtype()
    errors()
    R.write("mxnet")


if __name__ == "__main__":
    main()

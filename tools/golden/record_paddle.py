"""Record golden data for the ``paddle`` dialect from the real PaddlePaddle 3.3.1 (CPU).

Run from the repository root with the golden-a venv::

    /work/golden-venvs/golden-a/bin/python tools/golden/record_paddle.py

Writes ``unified_ce/conformance/golden/paddle.json``.  Deterministic (fixed seeds).

API: ``paddle.nn.functional.softmax_with_cross_entropy(logits, label, soft_label=False,
ignore_index=-100, numeric_stable_mode=True, return_softmax=False, axis=-1)`` (deprecated since
Paddle 2.0 in favour of ``cross_entropy``; recorded as it is).  The gradient is
d sum(loss * grad_output) / d logits by Paddle's autograd (``paddle.grad``), also for
``return_softmax=True`` (the softmax output gets no cotangent).

What Paddle does, in short (see /work/notes/findings-paddle.md):
* the label keeps the class axis with size 1 (hard labels) or has the logits' shape (soft);
  a label of rank ``logits.ndim - 1`` is reshaped to ``[label.shape[0], logits.shape[1]]``
  (python/paddle/nn/functional/loss.py), which only works for 2-D logits with shape[1] == 1;
* the CPU softmax clips ``x - max(x)`` at -64 (phi/kernels/funcs/softmax_impl.h ``ValueClip``), so
  the loss of one item is at most about 64;
* the backward is ``softmax - label`` (also for soft labels that do not sum to 1);
* hard labels of any integer or float dtype are read with ``static_cast<int>`` in the forward
  (floats are truncated), but the backward only exists for integer dtypes.
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

from _common import Recorder, err  # noqa: E402

paddle.set_device("cpu")
warnings.simplefilter("ignore")  # the deprecation warning of softmax_with_cross_entropy on every call

API = "softmax_with_cross_entropy"
rng = np.random.default_rng(20240615)
go_rng = np.random.default_rng(3031)
R = Recorder("paddle", "paddle", paddle.__version__, {"numpy": np.__version__, "paddle": paddle.__version__})

F32, F64 = np.float32, np.float64
DTS = [("f32", F32), ("f64", F64)]


def _tensor(v, grad=False):
    t = paddle.to_tensor(np.array(v, copy=True))
    t.stop_gradient = not grad
    return t


def _grad_of_forward(x, label, go, axis):
    """d sum(loss * go) / dx of the soft-label forward -sum_c q_c log_softmax(x)_c, by Paddle's autodiff."""
    xt = _tensor(x, grad=True)
    loss = -(_tensor(label) * paddle.nn.functional.log_softmax(xt, axis=axis)).sum(axis=axis, keepdim=True)
    (gt,) = paddle.grad([loss], [xt], grad_outputs=[_tensor(go)])
    return np.array(gt.numpy(), copy=True)


def record(cid, x, label, kwargs=None, tags=(), note="", invalid=None, grad=True, grad_of_forward=False):
    """Call Paddle on (x, label, **kwargs); record outputs and the gradient (or the error).

    ``grad_of_forward``: also record the derivative of the soft-label forward itself (for soft
    labels that do not sum to 1, where Paddle's backward ``softmax - label`` is not it).
    """
    kwargs = dict(kwargs or {})
    grad_output = None
    try:
        diff = grad and isinstance(x, np.ndarray) and x.dtype.kind == "f"
        xt = _tensor(x, grad=diff)
        out = paddle.nn.functional.softmax_with_cross_entropy(xt, _tensor(label), **kwargs)
        loss = out[0] if isinstance(out, (tuple, list)) else out
        outputs = [np.array(o.numpy(), copy=True) for o in out] if isinstance(out, (tuple, list)) else None
        output = outputs if outputs is not None else np.array(loss.numpy(), copy=True)
        g = None
        if diff:
            go = go_rng.uniform(-1.0, 1.0, size=tuple(loss.shape)).astype(x.dtype)
            grad_output = go
            try:
                (gt,) = paddle.grad([loss], [xt], grad_outputs=[_tensor(go)])
                g = np.array(gt.numpy(), copy=True)
            except Exception as exc:  # backward refused: output recorded, grad null, note why
                msg = str(exc).strip().splitlines()[0][:200]
                note = (note + " " if note else "") + f"backward raised {type(exc).__name__}: {msg}"
        elif not grad:
            note = (note + " " if note else "") + "gradient not recorded (see note)"
        expect = {"output": output, "grad": g}
        if grad_of_forward:
            expect["grad_of_forward"] = _grad_of_forward(x, label, grad_output, kwargs.get("axis", -1))
    except Exception as exc:  # noqa: BLE001
        expect = err(exc)
        grad_output = None
    return R.add(
        id=f"{API}/{cid}", api=API, init=None, method=None, args=[x, label], kwargs=kwargs,
        grad_output=grad_output, expect=expect, invalid=invalid, tags=tags, note=note,
    )


def logits(shape, dt=F32, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dt)


def labels(shape, C, dt=np.int64):
    return rng.integers(0, C, size=shape).astype(dt)


def soft(shape, axis=-1, dt=F32, zeros=False):
    p = rng.random(shape) + 0.05
    if zeros:
        p[rng.random(shape) < 0.3] = 0.0
    p = p / p.sum(axis=axis, keepdims=True)
    return p.astype(dt)


def keep(t, axis):
    """Hard labels with the class axis kept (size 1) at ``axis``."""
    return np.expand_dims(t, axis)


def f64tag(dt):
    return ["float64"] if dt == F64 else []


def doc_examples():
    # paddle.nn.functional.softmax_with_cross_entropy docstring: shape [1], [1.15328646]
    for name, dt in DTS:
        x = np.array([0.4, 0.6, 0.9], dt)
        record(f"doc_example-{name}", x, np.array([1], np.int64), tags=["doc_example", "unbatched"] + f64tag(dt),
               note="docstring: Tensor(shape=[1], dtype=float32, [1.15328646]); 1-D logits, label of shape [1]")
        record(f"doc_example-keywords-{name}", x, np.array([1], np.int64),
               {"soft_label": False, "ignore_index": -100, "numeric_stable_mode": True, "return_softmax": False,
                "axis": -1}, tags=["doc_example"] + f64tag(dt), note="every default spelled out")
    # the example every dialect shares (chainer's doc example), labels with the kept axis
    for name, dt in DTS:
        x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]], dt)
        record(f"shared_example-{name}", x, np.array([[3], [0]], np.int64), tags=f64tag(dt),
               note="golden-frameworks.md: [[0.44018966], [0.44018975]] in float32")


def basic_and_label_dtypes():
    for name, dt in DTS:
        f64 = f64tag(dt)
        N, C = 5, 4
        x = logits((N, C), dt)
        record(f"basic-int64-{name}", x, keep(labels(N, C), 1), tags=["int64_labels"] + f64)
        record(f"basic-int32-{name}", x, keep(labels(N, C, np.int32), 1), tags=["int32_labels"] + f64)
        record(f"basic-uint8-{name}", x, keep(labels(N, C, np.uint8), 1), tags=["uint8_labels"] + f64,
               note="uint8 labels are accepted")
        record(f"basic-int16-{name}", x, keep(labels(N, C, np.int16), 1), tags=["int16_labels"] + f64)
        record(f"basic-int8-{name}", x, keep(labels(N, C, np.int8), 1), tags=["int8_labels"] + f64)
        # float labels: the forward casts them with static_cast<int>, the backward has no float kernel
        tf = keep(labels(N, C), 1).astype(dt)
        record(f"float_labels-integral-{name}", x, tf, tags=["float_labels"] + f64,
               note="integral-valued float labels: forward reads static_cast<int>(label)")
        tfr = tf + dt(0.6)
        tfr[tfr >= C] -= 1.0
        record(f"float_labels-fractional-{name}", x, tfr, tags=["float_labels"] + f64,
               invalid="non-integer float labels are truncated towards zero (static_cast<int>) and used as indices",
               note="cross_entropy.cc HardLabelCrossEntropyCPUFunctorImpl: int lbl = static_cast<int>(label)")
        tb = keep(rng.integers(0, 2, N).astype(np.bool_), 1)
        record(f"bool_labels-{name}", x, tb, tags=["bool_labels"] + f64,
               invalid="bool labels are read as class indices 0/1", note="forward accepts bool; backward has no kernel")
    # float labels equal to ignore_index are ignored
    x = logits((4, 3))
    record("float_labels-ignore", x, np.array([[2.0], [-100.0], [0.0], [1.0]], F32),
           tags=["float_labels", "ignore_index"], note="-100.0 == ignore_index after the int cast")
    # a large int64 label that wraps to a valid class under static_cast<int>
    t = np.array([[3], [2**32 + 2], [0]], np.int64)
    record("label_int64_wraps", logits((3, 4)), t, tags=["out_of_range", "int64_labels"], grad=False,
           invalid="label 2**32+2 is truncated to 2 by static_cast<int> in the forward and used as class 2",
           note="the CPU backward reads static_cast<int64_t>(label) and would index out of bounds: not run")


def label_shapes():
    # label without the kept axis: reshaped to [label.shape[0], logits.shape[1]] in loss.py
    for name, dt in DTS:
        f64 = f64tag(dt)
        x = logits((5, 4), dt)
        record(f"label_no_kept_axis-{name}", x, labels(5, 4), tags=["label_shape", "error"] + f64,
               note="loss.py reshapes a rank ndim-1 label to [label.shape[0], logits.shape[1]]: 5 elements into [5, 4]")
        record(f"label_no_kept_axis-C=1-{name}", logits((3, 1), dt), np.zeros(3, np.int64),
               tags=["label_shape", "C=1"] + f64, note="[3] reshaped to [3, 1] works: C=1 is the only 2-D case")
        record(f"label_no_kept_axis-axis0-N=1-{name}", logits((3, 1), dt), np.array([2], np.int64), {"axis": 0},
               tags=["label_shape", "axis", "N=1"] + f64,
               note="axis=0 on (C, 1): [1] reshaped to [1, 1] = the kept-axis label")
    x = logits((3, 4))
    record("label_no_kept_axis-axis0", x, labels(4, 3), {"axis": 0}, tags=["label_shape", "axis", "error"],
           note="[4] cannot be reshaped to [4, 4]")
    record("label_no_kept_axis-empty", np.zeros((0, 4), F32), np.zeros(0, np.int64), tags=["label_shape", "empty", "error"],
           note="[0] reshapes to [0, 4], whose class axis is 4, not 1")
    record("label_no_kept_axis-1d", np.array([0.4, 0.6, 0.9], F32), np.array(1, np.int64),
           tags=["label_shape", "unbatched", "error"], note="label.shape[0] of a 0-d label: IndexError in loss.py")
    x3 = logits((2, 3, 4))
    record("label_no_kept_axis-rank3", x3, labels((2, 3), 4), tags=["label_shape", "higher_rank", "error"])
    record("label_no_kept_axis-rank3-axis1", x3, labels((2, 4), 3), {"axis": 1},
           tags=["label_shape", "higher_rank", "axis", "error"])
    record("label_no_kept_axis-rank3-square", logits((2, 3, 3)), labels((2, 3), 3),
           tags=["label_shape", "higher_rank", "error"],
           note="[2, 3] reshapes to [2, 3] (d1 == C) but then has rank 2 against rank-3 logits")
    x = logits((2, 4))
    record("label_rank_plus_one", x, labels((2, 1, 1), 4), tags=["label_shape", "error"])
    record("label_kept_axis_size2", x, labels((2, 2), 4), tags=["label_shape", "error"])
    record("label_wrong_batch", x, labels((3, 1), 4), tags=["label_shape", "error"])
    record("logits_0d", np.array(1.0, F32), np.array(0, np.int64), tags=["error"])
    record("logits_int", np.array([[1, 2, 3]], np.int64), np.array([[0]], np.int64), tags=["error"])
    record("logits_float16", np.array([[1, 2, 3]], np.float16), np.array([[0]], np.int64), tags=["float16", "error"],
           note="no float16 kernel on CPU (GPU has one)")


def axes():
    for name, dt in DTS:
        f64 = f64tag(dt)
        x = logits((4, 3), dt)
        t0 = labels(3, 4)
        record(f"rank2-axis0-{name}", x, keep(t0, 0), {"axis": 0}, tags=["axis"] + f64)
        record(f"rank2-axis-2-{name}", x, keep(t0, 0), {"axis": -2}, tags=["axis"] + f64)
        record(f"rank2-axis1-{name}", x, keep(labels(4, 3), 1), {"axis": 1}, tags=["axis"] + f64)
        x3 = logits((2, 3, 4), dt)
        for ax in (0, 1, 2, -1, -2, -3):
            shp = tuple(s for i, s in enumerate(x3.shape) if i != ax % 3)
            t = labels(shp, x3.shape[ax])
            record(f"rank3-axis{ax}-{name}", x3, keep(t, ax % 3), {"axis": ax}, tags=["axis", "higher_rank"] + f64)
        x4 = logits((2, 3, 2, 3), dt)
        for ax in (0, 1, 2, 3):
            shp = tuple(s for i, s in enumerate(x4.shape) if i != ax)
            t = labels(shp, x4.shape[ax])
            t.reshape(-1)[::4] = -100
            record(f"rank4-axis{ax}-ignore-{name}", x4, keep(t, ax), {"axis": ax},
                   tags=["axis", "higher_rank", "ignore_index"] + f64)
    x = logits((2, 4))
    record("axis_out_of_range-2", x, keep(labels(2, 4), 1), {"axis": 2}, tags=["axis", "error"])
    record("axis_out_of_range--3", x, keep(labels(2, 4), 1), {"axis": -3}, tags=["axis", "error"])


def ignore_index():
    for name, dt in DTS:
        f64 = f64tag(dt)
        N, C = 6, 4
        x = logits((N, C), dt)
        t = labels(N, C)
        t[[1, 4]] = -100
        record(f"ignore_default-{name}", x, keep(t, 1), tags=["ignore_index"] + f64)
        t = labels(N, C)
        t[[0, 3]] = 2
        record(f"ignore_in_range-{name}", x, keep(t, 1), {"ignore_index": 2}, tags=["ignore_index"] + f64,
               note="ignore_index=2 is a real class: items labelled 2 get loss 0 and no gradient")
        t = labels(N, C)
        t[[2, 5]] = -1
        record(f"ignore_-1-{name}", x, keep(t, 1), {"ignore_index": -1}, tags=["ignore_index"] + f64)
        t = labels(N, C)
        t[[0]] = 7
        record(f"ignore_7-{name}", x, keep(t, 1), {"ignore_index": 7}, tags=["ignore_index"] + f64)
        record(f"all_ignored-{name}", x, np.full((N, 1), -100, np.int64), tags=["all_ignored", "ignore_index"] + f64,
               note="no reduction: zeros")
        record(f"all_ignored-int32-{name}", x, np.full((N, 1), 3, np.int32), {"ignore_index": 3},
               tags=["all_ignored", "ignore_index", "int32_labels"] + f64)
    x = logits((4, 3))
    record("ignore_255-uint8", x, np.array([[2], [255], [0], [255]], np.uint8), {"ignore_index": 255},
           tags=["ignore_index", "uint8_labels"])
    record("ignore_-100-uint8", x, np.array([[2], [1], [0], [1]], np.uint8), tags=["ignore_index", "uint8_labels"],
           note="uint8 cannot hold -100: nothing is ignored")
    record("ignore_-1-uint8-255", x, np.array([[2], [255], [0], [1]], np.uint8), {"ignore_index": -1},
           tags=["ignore_index", "uint8_labels", "out_of_range", "error"], note="255 != -1: out of range")
    record("ignore_index_float", x, keep(labels(4, 3), 1), {"ignore_index": 1.5}, tags=["ignore_index", "error"])
    record("ignore_index_int32_overflow", x, keep(labels(4, 3), 1), {"ignore_index": 2**31},
           tags=["ignore_index", "error"])


def out_of_range():
    for name, dt in DTS:
        f64 = f64tag(dt)
        x = logits((4, 3), dt)
        t = keep(labels(4, 3), 1)
        t[1, 0] = 3
        record(f"label_eq_C-{name}", x, t, tags=["out_of_range", "error"] + f64)
        t = keep(labels(4, 3), 1)
        t[2, 0] = -1
        record(f"label_-1-{name}", x, t, tags=["out_of_range", "error"] + f64)
        t = keep(labels(4, 3, np.int32), 1)
        t[0, 0] = -2
        record(f"label_-2-ignore_-1-{name}", x, t, {"ignore_index": -1}, tags=["out_of_range", "ignore_index", "error"] + f64)
        t = keep(labels(4, 3, np.uint8), 1)
        t[3, 0] = 9
        record(f"label_9-uint8-{name}", x, t, tags=["out_of_range", "uint8_labels", "error"] + f64)
    x3 = logits((2, 3, 2))
    t = keep(labels((2, 2), 3), 1)
    t[1, 0, 1] = 5
    record("label_5-rank3-axis1", x3, t, {"axis": 1}, tags=["out_of_range", "higher_rank", "axis", "error"])


def soft_labels():
    for name, dt in DTS:
        f64 = f64tag(dt)
        N, C = 5, 4
        x = logits((N, C), dt)
        q = soft((N, C), dt=dt)
        record(f"soft-{name}", x, q, {"soft_label": True}, tags=["soft_target"] + f64)
        q0 = soft((N, C), dt=dt, zeros=True)
        record(f"soft-zeros-{name}", x, q0, {"soft_label": True}, tags=["soft_target"] + f64)
        record(f"soft-onehot-{name}", x, np.eye(C, dtype=dt)[labels(N, C)], {"soft_label": True},
               tags=["soft_target"] + f64, note="one-hot soft labels equal the hard-label loss")
        record(f"soft-ignore_index-{name}", x, q, {"soft_label": True, "ignore_index": 1},
               tags=["soft_target", "ignore_index"] + f64, note="ignore_index has no effect on soft labels")
        record(f"soft-numeric_stable_mode_false-{name}", x, q, {"soft_label": True, "numeric_stable_mode": False},
               tags=["soft_target", "numeric_stable_mode"] + f64)
        record(f"soft-return_softmax-{name}", x, q, {"soft_label": True, "return_softmax": True},
               tags=["soft_target", "return_softmax"] + f64)
        x3 = logits((2, 3, 4), dt)
        record(f"soft-rank3-axis1-{name}", x3, soft((2, 3, 4), axis=1, dt=dt), {"soft_label": True, "axis": 1},
               tags=["soft_target", "higher_rank", "axis"] + f64)
        record(f"soft-rank3-axis0-{name}", x3, soft((2, 3, 4), axis=0, dt=dt), {"soft_label": True, "axis": 0},
               tags=["soft_target", "higher_rank", "axis"] + f64)
        x4 = logits((2, 3, 2, 2), dt)
        record(f"soft-rank4-axis-1-{name}", x4, soft((2, 3, 2, 2), dt=dt), {"soft_label": True},
               tags=["soft_target", "higher_rank"] + f64)
        # soft labels that are not a distribution: Paddle computes sum_c q_c (-log p_c) but its
        # backward is softmax - q, which is that loss's gradient only when sum_c q_c == 1
        qu = (rng.random((N, C)) * 2.0).astype(dt)
        record(f"soft-unnormalized-{name}", x, qu, {"soft_label": True}, tags=["soft_target", "unnormalized"] + f64,
               invalid="soft labels must sum to 1 along the class axis (Paddle docs; issue #63678): Paddle returns "
               "sum_c q_c (-log p_c) with the gradient softmax - q, which is not that loss's gradient",
               note="grad is Paddle's backward softmax - label; grad_of_forward the derivative of its forward",
               grad_of_forward=True)
        qz = q.copy()
        qz[2] = 0.0
        record(f"soft-zero_row-{name}", x, qz, {"soft_label": True}, tags=["soft_target", "unnormalized"] + f64,
               invalid="an all-zero soft label row is not a distribution: Paddle gives loss 0 but gradient softmax",
               grad_of_forward=True)
        qn = q.copy()
        qn[1] = np.array([-0.5, 1.0, 0.25, 0.25], dt)
        record(f"soft-negative-{name}", x, qn, {"soft_label": True}, tags=["soft_target"] + f64,
               invalid="negative soft labels (the row still sums to 1) are used as weights")
    x = logits((4, 3))
    q = soft((4, 3))
    record("soft-label_float64-logits_float32", x, q.astype(F64), {"soft_label": True},
           tags=["soft_target", "mixed_dtype", "error"], note="soft labels must have the logits' dtype")
    record("soft-label_int64", x, np.ones((4, 3), np.int64), {"soft_label": True}, tags=["soft_target", "error"])
    record("soft-label_kept_axis", x, np.ones((4, 1), F32), {"soft_label": True}, tags=["soft_target", "label_shape", "error"])
    record("soft-label_rank1", x, np.ones(4, F32), {"soft_label": True}, tags=["soft_target", "label_shape", "error"])
    record("soft-C=1-label_rank1", logits((3, 1)), np.ones(3, F32), {"soft_label": True},
           tags=["soft_target", "label_shape", "C=1"], note="[3] reshaped to [3, 1]")
    record("soft-C=1", logits((3, 1)), np.ones((3, 1), F32), {"soft_label": True}, tags=["soft_target", "C=1"])
    record("soft-unbatched", np.array([0.4, 0.6, 0.9], F32), np.array([0.2, 0.3, 0.5], F32), {"soft_label": True},
           tags=["soft_target", "unbatched"])
    record("soft-wrong_batch", x, soft((5, 3)), {"soft_label": True}, tags=["soft_target", "label_shape", "error"])


def modes():
    for name, dt in DTS:
        f64 = f64tag(dt)
        N, C = 5, 4
        x = logits((N, C), dt)
        t = labels(N, C)
        t[2] = -100
        record(f"numeric_stable_mode_false-{name}", x, keep(t, 1), {"numeric_stable_mode": False},
               tags=["numeric_stable_mode", "ignore_index"] + f64, note="the CPU kernel ignores numeric_stable_mode")
        record(f"numeric_stable_mode_false-axis1-{name}", x, keep(t, 1), {"numeric_stable_mode": False, "axis": 1},
               tags=["numeric_stable_mode", "axis"] + f64, note="axis 1 is the last axis: allowed")
        record(f"numeric_stable_mode_false-axis0-{name}", x, keep(labels(C, N), 0),
               {"numeric_stable_mode": False, "axis": 0}, tags=["numeric_stable_mode", "axis", "error"] + f64,
               note="binary.cc CrossEntropyWithSoftmaxInferMeta: axis must be the last one when not numeric_stable_mode")
        x3 = logits((2, 3, 2), dt)
        record(f"numeric_stable_mode_false-rank3-axis1-{name}", x3, keep(labels((2, 2), 3), 1),
               {"numeric_stable_mode": False, "axis": 1}, tags=["numeric_stable_mode", "axis", "higher_rank", "error"] + f64)
        record(f"return_softmax-{name}", x, keep(t, 1), {"return_softmax": True},
               tags=["return_softmax", "ignore_index"] + f64)
        record(f"return_softmax-rank3-axis1-{name}", x3, keep(labels((2, 2), 3), 1), {"return_softmax": True, "axis": 1},
               tags=["return_softmax", "axis", "higher_rank"] + f64)
        record(f"return_softmax-axis0-nsm-ignore0-{name}", x, keep(labels(C, N), 0),
               {"return_softmax": True, "axis": 0, "ignore_index": 0, "numeric_stable_mode": True},
               tags=["return_softmax", "axis", "ignore_index", "numeric_stable_mode"] + f64)
        record(f"everything-{name}", x3, soft((2, 3, 2), axis=-2, dt=dt),
               {"soft_label": True, "ignore_index": 0, "numeric_stable_mode": True, "return_softmax": True, "axis": -2},
               tags=["soft_target", "ignore_index", "numeric_stable_mode", "return_softmax", "axis", "higher_rank"] + f64)


def sizes_and_extremes():
    for name, dt in DTS:
        f64 = f64tag(dt)
        record(f"N=1-{name}", logits((1, 5), dt), np.array([[3]], np.int64), tags=["N=1"] + f64)
        record(f"N=1-ignored-{name}", logits((1, 5), dt), np.array([[-100]], np.int64),
               tags=["N=1", "all_ignored", "ignore_index"] + f64)
        record(f"C=1-{name}", logits((4, 1), dt), np.zeros((4, 1), np.int64), tags=["C=1"] + f64,
               note="one class: loss -0.0, gradient 0")
        record(f"C=1-return_softmax-{name}", logits((4, 1), dt), np.zeros((4, 1), np.int32), {"return_softmax": True},
               tags=["C=1", "return_softmax", "int32_labels"] + f64)
        record(f"empty-{name}", np.zeros((0, 4), dt), np.zeros((0, 1), np.int64), tags=["empty"] + f64)
        record(f"empty-return_softmax-{name}", np.zeros((0, 4), dt), np.zeros((0, 1), np.int32), {"return_softmax": True},
               tags=["empty", "return_softmax"] + f64)
        record(f"empty-soft-{name}", np.zeros((0, 4), dt), np.zeros((0, 4), dt), {"soft_label": True},
               tags=["empty", "soft_target"] + f64)
        record(f"empty-rank3-axis1-{name}", np.zeros((2, 4, 0), dt), np.zeros((2, 1, 0), np.int64), {"axis": 1},
               tags=["empty", "higher_rank", "axis"] + f64)
        # large logit gaps: the CPU softmax clips x - max(x) at -64 (softmax_impl.h ValueClip)
        xl = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [0.0, 64.0, -64.0], [64.0, 0.0, 0.5]], dt)
        tl = np.array([[1], [1], [2], [0]], np.int64)
        record(f"large_logits-pm1e4-{name}", xl, tl, tags=["large_logits"] + f64,
               note="row 0: exact loss 2e4, Paddle 64 (x - max clipped at -64); row 2: exact 128, Paddle 64")
        record(f"large_logits-pm1e4-return_softmax-{name}", xl, tl, {"return_softmax": True},
               tags=["large_logits", "return_softmax"] + f64, note="clipped softmax entries are exp(-64)/sum, not 0")
        xg = np.array([[0.0, 63.0, 1.0], [0.0, 64.0, 1.0], [0.0, 64.5, 1.0], [0.0, 65.0, 1.0], [0.0, 100.0, 1.0],
                       [-50.0, 14.0, 13.5]], dt)
        tg = np.array([[0], [0], [0], [0], [0], [0]], np.int64)
        record(f"large_logits-gaps_63_to_100-{name}", xg, tg, tags=["large_logits"] + f64,
               note="the loss of a class more than 64 below the max is capped: gaps 64.5, 65, 100 all give ~64")
        record(f"large_logits-gaps-axis0-{name}", np.ascontiguousarray(xg.T), tg.T, {"axis": 0},
               tags=["large_logits", "axis"] + f64, note="the Eigen (axis != -1) softmax clips the same way")
        ql = np.array([[0.5, 0.0, 0.5], [0.2, 0.8, 0.0], [0.0, 0.0, 1.0], [0.25, 0.25, 0.5]], dt)
        record(f"large_logits-soft-{name}", xl, ql, {"soft_label": True}, tags=["large_logits", "soft_target"] + f64,
               note="soft labels weight the clipped log-probabilities too")
        xn = np.array([[np.nan, 1.0, 0.0], [np.inf, 1.0, 0.0], [-np.inf, 1.0, 0.0], [1.0, 2.0, 3.0]], dt)
        record(f"nonfinite_logits-{name}", xn, np.array([[1], [1], [1], [2]], np.int64), tags=["nonfinite"] + f64,
               note="nan and +inf rows give nan; a -inf logit is clipped like any large gap")
    cid = record("C=0", np.zeros((2, 0), F32), np.zeros((2, 1), np.int64), tags=["C=0"], grad=False,
                 invalid="no classes: Paddle returns the uninitialised loss buffer (values are memory garbage)")
    case = R.payload["cases"][-1]
    assert case["id"] == cid and "output" in case["expect"]
    case["expect"]["output"] = np.full_like(case["expect"]["output"], np.nan)  # deterministic file
    case["note"] += " Stored as nan: the values vary from run to run (e.g. 4.7e-27 and 3.1e-41)."


def main():
    doc_examples()
    basic_and_label_dtypes()
    label_shapes()
    axes()
    ignore_index()
    out_of_range()
    soft_labels()
    modes()
    sizes_and_extremes()
    R.write("paddle")


if __name__ == "__main__":
    main()

"""Record golden data for the ``tensorflow`` dialect from the real TensorFlow (CPU).

Run from the repository root with the keras venv (tensorflow-cpu 2.21, keras 3)::

    /work/venvs/keras/bin/python tools/golden/record_tensorflow.py

APIs (``tf.nn``): ``softmax_cross_entropy_with_logits(labels, logits, axis=-1)``,
``sparse_softmax_cross_entropy_with_logits(labels, logits)``,
``sigmoid_cross_entropy_with_logits(labels, logits)``,
``weighted_cross_entropy_with_logits(labels, logits, pos_weight)``.  TensorFlow takes the labels
first: each case stores ``args = [labels, logits]`` and ``wrt = 1`` (the differentiated argument).
Gradients are ``tape.gradient(sum(out * grad_output), logits)``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from _common import Recorder, err  # noqa: E402

rng = np.random.default_rng(20261129)
R = Recorder(
    "tensorflow", "tensorflow", tf.__version__,
    {"numpy": np.__version__, "tensorflow": tf.__version__},
)
F16, F32, F64 = np.float16, np.float32, np.float64


def logits(shape, dtype=F32, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def labels(shape, C, dtype=np.int64):
    return rng.integers(0, C, size=shape).astype(dtype)


def probs(shape, dtype=F32, axis=-1):
    x = rng.standard_normal(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)


def run(fn, args, kwargs):
    lab, x = args
    try:
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = fn(tf.constant(lab), xt, **{k: tf.constant(v) if isinstance(v, np.ndarray) else v
                                              for k, v in kwargs.items()})
            o = out.numpy().copy()
            go = None if o.ndim == 0 else rng.standard_normal(o.shape).astype(o.dtype)
            total = tf.reduce_sum(out * tf.constant(go)) if go is not None else out
        g = tape.gradient(total, xt)
    except Exception as e:  # noqa: BLE001
        return err(e), None
    return {"output": o, "grad": None if g is None else g.numpy().copy()}, go


APIS = {
    "softmax_cross_entropy_with_logits": tf.nn.softmax_cross_entropy_with_logits,
    "sparse_softmax_cross_entropy_with_logits": tf.nn.sparse_softmax_cross_entropy_with_logits,
    "sigmoid_cross_entropy_with_logits": tf.nn.sigmoid_cross_entropy_with_logits,
    "weighted_cross_entropy_with_logits": tf.nn.weighted_cross_entropy_with_logits,
}


def grad_of_forward(lab, x, axis, go):
    """The derivative of softmax_cross_entropy_with_logits' forward, -sum(labels * log_softmax), by TF's
    autodiff of that formula (TF's registered backward is softmax - labels, which assumes rows summing to 1)."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = -tf.reduce_sum(tf.cast(tf.constant(lab), xt.dtype) * tf.nn.log_softmax(xt, axis=axis), axis=axis)
        total = out if go is None else tf.reduce_sum(out * tf.constant(go))
    return tape.gradient(total, xt).numpy()


def weighted_grad_of_forward(lab, x, q, go):
    """The derivative of weighted_cross_entropy_with_logits' forward, by TF's autodiff of the same function
    written smoothly, (1 - z) x + (1 + (q - 1) z) softplus(-x): TF's own formula, (1 - z) x + l (log1p(exp(-|x|))
    + relu(-x)), differentiates |x| and relu(-x) with slope 0 at x == 0 and gets (1 - z) there."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        z = tf.constant(lab)
        out = (1 - z) * xt + (1 + (tf.cast(tf.constant(q), xt.dtype) - 1) * z) * tf.nn.softplus(-xt)
        total = out if go is None else tf.reduce_sum(out * tf.constant(go))
    return tape.gradient(total, xt).numpy()


def case(cid, api, lab, x, kwargs=None, tags=(), note="", invalid=None):
    kwargs = dict(kwargs or {})
    expect, go = run(APIS[api], [lab, x], kwargs)
    if invalid and "error" in expect:  # TF's forward gives a number, its gradient fails: record the number
        expect = {"output": APIS[api](tf.constant(lab), tf.constant(x), **kwargs).numpy().copy(), "grad": None}
        go = None
    if api == WG and expect.get("grad") is not None and x.size:
        g = weighted_grad_of_forward(lab, x, kwargs["pos_weight"], go)
        if not np.allclose(g, expect["grad"], rtol=1e-6, atol=1e-7):
            expect["grad_of_forward"] = g
            note = (note + "; " if note else "") + "TF's autodiff of its formula is wrong at x == 0 (kinks of |x| and relu)"
    if api == SM and expect.get("grad") is not None and x.size and "flatten" not in tags:
        g = grad_of_forward(lab, x, kwargs.get("axis", -1), go)
        tol = {"float16": 1e-2, "float32": 2e-5}.get(x.dtype.name, 1e-9)
        if not np.allclose(g, expect["grad"], rtol=tol, atol=tol / 10):
            expect["grad_of_forward"] = g
            note = (note + "; " if note else "") + "TF's backward (softmax - labels) is not the derivative of its forward here"
    tags = list(tags)
    if isinstance(x, np.ndarray) and x.dtype.name not in tags:
        tags.append(x.dtype.name)
    return R.add(id=f"{api}/{cid}", api=api, init=None, method="__call__", args=[lab, x], kwargs=kwargs,
                 grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note, wrt=1)


N, C = 4, 5
SM, SP, SG, WG = (
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
    "sigmoid_cross_entropy_with_logits",
    "weighted_cross_entropy_with_logits",
)

# ------------------------------------------------------------- softmax_cross_entropy_with_logits
x = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]], F32)
p = np.array([[1.0, 0.0, 0.0], [0.0, 0.8, 0.2]], F32)
case("doc_example", SM, p, x, tags=["doc_example"], note="tf.nn.softmax_cross_entropy_with_logits docstring: [0.16984604, 0.82474494]")
for dt in (F16, F32, F64):
    case(f"basic-{np.dtype(dt).name}", SM, probs((N, C), dt), logits((N, C), dt))
for shape, axis in (((C,), -1), ((C,), 0), ((3, C), 0), ((2, 3, C), -1), ((2, C, 3), 1), ((2, 3, 2, C), -1),
                    ((2, C, 3, 2), 1), ((2, 3, C, 2), -2)):
    x = logits(shape, F64)
    case(f"rank{len(shape)}-axis{axis}", SM, probs(shape, F64, axis), x, {"axis": axis}, tags=["higher_rank", "axis"])
x = logits((N, C), F64)
case("unnormalised", SM, rng.uniform(0, 2, (N, C)), x, tags=["unnormalised"],
     note="TF's forward is -sum(labels * log_softmax), its backward softmax - labels (assumes rows summing to 1)")
case("negative_labels", SM, rng.uniform(-1, 1, (N, C)), x, tags=["unnormalised"],
     note="TF computes -sum(labels * log_softmax) with negative labels (its own testSingleClass feeds -1)")
case("labels_broadcast", SM, np.array([[0.0, 0.0, 0.0, 1.0]]), np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]]),
     tags=["broadcast"], note="labels broadcast against the logits (TF's testLabelsBroadcast)")
case("onehot", SM, np.eye(C)[labels((N,), C)], x)
case("N0", SM, np.zeros((0, C)), np.zeros((0, C)), tags=["empty"])
case("C1", SM, np.ones((N, 1)), logits((N, 1), F64), tags=["C=1"])
xl = np.array([[1e4, -1e4, 0, 5], [-1e4, 1e4, 1e4, 0], [64, 0, -64, 1], [0, 0, 0, 1e4]])
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", SM, probs((4, 4), dt), xl.astype(dt), tags=["large_logits"])
case("shape_mismatch-error", SM, probs((N, C + 1), F64), logits((N, C), F64), tags=["error"])
case("labels_rank-error", SM, probs((N,), F64), logits((N, C), F64), tags=["error"])
case("labels_f32-logits_f64", SM, probs((N, C), F32), logits((N, C), F64), note="float32 labels are cast to the logits dtype")
case("int_logits-error", SM, probs((N, C), F64), np.arange(N * C).reshape(N, C), tags=["error"])
case("axis_out_of_range-error", SM, probs((N, C), F64), logits((N, C), F64), {"axis": 2}, tags=["error"])
case("scalar-error", SM, np.array(1.0), np.array(2.0), tags=["error"])

# ------------------------------------------------------------- sparse_softmax_cross_entropy_with_logits
x = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]], F32)
case("doc_example", SP, np.array([0, 1], np.int32), x, tags=["doc_example"],
     note="tf.nn.sparse_softmax_cross_entropy_with_logits docstring: [0.16984604, 0.02474492]")
for dt in (F16, F32, F64):
    for ldt in (np.int32, np.int64):
        case(f"basic-{np.dtype(dt).name}-{np.dtype(ldt).name}", SP, labels((N,), C, ldt), logits((N, C), dt),
             tags=[f"{np.dtype(ldt).name}_labels"])
case("rank1", SP, np.array(2, np.int64), logits((C,), F64), tags=["unbatched"])
case("rank3", SP, labels((2, 3), C), logits((2, 3, C), F64), tags=["higher_rank"])
case("rank4", SP, labels((2, 3, 2), C), logits((2, 3, 2, C), F64), tags=["higher_rank"])
case("N0", SP, np.zeros((0,), np.int64), np.zeros((0, C)), tags=["empty"])
case("C1", SP, np.zeros((N,), np.int64), logits((N, 1), F64), tags=["C=1"])
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", SP, np.array([1, 2, 2, 0]), xl.astype(dt), tags=["large_logits"])
x = logits((N, C), F64)
case("label_eq_C-error", SP, np.array([0, C, 1, 2]), x, tags=["invalid_label", "error"])
case("label_neg1-error", SP, np.array([0, -1, 1, 2]), x, tags=["invalid_label", "error"])
case("label_shape-error", SP, labels((N + 1,), C), x, tags=["error"])
case("label_rank-error", SP, labels((N, C), C), x, tags=["error"])
case("float_labels-error", SP, labels((N,), C).astype(F64), x, tags=["error"])
case("scalar_logits-error", SP, np.array(0), np.array(1.0), tags=["error"])

# ------------------------------------------------------------- sigmoid_cross_entropy_with_logits
x = np.array([1.0, -1.0, 0.0, 3.0, -2.5], F32)
case("basic-1d", SG, np.array([1.0, 0.0, 1.0, 0.5, 0.0], F32), x)
for dt in (F16, F32, F64):
    case(f"binary-{np.dtype(dt).name}", SG, rng.integers(0, 2, (N, C)).astype(dt), logits((N, C), dt))
    case(f"soft-{np.dtype(dt).name}", SG, rng.uniform(0, 1, (N, C)).astype(dt), logits((N, C), dt), tags=["soft_target"])
case("rank0", SG, np.array(1.0), np.array(-0.7), tags=["scalar"])
case("rank3", SG, rng.uniform(0, 1, (2, 3, 4)), logits((2, 3, 4), F64), tags=["higher_rank"])
case("rank4", SG, rng.integers(0, 2, (2, 3, 2, 2)).astype(F64), logits((2, 3, 2, 2), F64), tags=["higher_rank"])
case("N0", SG, np.zeros((0, C)), np.zeros((0, C)), tags=["empty"])
case("zero_logits", SG, np.array([0.0, 1.0, 0.5]), np.zeros(3), note="gradient at x = 0 is sigmoid(0) - z")
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", SG, np.array([[1.0, 0.0, 0.5, 1.0]] * 4, dt), xl.astype(dt),
         tags=["large_logits"])
case("labels_negative", SG, np.array([-0.5, 1.0, 0.2]), np.array([0.3, -0.2, 1.0]),
     invalid="labels outside [0, 1]", note="TF computes max(x,0) - x*z + log(1+exp(-|x|)) for any z")
case("labels_above_1", SG, np.array([1.5, 2.0, 1.0]), np.array([0.3, -0.2, 1.0]),
     note="z > 1: the same formula, linear in z")
case("shape_mismatch-error", SG, np.ones((N, C + 1)), logits((N, C), F64), tags=["error"])
case("dtype_mismatch-error", SG, np.ones((N, C), F32), logits((N, C), F64), tags=["error"])
case("int_labels-error", SG, np.ones((N, C), np.int64), logits((N, C), F64), tags=["error"])

# ------------------------------------------------------------- weighted_cross_entropy_with_logits
for dt in (F32, F64):
    for q in (0.5, 1.0, 3.0):
        case(f"pos_weight{q}-{np.dtype(dt).name}", WG, rng.integers(0, 2, (N, C)).astype(dt), logits((N, C), dt),
             {"pos_weight": q}, tags=["pos_weight"])
case("pos_weight_soft", WG, rng.uniform(0, 1, (N, C)), logits((N, C), F64), {"pos_weight": 2.0},
     tags=["pos_weight", "soft_target"])
case("pos_weight_per_class", WG, rng.integers(0, 2, (N, C)).astype(F64), logits((N, C), F64),
     {"pos_weight": rng.uniform(0.2, 3, C)}, tags=["pos_weight"], note="pos_weight broadcast along the last axis")
case("pos_weight_full", WG, rng.integers(0, 2, (N, C)).astype(F64), logits((N, C), F64),
     {"pos_weight": rng.uniform(0.2, 3, (N, C))}, tags=["pos_weight"])
case("pos_weight_rank0", WG, np.array(1.0), np.array(0.4), {"pos_weight": 4.0}, tags=["pos_weight", "scalar"])
case("pos_weight_rank3", WG, rng.integers(0, 2, (2, 3, 4)).astype(F64), logits((2, 3, 4), F64),
     {"pos_weight": 0.25}, tags=["pos_weight", "higher_rank"])
case("pos_weight_0", WG, rng.integers(0, 2, (N, C)).astype(F64), logits((N, C), F64), {"pos_weight": 0.0},
     tags=["pos_weight"])
for dt in (F32, F64):
    case(f"pos_weight-large_logits-{np.dtype(dt).name}", WG, np.array([[1.0, 0.0, 0.5, 1.0]] * 4, dt), xl.astype(dt),
         {"pos_weight": 2.0}, tags=["pos_weight", "large_logits"])
case("pos_weight-N0", WG, np.zeros((0, C)), np.zeros((0, C)), {"pos_weight": 2.0}, tags=["pos_weight", "empty"])
case("pos_weight-f16", WG, rng.integers(0, 2, (N, C)).astype(F16), logits((N, C), F16), {"pos_weight": 2.0},
     tags=["pos_weight"])
case("shape_mismatch-error", WG, np.ones((N, C + 1)), logits((N, C), F64), {"pos_weight": 2.0}, tags=["error"])

# ------------------------------------------------------------- softmax_cross_entropy_with_logits: label shapes
# (appended last: the random stream of the cases above stays as it was).  TF moves `axis` last (only when
# axis != -1, with a permutation of the logits' rank), flattens labels and logits to (rows, classes) and its
# kernel broadcasts the two matrices: labels of 1 or the logits' rows and 1 or the logits' classes work.
B = "labels_broadcast"
x = logits((N, C), F64)
case(f"{B}-rank1", SM, probs((C,), F64), x, tags=["broadcast"], note="labels (C,): one distribution for every row")
case(f"{B}-rows1", SM, probs((1, C), F64), x, tags=["broadcast"])
case(f"{B}-classes1", SM, rng.uniform(0, 1, (N, 1)), x, tags=["broadcast", "unnormalised"],
     note="labels (N, 1) broadcast along the class axis: rows sum to C * label")
case(f"{B}-1x1", SM, rng.uniform(0, 1, (1, 1)), x, tags=["broadcast", "unnormalised"])
case(f"{B}-shape1", SM, np.array([1.0 / C]), x, tags=["broadcast"], note="labels (1,): rows of 1/C")
case(f"{B}-N0", SM, probs((1, C), F64), np.zeros((0, C)), tags=["broadcast", "empty"])
x = logits((2, 3, C), F64)
case(f"{B}-rank3-rows1", SM, probs((1, 1, C), F64), x, tags=["broadcast", "higher_rank"])
case(f"{B}-rank3-labels2d", SM, probs((1, C), F64), x, tags=["broadcast", "higher_rank"])
case(f"{B}-rank3-labels1d", SM, probs((C,), F64), x, tags=["broadcast", "higher_rank"])
case(f"{B}-rank3-classes1", SM, rng.uniform(0, 1, (2, 3, 1)), x, tags=["broadcast", "higher_rank", "unnormalised"])
x = logits((C, N), F64)
case(f"{B}-axis0-rows1", SM, probs((C, 1), F64, 0), x, {"axis": 0}, tags=["broadcast", "axis"])
case(f"{B}-axis0-classes1", SM, rng.uniform(0, 1, (1, N)), x, {"axis": 0}, tags=["broadcast", "axis", "unnormalised"])
# refused by TF
x = logits((N, C), F64)
case(f"{B}-scalar-error", SM, np.array(0.2), x, tags=["broadcast", "error"], note="_flatten_outer_dims fails on 0-d labels")
case(f"{B}-rank1_rows-error", SM, probs((N,), F64), logits((N, N + 1), F64), tags=["broadcast", "error"],
     note="labels (N,) are one row of N classes, not one label per row")
case(f"{B}-labels_rows-error", SM, probs((2, N, C), F64), x, tags=["broadcast", "error"])
case(f"{B}-logits_rows1-error", SM, probs((N, C), F64), logits((1, C), F64), tags=["broadcast", "error"],
     note="the loss of N rows cannot be reshaped to the logits' one row")
case(f"{B}-logits_classes1-error", SM, probs((N, C), F64), logits((N, 1), F64), tags=["broadcast", "error"],
     note="TF's forward broadcasts the logits, its gradient cannot be reshaped to them",
     invalid="(N, C) labels against (N, 1) logits: TF's forward broadcasts the logits, its gradient fails")
x = logits((2, 3, C), F64)
case(f"{B}-rank3-partial-error", SM, probs((2, 1, C), F64), x, tags=["broadcast", "higher_rank", "error"],
     note="NumPy would broadcast (2, 1, C); TF's flattened labels have 2 rows against 6")
case(f"{B}-rank3-inner-error", SM, probs((3, C), F64), x, tags=["broadcast", "higher_rank", "error"],
     note="NumPy would broadcast (3, C); TF's flattened labels have 3 rows against 6")
x = logits((C, N), F64)
case(f"{B}-axis0-rank1-error", SM, probs((C,), F64), x, {"axis": 0}, tags=["broadcast", "axis", "error"],
     note="axis != -1: TF transposes the labels with a permutation of the logits' rank")
# accepted by TF only through its flattening (this dialect refuses them: GOLDEN_PENDING)
case(f"{B}-labels_rank3-rows1", SM, probs((1, 1, C), F64), logits((N, C), F64), tags=["broadcast", "flatten"])
case(f"{B}-logits_rank1", SM, probs((1, C), F64), logits((C,), F64), tags=["broadcast", "flatten"])
case(f"{B}-rows_resplit", SM, probs((6, C), F64), logits((2, 3, C), F64), tags=["broadcast", "flatten"],
     note="labels (6, C) against logits (2, 3, C): the same 6 rows after flattening")

R.write("tensorflow")

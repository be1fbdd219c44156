"""Record golden data for the ``optax`` dialect from the real optax (with JAX, CPU, x64 enabled).

Run from the repository root with the optax venv::

    /work/venvs/optax/bin/python tools/golden/record_optax.py

APIs: ``optax.losses.softmax_cross_entropy(logits, labels, axis=-1, where=None)``,
``softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1, where=None)``,
``safe_softmax_cross_entropy(logits, labels)``, ``sigmoid_binary_cross_entropy(logits, labels)``
and ``smooth_labels(labels, alpha, *, axis=-1, where=None)``.  Gradients are ``jax.vjp`` with
respect to the first argument (for ``smooth_labels``: the labels).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platforms", "cpu")

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from _common import Recorder, err  # noqa: E402

rng = np.random.default_rng(20261201)
R = Recorder("optax", "optax", optax.__version__,
             {"numpy": np.__version__, "optax": optax.__version__, "jax": jax.__version__})
F16, F32, F64 = np.float16, np.float32, np.float64

APIS = {
    "softmax_cross_entropy": optax.losses.softmax_cross_entropy,
    "softmax_cross_entropy_with_integer_labels": optax.losses.softmax_cross_entropy_with_integer_labels,
    "safe_softmax_cross_entropy": optax.losses.safe_softmax_cross_entropy,
    "sigmoid_binary_cross_entropy": optax.losses.sigmoid_binary_cross_entropy,
    "smooth_labels": optax.losses.smooth_labels,
}


def logits(shape, dtype=F32, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def labels(shape, C, dtype=np.int64):
    return rng.integers(0, C, size=shape).astype(dtype)


def probs(shape, dtype=F32, axis=-1):
    x = rng.standard_normal(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)


def to_j(v):
    return jnp.asarray(v) if isinstance(v, np.ndarray) else v


def run(fn, args, kwargs):
    try:
        rest = [to_j(a) for a in args[1:]]
        kw = {k: to_j(v) for k, v in kwargs.items()}
        x = to_j(args[0])
        if args[0].dtype.kind == "f":
            out, vjp = jax.vjp(lambda x: fn(x, *rest, **kw), x)
        else:
            out, vjp = fn(x, *rest, **kw), None
        o = np.asarray(out).copy()
        go = grad = None
        if vjp is not None and args[0].size:
            go = None if o.ndim == 0 else rng.standard_normal(o.shape).astype(o.dtype)
            (g,) = vjp(jnp.ones_like(out) if go is None else jnp.asarray(go))
            grad = np.asarray(g).copy()
    except Exception as e:  # noqa: BLE001
        return err(e), None
    return {"output": o, "grad": grad}, go


def case(cid, api, args, kwargs=None, tags=(), note="", invalid=None):
    kwargs = dict(kwargs or {})
    expect, go = run(APIS[api], args, kwargs)
    tags = list(tags) + [k for k in kwargs if k not in tags]
    return R.add(id=f"{api}/{cid}", api=api, init=None, method="__call__", args=args, kwargs=kwargs,
                 grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note)


N, C = 4, 5
SM, SI, SAFE, SIG, SMOOTH = APIS

# ------------------------------------------------------------------- softmax_cross_entropy
case("doc_example", SM, [np.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]], F32),
                         np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], F32)],
     tags=["doc_example"], note="optax docstring: [0.2761 2.9518]")
for dt in (F16, F32, F64):
    case(f"basic-{np.dtype(dt).name}", SM, [logits((N, C), dt), probs((N, C), dt)])
for shape, axis in (((C,), -1), ((C, 3), 0), ((2, 3, C), -1), ((2, C, 3), 1), ((2, 3, 2, C), -1), ((2, C, 3, 2), 1)):
    case(f"rank{len(shape)}-axis{axis}", SM, [logits(shape, F64), probs(shape, F64, axis)], {"axis": axis},
         tags=["higher_rank"])
x = logits((2, 3, 4), F64)
p = rng.uniform(0, 1, (2, 3, 4))
p /= p.sum(axis=(1, 2), keepdims=True)
case("axis_tuple", SM, [x, p], {"axis": (1, 2)}, tags=["axis_tuple"])
case("axis_None", SM, [x, p / p.sum()], {"axis": None}, tags=["axis_tuple"], note="axis=None: softmax over every axis")
case("unnormalised", SM, [logits((N, C), F64), rng.uniform(0, 2, (N, C))], note="-sum(labels * log_softmax)")
case("N0", SM, [np.zeros((0, C)), np.zeros((0, C))], tags=["empty"])
case("C1", SM, [logits((N, 1), F64), np.ones((N, 1))], tags=["C=1"])
xl = np.array([[1e4, -1e4, 0, 5], [-1e4, 1e4, 1e4, 0], [64, 0, -64, 1], [0, 0, 0, 1e4]])
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", SM, [xl.astype(dt), probs((4, 4), dt)], tags=["large_logits"])
x = logits((N, C), F64)
w_ex = np.array([True, False, True, True])
w_el = rng.uniform(0, 1, (N, C)) > 0.3
w_el[1] = False
case("where_examples", SM, [x, probs((N, C), F64)], {"where": w_ex}, tags=["where"],
     note="where of shape [batch]: expanded along axis; masked examples give 0")
case("where_elements", SM, [x, probs((N, C), F64)], {"where": w_el}, tags=["where"],
     note="where of the logits' shape: masked classes leave the softmax and the sum")
case("where_rank3-axis1", SM, [logits((2, C, 3), F64), probs((2, C, 3), F64, 1)],
     {"axis": 1, "where": rng.uniform(0, 1, (2, C, 3)) > 0.2}, tags=["where", "higher_rank"])
case("labels_broadcast", SM, [logits((N, C), F64), probs((C,), F64)], note="labels broadcast against the logits")
# axis tuples / None, where= and broadcasting, alone and combined (golden for the spec's class_axes,
# mask_classes, broadcast_target)
x4 = logits((2, 3, 4, 2), F64)
p4 = rng.uniform(0, 1, (2, 3, 4, 2))
case("axis_tuple-3_1", SM, [x4, p4 / p4.sum(axis=(1, 3), keepdims=True)], {"axis": (3, 1)}, tags=["axis_tuple"])
case("axis_tuple-neg", SM, [x4, p4 / p4.sum(axis=(0, 2, 3), keepdims=True)], {"axis": (-4, -2, -1)},
     tags=["axis_tuple"])
case("axis_tuple-f32", SM, [x4.astype(F32), (p4 / p4.sum(axis=(2, 3), keepdims=True)).astype(F32)],
     {"axis": (2, 3)}, tags=["axis_tuple"])
case("axis_None-rank1", SM, [logits((C,), F64), probs((C,), F64)], {"axis": None}, tags=["axis_tuple"])
w_full = rng.uniform(0, 1, (N, C)) > 0.4
w_full[0] = False
w_full[2] = True
case("where_all_masked_row", SM, [logits((N, C), F64), probs((N, C), F64)], {"where": w_full}, tags=["where"],
     note="a row with every class masked gives (-)0 and gradient 0")
xn = logits((N, C), F64)
xn[1, 2], xn[3, 0] = np.nan, np.inf
w_n = np.ones((N, C), bool)
w_n[1, 2] = w_n[3, 0] = False
case("where_masks_nonfinite", SM, [xn, probs((N, C), F64)], {"where": w_n}, tags=["where", "nonfinite"],
     note="nan / inf logits in masked classes do not reach the loss")
case("where_elements-f32", SM, [x.astype(F32), probs((N, C), F32)], {"where": w_el}, tags=["where"])
case("where-axis_tuple", SM, [x4, p4 / p4.sum(axis=(1, 3), keepdims=True)],
     {"axis": (1, 3), "where": rng.uniform(0, 1, (2, 3, 4, 2)) > 0.3}, tags=["where", "axis_tuple"])
case("where_examples-axis_tuple", SM, [x4, p4 / p4.sum(axis=(2, 3), keepdims=True)],
     {"axis": (2, 3), "where": np.array([[True, False, True], [False, True, True]])}, tags=["where", "axis_tuple"],
     note="where of the batch shape: expanded along both class axes")
case("where-axis_None", SM, [x4, p4 / p4.sum()], {"axis": None, "where": rng.uniform(0, 1, (2, 3, 4, 2)) > 0.5},
     tags=["where", "axis_tuple"])
case("where-labels_broadcast", SM, [logits((N, C), F64), probs((C,), F64)], {"where": w_el}, tags=["where"])
case("labels_broadcast-column", SM, [logits((N, C), F64), rng.uniform(0, 1, (N, 1))],
     note="labels of shape (N, 1): one weight per example, broadcast over the classes")
case("labels_broadcast-axis_tuple", SM, [x4, p4[:1] / p4[:1].sum(axis=(2, 3), keepdims=True)], {"axis": (2, 3)},
     tags=["axis_tuple"])
case("where-N0", SM, [np.zeros((0, C)), np.zeros((0, C))], {"where": np.zeros((0, C), bool)},
     tags=["where", "empty"])
case("where_shape-error", SM, [logits((N, C), F64), probs((N, C), F64)], {"where": np.ones((N, C + 1), bool)},
     tags=["error", "where"])
case("int_logits-error", SM, [np.arange(N * C).reshape(N, C), probs((N, C), F64)], tags=["error"])
case("shape_mismatch-error", SM, [logits((N, C), F64), probs((N, C + 1), F64)], tags=["error"])

# ------------------------------------------------------------------- softmax_cross_entropy_with_integer_labels
case("doc_example", SI, [np.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]], F32), np.array([0, 1], np.int32)],
     tags=["doc_example"], note="optax docstring: [0.2761 2.9518]")
for dt in (F16, F32, F64):
    for ldt in (np.int32, np.int64):
        case(f"basic-{np.dtype(dt).name}-{np.dtype(ldt).name}", SI, [logits((N, C), dt), labels((N,), C, ldt)])
case("rank1", SI, [logits((C,), F64), np.array(3)], tags=["unbatched"])
for shape, axis in (((C, 3), 0), ((2, 3, C), -1), ((2, C, 3), 1), ((2, 3, 2, C), -1), ((2, C, 3, 2), 1)):
    t = labels(tuple(s for i, s in enumerate(shape) if i != axis % len(shape)), C)
    case(f"rank{len(shape)}-axis{axis}", SI, [logits(shape, F64), t], {"axis": axis}, tags=["higher_rank"])
x = logits((2, 3, 4, 2), F64)
case("axis_tuple-2_3", SI, [x, labels((2, 3), 8)], {"axis": (2, 3)}, tags=["axis_tuple"],
     note="classes = the 4*2 elements of axes (2, 3), flattened in C order")
case("axis_tuple-1_3", SI, [x, labels((2, 4), 6)], {"axis": (1, 3)}, tags=["axis_tuple"])
case("axis_tuple-3_1", SI, [x, labels((2, 4), 6)], {"axis": (3, 1)}, tags=["axis_tuple"],
     note="the axes keep the order given: the class index runs over axis 3 then 1 (optax moves them last in that order)")
case("axis_tuple-single", SI, [logits((N, C), F64), labels((N,), C)], {"axis": (1,)}, tags=["axis_tuple"])
case("axis_float-error", SI, [logits((N, C), F64), labels((N,), C)], {"axis": 1.0}, tags=["error"])
case("axis_tuple-neg", SI, [x, labels((3, 4), 4)], {"axis": (-4, -1)}, tags=["axis_tuple"])
case("axis_tuple-three", SI, [x, labels((3,), 16)], {"axis": (0, 2, 3)}, tags=["axis_tuple"])
case("axis_tuple-f32", SI, [x.astype(F32), labels((2, 3), 8, np.int32)], {"axis": (2, 3)}, tags=["axis_tuple"])
case("axis_None-error", SI, [logits((N, C), F64), labels((N,), C)], {"axis": None}, tags=["error"],
     note="optax: axis must be an int or a tuple (ValueError)")
case("N0", SI, [np.zeros((0, C)), np.zeros((0,), np.int64)], tags=["empty"])
case("C1", SI, [logits((N, 1), F64), np.zeros((N,), np.int64)], tags=["C=1"])
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", SI, [xl.astype(dt), np.array([1, 2, 2, 0])], tags=["large_logits"])
x = logits((N, C), F64)
t = labels((N,), C)
case("where_examples", SI, [x, t], {"where": w_ex}, tags=["where"])
case("where_elements", SI, [x, t], {"where": w_el}, tags=["where"],
     note="masked classes leave the log-sum-exp; the label's logit is used even if masked")
x3 = logits((2, 3, 4, 2), F64)
case("where-axis_tuple", SI, [x3, labels((2, 3), 8)], {"axis": (2, 3), "where": rng.uniform(0, 1, (2, 3, 4, 2)) > 0.3},
     tags=["where", "axis_tuple"])
w_lab = np.ones((N, C), bool)
w_lab[np.arange(N), t] = False
w_lab[3] = False
case("where_masks_label", SI, [x, t], {"where": w_lab}, tags=["where"],
     note="every label's own class masked: logsumexp(kept) - logit[label] (may be < 0); row 3 all masked: 0")
case("where_doc_test", SI, [np.array([[10.0, 1.0, -2.0], [1.0, 4.0, 0.2]], F32), np.array([1, 0], np.int32)],
     {"where": np.array([[1, 0, 0], [0, 0, 0]]).astype(bool)}, tags=["where"],
     note="optax's test_per_logit_mask input: [9, 0]")
case("where_examples-f32", SI, [x.astype(F32), t.astype(np.int32)], {"where": w_ex}, tags=["where"])
case("where_masks_nonfinite", SI, [xn, np.array([0, 1, 3, 2])], {"where": w_n}, tags=["where", "nonfinite"])
case("where-N0", SI, [np.zeros((0, C)), np.zeros((0,), np.int64)], {"where": np.zeros((0, C), bool)},
     tags=["where", "empty"])
case("label_eq_C", SI, [x, np.array([0, C, 1, 2])], invalid="label outside [0, C)",
     note="take_along_axis clamps/fills an out-of-range index: a number")
case("label_neg1", SI, [x, np.array([0, -1, 1, 2])], invalid="label outside [0, C)")
case("float_labels-error", SI, [x, t.astype(F64)], tags=["error"])
case("int_logits-error", SI, [np.arange(N * C).reshape(N, C), t], tags=["error"])
case("label_shape-error", SI, [x, labels((N + 1,), C)], tags=["error"])

# ------------------------------------------------------------------- safe_softmax_cross_entropy
for dt in (F32, F64):
    case(f"basic-{np.dtype(dt).name}", SAFE, [logits((N, C), dt), probs((N, C), dt)])
xi = np.array([[-np.inf, 1.0, 2.0], [0.5, -np.inf, -np.inf], [1.0, 2.0, 3.0]])
pi = np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5]])
case("neg_inf_logits", SAFE, [xi, pi], tags=["nonfinite"], note="0 * log(0) = 0 where logits = -inf and labels = 0")
case("neg_inf_logits", SM, [xi, pi], tags=["nonfinite"], note="softmax_cross_entropy gives nan there")
case("labels_broadcast", SAFE, [logits((N, C), F64), probs((C,), F64)], note="labels broadcast against the logits")
case("rank3", SAFE, [logits((2, 3, C), F64), probs((2, 3, C), F64)], tags=["higher_rank"])
case("N0", SAFE, [np.zeros((0, C)), np.zeros((0, C))], tags=["empty"])
case("int_logits-error", SAFE, [np.arange(N * C).reshape(N, C), probs((N, C), F64)], tags=["error"])

# ------------------------------------------------------------------- sigmoid_binary_cross_entropy
for dt in (F16, F32, F64):
    case(f"binary-{np.dtype(dt).name}", SIG, [logits((N, C), dt), rng.integers(0, 2, (N, C)).astype(dt)])
    case(f"soft-{np.dtype(dt).name}", SIG, [logits((N, C), dt), rng.uniform(0, 1, (N, C)).astype(dt)],
         tags=["soft_target"])
case("int_labels", SIG, [logits((N, C), F64), rng.integers(0, 2, (N, C))], note="labels cast to the logits' dtype")
case("bool_labels", SIG, [logits((N, C), F64), rng.integers(0, 2, (N, C)).astype(bool)])
case("bool_labels-f32", SIG, [logits((N, C), F32), rng.integers(0, 2, (N, C)).astype(bool)])
case("bool_labels_broadcast", SIG, [logits((N, C), F64), rng.integers(0, 2, C).astype(bool)])
case("int_labels_broadcast", SIG, [logits((N, C), F64), rng.integers(0, 2, (N, 1))])
case("rank0", SIG, [np.array(0.7), np.array(1.0)])
case("rank1", SIG, [logits((C,), F64), rng.uniform(0, 1, C)])
case("rank3", SIG, [logits((2, 3, 4), F64), rng.uniform(0, 1, (2, 3, 4))])
case("rank4", SIG, [logits((2, 3, 2, 2), F64), rng.uniform(0, 1, (2, 3, 2, 2))])
case("N0", SIG, [np.zeros((0, C)), np.zeros((0, C))], tags=["empty"])
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", SIG, [xl.astype(dt), np.array([[1.0, 0.0, 0.5, 1.0]] * 4, dt)],
         tags=["large_logits"])
case("labels_broadcast", SIG, [logits((N, C), F64), rng.uniform(0, 1, C)], note="labels broadcast against the logits")
case("labels_outside_01", SIG, [np.array([0.3, -0.2, 1.0]), np.array([-0.5, 1.5, 2.0])],
     invalid="labels outside [0, 1]")
case("int_logits-error", SIG, [np.arange(N * C).reshape(N, C), np.ones((N, C))], tags=["error"])

# ------------------------------------------------------------------- smooth_labels
for alpha in (0.0, 0.1, 0.5, 1.0):
    case(f"alpha{alpha}", SMOOTH, [np.eye(C)[labels((N,), C)], alpha])
case("alpha0.2-f32", SMOOTH, [np.eye(C, dtype=F32)[labels((N,), C)], 0.2])
case("alpha0.2-probs-rank3", SMOOTH, [probs((2, 3, C), F64), 0.2])
case("alpha0.2-axis0", SMOOTH, [np.eye(C)[labels((N,), C)].T.copy(), 0.2], {"axis": 0}, tags=["axis"])

R.write("optax")

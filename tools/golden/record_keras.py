"""Record golden data for the ``keras`` dialect from the real Keras 3 (TensorFlow backend, CPU).

Run from the repository root with the keras venv (keras 3, tensorflow-cpu)::

    KERAS_BACKEND=tensorflow /work/venvs/keras/bin/python tools/golden/record_keras.py

APIs: the classes ``keras.losses.CategoricalCrossentropy``, ``SparseCategoricalCrossentropy``,
``BinaryCrossentropy`` (constructor arguments in ``init``, called as ``loss(y_true, y_pred,
sample_weight=None)``) and the functions ``categorical_crossentropy``,
``sparse_categorical_crossentropy``, ``binary_crossentropy``.  Keras takes the target first:
every case stores ``args = [y_true, y_pred]`` and ``wrt = 1``.  Gradients are
``tape.gradient(sum(out * grad_output), y_pred)``; where that is not the derivative of Keras's forward
(``from_logits=True`` categorical labels that do not sum to 1 along the axis, e.g. smoothed with the size
of the last axis while ``axis`` is another: TensorFlow's backward is ``softmax - labels``), the derivative
is recorded too, as ``grad_of_forward`` (see ``grad_of_forward``).

Keras quirks this data pins down: with ``from_logits=False`` the predictions are probabilities,
normalised by their sum (categorical) and clipped to ``[1e-7, 1 - 1e-7]`` (``keras.config.epsilon()``);
the loss classes compute in ``float32`` (``dtype=None`` means ``keras.config.floatx()``) whatever
the input dtype; ``"sum_over_batch_size"`` divides the weighted sum by the number of loss elements
(``ignore_class``: by the number of non-ignored ones), and returns 0 for an empty batch of rank > 1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if os.environ.get("PYTHONHASHSEED") != "0":  # Keras's reduction error prints a set: one order on every run
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable, *sys.argv])
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from _common import Recorder, err  # noqa: E402

assert keras.backend.backend() == "tensorflow"
rng = np.random.default_rng(20261202)
R = Recorder("keras", "keras", keras.__version__,
             {"numpy": np.__version__, "keras": keras.__version__, "tensorflow": tf.__version__, "backend": "tensorflow"})
F16, F32, F64 = np.float16, np.float32, np.float64
CCE, SCCE, BCE = "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy"
cce, scce, bce = "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy"


def logits(shape, dtype=F32, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def labels(shape, C, dtype=np.int64):
    return rng.integers(0, C, size=shape).astype(dtype)


def probs(shape, dtype=F32, axis=-1):
    x = rng.standard_normal(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)


def onehot(shape, C, dtype=F32):
    return np.eye(C, dtype=dtype)[labels(shape, C)]


def run(api, init, args, kwargs):
    y_true, y_pred = args
    try:
        if init is not None:
            fn = getattr(keras.losses, api)(**init)
        else:
            fn = getattr(keras.losses, api)
        xt = tf.constant(y_pred)
        kw = {k: tf.constant(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = fn(tf.constant(y_true), xt, **kw)
            o = np.array(out.numpy())  # (np.asarray of a 0-d bfloat16 tensor fails)
            go = None if o.ndim == 0 else rng.standard_normal(o.shape).astype(o.dtype)
            total = out if go is None else tf.reduce_sum(out * tf.constant(go))
        g = tape.gradient(total, xt)
    except Exception as e:  # noqa: BLE001
        return err(e), None
    return {"output": o, "grad": None if g is None or not y_pred.size else np.asarray(g).copy()}, go


def grad_of_forward(api, init, args, kwargs, go):
    """The derivative of Keras's forward: the same call with ``tf.nn.softmax_cross_entropy_with_logits`` (whose
    registered backward, softmax - labels, assumes labels summing to 1 along the axis) replaced by its formula
    ``-sum(labels * log_softmax(logits))``, differentiated by TensorFlow's autodiff."""
    native = tf.nn.softmax_cross_entropy_with_logits

    def formula(labels, logits, axis=-1):
        return -tf.reduce_sum(labels * tf.nn.log_softmax(logits, axis=axis), axis=axis)

    tf.nn.softmax_cross_entropy_with_logits = formula
    try:
        fn = getattr(keras.losses, api)(**init) if init is not None else getattr(keras.losses, api)
        xt = tf.constant(args[1])
        kw = {k: tf.constant(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = fn(tf.constant(args[0]), xt, **kw)
            total = out if go is None else tf.reduce_sum(out * tf.constant(go))
        return np.asarray(tape.gradient(total, xt)).copy()
    finally:
        tf.nn.softmax_cross_entropy_with_logits = native


def case(cid, api, params, args, tags=(), note="", invalid=None, call_kwargs=None):
    """A class api: ``params`` are constructor arguments, ``call_kwargs`` the call's; a function: ``params``
    are the call's keyword arguments."""
    if api[0].isupper():
        init, kwargs = dict(params), dict(call_kwargs or {})
    else:
        init, kwargs = None, dict(params)
    expect, go = run(api, init, args, kwargs)
    if api in (CCE, cce) and {**(init or {}), **kwargs}.get("from_logits") and expect.get("grad") is not None:
        g = grad_of_forward(api, init, args, kwargs, go)
        computed = "float32" if init is not None and init.get("dtype") is None else expect["grad"].dtype.name
        t = {"float16": 1e-2, "float32": 2e-5}.get(computed, 1e-9)  # (the classes: in float32 by default)
        if not np.allclose(g, expect["grad"], rtol=t, atol=t / 10):  # smoothed labels that do not sum to 1
            expect["grad_of_forward"] = g
            note = (note + "; " if note else "") + "TF's backward (softmax - labels) is not the derivative of its forward here"
    tags = list(tags) + [k for k in {**(init or {}), **kwargs} if k not in tags]
    # the loss classes compute in float32 (dtype=None: floatx) whatever the inputs' dtype
    tol = "float32" if init is not None and init.get("dtype") is None and args[1].dtype == np.float64 else None
    return R.add(id=f"{api}/{cid}", api=api, init=init, method="__call__", args=args, kwargs=kwargs,
                 grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note, wrt=1, tolerance_dtype=tol)


N, C = 4, 5
xl = np.array([[1e4, -1e4, 0, 5], [-1e4, 1e4, 1e4, 0], [64, 0, -64, 1], [0, 0, 0, 1e4]])

# ---------------------------------------------------------------- documentation examples
y_true = np.array([[0, 1, 0], [0, 0, 1]], F32)
y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], F32)
case("doc_example", CCE, {}, [y_true, y_pred], tags=["doc_example"], note="Keras docs: 1.177")
case("doc_example-sample_weight", CCE, {}, [y_true, y_pred], call_kwargs={"sample_weight": np.array([0.3, 0.7], F32)},
     tags=["doc_example"], note="Keras docs: 0.814")
case("doc_example-sum", CCE, {"reduction": "sum"}, [y_true, y_pred], tags=["doc_example"], note="Keras docs: 2.354")
case("doc_example-none", CCE, {"reduction": None}, [y_true, y_pred], tags=["doc_example"],
     note="Keras docs: [0.0513, 2.303]")
case("doc_example", cce, {}, [y_true, y_pred], tags=["doc_example"], note="Keras docs: [0.0513, 2.303]")
case("doc_example", SCCE, {}, [np.array([1, 2]), y_pred], tags=["doc_example"], note="Keras docs: 1.177")
case("doc_example-sample_weight", SCCE, {}, [np.array([1, 2]), y_pred],
     call_kwargs={"sample_weight": np.array([0.3, 0.7], F32)}, tags=["doc_example"], note="Keras docs: 0.814")
case("doc_example-sum", SCCE, {"reduction": "sum"}, [np.array([1, 2]), y_pred], tags=["doc_example"])
case("doc_example-none", SCCE, {"reduction": None}, [np.array([1, 2]), y_pred], tags=["doc_example"])
case("doc_example", scce, {}, [np.array([1, 2]), y_pred], tags=["doc_example"], note="Keras docs: [0.0513, 2.303]")
bt = np.array([[0, 1], [0, 0]], F32)
bp = np.array([[0.6, 0.4], [0.4, 0.6]], F32)
case("doc_example", BCE, {}, [bt, bp], tags=["doc_example"], note="Keras docs: 0.815")
case("doc_example", bce, {}, [bt, bp], tags=["doc_example"], note="Keras docs: [0.916, 0.714]")
bl = np.array([-18.6, 0.51, 2.94, -12.8], F32)
case("doc_example-logits", BCE, {"from_logits": True}, [np.array([0, 1, 0, 0], F32), bl], tags=["doc_example"],
     note="Keras docs: 0.865")
case("doc_example-logits-ls0.5", BCE, {"from_logits": True, "label_smoothing": 0.5}, [np.array([0, 1, 0, 0], F32), bl],
     tags=["doc_example"])

# ---------------------------------------------------------------- categorical
for from_logits in (True, False):
    fl = "logits" if from_logits else "probs"
    mk = (lambda s, dt: logits(s, dt)) if from_logits else (lambda s, dt: probs(s, dt))
    for dt in (F16, F32, F64):
        dn = np.dtype(dt).name
        case(f"{fl}-{dn}", cce, {"from_logits": from_logits}, [probs((N, C), dt), mk((N, C), dt)])
        case(f"{fl}-{dn}", CCE, {"from_logits": from_logits}, [probs((N, C), dt), mk((N, C), dt)],
             note="the class computes in float32 (dtype=None)")
    for red in ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight", None):
        case(f"{fl}-red{red}", CCE, {"from_logits": from_logits, "reduction": red}, [onehot((N,), C), mk((N, C), F32)])
        case(f"{fl}-red{red}-sw", CCE, {"from_logits": from_logits, "reduction": red}, [onehot((N,), C), mk((N, C), F32)],
             call_kwargs={"sample_weight": rng.uniform(0, 2, N).astype(F32)})
    for ls in (0.1, 0.5, 1.0):
        case(f"{fl}-ls{ls}", cce, {"from_logits": from_logits, "label_smoothing": ls}, [onehot((N,), C, F64), mk((N, C), F64)])
        case(f"{fl}-ls{ls}", CCE, {"from_logits": from_logits, "label_smoothing": ls}, [onehot((N,), C), mk((N, C), F32)])
    for shape, axis in (((C,), -1), ((C, 3), 0), ((2, 3, C), -1), ((2, C, 3), 1), ((2, 3, 2, C), -1), ((2, C, 3, 2), 1)):
        t = probs(shape, F64, axis)
        x = logits(shape, F64) if from_logits else probs(shape, F64, axis)
        case(f"{fl}-rank{len(shape)}-axis{axis}", cce, {"from_logits": from_logits, "axis": axis}, [t, x],
             tags=["higher_rank"])
        case(f"{fl}-rank{len(shape)}-axis{axis}-ls0.2", CCE, {"from_logits": from_logits, "axis": axis,
             "label_smoothing": 0.2}, [t.astype(F32), x.astype(F32)], tags=["higher_rank"],
             note="label smoothing uses the size of the LAST axis as the number of classes")
    case(f"{fl}-rank3-sw_per_item", CCE, {"from_logits": from_logits}, [probs((2, 3, C), F32), mk((2, 3, C), F32)],
         call_kwargs={"sample_weight": rng.uniform(0, 2, (2, 3)).astype(F32)})
    case(f"{fl}-rank3-sw_per_batch", CCE, {"from_logits": from_logits}, [probs((2, 3, C), F32), mk((2, 3, C), F32)],
         call_kwargs={"sample_weight": rng.uniform(0, 2, (2,)).astype(F32)},
         note="a (N,) sample_weight with (N, d) losses: expanded to (N, 1) and broadcast")
    case(f"{fl}-N0", CCE, {"from_logits": from_logits}, [np.zeros((0, C), F32), np.zeros((0, C), F32)], tags=["empty"])
    case(f"{fl}-N0", cce, {"from_logits": from_logits}, [np.zeros((0, C), F32), np.zeros((0, C), F32)], tags=["empty"])
    case(f"{fl}-C1", cce, {"from_logits": from_logits}, [np.ones((N, 1)), mk((N, 1), F64) if from_logits else np.ones((N, 1))],
         tags=["C=1"])
case("logits-large", cce, {"from_logits": True}, [probs((4, 4), F64), xl], tags=["large_logits"])
case("logits-large-f32", CCE, {"from_logits": True}, [probs((4, 4), F32), xl.astype(F32)], tags=["large_logits"])
pe = np.array([[0.0, 1.0, 0.0], [1e-9, 0.5, 0.5 - 1e-9], [0.2, 0.2, 0.2], [1.0, 1.0, 2.0]])
te = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
case("probs-clip-f64", cce, {}, [te, pe], tags=["clip"],
     note="p / sum(p), then clipped to [1e-7, 1-1e-7]: log(1e-7) for a zero probability; rows summing to 0.6 or 4 renormalised")
case("probs-clip-f32", CCE, {}, [te.astype(F32), pe.astype(F32)], tags=["clip"])
case("probs-unnormalised", cce, {}, [probs((N, C), F64), rng.uniform(0, 3, (N, C))], note="y_pred rows renormalised")
case("shape-error", cce, {}, [probs((N, C + 1), F64), probs((N, C), F64)], tags=["error"])
case("rank-error", CCE, {}, [probs((N,), F32), probs((N, C), F32)], tags=["error"])
case("axis_bool-error", cce, {"axis": True}, [probs((N, C), F64), probs((N, C), F64)], tags=["error"])
case("reduction-error", CCE, {"reduction": "avg"}, [probs((N, C), F32), probs((N, C), F32)], tags=["error"])

# ---------------------------------------------------------------- sparse categorical
for from_logits in (True, False):
    fl = "logits" if from_logits else "probs"
    mk = (lambda s, dt: logits(s, dt)) if from_logits else (lambda s, dt: probs(s, dt))
    for dt in (F16, F32, F64):
        dn = np.dtype(dt).name
        case(f"{fl}-{dn}", scce, {"from_logits": from_logits}, [labels((N,), C), mk((N, C), dt)])
        case(f"{fl}-{dn}", SCCE, {"from_logits": from_logits}, [labels((N,), C), mk((N, C), dt)])
    for ldt in (np.int32, F32):
        case(f"{fl}-labels_{np.dtype(ldt).name}", scce, {"from_logits": from_logits}, [labels((N,), C, ldt), mk((N, C), F64)])
    case(f"{fl}-labels_N1", scce, {"from_logits": from_logits}, [labels((N, 1), C), mk((N, C), F64)],
         note="(N, 1) labels are squeezed")
    for red in ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight"):
        case(f"{fl}-red{red}", SCCE, {"from_logits": from_logits, "reduction": red}, [labels((N,), C), mk((N, C), F32)])
        case(f"{fl}-red{red}-sw", SCCE, {"from_logits": from_logits, "reduction": red}, [labels((N,), C), mk((N, C), F32)],
             call_kwargs={"sample_weight": rng.uniform(0, 2, N).astype(F32)})
    t = np.array([0, 2, -1, 4, -1, 1])
    for red in ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight"):
        x = mk((6, C), F32)
        case(f"{fl}-ignore-1-red{red}", SCCE, {"from_logits": from_logits, "ignore_class": -1, "reduction": red}, [t, x],
             tags=["ignore_class"], note="sum_over_batch_size divides by the number of non-ignored items")
        case(f"{fl}-ignore-1-red{red}-sw", SCCE, {"from_logits": from_logits, "ignore_class": -1, "reduction": red}, [t, x],
             call_kwargs={"sample_weight": rng.uniform(0, 2, 6).astype(F32)}, tags=["ignore_class"],
             note="with sample_weight: sum(loss * w) / number of non-ignored items")
    case(f"{fl}-ignore2", scce, {"from_logits": from_logits, "ignore_class": 2}, [np.array([0, 2, 3, 2]), mk((N, C), F64)],
         tags=["ignore_class"], note="ignored items give 0 (the function returns per-item losses)")
    case(f"{fl}-ignore255", SCCE, {"from_logits": from_logits, "ignore_class": 255}, [np.array([0, 255, 3, 1]), mk((N, C), F32)],
         tags=["ignore_class"])
    case(f"{fl}-all_ignored", SCCE, {"from_logits": from_logits, "ignore_class": -1}, [np.full((3,), -1), mk((3, C), F32)],
         tags=["ignore_class", "all_ignored"], note="0 / 0 is 0 (divide_no_nan)")
    case(f"{fl}-all_ignored-sum", SCCE, {"from_logits": from_logits, "ignore_class": -1, "reduction": "sum"},
         [np.full((3,), -1), mk((3, C), F32)], tags=["ignore_class", "all_ignored"])
    for shape in ((C,), (2, 3, C), (2, 3, 2, C)):
        t = labels(shape[:-1], C)
        case(f"{fl}-rank{len(shape)}", scce, {"from_logits": from_logits}, [t, mk(shape, F64)], tags=["higher_rank"])
        case(f"{fl}-rank{len(shape)}", SCCE, {"from_logits": from_logits}, [t, mk(shape, F32)], tags=["higher_rank"])
    t = labels((2, 3), C)
    t[0, 1] = -1
    case(f"{fl}-rank3-ignore-1-sw", SCCE, {"from_logits": from_logits, "ignore_class": -1}, [t, mk((2, 3, C), F32)],
         call_kwargs={"sample_weight": rng.uniform(0, 2, (2, 3)).astype(F32)}, tags=["higher_rank", "ignore_class"])
    case(f"{fl}-axis1-error", scce, {"from_logits": from_logits, "axis": 1}, [labels((2, 3), C), mk((2, C, 3), F64)],
         tags=["error"], note="the TensorFlow backend only supports axis=-1")
    case(f"{fl}-N0", SCCE, {"from_logits": from_logits}, [np.zeros((0,), np.int64), np.zeros((0, C), F32)], tags=["empty"])
    case(f"{fl}-N0-rank3", SCCE, {"from_logits": from_logits}, [np.zeros((0, 2), np.int64), np.zeros((0, 2, C), F32)],
         tags=["empty"], note="an empty loss of rank > 1 is reduced: 0/0 = 0 (divide_no_nan)")
    case(f"{fl}-N0", scce, {"from_logits": from_logits}, [np.zeros((0,), np.int64), np.zeros((0, C), F32)], tags=["empty"])
    case(f"{fl}-C1", scce, {"from_logits": from_logits}, [np.zeros((N,), np.int64),
         mk((N, 1), F64) if from_logits else np.ones((N, 1))], tags=["C=1"])
    x = mk((N, C), F64)
    case(f"{fl}-label_eq_C", scce, {"from_logits": from_logits}, [np.array([0, C, 1, 2]), x], tags=["invalid_label", "error"])
    case(f"{fl}-label_neg1", scce, {"from_logits": from_logits}, [np.array([0, -1, 1, 2]), x], tags=["invalid_label", "error"])
case("logits-large", scce, {"from_logits": True}, [np.array([1, 2, 2, 0]), xl], tags=["large_logits"])
case("logits-large-f32", SCCE, {"from_logits": True}, [np.array([1, 2, 2, 0]), xl.astype(F32)], tags=["large_logits"])
case("probs-clip-f64", scce, {}, [np.array([0, 0, 2, 1]), pe], tags=["clip"],
     note="clipped to [1e-7, 1-1e-7], then log_softmax of the logs: divided by the sum of the CLIPPED probabilities")
case("probs-clip-f32", SCCE, {}, [np.array([0, 0, 2, 1]), pe.astype(F32)], tags=["clip"])
case("label_shape-error", scce, {"from_logits": True}, [labels((N + 1,), C), logits((N, C), F64)], tags=["error"])

# ---------------------------------------------------------------- binary
for from_logits in (True, False):
    fl = "logits" if from_logits else "probs"
    mk = (lambda s, dt: logits(s, dt)) if from_logits else (lambda s, dt: rng.uniform(0.01, 0.99, s).astype(dt))
    for dt in (F16, F32, F64):
        dn = np.dtype(dt).name
        case(f"{fl}-{dn}", bce, {"from_logits": from_logits}, [rng.integers(0, 2, (N, C)).astype(dt), mk((N, C), dt)])
        case(f"{fl}-{dn}", BCE, {"from_logits": from_logits}, [rng.integers(0, 2, (N, C)).astype(dt), mk((N, C), dt)])
    for ls in (0.1, 1.0):
        case(f"{fl}-ls{ls}", bce, {"from_logits": from_logits, "label_smoothing": ls}, [rng.integers(0, 2, (N, C)).astype(F64), mk((N, C), F64)])
    case(f"{fl}-soft", bce, {"from_logits": from_logits}, [rng.uniform(0, 1, (N, C)), mk((N, C), F64)], tags=["soft_target"])
    case(f"{fl}-int_labels", bce, {"from_logits": from_logits}, [rng.integers(0, 2, (N, C)), mk((N, C), F64)])
    for shape in ((C,), (2, 3, C), (2, 3, 2, C)):
        case(f"{fl}-rank{len(shape)}", bce, {"from_logits": from_logits}, [rng.integers(0, 2, shape).astype(F64), mk(shape, F64)],
             tags=["higher_rank"], note="the mean over the last axis")
        case(f"{fl}-rank{len(shape)}", BCE, {"from_logits": from_logits}, [rng.integers(0, 2, shape).astype(F32), mk(shape, F32)],
             tags=["higher_rank"])
    case(f"{fl}-rank3-axis1", bce, {"from_logits": from_logits, "axis": 1}, [rng.uniform(0, 1, (2, 3, 4)), mk((2, 3, 4), F64)],
         tags=["higher_rank"], note="the mean over axis 1")
    case(f"{fl}-axis0", BCE, {"from_logits": from_logits, "axis": 0}, [rng.uniform(0, 1, (N, C)).astype(F32), mk((N, C), F32)])
    for red in ("sum", "none", "mean_with_sample_weight"):
        case(f"{fl}-red{red}-sw", BCE, {"from_logits": from_logits, "reduction": red},
             [rng.integers(0, 2, (N, C)).astype(F32), mk((N, C), F32)], call_kwargs={"sample_weight": rng.uniform(0, 2, N).astype(F32)})
    case(f"{fl}-sw", BCE, {"from_logits": from_logits}, [rng.integers(0, 2, (N, C)).astype(F32), mk((N, C), F32)],
         call_kwargs={"sample_weight": rng.uniform(0, 2, N).astype(F32)})
    case(f"{fl}-ls0.2-sw", BCE, {"from_logits": from_logits, "label_smoothing": 0.2},
         [rng.integers(0, 2, (N, C)).astype(F32), mk((N, C), F32)], call_kwargs={"sample_weight": rng.uniform(0, 2, N).astype(F32)})
    case(f"{fl}-N0", BCE, {"from_logits": from_logits}, [np.zeros((0, C), F32), np.zeros((0, C), F32)], tags=["empty"])
    case(f"{fl}-N0", bce, {"from_logits": from_logits}, [np.zeros((0, C), F32), np.zeros((0, C), F32)], tags=["empty"])
case("logits-large", bce, {"from_logits": True}, [np.array([[1.0, 0.0, 0.5, 1.0]] * 4), xl], tags=["large_logits"])
pb = np.array([[0.0, 1.0, 1e-9, 0.5], [1.0, 0.0, 1 - 1e-9, 0.3]])
tb = np.array([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]])
case("probs-clip-f64", bce, {}, [tb, pb], tags=["clip"], note="clipped to [1e-7, 1-1e-7]")
case("probs-clip-f32", BCE, {}, [tb.astype(F32), pb.astype(F32)], tags=["clip"])
case("shape-error", bce, {}, [np.ones((N, C + 1)), np.full((N, C), 0.5)], tags=["error"])

# ---------------------------------------------------------------- probabilities at the edges, per dtype
# (appended last: the cases above keep their random draws). p exactly 0 and 1, p inside (0, eps) and
# (1 - eps, 1), where the clip to [1e-7, 1 - 1e-7] bites; the functions compute in the input's dtype (in
# float16 1 - 1e-7 rounds to 1 and 1e-7 to the subnormal 1.19e-7), the classes in their ``dtype``.
pe16 = np.array([[0.0, 1.0, 0.0], [1e-9, 0.5, 0.5 - 1e-9], [0.2, 0.2, 0.2], [1.0, 1.0, 2.0], [5e-8, 0.6, 0.4 - 5e-8]])
te16 = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])
ts16 = np.array([0, 0, 2, 1, 0])
pb16 = np.array([[0.0, 1.0, 1e-9, 0.5, 5e-8], [1.0, 0.0, 1 - 1e-9, 0.3, 1 - 5e-8], [0.0, 1.0, 1e-4, 0.9999, 0.25]])
tb16 = np.array([[1.0, 0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.5]])
for dt in (F16, F32, F64):
    dn = np.dtype(dt).name
    case(f"probs-edges-{dn}", cce, {}, [te16.astype(dt), pe16.astype(dt)], tags=["clip", "probs_edges"],
         note="p = 0, 1 and inside the clip; the function computes in the input's dtype")
    case(f"probs-edges-{dn}", scce, {}, [ts16, pe16.astype(dt)], tags=["clip", "probs_edges"])
    case(f"probs-edges-{dn}", bce, {}, [tb16.astype(dt), pb16.astype(dt)], tags=["clip", "probs_edges"])
    for api, t in ((CCE, te16), (SCCE, ts16), (BCE, None)):
        x = pb16 if api == BCE else pe16
        t = tb16 if t is None else t
        case(f"probs-edges-{dn}", api, {}, [t if t.dtype.kind == "i" else t.astype(dt), x.astype(dt)],
             tags=["clip", "probs_edges"], note="dtype=None: computed in float32")
        case(f"probs-edges-dtype_{dn}", api, {"dtype": dn, "reduction": "none"},
             [t if t.dtype.kind == "i" else t.astype(dt), x.astype(dt)], tags=["clip", "probs_edges"],
             note=f"dtype='{dn}': computed in {dn}")

R.write("keras")

# ---------------------------------------------------------------- bfloat16 (dtype="bfloat16")
# NumPy has no bfloat16 and the golden format stores NumPy arrays, so these cases go to their own file,
# read by tests/test_keras_corpus.py on the libraries that have bfloat16 (torch, JAX): the inputs are
# float32 holding bfloat16 values (the loss converts them exactly), the output is Keras's bfloat16 result
# stored as float32, the gradient is with respect to the float32 y_pred.
import ml_dtypes  # noqa: E402  (installed with tensorflow)

from _common import GOLDEN_DIR, _format  # noqa: E402

R16 = Recorder("keras", "keras", keras.__version__, dict(R.payload["recorded_with"], ml_dtypes=ml_dtypes.__version__))


def bf(a):
    """``a`` rounded to bfloat16 values, as float32 (integers unchanged)."""
    a = np.asarray(a)
    return a if a.dtype.kind in "iub" else a.astype(ml_dtypes.bfloat16).astype(F32)


def case16(cid, api, params, args, tags=(), note="", call_kwargs=None):
    init = {"dtype": "bfloat16", **params}
    args = [bf(a) for a in args]
    kwargs = {k: bf(v) if isinstance(v, np.ndarray) else v for k, v in (call_kwargs or {}).items()}
    expect, go = run(api, init, args, kwargs)
    if "output" in expect:
        assert expect["output"].dtype == ml_dtypes.bfloat16, expect["output"].dtype
        expect["output"] = expect["output"].astype(F32)
    go = None if go is None else go.astype(F32)
    tags = ["bfloat16", *tags, *(k for k in {**params, **kwargs} if k not in tags)]
    R16.add(id=f"{api}/bfloat16-{cid}", api=api, init=init, method="__call__", args=args, kwargs=kwargs,
            grad_output=go, expect=expect, tags=tags, note=note or "Keras's bfloat16 result, stored as float32", wrt=1)


eye3 = np.eye(3, dtype=F32)
# keras/src/losses/losses_test.py test_dtype_arg (Keras asserts the dtype; the number is Keras's)
case16("test_dtype_arg", CCE, {}, [np.eye(3, dtype=np.int64), eye3], tags=["corpus"])
case16("test_dtype_arg", SCCE, {}, [np.array([[0], [1], [2]]), eye3], tags=["corpus"])
case16("test_dtype_arg", BCE, {}, [eye3, np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], F32)],
       tags=["corpus"])
for from_logits in (True, False):
    fl = "logits" if from_logits else "probs"
    mk = (lambda s: logits(s)) if from_logits else (lambda s: probs(s))
    for red in ("sum_over_batch_size", "sum", "none"):
        case16(f"{fl}-red{red}", CCE, {"from_logits": from_logits, "reduction": red}, [onehot((N,), C), mk((N, C))])
        case16(f"{fl}-red{red}", SCCE, {"from_logits": from_logits, "reduction": red}, [labels((N,), C), mk((N, C))])
        case16(f"{fl}-red{red}", BCE, {"from_logits": from_logits, "reduction": red},
               [rng.integers(0, 2, (N, C)).astype(F32), mk((N, C)) if from_logits else rng.uniform(0.01, 0.99, (N, C))])
    case16(f"{fl}-sw", CCE, {"from_logits": from_logits}, [onehot((N,), C), mk((N, C))],
           call_kwargs={"sample_weight": rng.uniform(0, 2, N).astype(F32)})
    case16(f"{fl}-ls0.1", CCE, {"from_logits": from_logits, "label_smoothing": 0.1}, [onehot((N,), C), mk((N, C))])
    case16(f"{fl}-ls0.1", BCE, {"from_logits": from_logits, "label_smoothing": 0.1},
           [rng.integers(0, 2, (N, C)).astype(F32), mk((N, C)) if from_logits else rng.uniform(0.01, 0.99, (N, C))])
    case16(f"{fl}-ignore-1", SCCE, {"from_logits": from_logits, "ignore_class": -1},
           [np.array([0, 2, -1, 4, -1, 1]), mk((6, C))], tags=["ignore_class"])
    case16(f"{fl}-rank3", SCCE, {"from_logits": from_logits}, [labels((2, 3), C), mk((2, 3, C))], tags=["higher_rank"])
case16("logits-large", CCE, {"from_logits": True}, [probs((4, 4)), xl.astype(F32)], tags=["large_logits"])
case16("logits-large", SCCE, {"from_logits": True}, [np.array([1, 2, 2, 0]), xl.astype(F32)], tags=["large_logits"])
case16("probs-edges", CCE, {"reduction": "none"}, [te16, pe16], tags=["clip", "probs_edges"],
       note="the clip bounds in bfloat16: 1 - 1e-7 is 1 (nothing clipped at the top)")
case16("probs-edges", SCCE, {"reduction": "none"}, [ts16, pe16], tags=["clip", "probs_edges"])
case16("probs-edges", BCE, {"reduction": "none"}, [tb16, pb16], tags=["clip", "probs_edges"],
       note="bfloat16: log(1 - 1) = -inf, so p = 1 gives inf (y = 0) or 0 * inf = nan (y = 1)")
path16 = Path(__file__).resolve().parent / "bfloat16" / "keras.json"
path16.parent.mkdir(exist_ok=True)
_format.dump(R16.payload, path16)
print(f"wrote {path16} ({len(R16.payload['cases'])} cases)")
assert GOLDEN_DIR != path16.parent

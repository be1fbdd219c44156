"""Record golden data for the ``brainpy`` dialect from the real BrainPy 2.8.2 (JAX 0.10.2, CPU).

Run from the repository root with the golden-b venv::

    /work/golden-venvs/golden-b/bin/python tools/golden/record_brainpy.py

Writes ``unified_ce/conformance/golden/brainpy.json``.  Deterministic (fixed seeds).

API: ``brainpy.losses.CrossEntropyLoss(weight=None, ignore_index=-100, reduction='mean',
label_smoothing=0.0)`` called as ``loss(input, target)`` (method ``"__call__"``) or
``loss.update(input, target)`` (method ``"update"``; ``__call__`` is ``DynamicalSystem.__call__``,
which runs the (empty) before/after-update hooks around ``update``, brainpy/dynsys.py).
The gradient is d sum(out * grad_output) / d input, taken with ``jax.vjp`` through BrainPy's
own code (``brainpy/losses/comparison.py::cross_entropy_loss``).

JAX's 64-bit mode: ``import brainpy`` switches ``jax_enable_x64`` OFF (BrainPy's default).
float32 cases are recorded in that default mode, as users run them; float64 cases need
``brainpy.math.enable_x64()`` (without it JAX silently computes in float32).  With x64 ON,
BrainPy returns float64 for float32 logits with class-index targets (``one_hot`` defaults to
float64 there); that configuration-dependent dtype is documented, not recorded.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jaxlib  # noqa: E402

import brainpy  # noqa: E402
import brainpy.math as bm  # noqa: E402

from _common import Recorder, err  # noqa: E402

rng = np.random.default_rng(20240622)
go_rng = np.random.default_rng(2822)
R = Recorder(
    "brainpy",
    "brainpy",
    brainpy.__version__,
    {
        "numpy": np.__version__,
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "brainpy": brainpy.__version__,
        "python": sys.version.split()[0],
        "x64": "float32 cases with jax_enable_x64 off (BrainPy's default), float64 cases with it on",
    },
)

F32, F64 = np.float32, np.float64
CE = "CrossEntropyLoss"
DTS = [("f32", F32), ("f64", F64)]


def _x64(on: bool) -> None:
    if on:
        bm.enable_x64()
    else:
        bm.disable_x64()
    assert bool(jax.config.jax_enable_x64) == on


def _jax(v):
    return jnp.asarray(np.array(v, copy=True)) if isinstance(v, np.ndarray) else v


def run(init, method, args, x64):
    """Call BrainPy; return (expect, grad_output)."""
    _x64(x64)
    x, rest = args[0], args[1:]
    grad_output = None
    try:
        obj = brainpy.losses.CrossEntropyLoss(**{k: _jax(v) for k, v in (init or {}).items()})
        fn = getattr(obj, method)
        rest_j = [_jax(a) for a in rest]
        xj = _jax(x)
        diff = isinstance(x, np.ndarray) and x.dtype.kind == "f"
        if not diff:
            return {"output": np.asarray(fn(xj, *rest_j)), "grad": None}, None
        out, vjp = jax.vjp(lambda xx: fn(xx, *rest_j), xj)
        out_np = np.asarray(out)
        if out_np.ndim == 0:
            ct = jnp.ones_like(out)
        else:
            grad_output = go_rng.uniform(-1.0, 1.0, size=out_np.shape).astype(out_np.dtype)
            ct = jnp.asarray(grad_output)
        (g,) = vjp(ct)
        return {"output": out_np, "grad": np.asarray(g)}, grad_output
    except Exception as exc:  # noqa: BLE001 - the framework's refusal is what we record
        return err(exc), None
    finally:
        _x64(False)


def record(cid, init, args, *, method="__call__", tags=(), note="", invalid=None, x64=None):
    x = args[0]
    if x64 is None:
        x64 = isinstance(x, np.ndarray) and x.dtype == F64
    expect, go = run(init, method, args, x64)
    R.add(id=cid, api=CE, init=dict(init or {}), method=method, args=args, kwargs={}, grad_output=go,
          expect=expect, invalid=invalid, tags=tags, note=note)
    return expect


# ------------------------------------------------------------------------------------ data


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
        p = p / p.sum(axis=-1, keepdims=True)
    return p.astype(dt)


# ------------------------------------------------------------------------------------ cases


def doc_examples():
    for name, dt in DTS:
        f64 = ["float64"] if dt == F64 else []
        x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]], dt)
        t = np.array([3, 0], np.int32)
        record(f"shared_example-{name}", None, [x, t], tags=["doc_example"] + f64,
               note="the example of /work/shared/golden-frameworks.md: brainpy printed 0.44018972 (chainer's "
               "softmax_cross_entropy docstring example)")
        # BrainPy's CrossEntropyLoss docstring is PyTorch's, verbatim (torch.randn, torch.empty(...).random_(5),
        # output.backward()): it does not run in BrainPy.  Its two calls, with BrainPy arrays:
        xi = logits((3, 5), dt, 1.0)
        record(f"docstring-class_indices-{name}", None, [xi, labels(3, 5, np.int64)], tags=["doc_example"] + f64,
               note="docstring example 1 (PyTorch code in BrainPy's docstring), input (3, 5), target of 5 classes")
        tp = np.exp(logits((3, 5), F64, 1.0))
        tp = (tp / tp.sum(axis=1, keepdims=True)).astype(dt)
        record(f"docstring-class_probabilities-{name}", None, [xi, tp], tags=["doc_example", "soft_target"] + f64,
               note="docstring example 2: target = randn(3, 5).softmax(dim=1)")


def index_cases():
    for name, dt in DTS:
        f64 = ["float64"] if dt == F64 else []
        N, C = 5, 4
        x = logits((N, C), dt)
        t = labels(N, C)
        for red in ("mean", "sum", "none"):
            record(f"basic-{red}-{name}", {"reduction": red}, [x, t], tags=[f"reduction:{red}", "int32_labels"] + f64)
        record(f"int64_labels-{name}", None, [x, labels(N, C, np.int64)], tags=["int64_labels"] + f64)
        record(f"uint8_labels-{name}", {"reduction": "none"}, [x, labels(N, C, np.uint8)],
               tags=["uint8_labels", "reduction:none"] + f64, note="uint8 labels compare with ignore_index=-100 as "
               "JAX weak-typed ints: nothing is ignored")

        # ---- ignore_index
        ti = labels(N, C, ignore=-100, frac=0.4)
        ti[0] = -100
        for red in ("mean", "sum", "none"):
            record(f"ignore_default-{red}-{name}", {"reduction": red}, [x, ti],
                   tags=["ignore_index", f"reduction:{red}"] + f64,
                   note="mean divides by max(#non-ignored, 1)" if red == "mean" else "")
        t2 = labels(N, C)
        t2[[1, 3]] = 2
        record(f"ignore_index_in_range-{name}", {"ignore_index": 2}, [x, t2], tags=["ignore_index"] + f64,
               note="ignore_index=2 is a real class: items labelled 2 are ignored")
        t3 = labels(N, C)
        t3[[0, 4]] = -1
        record(f"ignore_index_-1-{name}", {"ignore_index": -1, "reduction": "none"}, [x, t3],
               tags=["ignore_index", "reduction:none"] + f64)
        t9 = labels(N, C)
        t9[2] = 9
        record(f"ignore_index_9-{name}", {"ignore_index": 9}, [x, t9], tags=["ignore_index"] + f64)

        # ---- class weights
        w = np.array([0.5, 2.0, 1.0, 3.0], dt)
        for red in ("mean", "sum", "none"):
            record(f"weight-{red}-{name}", {"weight": w, "reduction": red}, [x, t],
                   tags=["class_weight", f"reduction:{red}"] + f64,
                   note="mean divides by sum of weight[label]" if red == "mean" else "")
            record(f"weight-ignore-{red}-{name}", {"weight": w, "reduction": red}, [x, ti],
                   tags=["class_weight", "ignore_index", f"reduction:{red}"] + f64)
        record(f"weight-ignore_index_in_range-{name}", {"weight": w, "ignore_index": 2}, [x, t2],
               tags=["class_weight", "ignore_index"] + f64)

        # ---- label smoothing
        for eps in (0.1, 0.3, 1.0):
            record(f"smoothing{eps}-{name}", {"label_smoothing": eps}, [x, t], tags=["label_smoothing"] + f64)
        record(f"smoothing0.2-none-{name}", {"label_smoothing": 0.2, "reduction": "none"}, [x, t],
               tags=["label_smoothing", "reduction:none"] + f64)
        record(f"smoothing0.2-ignore-{name}", {"label_smoothing": 0.2}, [x, ti],
               tags=["label_smoothing", "ignore_index"] + f64, note="ignored items contribute nothing (also to the "
               "uniform part), mean over non-ignored items")
        record(f"smoothing0.2-ignore-sum-{name}", {"label_smoothing": 0.2, "reduction": "sum"}, [x, ti],
               tags=["label_smoothing", "ignore_index", "reduction:sum"] + f64)

        # ---- weights with smoothing (and ignore): where BrainPy differs from PyTorch
        ws_note = ("per item: weight[label] * (logsumexp(x) - sum_c q~_c x_c), q~ the smoothed one-hot; "
                   "PyTorch: sum_c weight_c q~_c (-log p_c)")
        for red in ("mean", "sum", "none"):
            record(f"weight-smoothing0.2-{red}-{name}", {"weight": w, "label_smoothing": 0.2, "reduction": red},
                   [x, t], tags=["class_weight", "label_smoothing", f"reduction:{red}"] + f64, note=ws_note)
            record(f"weight-smoothing0.2-ignore-{red}-{name}",
                   {"weight": w, "label_smoothing": 0.2, "reduction": red}, [x, ti],
                   tags=["class_weight", "label_smoothing", "ignore_index", f"reduction:{red}"] + f64, note=ws_note)
        record(f"weight-smoothing1.0-ignore_index_0-{name}", {"weight": w, "label_smoothing": 1.0, "ignore_index": 0},
               [x, t], tags=["class_weight", "label_smoothing", "ignore_index"] + f64)

        # ---- every label ignored
        ta = np.full(N, -100, np.int32)
        record(f"all_ignored-mean-{name}", None, [x, ta], tags=["all_ignored", "ignore_index"] + f64,
               note="0 / max(0, 1) = 0 (PyTorch: nan)")
        record(f"all_ignored-sum-{name}", {"reduction": "sum"}, [x, ta],
               tags=["all_ignored", "ignore_index", "reduction:sum"] + f64)
        record(f"all_ignored-none-{name}", {"reduction": "none"}, [x, ta],
               tags=["all_ignored", "ignore_index", "reduction:none"] + f64)
        record(f"all_ignored-smoothing-{name}", {"label_smoothing": 0.3}, [x, ta],
               tags=["all_ignored", "ignore_index", "label_smoothing"] + f64)
        record(f"all_ignored-weight-mean-{name}", {"weight": w}, [x, ta],
               tags=["all_ignored", "ignore_index", "class_weight"] + f64,
               note="with a weight the denominator is sum of weight[label] over non-ignored items = 0: nan")
        record(f"all_ignored-weight-sum-{name}", {"weight": w, "reduction": "sum"}, [x, ta],
               tags=["all_ignored", "ignore_index", "class_weight", "reduction:sum"] + f64)
        wz = np.array([0.0, 0.0, 1.0, 1.0], dt)
        tz = np.array([0, 1, 0, 1, -100], np.int32)
        record(f"weight_zero_for_all_labels-{name}", {"weight": wz}, [x, tz], tags=["class_weight"] + f64,
               note="sum of weight[label] is 0 without any ignored label: 0/0 = nan")

        # ---- higher ranks: the class axis is the LAST axis
        x3 = logits((2, 3, C), dt)
        t3d = labels((2, 3), C, ignore=-100, frac=0.3)
        record(f"rank3-{name}", None, [x3, t3d], tags=["higher_rank", "ignore_index"] + f64,
               note="class axis is -1: input (2, 3, C), target (2, 3)")
        record(f"rank3-none-{name}", {"reduction": "none"}, [x3, t3d],
               tags=["higher_rank", "ignore_index", "reduction:none"] + f64)
        x4 = logits((2, 3, 2, C), dt)
        t4d = labels((2, 3, 2), C, ignore=-100, frac=0.3)
        record(f"rank4-weight-smoothing-{name}", {"weight": w, "label_smoothing": 0.1}, [x4, t4d],
               tags=["higher_rank", "ignore_index", "class_weight", "label_smoothing"] + f64)
        record(f"rank4-weight-smoothing-none-{name}", {"weight": w, "label_smoothing": 0.1, "reduction": "none"},
               [x4, t4d], tags=["higher_rank", "ignore_index", "class_weight", "label_smoothing",
                                "reduction:none"] + f64)
        xt = logits((2, C, 3), dt)
        record(f"err-torch_layout-{name}", None, [xt, labels((2, 3), C)], tags=["higher_rank", "error"] + f64,
               note="PyTorch's (N, C, d1) layout: BrainPy one-hot encodes along the last axis, shapes clash")
        xs = logits((2, 3, 3), dt)
        record(f"torch_layout_square-{name}", {"reduction": "none"}, [xs, labels((2, 3), 3)],
               tags=["higher_rank", "reduction:none"] + f64,
               note="input (N, C, d1) with d1 == C: BrainPy silently uses the last axis as the class axis")

        # ---- unbatched, N=1, C=1
        xu = logits((C,), dt)
        record(f"unbatched-{name}", None, [xu, np.array(2, np.int32)], tags=["unbatched"] + f64,
               note="input (C,), target (): class indices since target.ndim + 1 == input.ndim")
        record(f"unbatched-none-{name}", {"reduction": "none"}, [xu, np.array(1, np.int32)],
               tags=["unbatched", "reduction:none"] + f64)
        record(f"unbatched-ignored-{name}", None, [xu, np.array(-100, np.int32)],
               tags=["unbatched", "ignore_index", "all_ignored"] + f64)
        record(f"N=1-{name}", None, [logits((1, C), dt), np.array([3], np.int32)], tags=["N=1"] + f64)
        record(f"N=1-weight-{name}", {"weight": w, "label_smoothing": 0.1}, [logits((1, C), dt),
               np.array([1], np.int32)], tags=["N=1", "class_weight", "label_smoothing"] + f64)
        record(f"C=1-{name}", None, [logits((3, 1), dt), np.zeros(3, np.int32)], tags=["C=1"] + f64)
        record(f"C=1-smoothing-none-{name}", {"label_smoothing": 0.5, "reduction": "none"},
               [logits((3, 1), dt), np.zeros(3, np.int32)], tags=["C=1", "label_smoothing", "reduction:none"] + f64)

        # ---- empty batch
        x0 = np.zeros((0, C), dt)
        t0 = np.zeros(0, np.int32)
        record(f"empty-mean-{name}", None, [x0, t0], tags=["empty"] + f64, note="0 / max(0, 1) = 0")
        record(f"empty-sum-{name}", {"reduction": "sum"}, [x0, t0], tags=["empty", "reduction:sum"] + f64)
        record(f"empty-none-{name}", {"reduction": "none"}, [x0, t0], tags=["empty", "reduction:none"] + f64)
        record(f"empty-weight-mean-{name}", {"weight": w}, [x0, t0], tags=["empty", "class_weight"] + f64,
               note="0/0 = nan")

        # ---- large logits
        xl = np.array([[1e4, -1e4, 0.0, 1.0], [-1e4, 1e4, 0.0, 0.0], [64.0, 0.0, -64.0, 0.5],
                       [0.0, 64.5, 0.5, -1e4]], dt)
        tl = np.array([1, 1, 0, 2], np.int32)
        record(f"large_logits-none-{name}", {"reduction": "none"}, [xl, tl], tags=["large_logits", "reduction:none"] + f64)
        record(f"large_logits-mean-{name}", None, [xl, tl], tags=["large_logits"] + f64)
        record(f"large_logits-smoothing-weight-none-{name}", {"reduction": "none", "label_smoothing": 0.1, "weight": w},
               [xl, tl], tags=["large_logits", "label_smoothing", "class_weight", "reduction:none"] + f64)

        # ---- float labels (one_hot compares them with 0..C-1)
        tf = t.astype(dt)
        record(f"float_labels-{name}", None, [x, tf], tags=["float_labels"] + f64,
               note="integral-valued float labels work: one_hot compares them with arange(C)")
        tfi = t.astype(dt)
        tfi[0] = -100.0
        record(f"float_labels-ignore-none-{name}", {"reduction": "none"}, [x, tfi],
               tags=["float_labels", "ignore_index", "reduction:none"] + f64)
        record(f"err-float_labels-weight-{name}", {"weight": w}, [x, tf], tags=["float_labels", "class_weight",
               "error"] + f64, note="weight[target] needs an integer indexer")
        tfn = tf.copy()
        tfn[1] = 1.5
        record(f"float_labels-non_integer-{name}", {"reduction": "none"}, [x, tfn], tags=["float_labels",
               "out_of_range", "reduction:none"] + f64,
               invalid="a non-integer float label matches no class: one_hot gives a zero row, loss = logsumexp(x)")

        # ---- out-of-range labels
        to = t.copy()
        to[1] = C
        record(f"label_eq_C-none-{name}", {"reduction": "none"}, [x, to], tags=["out_of_range", "reduction:none"] + f64,
               invalid="label C matches no class: one_hot gives a zero row, loss = logsumexp(x)")
        tn = t.copy()
        tn[1] = -2
        record(f"label_-2-none-{name}", {"reduction": "none"}, [x, tn], tags=["out_of_range", "reduction:none"] + f64,
               invalid="negative label -2 (not ignore_index) matches no class: zero one-hot row, loss = logsumexp(x)")
        record(f"label_eq_C-weight-none-{name}", {"weight": w, "reduction": "none"}, [x, to],
               tags=["out_of_range", "class_weight", "reduction:none"] + f64,
               invalid="weight[C] is clamped by JAX's gather to weight[C-1]; the one-hot row is zero")
        record(f"label_-2-weight-mean-{name}", {"weight": w}, [x, tn],
               tags=["out_of_range", "class_weight"] + f64,
               invalid="weight[-2] wraps to weight[C-2] (NumPy-style negative index); the one-hot row is zero")
    x = logits((5, 4), F32)
    record("label_200-uint8", {"reduction": "none"}, [x, np.array([0, 200, 1, 2, 3], np.uint8)],
           tags=["out_of_range", "uint8_labels", "reduction:none"], invalid="uint8 label 200 >= C gives a zero one-hot row")
    record("uint8_labels-ignore_index_255", {"ignore_index": 255}, [x, np.array([0, 255, 1, 255, 3], np.uint8)],
           tags=["uint8_labels", "ignore_index"])
    record("int64_labels-weight-smoothing-none", {"weight": np.array([1.0, 2.0, 0.5, 1.5], F32), "label_smoothing": 0.05,
           "reduction": "none"}, [x, np.array([0, 3, 1, -100, 3], np.int64)],
           tags=["int64_labels", "class_weight", "label_smoothing", "ignore_index", "reduction:none"])


def probs_cases():
    for name, dt in DTS:
        f64 = ["float64"] if dt == F64 else []
        N, C = 5, 4
        x = logits((N, C), dt)
        q = probs((N, C), dt)
        w = np.array([0.5, 2.0, 1.0, 3.0], dt)
        for red in ("mean", "sum", "none"):
            record(f"probs-{red}-{name}", {"reduction": red}, [x, q], tags=["soft_target", f"reduction:{red}"] + f64,
                   note="target of the input's ndim holds probabilities" if red == "mean" else "")
            record(f"probs-weight-{red}-{name}", {"weight": w, "reduction": red}, [x, q],
                   tags=["soft_target", "class_weight", f"reduction:{red}"] + f64,
                   note="per item: (sum_c w_c q_c) * (logsumexp(x) - sum_c q_c x_c); mean divides by "
                   "sum over items of sum_c w_c q_c (PyTorch: sum_c w_c q_c (-log p_c), mean divides by N)")
        record(f"probs-smoothing-{name}", {"label_smoothing": 0.2}, [x, q], tags=["soft_target", "label_smoothing"] + f64)
        record(f"probs-weight-smoothing-none-{name}", {"weight": w, "label_smoothing": 0.2, "reduction": "none"}, [x, q],
               tags=["soft_target", "class_weight", "label_smoothing", "reduction:none"] + f64,
               note="the item weight is sum_c w_c q~_c with the SMOOTHED q~")
        record(f"probs-weight-smoothing-mean-{name}", {"weight": w, "label_smoothing": 0.2}, [x, q],
               tags=["soft_target", "class_weight", "label_smoothing"] + f64)
        record(f"probs-ignore_index_0-{name}", {"ignore_index": 0}, [x, q], tags=["soft_target", "ignore_index"] + f64,
               note="ignore_index has no effect on probability targets (PyTorch raises for ignore_index >= 0)")
        # one-hot probabilities equal to class indices: identical without weight+smoothing, not with them
        t = labels(N, C)
        oh = np.eye(C, dtype=dt)[t]
        record(f"onehot_probs-weight-smoothing-{name}", {"weight": w, "label_smoothing": 0.2}, [x, oh],
               tags=["soft_target", "class_weight", "label_smoothing"] + f64,
               note="compare with the class-index case weight-smoothing0.2-mean: the index path weights items by "
               "weight[label], the probability path by sum_c w_c q~_c")
        record(f"index_for_onehot-weight-smoothing-{name}", {"weight": w, "label_smoothing": 0.2}, [x, t],
               tags=["class_weight", "label_smoothing"] + f64, note="the class indices of onehot_probs-weight-smoothing")
        # unnormalised targets: loss = logsumexp(x) - sum_c q_c x_c (not sum_c q_c (-log p_c))
        qu = probs((N, C), dt, normalized=False, zeros=True) * dt(3.0)
        record(f"probs-unnormalized-none-{name}", {"reduction": "none"}, [x, qu],
               tags=["soft_target", "unnormalized", "reduction:none"] + f64,
               note="logsumexp(x) - sum_c q_c x_c: equals sum_c q_c (-log p_c) only when sum_c q_c = 1; "
               "gradient softmax(x) - q")
        record(f"probs-unnormalized-weight-smoothing-{name}", {"weight": w, "label_smoothing": 0.1}, [x, qu],
               tags=["soft_target", "unnormalized", "class_weight", "label_smoothing"] + f64)
        qz = np.zeros((N, C), dt)
        record(f"probs-all_zero-weight-{name}", {"weight": w}, [x, qz], tags=["soft_target", "class_weight"] + f64,
               note="sum of item weights 0: 0/0 = nan")
        record(f"probs-all_zero-none-{name}", {"reduction": "none"}, [x, qz],
               tags=["soft_target", "unnormalized", "reduction:none"] + f64, note="a zero target still gives logsumexp(x)")
        # higher ranks, unbatched, C=1, empty, large logits
        x3 = logits((2, 3, C), dt)
        record(f"probs-rank3-weight-{name}", {"weight": w}, [x3, probs((2, 3, C), dt)],
               tags=["soft_target", "higher_rank", "class_weight"] + f64)
        record(f"probs-rank3-none-{name}", {"reduction": "none"}, [x3, probs((2, 3, C), dt)],
               tags=["soft_target", "higher_rank", "reduction:none"] + f64)
        record(f"probs-unbatched-{name}", None, [logits((C,), dt), probs((C,), dt)], tags=["soft_target", "unbatched"] + f64,
               note="input (C,) with a (C,) target: probabilities (target.ndim == input.ndim)")
        record(f"probs-C=1-{name}", None, [logits((3, 1), dt), np.ones((3, 1), dt)], tags=["soft_target", "C=1"] + f64)
        record(f"probs-empty-mean-{name}", None, [np.zeros((0, C), dt), np.zeros((0, C), dt)],
               tags=["soft_target", "empty"] + f64, note="mean of nothing: nan")
        record(f"probs-empty-none-{name}", {"reduction": "none"}, [np.zeros((0, C), dt), np.zeros((0, C), dt)],
               tags=["soft_target", "empty", "reduction:none"] + f64)
        xl = np.array([[1e4, -1e4, 0.0, 1.0], [-1e4, 1e4, 0.0, 0.0], [64.0, 0.0, -64.0, 0.5]], dt)
        ql = np.array([[0.0, 1.0, 0.0, 0.0], [0.5, 0.5, 0.0, 0.0], [0.2, 0.3, 0.4, 0.1]], dt)
        record(f"probs-large_logits-none-{name}", {"reduction": "none"}, [xl, ql],
               tags=["soft_target", "large_logits", "reduction:none"] + f64)
        # invalid / refused probability targets
        qn = q.copy()
        qn[1, 0] = -0.5
        record(f"probs-negative-none-{name}", {"reduction": "none"}, [x, qn], tags=["soft_target", "reduction:none"] + f64,
               invalid="a negative probability is used as it is")
        record(f"err-probs_shape-{name}", None, [x, probs((N, C - 1), dt)], tags=["soft_target", "error"] + f64)
        record(f"probs-broadcast_row-none-{name}", {"reduction": "none"}, [x, probs((1, C), dt)],
               tags=["soft_target", "reduction:none"] + f64,
               invalid="a (1, C) target is broadcast against the (N, C) input (no shape check)")
        record(f"int_onehot_target-{name}", None, [x, np.eye(C, dtype=np.int32)[labels(N, C)]],
               tags=["soft_target"] + f64,
               invalid="an integer target of the input's shape is taken as probabilities (PyTorch requires a "
               "floating dtype for probability targets)")
        record(f"err-probs-weight_len-{name}", {"weight": np.ones(C + 1, dt)}, [x, q],
               tags=["soft_target", "class_weight", "error"] + f64)

    # mixed dtypes (x64 on: float64 targets stay float64)
    x = logits((4, 3), F32)
    record("probs-mixed-x32-t64", None, [x, probs((4, 3), F64)], tags=["soft_target", "mixed_dtype"], x64=True,
           note="recorded with x64 on: float32 logits with float64 probabilities give float64 (JAX promotion)")
    record("weight_f64-x32", {"weight": np.array([1.0, 2.0, 0.5])}, [x, labels(4, 3)],
           tags=["class_weight", "mixed_dtype"], note="float64 weight with float32 logits (x64 off: float32)")


def error_cases():
    N, C = 4, 3
    x = logits((N, C), F32)
    t = labels(N, C)
    record("err-target_len", None, [x, labels(N + 1, C)], tags=["error"])
    record("target_len_1-broadcast", {"reduction": "none"}, [x, np.array([2], np.int32)], tags=[],
           invalid="a (1,) target is broadcast against the (N, C) input (no shape check)")
    record("err-reduction", {"reduction": "average"}, [x, t], tags=["error"],
           note="the reduction is checked only when called (UnsupportedError from brainpy/losses/utils.py::_reduce)")
    record("err-reduction-none_value", {"reduction": None}, [x, t], tags=["error"])
    record("label_smoothing_1.5", {"label_smoothing": 1.5, "reduction": "none"}, [x, t],
           tags=["label_smoothing", "reduction:none"], invalid="label_smoothing outside [0, 1] is used as it is "
           "(negative target weights)")
    record("label_smoothing_-0.5", {"label_smoothing": -0.5, "reduction": "none"}, [x, t],
           tags=["label_smoothing", "reduction:none"], invalid="a negative label_smoothing is silently ignored "
           "(`if label_smoothing > 0.0`)")
    record("weight_len_short", {"weight": np.array([1.0, 2.0], F32), "reduction": "none"}, [x, t],
           tags=["class_weight", "reduction:none"], invalid="weight of length < C: weight[label] clamps the index")
    record("weight_len_long", {"weight": np.array([1.0, 2.0, 3.0, 4.0], F32), "reduction": "none"}, [x, t],
           tags=["class_weight", "reduction:none"], invalid="weight of length > C: the extra weights are unused")
    record("err-size_average", {"size_average": False}, [x, t], tags=["size_average", "error"],
           note="BrainPy's docstring (PyTorch's) documents size_average and reduce; the constructor has neither")
    record("err-reduce", {"reduce": False}, [x, t], tags=["reduce", "error"])
    record("err-scalar_input", None, [np.array(1.0, F32), np.array(0, np.int32)], tags=["error"])
    record("int_input", None, [np.array([[1, 2, 3], [0, 0, 1]], np.int32), np.array([2, 0], np.int32)], tags=[],
           invalid="integer logits are accepted (logsumexp promotes them to float)")
    record("target_ndim_above_input", None, [logits((3,), F32), np.array([[0, 1, 2]], np.int32)], tags=[],
           invalid="a target with more dimensions than the input is taken as probabilities and broadcast")


def update_cases():
    for name, dt in DTS:
        f64 = ["float64"] if dt == F64 else []
        N, C = 5, 4
        x = logits((N, C), dt)
        t = labels(N, C, ignore=-100, frac=0.3)
        w = np.array([0.5, 2.0, 1.0, 3.0], dt)
        up = ["update"]
        record(f"update-basic-{name}", None, [x, labels(N, C)], method="update", tags=up + f64,
               note="update(input, target) returns the loss; __call__ runs the before/after-update hooks around it")
        record(f"update-weight-ignore-smoothing-{name}", {"weight": w, "label_smoothing": 0.1}, [x, t],
               method="update", tags=up + ["class_weight", "ignore_index", "label_smoothing"] + f64)
        record(f"update-none-{name}", {"reduction": "none"}, [x, t], method="update",
               tags=up + ["ignore_index", "reduction:none"] + f64)
        record(f"update-probs-weight-{name}", {"weight": w, "reduction": "sum"}, [x, probs((N, C), dt)],
               method="update", tags=up + ["soft_target", "class_weight", "reduction:sum"] + f64)
        record(f"update-all_ignored-{name}", None, [x, np.full(N, -100, np.int32)], method="update",
               tags=up + ["all_ignored", "ignore_index"] + f64)
        record(f"update-rank3-{name}", {"label_smoothing": 0.2}, [logits((2, 3, C), dt), labels((2, 3), C)],
               method="update", tags=up + ["higher_rank", "label_smoothing"] + f64)
    x = logits((4, 3), F32)
    record("update-label_eq_C", {"reduction": "none"}, [x, np.array([0, 3, 1, 2], np.int32)], method="update",
           tags=["update", "out_of_range"], invalid="label C gives a zero one-hot row")
    record("update-err-target_len", None, [x, np.array([0, 1], np.int32)], method="update", tags=["update", "error"])


def main():
    _x64(False)
    doc_examples()
    index_cases()
    probs_cases()
    error_cases()
    update_cases()
    back = R.write("brainpy")
    n_err = sum("error" in c["expect"] for c in back["cases"])
    n_inv = sum(bool(c["invalid"]) for c in back["cases"])
    print(f"{n_err} errors, {n_inv} invalid")


if __name__ == "__main__":
    main()

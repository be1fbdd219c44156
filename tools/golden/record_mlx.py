"""Record golden data for the ``mlx`` dialect from the real MLX (``pip install mlx[cpu]``, Linux CPU).

Run from the repository root with the mlx venv::

    /work/venvs/mlx/bin/python tools/golden/record_mlx.py

APIs (``mlx.nn.losses``): ``cross_entropy(logits, targets, weights=None, axis=-1,
label_smoothing=0.0, reduction='none')`` and ``binary_cross_entropy(inputs, targets, weights=None,
with_logits=True, reduction='mean')``.  MLX runs on its CPU device here (its GPU fast path
``mx.fast.cross_entropy`` is Metal/CUDA only).  Gradients are ``mx.vjp`` with respect to the first
argument.  NumPy float64 arrays are passed as MLX float64 (``mx.array(a, dtype=...)``; MLX would
otherwise make them float32).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mlx.core as mx  # noqa: E402
import mlx.nn as nn  # noqa: E402
import numpy as np  # noqa: E402

from _common import Recorder, err  # noqa: E402

rng = np.random.default_rng(20261130)
R = Recorder("mlx", "mlx", mx.__version__, {"numpy": np.__version__, "mlx": mx.__version__})
F16, F32, F64 = np.float16, np.float32, np.float64
_DT = {"float16": mx.float16, "float32": mx.float32, "float64": mx.float64, "int64": mx.int64,
       "int32": mx.int32, "int16": mx.int16, "int8": mx.int8, "uint8": mx.uint8, "bool": mx.bool_}


def to_mx(v):
    if isinstance(v, np.ndarray):
        return mx.array(v, dtype=_DT[v.dtype.name])
    return v


def logits(shape, dtype=F32, scale=2.0):
    return (rng.standard_normal(shape) * scale).astype(dtype)


def labels(shape, C, dtype=np.int64):
    return rng.integers(0, C, size=shape).astype(dtype)


def probs(shape, dtype=F32, axis=-1):
    x = rng.standard_normal(shape)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype(dtype)


APIS = {"cross_entropy": nn.losses.cross_entropy, "binary_cross_entropy": nn.losses.binary_cross_entropy}


def run(fn, args, kwargs):
    try:
        rest = [to_mx(a) for a in args[1:]]
        kw = {k: to_mx(v) for k, v in kwargs.items()}
        x = to_mx(args[0])
        out = fn(x, *rest, **kw)
        o = np.array(out, copy=True)
        go = None
        grad = None
        if args[0].dtype.kind == "f" and args[0].size:
            go = None if o.ndim == 0 else rng.standard_normal(o.shape).astype(o.dtype)
            ct = mx.ones_like(out) if go is None else to_mx(go)
            _, (g,) = mx.vjp(lambda x: fn(x, *rest, **kw), [x], [ct])
            grad = np.array(g, copy=True)
    except Exception as e:  # noqa: BLE001
        return err(e), None
    return {"output": o, "grad": grad}, go


#: MLX's float64 exp on the CPU is a float32-grade approximation (measured here: relative error 6.5e-7
#: for exp, 1.3e-8 for logsumexp; log is exact): float64 cases are compared at float32 tolerance.
def _f64_exp_error():
    x = np.random.default_rng(0).normal(size=1000) * 3
    return float(np.max(np.abs(np.array(mx.exp(mx.array(x, dtype=mx.float64))) / np.exp(x) - 1)))


F64_EXP_ERROR = _f64_exp_error()


def case(cid, api, args, kwargs=None, tags=(), note="", invalid=None):
    kwargs = dict(kwargs or {})
    expect, go = run(APIS[api], args, kwargs)
    tags = list(tags) + [k for k in kwargs if k not in tags]
    f64 = isinstance(args[0], np.ndarray) and args[0].dtype == np.float64
    tol = "float32" if f64 and F64_EXP_ERROR > 1e-12 else None
    if tol:
        note = (note + "; " if note else "") + f"MLX float64 exp is approximate (rel. error {F64_EXP_ERROR:.1e})"
    return R.add(id=f"{api}/{cid}", api=api, init=None, method="__call__", args=args, kwargs=kwargs,
                 grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note, tolerance_dtype=tol)


N, C = 4, 5
CE, BCE = "cross_entropy", "binary_cross_entropy"

# ------------------------------------------------------------------- cross_entropy
case("doc_example-index", CE, [np.array([[2.0, -1.0], [-1.0, 2.0]], F32), np.array([0, 1], np.int32)],
     tags=["doc_example"], note="MLX docstring: [0.0485873, 0.0485873]")
case("doc_example-probs", CE, [np.array([[2.0, -1.0], [-1.0, 2.0]], F32), np.array([[0.9, 0.1], [0.1, 0.9]], F32)],
     tags=["doc_example", "soft_target"], note="MLX docstring: [0.348587, 0.348587]")
for dt in (F16, F32, F64):
    dn = np.dtype(dt).name
    for red in ("none", "mean", "sum"):
        case(f"index-{red}-{dn}", CE, [logits((N, C), dt), labels((N,), C)], {"reduction": red})
    case(f"probs-{dn}", CE, [logits((N, C), dt), probs((N, C), dt)], tags=["soft_target"])
for ldt in (np.int32, np.int16, np.uint8):
    case(f"labels-{np.dtype(ldt).name}", CE, [logits((N, C), F64), labels((N,), C, ldt)])
for red in ("none", "mean", "sum"):
    x, t = logits((N, C), F64), labels((N,), C)
    w = rng.uniform(0.2, 2.0, N)
    case(f"weights-{red}", CE, [x, t], {"weights": w, "reduction": red})
    case(f"weights-ls0.2-{red}", CE, [x, t], {"weights": w, "label_smoothing": 0.2, "reduction": red})
    case(f"probs-weights-{red}", CE, [x, probs((N, C), F64)], {"weights": w, "reduction": red}, tags=["soft_target"])
for ls in (0.1, 0.5, 0.99):
    case(f"ls{ls}", CE, [logits((N, C), F64), labels((N,), C)], {"label_smoothing": ls})
    case(f"ls{ls}-probs", CE, [logits((N, C), F64), probs((N, C), F64)], {"label_smoothing": ls},
         tags=["soft_target"])
case("ls0.1-f32-mean", CE, [logits((N, C), F32), labels((N,), C)], {"label_smoothing": 0.1, "reduction": "mean"})
case("ls1.0-error", CE, [logits((N, C), F64), labels((N,), C)], {"label_smoothing": 1.0}, tags=["error"])
case("ls-0.1-error", CE, [logits((N, C), F64), labels((N,), C)], {"label_smoothing": -0.1}, tags=["error"])
for shape, axis in (((C,), -1), ((C,), 0), ((C, 3), 0), ((2, 3, C), -1), ((2, C, 3), 1), ((2, 3, 2, C), -1),
                    ((2, C, 3, 2), 1), ((2, 3, C, 2), -2)):
    x = logits(shape, F64)
    tshape = tuple(s for i, s in enumerate(shape) if i != axis % len(shape))
    t = labels(tshape, C)
    case(f"rank{len(shape)}-axis{axis}", CE, [x, t], {"axis": axis}, tags=["higher_rank"])
    case(f"rank{len(shape)}-axis{axis}-probs-ls0.1-mean", CE, [x, probs(shape, F64, axis)],
         {"axis": axis, "label_smoothing": 0.1, "reduction": "mean"}, tags=["higher_rank", "soft_target"])
x = logits((2, 3, C), F64)
case("rank3-weights2d-mean", CE, [x, labels((2, 3), C)], {"weights": rng.uniform(0, 2, (2, 3)), "reduction": "mean"},
     tags=["higher_rank"])
case("N0-none", CE, [np.zeros((0, C)), np.zeros((0,), np.int64)], tags=["empty"])
case("N0-mean", CE, [np.zeros((0, C)), np.zeros((0,), np.int64)], {"reduction": "mean"}, tags=["empty"])
case("N0-sum", CE, [np.zeros((0, C)), np.zeros((0,), np.int64)], {"reduction": "sum"}, tags=["empty"])
case("C1", CE, [logits((N, 1), F64), np.zeros((N,), np.int64)], tags=["C=1"])
case("C1-ls0.3", CE, [logits((N, 1), F64), np.zeros((N,), np.int64)], {"label_smoothing": 0.3}, tags=["C=1"])
xl = np.array([[1e4, -1e4, 0, 5], [-1e4, 1e4, 1e4, 0], [64, 0, -64, 1], [0, 0, 0, 1e4]])
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", CE, [xl.astype(dt), np.array([1, 2, 2, 0])], tags=["large_logits"])
    case(f"large_logits-ls0.1-{np.dtype(dt).name}", CE, [xl.astype(dt), np.array([1, 2, 2, 0])],
         {"label_smoothing": 0.1}, tags=["large_logits"])
x = logits((N, C), F64)
case("unnormalised_probs", CE, [x, rng.uniform(0, 2, (N, C))], tags=["soft_target"],
     invalid="probability targets that do not sum to 1",
     note="MLX computes logsumexp(x) - sum(q x): the log-sum-exp enters once, not sum(q) times")
case("label_eq_C", CE, [x, np.array([0, C, 1, 2])], invalid="label outside [0, C)",
     note="take_along_axis with an out-of-range index returns a number")
case("label_neg1", CE, [x, np.array([0, -1, 1, 2])], invalid="label outside [0, C)")
case("target_shape-error", CE, [x, labels((N + 1,), C)], tags=["error"])
case("probs_shape-error", CE, [x, probs((N, C + 1), F64)], tags=["error"])
case("weights_shape-error", CE, [x, labels((N,), C)], {"weights": np.ones(N + 1)}, tags=["error"])
case("reduction-error", CE, [x, labels((N,), C)], {"reduction": "avg"}, tags=["error"])

# ------------------------------------------------------------------- binary_cross_entropy
case("doc_example-logits", BCE, [np.array([0.105361, 0.223144, 1.20397, 0.916291], F32), np.array([0, 0, 1, 1], np.int32)],
     tags=["doc_example"], note="MLX docstring: 0.539245")
case("doc_example-probs", BCE, [np.array([0.1, 0.1, 0.4, 0.4], F32), np.array([0, 0, 1, 1], np.int32)],
     {"with_logits": False}, tags=["doc_example"], note="MLX docstring: 0.510826")
for dt in (F16, F32, F64):
    dn = np.dtype(dt).name
    for red in ("none", "mean", "sum"):
        case(f"logits-{red}-{dn}", BCE, [logits((N, C), dt), rng.integers(0, 2, (N, C)).astype(dt)], {"reduction": red})
        p = rng.uniform(0.02, 0.98, (N, C)).astype(dt)
        case(f"probs-{red}-{dn}", BCE, [p, rng.integers(0, 2, (N, C)).astype(dt)], {"with_logits": False, "reduction": red})
for red in ("none", "mean", "sum"):
    x = logits((N, C), F64)
    z = rng.uniform(0, 1, (N, C))
    w = rng.uniform(0, 2, (N, C))
    case(f"logits-soft-weights-{red}", BCE, [x, z], {"weights": w, "reduction": red}, tags=["soft_target"])
    case(f"probs-soft-weights-{red}", BCE, [rng.uniform(0.01, 0.99, (N, C)), z],
         {"weights": w, "with_logits": False, "reduction": red}, tags=["soft_target"])
case("logits-int_targets", BCE, [logits((N, C), F64), rng.integers(0, 2, (N, C))], tags=["int_targets"])
case("logits-bool_targets", BCE, [logits((N, C), F64), rng.integers(0, 2, (N, C)).astype(bool)])
case("logits-rank1", BCE, [logits((C,), F64), rng.integers(0, 2, (C,)).astype(F64)])
case("logits-rank0", BCE, [np.array(0.3), np.array(1.0)], {"reduction": "none"})
case("logits-rank3", BCE, [logits((2, 3, 4), F64), rng.uniform(0, 1, (2, 3, 4))], {"reduction": "none"})
case("logits-rank4-mean", BCE, [logits((2, 3, 2, 2), F64), rng.uniform(0, 1, (2, 3, 2, 2))])
case("N0-mean", BCE, [np.zeros((0, C)), np.zeros((0, C))], tags=["empty"])
case("N0-none", BCE, [np.zeros((0, C)), np.zeros((0, C))], {"reduction": "none"}, tags=["empty"])
for dt in (F32, F64):
    case(f"large_logits-{np.dtype(dt).name}", BCE, [xl.astype(dt), np.array([[1.0, 0.0, 0.5, 1.0]] * 4, dt)],
         {"reduction": "none"}, tags=["large_logits"])
p01 = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 1 - 1e-12, 0.5])
z01 = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.3])
case("probs-edges-f64", BCE, [p01, z01], {"with_logits": False, "reduction": "none"}, tags=["clip"],
     note="log clipped at -100: p=0 with z=1 gives 100; gradients of the clipped terms are 0")
case("probs-edges-f32", BCE, [p01.astype(F32), z01.astype(F32)], {"with_logits": False, "reduction": "none"},
     tags=["clip"])
case("probs-outside01", BCE, [np.array([1.5, -0.2, 0.5]), np.array([1.0, 0.0, 1.0])], {"with_logits": False,
     "reduction": "none"}, invalid="probabilities outside [0, 1]", note="log of a negative number: nan")
case("shape-error", BCE, [logits((N, C), F64), np.ones((N, C + 1))], tags=["error"])
case("weights_shape-error", BCE, [logits((N, C), F64), np.ones((N, C))], {"weights": np.ones(N)}, tags=["error"],
     note="MLX wants weights of exactly the loss's shape (no broadcasting)")
case("reduction-error", BCE, [logits((N, C), F64), np.ones((N, C))], {"reduction": "avg"}, tags=["error"])

# probabilities at the edges (appended last: the cases above keep their random draws)
case("probs-edges-f16", BCE, [p01.astype(F16), z01.astype(F16)], {"with_logits": False, "reduction": "none"},
     tags=["clip"], note="float16: 1e-50 is 0 and 1 - 1e-12 is 1; the log of 0 clipped at -100")
case("probs-edges-f32-mean", BCE, [np.array([[0.0, 1.0, 1e-30], [1.0, 1e-7, 1 - 1e-7]], F32),
     np.array([[0.0, 1.0, 1.0], [0.0, 0.5, 0.0]], F32)], {"with_logits": False}, tags=["clip"],
     note="p = 0 and 1 under the default mean; the gradient at p exactly 0 or 1 is nan (MLX's autodiff)")

R.write("mlx")

# ------------------------------------------------------------------- bfloat16
# NumPy has no bfloat16 and the golden format stores NumPy arrays, so these cases go to their own file,
# read by tests/test_mlx_corpus.py on the libraries that have bfloat16 (torch, JAX): the floating
# arguments are stored as float32 holding bfloat16 values and passed to MLX (and to the dialect) as
# bfloat16; MLX's bfloat16 output and gradient are stored as float32.
from _common import _format  # noqa: E402

R16 = Recorder("mlx", "mlx", mx.__version__, {"numpy": np.__version__, "mlx": mx.__version__})


def bf(a):
    """``a`` rounded to bfloat16 values, as float32 (integers unchanged)."""
    a = np.asarray(a)
    return a if a.dtype.kind in "iub" else np.array(mx.array(a, dtype=mx.float32).astype(mx.bfloat16).astype(mx.float32))


def case16(cid, api, args, kwargs=None, tags=(), note=""):
    kwargs = dict(kwargs or {})
    args = [bf(a) for a in args]
    kwargs = {k: bf(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}

    def mxb(v):
        if isinstance(v, np.ndarray) and v.dtype.kind == "f":
            return mx.array(v, dtype=mx.float32).astype(mx.bfloat16)
        return to_mx(v)

    fn = APIS[api]
    rest = [mxb(a) for a in args[1:]]
    kw = {k: mxb(v) for k, v in kwargs.items()}
    x = mxb(args[0])
    out = fn(x, *rest, **kw)
    assert out.dtype == mx.bfloat16, out.dtype
    o = np.array(out.astype(mx.float32))
    go = None if o.ndim == 0 else np.array(mx.array(rng.standard_normal(o.shape), dtype=mx.float32).astype(mx.bfloat16)
                                           .astype(mx.float32))
    ct = mx.ones_like(out) if go is None else mx.array(go).astype(mx.bfloat16)
    _, (g,) = mx.vjp(lambda x: fn(x, *rest, **kw), [x], [ct])
    assert g.dtype == mx.bfloat16, g.dtype
    R16.add(id=f"{api}/bfloat16-{cid}", api=api, init=None, method="__call__", args=args, kwargs=kwargs,
            grad_output=go, expect={"output": o, "grad": np.array(g.astype(mx.float32))}, tags=["bfloat16", *tags],
            note=note or "floating arguments passed as bfloat16; MLX's bfloat16 output and gradient stored as float32")


for red in ("none", "mean", "sum"):
    case16(f"index-{red}", CE, [logits((N, C)), labels((N,), C)], {"reduction": red})
    case16(f"logits-{red}", BCE, [logits((N, C)), rng.integers(0, 2, (N, C)).astype(F32)], {"reduction": red})
    case16(f"probs-{red}", BCE, [rng.uniform(0.02, 0.98, (N, C)), rng.integers(0, 2, (N, C)).astype(F32)],
           {"with_logits": False, "reduction": red})
case16("probs-soft", CE, [logits((N, C)), probs((N, C))], tags=["soft_target"])
case16("ls0.1-weights", CE, [logits((N, C)), labels((N,), C)], {"label_smoothing": 0.1, "weights": rng.uniform(0.2, 2, N),
       "reduction": "mean"})
case16("probs-soft-weights", BCE, [rng.uniform(0.01, 0.99, (N, C)), rng.uniform(0, 1, (N, C))],
       {"with_logits": False, "weights": rng.uniform(0, 2, (N, C)), "reduction": "none"}, tags=["soft_target"])
case16("probs-edges", BCE, [p01, z01], {"with_logits": False, "reduction": "none"}, tags=["clip"],
       note="bfloat16: 1e-50 is 0 and 1 - 1e-12 is 1; the log of 0 clipped at -100; gradient nan at p = 0 and 1")
case16("large_logits", CE, [xl, np.array([1, 2, 2, 0])], tags=["large_logits"])
path16 = Path(__file__).resolve().parent / "bfloat16" / "mlx.json"
path16.parent.mkdir(exist_ok=True)
_format.dump(R16.payload, path16)
print(f"wrote {path16} ({len(R16.payload['cases'])} cases)")

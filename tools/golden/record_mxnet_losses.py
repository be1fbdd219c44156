"""Record golden data for MXNet's sigmoid binary cross-entropy from the real MXNet 1.9.1 (Gluon, CPU).

API (attribute names of ``unified_ce.adapters.mxnet``): ``SigmoidBinaryCrossEntropyLoss`` and its
alias ``SigmoidBCELoss``, ``(from_sigmoid=False, weight=None, batch_axis=0)`` called as
``loss(pred, label, sample_weight=None, pos_weight=None)`` (positionally: Gluon's
``Block.__call__`` takes no keywords).  Classic NDArray mode.  ``mxnet/gluon/loss.py``:

* logits: ``pred - pred * label + (1 + (pos_weight - 1) * label) * (softrelu(-|pred|) + relu(-pred))``
  (without ``pos_weight``: ``relu(pred) - pred * label + softrelu(-|pred|)``);
* ``from_sigmoid=True``: ``-(log(pred + 1e-12) * label * pos_weight + log(1 - pred + 1e-12) * (1 - label))``;
* then ``* sample_weight`` (broadcast), ``* weight``, and the mean over every axis but ``batch_axis``.

Run from the repository root in the golden-a venv::

    /work/venvs/golden-a/bin/python tools/golden/record_mxnet_losses.py
    # -> tools/golden/pending/mxnet_losses.json

The cases of the APIs in ``READY`` (those the dialect implements) are merged into
``unified_ce/conformance/golden/mxnet.json``, the others wait in ``tools/golden/pending/`` (``_split.py``);
the recorder draws from its own seeded generator, so rerunning it reproduces the data.
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

import _split  # noqa: E402
from _common import Recorder, err  # noqa: E402

#: the APIs that unified_ce.adapters.mxnet implements: their cases go into golden/mxnet.json, the others
#: wait in tools/golden/pending/mxnet_losses.json (tests/test_golden.py runs every case of the golden file)
READY: set[str] = {"SigmoidBinaryCrossEntropyLoss", "SigmoidBCELoss"}

F16, F32, F64 = np.float16, np.float32, np.float64
CLASSES = {"SigmoidBinaryCrossEntropyLoss": gloss.SigmoidBinaryCrossEntropyLoss, "SigmoidBCELoss": gloss.SigmoidBCELoss}


def to_nd(v):
    if isinstance(v, np.ndarray):
        return nd.array(np.array(v, copy=True), dtype=v.dtype)
    return v


def add_cases(R: Recorder) -> None:  # noqa: C901, PLR0915 - a flat list of cases
    rng = np.random.default_rng(20261131)

    def logits(shape, dt=F32, scale=2.0):
        return np.asarray(rng.standard_normal(shape) * scale, dtype=dt)

    def probs01(shape, dt=F32):
        return np.asarray(rng.uniform(0.02, 0.98, size=shape), dtype=dt)

    def binary(shape, dt=F32):
        return np.asarray(rng.integers(0, 2, size=shape), dtype=dt)

    def run(api, init, args):
        x = args[0]
        diff = isinstance(x, np.ndarray) and x.dtype.kind == "f"
        try:
            loss = CLASSES[api](**(init or {}))
            xn = to_nd(x)
            if diff:
                xn.attach_grad()
            rest = [to_nd(a) for a in args[1:]]
            with autograd.record():
                out = loss(xn, *rest)
            o = out.asnumpy().copy()
        except Exception as e:  # noqa: BLE001
            return err(e), None
        go = grad = None
        if diff and x.size > 0:
            go = rng.uniform(-1.0, 1.0, size=o.shape).astype(o.dtype)
            out.backward(nd.array(go, dtype=go.dtype))
            grad = xn.grad.asnumpy().copy()
        return {"output": o, "grad": grad}, go

    def case(cid, args, init=None, api="SigmoidBinaryCrossEntropyLoss", tags=(), note="", invalid=None):
        """``args``: pred, label[, sample_weight[, pos_weight]] (positional, None where not given)."""
        while len(args) > 2 and args[-1] is None:
            args = args[:-1]
        expect, go = run(api, init, args)
        if "large_logits" in tags and go is not None and expect.get("grad") is not None and not (init or {}):
            # the derivative of the forward, in float64 (MXNet's autograd at pred == 0 goes through the kinks of
            # its relu / abs pieces): d/dx [(1 - z) x + (1 + (q - 1) z) softplus(-x)] averaged over the classes
            x64, z64 = args[0].astype(np.float64), args[1].astype(np.float64)
            q = args[3].astype(np.float64) if len(args) > 3 else 1.0
            d = (1 - z64) - (1 + (q - 1) * z64) * 0.5 * (1 + np.tanh(-x64 / 2))
            g = (d / x64.shape[1] * go.astype(np.float64)[:, None]).astype(args[0].dtype)
            if not np.allclose(g, expect["grad"], rtol=1e-6, atol=1e-7):
                expect["grad_of_forward"] = g
                note = (note + "; " if note else "") + "MXNet's autograd at pred == 0 is not the derivative of its forward"
        tags = list(tags)
        if isinstance(args[0], np.ndarray) and args[0].dtype.kind == "f":
            tags.append(args[0].dtype.name)
        return R.add(id=f"{api}/{cid}", api=api, init=dict(init or {}), method="__call__", args=args, kwargs={},
                     grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note)

    N, C = 4, 5
    # the doc example shapes and the alias
    x, y = logits((N, C)), binary((N, C))
    case("basic", [x, y], note="pred (N, C) logits, binary labels")
    case("basic", [x, y], api="SigmoidBCELoss")
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        for fs in (False, True):
            x = probs01((N, C), dt) if fs else logits((N, C), dt)
            name = "from_sigmoid" if fs else "logits"
            init = {"from_sigmoid": fs}
            case(f"{name}-binary-{dn}", [x, binary((N, C), dt)], init, tags=["from_sigmoid"] if fs else [])
            case(f"{name}-soft-{dn}", [x, probs01((N, C), dt)], init, tags=["soft_target"])
            case(f"{name}-pos_weight-{dn}", [x, binary((N, C), dt), None, rng.uniform(0.5, 3, (1, C)).astype(dt)],
                 init, tags=["pos_weight"])
            case(f"{name}-sample_weight-{dn}", [x, probs01((N, C), dt), rng.uniform(0.2, 2, (N, 1)).astype(dt)],
                 init, tags=["sample_weight"])
            case(f"{name}-sw-pw-weight-{dn}", [x, probs01((N, C), dt), rng.uniform(0.2, 2, (N, 1)).astype(dt),
                 rng.uniform(0.5, 3, (1, C)).astype(dt)], dict(init, weight=0.7), tags=["pos_weight", "sample_weight"])
    x = logits((N, C), F64)
    y = binary((N, C), F64)
    case("weight", [x, y], {"weight": 2.5}, tags=["weight"])
    case("sample_weight_full", [x, y, rng.uniform(0.2, 2, (N, C))], tags=["sample_weight"])
    case("sample_weight_row", [x, y, rng.uniform(0.2, 2, (1, C))], tags=["sample_weight"])
    case("sample_weight_0d", [x, y, np.array(1.5)], tags=["sample_weight"])
    case("sample_weight_1d", [x, y, rng.uniform(0.2, 2, (N,))], tags=["sample_weight"],
         note="(N,) sample_weight against the (N, C) loss: broadcasts along the last axis")
    case("sample_weight_1d_C", [x, y, rng.uniform(0.2, 2, (C,))], tags=["sample_weight"])
    case("pos_weight_1d", [x, y, None, rng.uniform(0.5, 3, (C,))], tags=["pos_weight"],
         note="pos_weight (C,) instead of the documented (1, C)")
    case("pos_weight_full", [x, y, None, rng.uniform(0.5, 3, (N, C))], tags=["pos_weight"])
    case("pos_weight_0d", [x, y, None, np.array(2.0)], tags=["pos_weight"])
    case("pos_weight_col", [x, y, None, rng.uniform(0.5, 3, (N, 1))], tags=["pos_weight"])
    case("pos_weight_soft", [x, probs01((N, C), F64), None, rng.uniform(0.5, 3, (1, C))], tags=["pos_weight"])
    case("from_sigmoid-pos_weight_soft", [probs01((N, C), F64), probs01((N, C), F64), None,
         rng.uniform(0.5, 3, (1, C))], {"from_sigmoid": True}, tags=["pos_weight", "from_sigmoid"])
    case("pos_weight_wrong-error", [x, y, None, np.ones((1, C + 1))], tags=["pos_weight", "error"])
    case("sample_weight_wrong-error", [x, y, np.ones((N + 1, 1))], tags=["sample_weight", "error"])
    # ranks, batch_axis, label reshaped like pred
    for shape, name in (((7,), "rank1"), ((2, 3, 4), "rank3"), ((2, 3, 2, 2), "rank4")):
        case(name, [logits(shape, F64), probs01(shape, F64)], tags=["rank"])
        case(f"{name}-from_sigmoid", [probs01(shape, F64), binary(shape, F64)], {"from_sigmoid": True},
             tags=["rank", "from_sigmoid"])
    case("batch_axis1", [logits((3, N, 2), F64), probs01((3, N, 2), F64)], {"batch_axis": 1}, tags=["batch_axis"])
    case("batch_axis1-pos_weight", [logits((3, N, 2), F64), binary((3, N, 2), F64), None,
         rng.uniform(0.5, 3, (1, 1, 2))], {"batch_axis": 1}, tags=["batch_axis", "pos_weight"])
    case("label_flat", [logits((N, C), F64), probs01((N * C,), F64)], tags=["label_shape"],
         note="label of pred's size, another shape: reshaped like pred")
    case("label_size-error", [logits((N, C), F64), probs01((N, C + 1), F64)], tags=["error"])
    case("N1", [logits((1, C), F64), binary((1, C), F64)], tags=["N=1"])
    case("C1", [logits((N, 1), F64), binary((N, 1), F64)], tags=["C=1"])
    case("N0", [np.zeros((0, C), F64), np.zeros((0, C), F64)], tags=["empty"])
    # large logits and the from_sigmoid eps at 0 and 1
    xl = np.array([[1e4, -1e4, 0, 30], [-1e4, 1e4, -30, 100], [88, -88, 17, -17]], F32)
    yl = np.array([[1, 1, 0.5, 0], [0, 0, 1, 1], [0.3, 0.7, 1, 0]], F32)
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        case(f"large-{dn}", [xl.astype(dt), yl.astype(dt)], tags=["large_logits"])
        case(f"large-pos_weight-{dn}", [xl.astype(dt), yl.astype(dt), None, np.array([[2.0, 0.5, 3.0, 1.5]], dt)],
             tags=["large_logits", "pos_weight"])
    pe = np.array([[0.0, 1.0, 0.0, 1.0, 0.5], [1e-15, 1 - 1e-9, 1e-45, 0.999999, 1e-5]])
    ye = np.array([[0.0, 1.0, 1.0, 0.0, 0.5], [1.0, 0.0, 0.3, 0.6, 0.0]])
    for dt, dn in ((F32, "f32"), (F64, "f64")):
        case(f"from_sigmoid-eps-{dn}", [pe.astype(dt), ye.astype(dt)], {"from_sigmoid": True}, tags=["from_sigmoid"],
             note="log(p + 1e-12): finite at p = 0 and 1")
        case(f"from_sigmoid-eps-pos_weight-{dn}", [pe.astype(dt), ye.astype(dt), None,
             np.array([[2.0, 0.5, 3.0, 1.5, 1.0]], dt)], {"from_sigmoid": True}, tags=["from_sigmoid", "pos_weight"])
    case("from_sigmoid-outside01", [np.array([[1.5, -0.2, 0.5]]), np.array([[1.0, 0.0, 1.0]])],
         {"from_sigmoid": True}, tags=["from_sigmoid"], note="probabilities outside [0, 1]: log of a negative",
         invalid="pred outside [0, 1] with from_sigmoid=True (MXNet returns nan)")
    case("float16", [logits((N, C), F16), probs01((N, C), F16)], tags=["float16"])
    case("float16-from_sigmoid", [probs01((N, C), F16), binary((N, C), F16)], {"from_sigmoid": True},
         tags=["float16", "from_sigmoid"])
    # appended last (the cases above keep their random draws): in float16 1e-12 is 0, so log(p + 1e-12)
    # is log(0) = -inf at p = 0 (and 0 * -inf = nan where the label's weight is 0); no p in (0, 1 / 65504):
    # MXNet's float16 backward overflows 1 / p there (unified_ce computes half precision in float32)
    pe16 = pe.copy()
    pe16[1, 4] = 1e-3
    case("from_sigmoid-eps-f16", [pe16.astype(F16), ye.astype(F16)], {"from_sigmoid": True},
         tags=["from_sigmoid", "float16"], note="float16: 1e-12 underflows to 0; log(0) = -inf at p = 0 and 1")
    case("from_sigmoid-eps-pos_weight-f16", [pe16.astype(F16), ye.astype(F16), None,
         np.array([[2.0, 0.5, 3.0, 1.5, 1.0]], F16)], {"from_sigmoid": True}, tags=["from_sigmoid", "pos_weight", "float16"])
    case("from_sigmoid-inside-f16", [np.array([[1e-3, 0.999, 0.5], [0.25, 0.75, 1e-3]], F16),
         np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]], F16)], {"from_sigmoid": True}, tags=["from_sigmoid", "float16"],
         note="no p in (0, 1 / 65504)")


if __name__ == "__main__":
    R = Recorder("mxnet", "mxnet", mx.__version__, {"numpy": np.__version__, "mxnet": mx.__version__})
    add_cases(R)
    _split.write(R.payload, "mxnet", "mxnet_losses", READY, set(CLASSES))

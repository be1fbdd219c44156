"""Record golden data for the ``transformers`` dialect from the real Hugging Face transformers.

API: ``transformers.loss.loss_utils.ForCausalLMLoss(logits, labels, vocab_size,
num_items_in_batch=None, ignore_index=-100, shift_labels=None, **kwargs)`` (api "ForCausalLMLoss").
What it does (transformers 5.x ``loss/loss_utils.py``):

* ``logits.float()``: every dtype (float16, bfloat16 and float64 too) is computed and returned in float32;
* without ``shift_labels``: ``labels`` padded at the end of the last axis with ``ignore_index`` and
  shifted one step left (token t predicts label t + 1; the last position is ignored);
* ``logits.view(-1, vocab_size)``, ``shift_labels.view(-1)``, ``torch.nn.functional.cross_entropy``
  with ``ignore_index``: ``reduction='mean'`` (nan when every label is ignored) without
  ``num_items_in_batch``, else the sum divided by ``num_items_in_batch`` (an int or a tensor);
* other keyword arguments are accepted and have no effect.

Run from the repository root in a venv with torch==2.13.0 and transformers::

    python3 -m venv /work/venvs/hf && /work/venvs/hf/bin/pip install torch==2.13.0 && \\
        /work/venvs/hf/bin/pip install transformers
    /work/venvs/hf/bin/python tools/golden/record_transformers.py

Writes ``unified_ce/conformance/golden/transformers.json`` once the dialect exists (``READY``),
``tools/golden/pending/transformers.json`` until then (see ``_split.py``).  Deterministic (fixed seed).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from transformers.loss.loss_utils import ForCausalLMLoss  # noqa: E402

import _split  # noqa: E402
from _common import Recorder, err  # noqa: E402

F16, F32, F64 = np.float16, np.float32, np.float64
API = "ForCausalLMLoss"
#: the APIs that unified_ce.adapters.transformers implements (see _split.py)
READY: set[str] = {API}


def to_t(v):
    if isinstance(v, np.ndarray):
        return torch.from_numpy(np.array(v, copy=True, order="C"))
    return v


def add_cases(R: Recorder) -> None:  # noqa: PLR0915 - a flat list of cases
    rng = np.random.default_rng(20261201)

    def logits(shape, dt=F32, scale=2.0):
        return np.asarray(rng.standard_normal(shape) * scale, dtype=dt)

    def labels(shape, V, ignored=0.0):
        t = rng.integers(0, V, size=shape).astype(np.int64)
        if ignored:
            t[rng.uniform(size=shape) < ignored] = -100
        return t

    def run(args, kwargs):
        x = args[0]
        diff = isinstance(x, np.ndarray) and x.dtype.kind == "f"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                xt = to_t(x)
                if diff:
                    xt.requires_grad_(True)
                out = ForCausalLMLoss(xt, *[to_t(a) for a in args[1:]], **{k: to_t(v) for k, v in kwargs.items()})
                o = out.detach().numpy().copy()
            except Exception as e:  # noqa: BLE001
                return err(e), None
            grad = None
            if diff and x.size > 0:
                out.backward()
                grad = None if xt.grad is None else xt.grad.numpy().copy()
        return {"output": o, "grad": grad}, None

    def case(cid, args, kwargs=None, tags=(), note="", invalid=None):
        kwargs = dict(kwargs or {})
        expect, go = run(args, kwargs)
        tags = list(tags)
        if isinstance(args[0], np.ndarray) and args[0].dtype.kind == "f":
            tags.append(args[0].dtype.name)
        # float64 logits are computed in float32 (logits.float()): compared within float32's tolerance
        tol = "float32" if isinstance(args[0], np.ndarray) and args[0].dtype == F64 else None
        return R.add(id=f"{API}/{cid}", api=API, init=None, method="__call__", args=args, kwargs=kwargs,
                     grad_output=go, expect=expect, invalid=invalid, tags=tags, note=note, tolerance_dtype=tol)

    B, T, V = 2, 5, 7
    for dt, dn in ((F16, "f16"), (F32, "f32"), (F64, "f64")):
        case(f"basic-{dn}", [logits((B, T, V), dt), labels((B, T), V), V], tags=["float32_upcast"])
        case(f"ignore-{dn}", [logits((B, T, V), dt), labels((B, T), V, 0.3), V], tags=["ignore_index"])
        case(f"num_items-{dn}", [logits((B, T, V), dt), labels((B, T), V, 0.3), V], {"num_items_in_batch": 11},
             tags=["num_items_in_batch"])
    x, t = logits((B, T, V), F32), labels((B, T), V, 0.3)
    case("num_items_tensor", [x, t, V], {"num_items_in_batch": np.array(13, np.int64)}, tags=["num_items_in_batch"],
         note="num_items_in_batch as a 0-d int64 tensor")
    case("num_items_tensor_f32", [x, t, V], {"num_items_in_batch": np.array(6.5, F32)}, tags=["num_items_in_batch"])
    case("num_items_float", [x, t, V], {"num_items_in_batch": 3.0}, tags=["num_items_in_batch"])
    case("num_items_1", [x, t, V], {"num_items_in_batch": 1}, tags=["num_items_in_batch"])
    case("num_items_0", [x, t, V], {"num_items_in_batch": 0}, tags=["num_items_in_batch"],
         note="division by zero: inf (or nan)", invalid="num_items_in_batch=0 with non-ignored labels (division by 0)")
    case("num_items_0-all_ignored", [x, np.full((B, T), -100), V], {"num_items_in_batch": 0},
         tags=["num_items_in_batch", "all_ignored"])
    case("ignore_neg1", [x, np.where(t == -100, -1, t), V], {"ignore_index": -1}, tags=["ignore_index"])
    case("ignore_3", [x, labels((B, T), V), V], {"ignore_index": 3}, tags=["ignore_index"],
         note="ignore_index inside the vocabulary; the shift pads with 3 too")
    case("ignore_3-num_items", [x, labels((B, T), V), V], {"ignore_index": 3, "num_items_in_batch": 4},
         tags=["ignore_index", "num_items_in_batch"])
    st = labels((B, T), V, 0.2)
    case("shift_labels", [x, labels((B, T), V), V], {"shift_labels": st}, tags=["shift_labels"],
         note="shift_labels given: used as they are, labels unused")
    case("shift_labels-num_items", [x, labels((B, T), V), V], {"shift_labels": st, "num_items_in_batch": 9},
         tags=["shift_labels", "num_items_in_batch"])
    case("shift_labels-labels_none", [x, None, V], {"shift_labels": st}, tags=["shift_labels"])
    case("all_ignored", [x, np.full((B, T), -100), V], tags=["all_ignored"], note="0/0 = nan")
    case("all_ignored-num_items", [x, np.full((B, T), -100), V], {"num_items_in_batch": 5}, tags=["all_ignored"])
    case("T1", [logits((B, 1, V), F32), labels((B, 1), V), V], tags=["all_ignored"],
         note="one token per row: after the shift every label is ignored")
    case("T1-num_items", [logits((B, 1, V), F32), labels((B, 1), V), V], {"num_items_in_batch": 2},
         tags=["all_ignored", "num_items_in_batch"])
    case("B1", [logits((1, T, V), F64), labels((1, T), V), V], tags=["B=1"])
    case("rank2", [logits((T, V), F64), labels((T,), V), V], tags=["rank"], note="(T, V) logits, (T,) labels")
    case("rank4", [logits((2, 2, 3, V), F64), labels((2, 2, 3), V, 0.2), V], tags=["rank"],
         note="(A, B, T, V): the shift is along the last label axis")
    case("V1", [logits((B, T, 1), F64), np.zeros((B, T), np.int64), 1], tags=["V=1"])
    case("B0", [np.zeros((0, T, V), F32), np.zeros((0, T), np.int64), V], tags=["empty"])
    case("B0-num_items", [np.zeros((0, T, V), F32), np.zeros((0, T), np.int64), V], {"num_items_in_batch": 1},
         tags=["empty", "num_items_in_batch"])
    case("labels_int32", [x, labels((B, T), V).astype(np.int32), V], tags=["label_dtype"])
    case("kwargs_ignored", [x, labels((B, T), V), V], {"label_smoothing": 0.3, "reduction": "sum"},
         tags=["kwargs"], note="other keyword arguments are swallowed by **kwargs: no effect")
    xl = np.zeros((1, 3, 4), F32)
    xl[0, 0] = [1e4, -1e4, 0, 5]
    xl[0, 1] = [-1e4, 1e4, 1e4, 0]
    xl[0, 2] = [0, 0, 0, 1e4]
    case("large", [xl, np.array([[0, 1, 3]]), 4], tags=["large_logits"])
    case("large-f16", [np.clip(xl, -6e4, 6e4).astype(F16), np.array([[0, 1, 3]]), 4], tags=["large_logits"])
    case("large-f64", [xl.astype(F64) * 10, np.array([[0, 2, 1]]), 4], tags=["large_logits"],
         note="1e5 in float64, computed in float32")
    # errors
    case("label_eq_V-error", [x, np.full((B, T), V), V], tags=["invalid_label", "error"])
    case("label_neg2-error", [x, np.full((B, T), -2), V], tags=["invalid_label", "error"])
    case("vocab_size_wrong-error", [x, labels((B, T), V), V + 1], tags=["error"])
    case("labels_shape-error", [x, labels((B, T + 1), V), V], tags=["error"])
    case("shift_labels_shape-error", [x, labels((B, T), V), V], {"shift_labels": labels((B, T - 1), V)},
         tags=["error"])
    case("labels_float-error", [x, labels((B, T), V).astype(F32), V], tags=["error"])


if __name__ == "__main__":
    torch.set_num_threads(1)
    R = Recorder("transformers", "transformers", transformers.__version__,
                 {"numpy": np.__version__, "torch": torch.__version__, "transformers": transformers.__version__})
    add_cases(R)
    _split.write(R.payload, "transformers", "transformers", READY, {API})

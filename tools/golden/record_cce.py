"""Record golden data from Apple's Cut Cross-Entropy (``cut-cross-entropy==25.1.1``), torch fallback.

CCE's Triton kernels need a CUDA GPU; its ``impl="torch_compile"`` path
(``cut_cross_entropy/torch_compile.py``: ``logits = e @ c.T``, soft-cap
``tanh(logits / softcap) * softcap``, ``F.cross_entropy(logits.float(), targets, ignore_index,
reduction)`` over the non-ignored rows, ``shift`` dropping the last position and the first target)
runs on the CPU.  It is run here with ``TORCHDYNAMO_DISABLE=1`` so that ``torch.compile`` runs the
same Python code eagerly (no compilation per shape).  Environment::

    python3 -m venv --system-site-packages /work/venvs/llm     # torch==2.13.0 (CPU) from the system
    /work/venvs/llm/bin/pip install cut-cross-entropy==25.1.1 --no-deps
    /work/venvs/llm/bin/python tools/golden/record_cce.py

Each case stores the loss and the gradient with respect to ``e`` (``expect["grad"]``) and ``c``
(``expect["grad_c"]``).
"""

from __future__ import annotations

import os

os.environ["TORCHDYNAMO_DISABLE"] = "1"

import importlib.metadata
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, err
from cut_cross_entropy import LinearCrossEntropy, linear_cross_entropy

VERSION = importlib.metadata.version("cut-cross-entropy")
rec = Recorder(
    "cce",
    "cut-cross-entropy",
    VERSION,
    {"torch": torch.__version__, "numpy": np.__version__, "impl": "torch_compile (TORCHDYNAMO_DISABLE=1)"},
)
rng = np.random.default_rng(17)


def inputs(lead: tuple[int, ...], d: int, v: int, dtype: str = "float32", ignore: int | None = -100, frac=0.2):
    e = (rng.standard_normal((*lead, d)) * 1.5).astype(dtype)
    c = rng.standard_normal((v, d)).astype(dtype)
    t = rng.integers(0, v, size=lead).astype(np.int64)
    if ignore is not None:
        t[rng.random(lead) < frac] = ignore
    return e, c, t


def record(cid: str, e, c, t, *, kwargs=None, init=None, tags=(), note="", grad_output=None):
    kwargs = dict(kwargs or {})
    et = torch.tensor(e, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    tt = torch.tensor(t)
    try:
        if init is not None:
            out = LinearCrossEntropy(**init, impl="torch_compile")(et, ct, tt)
        else:
            out = linear_cross_entropy(et, ct, tt, impl="torch_compile", **kwargs)
        go = torch.ones_like(out) if grad_output is None else torch.tensor(grad_output, dtype=out.dtype)
        ge, gc = torch.autograd.grad(out, (et, ct), go, allow_unused=True)
        ge = torch.zeros_like(et) if ge is None else ge
        gc = torch.zeros_like(ct) if gc is None else gc
        expect = {"output": out.detach().numpy(), "grad": ge.numpy(), "grad_c": gc.numpy()}
    except Exception as exc:
        expect = err(exc)
    api = "LinearCrossEntropy" if init is not None else "linear_cross_entropy"
    rec.add(
        id=f"{api}/{cid}",
        api=api,
        init=None if init is None else {**init, "impl": "torch_compile"},
        method="__call__" if init is not None else None,
        args=[e, c, t],
        kwargs={} if init is not None else {**kwargs, "impl": "torch_compile"},
        grad_output=grad_output,
        expect=expect,
        tags=tags,
        note=note,
    )


# ---- the function
e, c, t = inputs((9,), 6, 13, ignore=None)
record("basic-mean", e, c, t, tags=["basic"])
e, c, t = inputs((2, 7), 5, 11)
for red in ("mean", "sum", "none"):
    go = rng.standard_normal((2, 7)).astype(np.float32) if red == "none" else None
    record(f"ignore-{red}", e, c, t, kwargs={"reduction": red}, tags=["ignore_index"], grad_output=go)
    record(f"softcap-{red}", e, c, t, kwargs={"reduction": red, "softcap": 1.5}, tags=["softcap"], grad_output=go)
    go = rng.standard_normal((2, 6)).astype(np.float32) if red == "none" else None
    record(f"shift-{red}", e, c, t, kwargs={"reduction": red, "shift": True}, tags=["shift"], grad_output=go,
           note="position j of e predicts targets[..., j + 1]; 'none' drops the first target position")
    record(f"shift-softcap-{red}", e, c, t, kwargs={"reduction": red, "shift": True, "softcap": 4.0},
           tags=["shift", "softcap"], grad_output=go)
e, c, t = inputs((3, 4), 8, 6, ignore=2, frac=0.3)
record("ignore_index-2", e, c, t, kwargs={"ignore_index": 2}, tags=["ignore_index"])
e, c, t = inputs((2, 3), 4, 5, frac=1.1)
record("all-ignored-mean", e, c, t, tags=["ignore_index"], note="0 non-ignored tokens: mean of nothing is nan")
record("all-ignored-sum", e, c, t, kwargs={"reduction": "sum"}, tags=["ignore_index"])
e, c, t = inputs((4, 5), 3, 7)
record("filter_eps-none", e, c, t, kwargs={"filter_eps": None}, tags=["filter_eps"],
       note="filter_eps only affects the CCE kernel's gradient; the torch fallback ignores it")
e, c, t = inputs((40,), 16, 97, frac=0.1)
record("larger", e, c, t, kwargs={"softcap": 30.0}, tags=["softcap"])

# ---- errors
e, c, t = inputs((5,), 4, 7, ignore=None)
record("error-target-shape", e, c, t[:4], tags=["error"])
record("error-hidden-size", e, c[:, :3], t, tags=["error"])
bad = t.copy()
bad[1] = 7
record("error-label-out-of-range", e, c, bad, tags=["error"])
record("error-reduction", e, c, t, kwargs={"reduction": "batchmean"}, tags=["error"])

# ---- the module
e, c, t = inputs((2, 6), 5, 9)
record("module-default", e, c, t, init={}, tags=["module"])
record("module-shift-softcap-sum", e, c, t, init={"shift": True, "softcap": 2.0, "reduction": "sum"},
       tags=["module", "shift", "softcap"])

rec.write("cce")

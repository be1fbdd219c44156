"""Record golden data for the flash-attn dialect (``flash_attn.losses.cross_entropy.CrossEntropyLoss``).

flash-attn's cross-entropy is a Triton kernel (``flash_attn/ops/triton/cross_entropy.py``) that
needs a CUDA GPU (its ``forward`` asserts ``input.is_cuda``).  Its test
(``tests/losses/test_cross_entropy.py``, Dao-AILab/flash-attention at 0251105a) compares it with::

    x_scaled = x.float() * logit_scale
    out = torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(x_scaled, y)
    z_loss = lse_square_scale * (logsumexp(x_scaled)[y != -100] ** 2).mean()
    out += z_loss                       # and (out, z_loss) with return_z_loss=True

and the gradient of ``out`` with a random cotangent.  That test covers ``reduction="mean"``; for
``"sum"`` and ``"none"`` this script uses the same reference with the module's own reductions
(``flash_attn/losses/cross_entropy.py``: per-token losses, 0 for ignored tokens, summed, or
divided by the number of non-ignored tokens).  ``CrossEntropyLoss(reduction=...)`` outside
mean/sum/none raises ``NotImplementedError``.

    /work/venvs/llm/bin/python tools/golden/record_flash_attn.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder  # noqa: E402

rec = Recorder("flash_attn", "flash-attn", "2.8 (main 0251105a)", {"torch": torch.__version__, "numpy": np.__version__,
               "source": "reference computation of tests/losses/test_cross_entropy.py (CPU)"})
rng = np.random.default_rng(5)


def reference(x, y, *, label_smoothing=0.0, logit_scale=1.0, lse_square_scale=0.0, reduction="mean",
              ignore_index=-100):
    xs = x.float() * logit_scale if logit_scale != 1.0 else x.float()
    per = torch.nn.CrossEntropyLoss(label_smoothing=label_smoothing, ignore_index=ignore_index, reduction="none")(
        xs, y
    )
    keep = y != ignore_index
    lse = torch.logsumexp(xs, dim=-1)
    z = torch.where(keep, lse_square_scale * lse**2, 0.0)
    if reduction == "mean":
        n = keep.sum()
        return (per.sum() + z.sum()) / n, z.sum() / n
    if reduction == "sum":
        return per.sum() + z.sum(), z.sum()
    return per + z, z


def case(cid, x, y, init, *, grad_output=None, tags=(), note=""):
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.tensor(y)
    try:
        if init.get("reduction", "mean") not in ("mean", "none", "sum"):
            raise NotImplementedError("Only support reduction = 'mean' or 'none' or 'sum'")
        kw = {k: v for k, v in init.items() if k not in ("return_z_loss", "inplace_backward")}
        out, z = reference(xt, yt, **kw)
        go = torch.ones_like(out) if grad_output is None else torch.tensor(grad_output)
        (g,) = torch.autograd.grad(out, xt, go)
        o = [out.detach().numpy(), z.detach().numpy()] if init.get("return_z_loss") else out.detach().numpy()
        expect = {"output": o, "grad": g.numpy()}
    except NotImplementedError as exc:
        expect = {"error": {"type": "NotImplementedError", "message": str(exc)}}
    rec.add(id=f"CrossEntropyLoss/{cid}", api="CrossEntropyLoss", init=init, method="__call__", args=[x, y],
            kwargs={}, grad_output=grad_output, expect=expect, tags=tags, note=note)


x = (rng.standard_normal((16, 23)) * 2).astype(np.float32)
y = rng.integers(0, 23, size=16)
y[rng.permutation(16)[:4]] = -100
for red in ("mean", "sum", "none"):
    go = rng.standard_normal(16).astype(np.float32) if red == "none" else np.float32(rng.standard_normal())
    case(f"plain-{red}", x, y, {"reduction": red}, grad_output=go)
    case(f"smoothing-{red}", x, y, {"reduction": red, "label_smoothing": 0.9}, grad_output=go,
         tags=["label_smoothing"])
    case(f"logit_scale-{red}", x, y, {"reduction": red, "logit_scale": 0.7}, grad_output=go, tags=["logit_scale"])
    case(f"z_loss-{red}", x, y, {"reduction": red, "lse_square_scale": 1e-2}, grad_output=go, tags=["z_loss"])
    case(f"z_loss-return-{red}", x, y, {"reduction": red, "lse_square_scale": 1e-2, "return_z_loss": True},
         grad_output=go, tags=["z_loss"], note="the returned z-loss is for logging: no gradient flows through it")
    case(f"all-{red}", x, y, {"reduction": red, "lse_square_scale": 1e-2, "label_smoothing": 0.1,
                              "logit_scale": 1.3, "inplace_backward": True}, grad_output=go,
         tags=["z_loss", "logit_scale", "label_smoothing"])
case("ignore_index-4", x, np.where(y == -100, 4, y), {"ignore_index": 4, "label_smoothing": 0.2})
case("error-reduction", x, y, {"reduction": "batchmean"}, tags=["error"])
rec.write("flash_attn")

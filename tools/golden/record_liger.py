"""Record golden data for the Liger-Kernel dialect (linkedin/Liger-Kernel v0.8.2).

Liger's losses are Triton kernels that need a GPU.  Its own test suite checks them against
reference computations in plain torch; this script runs **those references** (copied in spirit, not
in code, from ``test/transformers/test_cross_entropy.py`` at v0.8.2) on the CPU:

* ``_test_correctness_once`` / ``..._with_ignore_index_once`` / ``..._with_label_smoothing_once`` /
  ``..._with_weight_once``: ``torch.nn.CrossEntropyLoss(weight, ignore_index, reduction,
  label_smoothing)`` on the logits;
* ``_test_correctness_with_softcap_once``: the same on ``softcap * tanh(x / softcap)``;
* ``_test_correctness_with_z_loss_once`` / ``..._with_other_params_once`` /
  ``..._with_weight_with_other_params_once``: ``CrossEntropyWithZLoss`` -- the cross-entropy plus
  ``where(target != ignore_index, lse_square_scale * lse**2, 0)`` reduced by ``sum() /
  (target != ignore_index).sum()`` for "mean" (the count of non-ignored tokens, even with class
  weights, whose cross-entropy divides by the sum of their weights), ``sum()`` for "sum", per token
  for "none"; ``return_z_loss=True`` also returns that z-loss.
* ``_test_correctness_with_out_of_bounds_target_once``: an out-of-range label raises
  ``AssertionError`` ("Target ... is out of bounds"); the constructor asserts its arguments.

Fused linear cross-entropy (``LigerFusedLinearCrossEntropyLoss(ce_weight, ignore_index,
lse_square_scale, label_smoothing, reduction, softcap, return_z_loss)``, ``forward(lin_weight,
_input, target, bias)``; ``test/transformers/test_fused_linear_cross_entropy.py`` compares it with
``CrossEntropyWithZLoss`` of ``_input @ lin_weight.T + bias``): the same references on those logits.

Run with any Python that has torch (CPU) and NumPy::

    /work/venvs/llm/bin/python tools/golden/record_liger.py

Cases whose output is Liger's ``CrossEntropyOutput`` (``return_z_loss=True``) are stored in the
file's top-level ``"z_loss_cases"`` list (outputs ``[loss, z_loss]``), read by
``tests/test_llm_dialects.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Recorder, _format, plain  # noqa: E402

VERSION = "0.8.2"
rec = Recorder("liger", "liger-kernel", VERSION, {"torch": torch.__version__, "numpy": np.__version__,
                                                    "source": "reference computations of Liger's tests (CPU)"})
rng = np.random.default_rng(21)
z_cases: list[dict] = []
fl_cases: list[dict] = []


def ce_with_z(logits, target, *, weight=None, lse_square_scale=0.0, reduction="mean", ignore_index=-100,
              label_smoothing=0.0):
    """``CrossEntropyWithZLoss.forward`` of Liger's test_cross_entropy.py (v0.8.2)."""
    logits = logits.to(torch.float32)
    target_mask = target != ignore_index
    ce = F.cross_entropy(logits, target, weight=weight, reduction=reduction, label_smoothing=label_smoothing,
                         ignore_index=ignore_index)
    lse = torch.logsumexp(logits, dim=-1)
    z = torch.where(target != ignore_index, lse_square_scale * (lse**2), 0.0)
    if reduction == "mean":
        z = z.sum() / target_mask.sum()
    elif reduction == "sum":
        z = z.sum()
    return ce + z, z


def inputs(bt: int, v: int, scalar: float = 3.0, ignore: int | None = -100, frac: float = 0.25):
    x = (rng.standard_normal((bt, v)) * scalar).astype(np.float32)
    t = rng.integers(0, v, size=bt).astype(np.int64)
    if ignore is not None:
        t[rng.random(bt) < frac] = ignore
    return x, t


def loss_case(cid, x, t, init, *, weight=None, tags=(), note="", grad_output=None, functional=False):
    """One LigerCrossEntropyLoss(**init)(x, t) (or liger_cross_entropy(x, t, **init)) case."""
    init = dict(init)
    softcap = init.get("softcap")
    xt = torch.tensor(x, requires_grad=True)
    tt = torch.tensor(t)
    try:
        if not (0 <= init.get("label_smoothing", 0.0) <= 1):
            raise AssertionError(f"label_smoothing must be between 0.0 and 1.0. Got: {init['label_smoothing']}")
        if init.get("reduction", "mean") not in {"mean", "sum", "none"}:
            raise AssertionError(f"reduction must be one of 'mean', 'sum', or 'none'. Got: {init['reduction']}")
        if softcap is not None and not softcap > 0:
            raise AssertionError(f"softcap must greater than 0.0 or None. Got: {softcap}")
        mask = tt != init.get("ignore_index", -100)
        if bool(((tt * mask) >= x.shape[-1]).any()) or bool(((tt * mask) < 0).any()):
            raise AssertionError(f"Target {int(tt.max())} is out of bounds. Expected < {x.shape[-1]}")
        z_in = softcap * torch.tanh(xt / softcap) if softcap is not None else xt
        w = None if weight is None else torch.tensor(weight)
        out, z = ce_with_z(z_in, tt, weight=w, lse_square_scale=init.get("lse_square_scale", 0.0),
                           reduction=init.get("reduction", "mean"), ignore_index=init.get("ignore_index", -100),
                           label_smoothing=init.get("label_smoothing", 0.0))
        go = torch.ones_like(out) if grad_output is None else torch.tensor(grad_output)
        (g,) = torch.autograd.grad(out, xt, go)
        expect = {"output": out.detach().numpy(), "grad": g.numpy()}
        if init.get("return_z_loss"):
            expect = {"output": [out.detach().numpy(), z.detach().numpy()], "grad": g.numpy()}
    except AssertionError as exc:
        expect = {"error": {"type": "AssertionError", "message": str(exc)}}
    if weight is not None:
        init["weight"] = weight
    api = "liger_cross_entropy" if functional else "LigerCrossEntropyLoss"
    case = dict(id=f"{api}/{cid}", api=api, init=None if functional else init, method=None if functional else "__call__",
                args=[x, t], kwargs=init if functional else {}, grad_output=grad_output, expect=expect, tags=tags,
                note=note)
    if init.get("return_z_loss") and "error" not in expect:
        z_cases.append(case)
    else:
        rec.add(**case)


x, t = inputs(12, 17)
for red in ("mean", "sum", "none"):
    go = rng.standard_normal(12).astype(np.float32) if red == "none" else None
    loss_case(f"ignore-{red}", x, t, {"reduction": red}, tags=["ignore_index"], grad_output=go)
    loss_case(f"smoothing-{red}", x, t, {"reduction": red, "label_smoothing": 0.1}, tags=["label_smoothing"],
              grad_output=go)
    loss_case(f"softcap-{red}", x, t, {"reduction": red, "softcap": 2.5}, tags=["softcap"], grad_output=go)
    loss_case(f"z_loss-{red}", x, t, {"reduction": red, "lse_square_scale": 1e-2}, tags=["z_loss"], grad_output=go)
    loss_case(f"all-{red}", x, t, {"reduction": red, "lse_square_scale": 1e-3, "label_smoothing": 0.2,
                                   "softcap": 4.0}, tags=["z_loss", "softcap", "label_smoothing"], grad_output=go)
    loss_case(f"z_loss-return-{red}", x, t, {"reduction": red, "lse_square_scale": 1e-2, "return_z_loss": True,
                                             "softcap": 3.0}, tags=["z_loss"], grad_output=go)
    wt = rng.uniform(0.1, 1.0, size=17).astype(np.float32)
    loss_case(f"weight-{red}", x, t, {"reduction": red}, weight=wt, tags=["class_weight"], grad_output=go)
    loss_case(f"weight-smoothing-{red}", x, t, {"reduction": red, "label_smoothing": 0.3}, weight=wt,
              tags=["class_weight", "label_smoothing"], grad_output=go)
# not recorded: weight with lse_square_scale and reduction="mean" (Liger divides the cross-entropy by the
# sum of weight[target] and the z-loss by the token count; the dialect refuses that combination)
x2, t2 = inputs(10, 9, ignore=3, frac=0.3)
loss_case("ignore_index-3", x2, t2, {"ignore_index": 3, "label_smoothing": 0.05}, tags=["ignore_index"])
loss_case("functional-z_loss", x, t, {"lse_square_scale": 1e-2, "softcap": 3.0}, functional=True, tags=["z_loss"])
loss_case("functional-plain", x, t, {"reduction": "sum"}, functional=True)
bad = t.copy()
bad[0] = 17
loss_case("error-target-out-of-bounds", x, bad, {}, tags=["error"])
loss_case("error-label_smoothing", x, t, {"label_smoothing": 1.5}, tags=["error"])
loss_case("error-reduction", x, t, {"reduction": "batchmean"}, tags=["error"])
loss_case("error-softcap", x, t, {"softcap": 0.0}, tags=["error"])

# ---- fused linear cross-entropy
def flce_case(cid, h, w, t, b, init, *, tags=(), grad_output=None):
    init = dict(init)
    ht = torch.tensor(h, requires_grad=True)
    wt_ = torch.tensor(w)
    logits = ht @ wt_.T + (torch.tensor(b) if b is not None else 0)
    softcap = init.get("softcap")
    if softcap is not None:
        logits = softcap * torch.tanh(logits / softcap)
    cw = init.pop("ce_weight", None)
    out, _ = ce_with_z(logits, torch.tensor(t), weight=None if cw is None else torch.tensor(cw),
                       lse_square_scale=init.get("lse_square_scale", 0.0), reduction=init.get("reduction", "mean"),
                       ignore_index=init.get("ignore_index", -100), label_smoothing=init.get("label_smoothing", 0.0))
    go = torch.ones_like(out) if grad_output is None else torch.tensor(grad_output)
    (g,) = torch.autograd.grad(out, ht, go)
    if cw is not None:
        init["ce_weight"] = cw
    # forward(lin_weight, _input, target, bias): the shared runner differentiates args[0], so these cases
    # live in the top-level "fused_linear_cases" list (read by tests/test_llm_dialects.py); grad is d _input
    fl_cases.append(dict(id=f"LigerFusedLinearCrossEntropyLoss/{cid}", api="LigerFusedLinearCrossEntropyLoss",
                         init=init, method="__call__", args=[w, h, t] + ([b] if b is not None else []), kwargs={},
                         grad_output=grad_output, expect={"output": out.detach().numpy(), "grad": g.numpy()},
                         tags=list(tags), note="grad: d loss / d _input (the second argument)"))


h = rng.standard_normal((14, 6)).astype(np.float32)
w = rng.standard_normal((19, 6)).astype(np.float32)
b = rng.standard_normal(19).astype(np.float32)
t3 = rng.integers(0, 19, size=14)
t3[[2, 7]] = -100
flce_case("mean", h, w, t3, None, {})
flce_case("bias-sum-softcap", h, w, t3, b, {"reduction": "sum", "softcap": 3.0}, tags=["softcap"])
flce_case("z_loss-smoothing", h, w, t3, b, {"lse_square_scale": 1e-2, "label_smoothing": 0.1}, tags=["z_loss"])
flce_case("none", h, w, t3, None, {"reduction": "none"}, grad_output=rng.standard_normal(14).astype(np.float32))
flce_case("ce_weight", h, w, t3, None, {"ce_weight": rng.uniform(0.2, 1, 19).astype(np.float32)},
          tags=["class_weight"])

back = rec.write("liger")
payload = rec.payload
payload["z_loss_cases"] = [
    {**c, "init": plain(c["init"]) if c["init"] is not None else None, "args": plain(c["args"]),
     "kwargs": plain(c["kwargs"])} for c in z_cases
]
payload["fused_linear_cases"] = [
    {**c, "init": plain(c["init"]), "args": plain(c["args"]), "kwargs": {}} for c in fl_cases
]
_format.dump(payload, Path(__file__).resolve().parents[2] / "unified_ce" / "conformance" / "golden" / "liger.json")
print(f"+ {len(z_cases)} z_loss_cases, {len(fl_cases)} fused_linear_cases")

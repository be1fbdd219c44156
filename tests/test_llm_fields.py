"""The LLM spec fields (z_loss, logit_softcap, logit_scale) against a float64 reference, every backend.

The reference (``reference``) writes the loss as its textbook formula in float64 torch on the
transformed logits ``y = cap * tanh(scale * x / cap)``: ``sum_c w_c q~_c (lse(y) - y_c) + z lse(y)^2``
per item, masked, weighted and reduced like the loss; its gradient is torch autograd of that formula.
A table of cases runs on every backend (autodiff backends through their autodiff, the others through
``value_and_grad``); a hypothesis test draws random combinations on NumPy; the fused kernels leave
these fields to the reference core (``kernels.explain``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import unified_ce as uce
from unified_ce import CrossEntropySpec, InvalidArgumentError, InvalidTypeError

from .conftest import BackendInfo, assert_close

torch = pytest.importorskip("torch")


def reference(spec: CrossEntropySpec, x: np.ndarray, t: np.ndarray, cw: Any, sw: Any, go: Any) -> tuple[Any, Any]:
    """Loss and d sum(loss * go) / dx in float64 (torch autograd of the formula); class axis -1."""
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y = xt * spec.logit_scale
    if spec.logit_softcap is not None:
        y = spec.logit_softcap * torch.tanh(y / spec.logit_softcap)
    c = x.shape[-1]
    lse = torch.logsumexp(y, dim=-1)
    logp = y - lse[..., None]
    w = torch.ones(c, dtype=torch.float64) if cw is None else torch.tensor(cw)
    eps = spec.label_smoothing
    if spec.target == "index":
        tt = torch.tensor(t)
        valid = torch.ones_like(tt, dtype=torch.bool) if spec.ignore_index is None else tt != spec.ignore_index
        safe = torch.where(valid, tt, 0)
        q = torch.nn.functional.one_hot(safe, c).double()
        den_w = w[safe]
    else:
        q = torch.tensor(t)
        valid = torch.ones(x.shape[:-1], dtype=torch.bool)
        den_w = (w * ((1 - eps) * q + eps / c)).sum(-1)
    q = (1 - eps) * q + eps / c
    item = -(w * q * logp).sum(-1) + spec.z_loss * lse**2
    item = torch.where(valid, item, 0.0)
    if sw is not None:
        item = item * torch.tensor(sw)[:, 0]
    item = item * spec.scale
    if spec.reduction == "none":
        out = item
    elif spec.reduction == "sum":
        out = item.sum()
    else:
        den = {
            "valid": valid.double().sum(),
            "items": torch.tensor(float(valid.numel()), dtype=torch.float64),
            "label_weight": torch.where(valid, den_w, 0.0).sum(),
        }[spec.denominator]
        out = item.sum() / den
    out.backward(torch.tensor(go, dtype=torch.float64))
    return out.detach().numpy(), xt.grad.numpy()


#: (id, spec fields, class weight?, sample weight?)
CASES: list[tuple[str, dict[str, Any], bool, bool]] = [
    ("z_loss", {"z_loss": 1e-2, "ignore_index": -100}, False, False),
    ("softcap", {"logit_softcap": 2.0, "ignore_index": -100, "reduction": "sum"}, False, False),
    ("scale", {"logit_scale": 0.7, "ignore_index": -100}, False, False),
    (
        "all-none",
        {
            "z_loss": 0.05,
            "logit_softcap": 3.0,
            "logit_scale": 1.3,
            "label_smoothing": 0.2,
            "ignore_index": -100,
            "reduction": "none",
        },
        False,
        True,
    ),
    (
        "all-weights",
        {
            "z_loss": 0.05,
            "logit_softcap": 5.0,
            "label_smoothing": 0.1,
            "ignore_index": -100,
            "denominator": "label_weight",
        },
        True,
        False,
    ),
    ("probs", {"target": "probs", "z_loss": 0.02, "logit_softcap": 4.0, "denominator": "items"}, False, False),
    ("scale-spec-scale", {"logit_scale": 2.0, "scale": 0.5, "z_loss": 1e-3, "reduction": "sum"}, False, True),
]


def _arrays(fields: dict[str, Any], cw: bool, sw: bool, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    n, c = 7, 6
    x = rng.normal(size=(n, c)) * 4
    if fields.get("target") == "probs":
        t = rng.dirichlet(np.ones(c), size=n)
    else:
        t = rng.integers(0, c, size=n)
        if "ignore_index" in fields:
            t[[1, 4]] = fields["ignore_index"]
    red = fields.get("reduction", "mean")
    return {
        "x": x,
        "t": t,
        "cw": rng.uniform(0.2, 2.0, size=c) if cw else None,
        "sw": rng.uniform(0.0, 2.0, size=(n, 1)) if sw else None,  # the keep shape (class axis size 1)
        "go": rng.normal(size=n) if red == "none" else np.asarray(1.3),
    }


@pytest.mark.parametrize(("case", "fields", "cw", "sw"), CASES, ids=[c[0] for c in CASES])
def test_value_and_gradient(backend: BackendInfo, case: str, fields: dict[str, Any], cw: bool, sw: bool) -> None:
    spec = CrossEntropySpec(**fields)
    a = _arrays(fields, cw, sw)
    expected, grad = reference(spec, a["x"], a["t"], a["cw"], a["sw"], a["go"])
    x, t = backend.asarray(a["x"]), backend.asarray(a["t"])
    kw = {k: (None if a[k] is None else backend.asarray(a[k])) for k in ("cw", "sw")}
    go = backend.asarray(a["go"])

    def f(x: Any) -> Any:
        return uce.cross_entropy(x, t, spec, class_weight=kw["cw"], sample_weight=kw["sw"])

    if backend.autodiff:
        out, g = backend.grad(f, x, go)
    else:
        out, g = uce.value_and_grad(x, t, spec, class_weight=kw["cw"], sample_weight=kw["sw"], grad_output=go)
    backend.check(out)
    assert_close(backend.to_numpy(out), expected, what=f"{case} loss")
    assert_close(backend.to_numpy(g), grad, what=f"{case} grad")


@settings(max_examples=40, deadline=None)
@given(
    z=st.sampled_from([0.0, 1e-4, 0.1]),
    cap=st.sampled_from([None, 0.5, 3.0, 50.0]),
    scale=st.sampled_from([1.0, 0.3, 2.5]),
    eps=st.sampled_from([0.0, 0.3]),
    reduction=st.sampled_from(["none", "sum", "mean"]),
    seed=st.integers(0, 2**16),
)
def test_random_combinations(z: float, cap: float | None, scale: float, eps: float, reduction: str, seed: int) -> None:
    fields = {
        "z_loss": z,
        "logit_softcap": cap,
        "logit_scale": scale,
        "label_smoothing": eps,
        "reduction": reduction,
        "ignore_index": -100,
    }
    spec = CrossEntropySpec(**fields)  # type: ignore[arg-type]
    a = _arrays(fields, False, False, seed)
    expected, grad = reference(spec, a["x"], a["t"], None, None, a["go"])
    out, g = uce.value_and_grad(a["x"], a["t"], spec, grad_output=a["go"])
    assert_close(out, expected, what="loss")
    assert_close(g, grad, what="grad")


def test_float32_and_half_precision() -> None:
    a = _arrays({"ignore_index": -100}, False, False)
    spec = CrossEntropySpec(ignore_index=-100, z_loss=1e-2, logit_softcap=3.0)
    expected, _ = reference(spec, a["x"], a["t"], None, None, np.asarray(1.0))
    out = uce.cross_entropy(a["x"].astype(np.float32), a["t"], spec)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_kernels_leave_the_fields_to_the_reference_core() -> None:
    from unified_ce.kernels import explain

    x, t = np.zeros((2, 3), np.float32), np.array([0, 1])
    for fields in ({"z_loss": 0.1}, {"logit_softcap": 2.0}, {"logit_scale": 0.5}):
        assert explain(CrossEntropySpec(**fields), x, t).startswith("reference")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "exc", "match"),
    [
        ({"z_loss": -1.0}, InvalidArgumentError, "z_loss must be >= 0"),
        ({"z_loss": "big"}, InvalidTypeError, "z_loss must be a finite float"),
        ({"logit_softcap": 0.0}, InvalidArgumentError, "logit_softcap must be > 0"),
        ({"logit_scale": 0.0}, InvalidArgumentError, "logit_scale must be > 0"),
        ({"logit_softcap": 1.0, "activation": "sigmoid"}, InvalidArgumentError, "softmax of logits"),
        ({"z_loss": 1.0, "inputs": "log_probs"}, InvalidArgumentError, "softmax of logits"),
    ],
)
def test_validation(fields: dict[str, Any], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        CrossEntropySpec(**fields)

"""unified_ce.linear_cross_entropy against the naive computation (the logits held), float64.

The reference (``naive``) builds the full logits ``hidden @ weight.T + bias`` in float64 torch, applies
the scale and soft-cap, and writes the loss of every option as its textbook formula; its gradients
with respect to ``hidden``, ``weight`` and ``bias`` come from torch autograd of that formula.  Every
case runs on every backend, with memory budgets that force one vocabulary block (gradient fused into
the forward) and many vocabulary blocks (online log-sum-exp, recomputation).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from unified_ce import CrossEntropySpec, InvalidArgumentError, LabelOutOfRangeError, linear_cross_entropy
from unified_ce.linear import linear_value_and_grad, plan_blocks

from .conftest import Backend, BackendInfo, assert_close

torch = pytest.importorskip("torch")

N, T, D, V = 3, 5, 4, 11  # hidden (N, T, D): 15 tokens

#: (id, options): spec fields and the LLM options; class_weight / sample_weight / bias flags
CASES: list[tuple[str, dict[str, Any]]] = [
    ("plain-mean", {}),
    ("ignore-mean", {"ignore_index": -100}),
    ("ignore-sum-bias", {"ignore_index": -100, "reduction": "sum", "bias": True}),
    ("none", {"ignore_index": -100, "reduction": "none", "bias": True}),
    ("smoothing", {"ignore_index": 2, "label_smoothing": 0.2}),
    ("z-loss", {"ignore_index": -100, "z_loss": 1e-2, "bias": True}),
    ("softcap", {"logit_softcap": 1.5, "reduction": "sum"}),
    ("scale", {"logit_scale": 0.7, "ignore_index": -100}),
    (
        "all",
        {
            "ignore_index": -100,
            "label_smoothing": 0.1,
            "z_loss": 0.05,
            "logit_softcap": 2.0,
            "logit_scale": 1.3,
            "bias": True,
        },
    ),
    ("class-weight", {"ignore_index": -100, "class_weight": True, "denominator": "label_weight"}),
    (
        "class-weight-smooth",
        {
            "ignore_index": -100,
            "class_weight": True,
            "label_smoothing": 0.3,
            "denominator": "label_weight",
            "z_loss": 0.01,
        },
    ),
    ("sample-weight-none", {"ignore_index": -100, "sample_weight": True, "reduction": "none", "z_loss": 0.1}),
    ("items-denominator-scale", {"ignore_index": -100, "denominator": "items", "scale": 2.5}),
    ("all-ignored-zero", {"ignore_index": -100, "all_ignored": True, "zero_denominator": "zero"}),
    ("shift", {"ignore_index": -100, "shift": True, "bias": True}),
    ("shift-none", {"ignore_index": -100, "shift": True, "reduction": "none", "logit_softcap": 3.0}),
]
LLM = ("z_loss", "logit_softcap", "logit_scale", "shift")
BUDGETS = {"fused": None, "vocab-blocks": 8 * 2 * 4 * 8}  # 4 tokens x ... : forces several vocabulary blocks


def make(opts: dict[str, Any], seed: int = 0, shape: tuple[int, int] = (N, T), v: int = V) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    n, tt = shape
    t = rng.integers(0, v, size=(n, tt))
    if "ignore_index" in opts:
        t[0, 1] = t[-1, 3] = opts["ignore_index"]
    if opts.get("all_ignored"):
        t[...] = opts["ignore_index"]
    return {
        "hidden": rng.normal(size=(n, tt, D)) * 2,
        "weight": rng.normal(size=(v, D)),
        "bias": rng.normal(size=v) if opts.get("bias") else None,
        "target": t,
        "class_weight": rng.uniform(0.2, 2.0, size=v) if opts.get("class_weight") else None,
        "sample_weight": rng.uniform(0.0, 2.0, size=(n, tt)) if opts.get("sample_weight") else None,
        "grad_output": rng.normal(size=(n, tt - 1) if opts.get("shift") else (n, tt))
        if opts.get("reduction") == "none"
        else np.asarray(1.7),
    }


def split(opts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = {k: v for k, v in opts.items() if k in CrossEntropySpec.__dataclass_fields__}
    llm = {k: v for k, v in opts.items() if k in LLM}
    return spec, llm


def naive(opts: dict[str, Any], a: dict[str, Any]) -> tuple[np.ndarray, list[np.ndarray | None], dict[str, Any]]:
    """Loss, [d hidden, d weight, d bias] (autograd of the formula) and aux values, float64, logits held."""
    h = torch.tensor(a["hidden"], requires_grad=True)
    w = torch.tensor(a["weight"], requires_grad=True)
    b = None if a["bias"] is None else torch.tensor(a["bias"], requires_grad=True)
    t = torch.tensor(a["target"])
    sw = None if a["sample_weight"] is None else torch.tensor(a["sample_weight"])
    hh = h
    if opts.get("shift"):
        hh, t = h[:, :-1, :], t[:, 1:]
        sw = None if sw is None else sw[:, 1:]
    z = hh @ w.T
    if b is not None:
        z = z + b
    z = z * opts.get("logit_scale", 1.0)
    if opts.get("logit_softcap"):
        cap = opts["logit_softcap"]
        z = cap * torch.tanh(z / cap)
    lse = torch.logsumexp(z, dim=-1)
    logp = z - lse[..., None]
    ig = opts.get("ignore_index")
    valid = torch.ones_like(t, dtype=torch.bool) if ig is None else t != ig
    safe = torch.where(valid, t, 0)
    v = int(a["weight"].shape[0])
    cw = torch.ones(v, dtype=torch.float64) if a["class_weight"] is None else torch.tensor(a["class_weight"])
    eps = opts.get("label_smoothing", 0.0)
    q = (1 - eps) * torch.nn.functional.one_hot(safe, v).double() + eps / v
    item = -(cw * q * logp).sum(-1) + opts.get("z_loss", 0.0) * lse**2
    zitem = opts.get("z_loss", 0.0) * lse**2
    f = valid.double() * (1.0 if sw is None else sw) * opts.get("scale", 1.0)
    item, zitem = item * f, zitem * f
    red = opts.get("reduction", "mean")
    if red == "none":
        out, zout = item, zitem
    elif red == "sum":
        out, zout = item.sum(), zitem.sum()
    else:
        den_kind = opts.get("denominator", "valid")
        if den_kind == "items":
            den = torch.tensor(float(valid.numel()), dtype=torch.float64)
        elif den_kind == "label_weight":
            den = (cw[safe] * valid).sum()
        else:
            den = valid.double().sum()
        if opts.get("zero_denominator") == "zero" and float(den) == 0:
            den = torch.ones_like(den)
        out, zout = item.sum() / den, zitem.sum() / den
    out.backward(torch.tensor(a["grad_output"]))
    ent = -(logp.exp() * logp).sum(-1)
    aux = {
        "lse": torch.where(valid, lse, 0.0).detach().numpy(),
        "entropy": torch.where(valid, ent, 0.0).detach().numpy(),
        "z_loss": zout.detach().numpy(),
    }
    grads = [h.grad.numpy(), w.grad.numpy(), None if b is None else b.grad.numpy()]
    return out.detach().numpy(), grads, aux


def call_args(backend: BackendInfo, a: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if a[k] is None else backend.asarray(a[k])) for k in a}


@pytest.mark.parametrize("budget", list(BUDGETS), ids=list(BUDGETS))
@pytest.mark.parametrize("case", [c for c, _ in CASES])
def test_value_and_grads(backend: BackendInfo, case: str, budget: str) -> None:
    opts = dict(CASES)[case]
    a = make(opts)
    expected, grads, _ = naive(opts, a)
    spec, llm = split(opts)
    x = call_args(backend, a)
    kw = dict(spec=CrossEntropySpec(**spec), memory_budget=BUDGETS[budget], **llm)
    extra = {"class_weight": x["class_weight"], "sample_weight": x["sample_weight"]}
    if backend.autodiff:
        got, got_grads = _autodiff(backend, x, kw, extra)
    else:
        got, got_grads = linear_value_and_grad(
            x["hidden"], x["weight"], x["target"], x["bias"], grad_output=x["grad_output"], **kw, **extra
        )
    backend.check(got)
    assert_close(backend.to_numpy(got), expected, what=f"{case} loss")
    for name, g, e in zip(("hidden", "weight", "bias"), got_grads, grads):
        if e is None:
            assert g is None
            continue
        backend.check(g)
        assert_close(backend.to_numpy(g), e, what=f"{case} d{name}")


def _autodiff(backend: BackendInfo, x: dict[str, Any], kw: dict[str, Any], extra: dict[str, Any]) -> Any:
    t = x["target"]
    if backend.backend in (Backend.TORCH, Backend.TORCH_CUDA):
        ins = [x["hidden"], x["weight"]] + ([x["bias"]] if x["bias"] is not None else [])
        ins = [v.detach().clone().requires_grad_(True) for v in ins]
        b = ins[2] if len(ins) == 3 else None
        loss = linear_cross_entropy(ins[0], ins[1], t, b, **kw, **extra)
        gs = torch.autograd.grad(loss, ins, x["grad_output"])
        return loss, (gs[0], gs[1], gs[2] if b is not None else None)
    import jax

    def f(h: Any, w: Any, b: Any) -> Any:
        return linear_cross_entropy(h, w, t, b, **kw, **extra)

    def vg(h: Any, w: Any, b: Any) -> Any:
        loss, vjp = jax.vjp(f, h, w, b)
        return loss, vjp(x["grad_output"])

    loss, gs = backend.call(vg, x["hidden"], x["weight"], x["bias"])
    return loss, gs


#: budgets (float64) for 2 x 70 = 140 tokens: 64 tokens per block (blocks of 64, 64, 12) with the whole
#: vocabulary, and with vocabulary blocks of 4 classes (4, 4, 3)
MANY_BLOCKS = {"token-blocks": 64 * V * 8 * 2, "token-and-vocab-blocks": 64 * 4 * 8 * 2}


@pytest.mark.parametrize("budget", list(MANY_BLOCKS), ids=list(MANY_BLOCKS))
@pytest.mark.parametrize("case", ["ignore-sum-bias", "none", "all", "class-weight-smooth", "shift"])
def test_many_token_blocks(backend: BackendInfo, case: str, budget: str) -> None:
    """Several blocks of tokens, the last one shorter (the loops of the JAX driver and its tail)."""
    opts = dict(CASES)[case]
    a = make(opts, seed=1, shape=(2, 70))
    plan = plan_blocks(140 - 2 * bool(opts.get("shift")), V, 8, MANY_BLOCKS[budget])
    assert plan.rows == 64 and plan.cols == (V if budget == "token-blocks" else 4)
    expected, grads, _ = naive(opts, a)
    spec, llm = split(opts)
    x = call_args(backend, a)
    kw = dict(spec=CrossEntropySpec(**spec), memory_budget=MANY_BLOCKS[budget], **llm)
    extra = {"class_weight": x["class_weight"], "sample_weight": x["sample_weight"]}
    if backend.autodiff:
        got, got_grads = _autodiff(backend, x, kw, extra)
    else:
        got, got_grads = linear_value_and_grad(
            x["hidden"], x["weight"], x["target"], x["bias"], grad_output=x["grad_output"], **kw, **extra
        )
    assert_close(backend.to_numpy(got), expected, what=f"{case} loss")
    for name, g, e in zip(("hidden", "weight", "bias"), got_grads, grads):
        if e is None:
            assert g is None
            continue
        assert_close(backend.to_numpy(g), e, what=f"{case} d{name}")


@pytest.mark.parametrize("case", ["z-loss", "all", "sample-weight-none", "shift-none"])
def test_aux_outputs(backend: BackendInfo, case: str) -> None:
    opts = dict(CASES)[case]
    a = make(opts)
    expected, _, aux = naive(opts, a)
    spec, llm = split(opts)
    x = call_args(backend, a)

    def f(h: Any, w: Any, t: Any) -> Any:
        return linear_cross_entropy(
            h,
            w,
            t,
            x["bias"],
            spec=CrossEntropySpec(**spec),
            sample_weight=x["sample_weight"],
            return_aux=True,
            memory_budget=BUDGETS["vocab-blocks"],
            **llm,
        )

    loss, got = backend.call(f, x["hidden"], x["weight"], x["target"])
    assert_close(backend.to_numpy(loss), expected, what="loss")
    for name in ("lse", "entropy", "z_loss"):
        assert_close(backend.to_numpy(getattr(got, name)), aux[name], what=name)


def test_torch_second_backward_recomputes() -> None:
    a = make({})
    h = torch.tensor(a["hidden"], requires_grad=True)
    w = torch.tensor(a["weight"], requires_grad=True)
    loss = linear_cross_entropy(h, w, torch.tensor(a["target"]))
    (g1,) = torch.autograd.grad(loss, h, retain_graph=True)
    (g2,) = torch.autograd.grad(loss, h, torch.tensor(3.0, dtype=torch.float64))
    np.testing.assert_allclose(g2.numpy(), 3 * g1.numpy(), rtol=1e-12)
    _, grads, _ = naive({}, {**a, "grad_output": np.asarray(1.0)})
    np.testing.assert_allclose(g1.numpy(), grads[0], rtol=1e-10)


def test_float32_equals_naive_float64() -> None:
    a = make({"ignore_index": -100})
    expected, _, _ = naive({"ignore_index": -100}, {**a, "grad_output": np.asarray(1.0)})
    got = linear_cross_entropy(
        a["hidden"].astype(np.float32), a["weight"].astype(np.float32), a["target"], ignore_index=-100
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_never_holds_tokens_by_vocabulary() -> None:
    plan = plan_blocks(8192, 128256, 4, memory_budget=64 << 20)
    assert plan.rows * plan.cols * 4 * 2 <= 64 << 20
    assert plan.rows * plan.cols < 8192 * 128256 / 16


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"target": np.array([[0, 11, 1, 2, 3]] * 3)}, LabelOutOfRangeError, "outside \\[0, 11\\)"),
        ({"weight": np.zeros((V, D + 1))}, InvalidArgumentError, "weight must have shape \\(V, D\\)"),
        ({"bias": np.zeros(V + 1)}, InvalidArgumentError, "bias must have shape"),
        ({"target": np.zeros((N, T + 1), dtype=int)}, InvalidArgumentError, "target must have hidden's shape"),
        ({"logit_softcap": 0.0}, InvalidArgumentError, "logit_softcap must be > 0"),
        ({"z_loss": -1.0}, InvalidArgumentError, "z_loss must be >= 0"),
        ({"reduction": "sample_mean"}, InvalidArgumentError, "spec.reduction"),
        ({"memory_budget": 0}, InvalidArgumentError, "memory_budget"),
    ],
)
def test_errors(kwargs: dict[str, Any], exc: type[Exception], match: str) -> None:
    a = make({})
    args = {"hidden": a["hidden"], "weight": a["weight"], "target": a["target"], **kwargs}
    with pytest.raises(exc, match=match):
        linear_cross_entropy(**args)

"""Second-order autodiff: torch double backward and ``jax.hessian`` through the analytic gradient."""

from __future__ import annotations

import numpy as np
import pytest

import unified_ce as uce
from unified_ce import CrossEntropySpec

SPECS = [
    CrossEntropySpec(axis=1, ignore_index=-100, label_smoothing=0.1, denominator="label_weight"),
    CrossEntropySpec(axis=1, reduction="sum", weighting="per_item", label_smoothing=0.2),
    CrossEntropySpec(axis=-1, target="probs", soft_loss="kl", reduction="none"),
    CrossEntropySpec(activation="sigmoid", reduction="sum"),
]


def _inputs(spec: CrossEntropySpec) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5))
    if spec.target == "probs":
        t = rng.random((4, 5))
        t /= t.sum(-1, keepdims=True)
    elif spec.activation == "sigmoid":
        t = rng.integers(0, 2, size=(4, 5))
    else:
        t = np.array([0, 4, -100 if spec.ignore_index == -100 else 1, 2])
    w = rng.random(5) + 0.5 if spec.activation == "softmax" else None
    return x, t, w


def _torch_native(torch, spec, x, t, w):  # type: ignore[no-untyped-def]
    """The same loss written with torch ops (torch differentiates it twice itself)."""
    import torch.nn.functional as F

    if spec.activation == "sigmoid":
        return F.binary_cross_entropy_with_logits(x, t.to(x.dtype), reduction=spec.reduction)
    if spec.target == "probs":
        logp = F.log_softmax(x, dim=spec.axis)
        return (w * t * (torch.log(t) - logp)).sum(spec.axis)
    if spec.weighting == "per_item":
        q = (1 - spec.label_smoothing) * F.one_hot(t, x.shape[1]).to(x.dtype) + spec.label_smoothing / x.shape[1]
        s = (w * q).sum(1)
        return (s * (torch.logsumexp(x, 1) - (q * x).sum(1))).sum()
    return F.cross_entropy(x, t, weight=w, label_smoothing=spec.label_smoothing)


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_torch_double_backward(spec: CrossEntropySpec) -> None:
    torch = pytest.importorskip("torch")
    x_np, t_np, w_np = _inputs(spec)
    t = torch.from_numpy(t_np)
    w = None if w_np is None else torch.from_numpy(w_np)
    results = []
    for f in (lambda x: uce.cross_entropy(x, t, spec, class_weight=w), lambda x: _torch_native(torch, spec, x, t, w)):
        x = torch.from_numpy(x_np).requires_grad_(True)
        loss = f(x)
        go = torch.linspace(0.5, 1.5, loss.numel(), dtype=x.dtype).reshape(loss.shape)
        (g,) = torch.autograd.grad(loss, x, go, create_graph=True)
        (h,) = torch.autograd.grad((g * torch.cos(x)).sum(), x)
        results.append((g.detach().numpy(), h.numpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=range(len(SPECS)))
def test_jax_hessian(spec: CrossEntropySpec) -> None:
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    x_np, t_np, w_np = _inputs(spec)
    t = jnp.asarray(t_np)
    w = None if w_np is None else jnp.asarray(w_np)

    def ours(x):  # type: ignore[no-untyped-def]
        return jnp.sum(uce.cross_entropy(x, t, spec, class_weight=w))

    def native(x):  # type: ignore[no-untyped-def]
        if spec.activation == "sigmoid":
            return jnp.sum(jnp.maximum(x, 0) - t * x + jnp.log1p(jnp.exp(-jnp.abs(x))))
        logp = jax.nn.log_softmax(x, axis=spec.axis)
        if spec.target == "probs":
            return jnp.sum(w * t * (jnp.log(t) - logp))
        C = x.shape[1]
        valid = t != -100
        q = (1 - spec.label_smoothing) * jax.nn.one_hot(jnp.where(valid, t, 0), C) + spec.label_smoothing / C
        if spec.weighting == "per_item":
            s = jnp.sum(w * q, 1)
            return jnp.sum(s * (jax.nn.logsumexp(x, 1) - jnp.sum(q * x, 1)))
        per = -jnp.sum(w * q * logp, 1)
        return jnp.sum(jnp.where(valid, per, 0)) / jnp.sum(jnp.where(valid, w[jnp.where(valid, t, 0)], 0))

    x = jnp.asarray(x_np)
    np.testing.assert_allclose(jax.grad(ours)(x), jax.grad(native)(x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jax.hessian(ours)(x), jax.hessian(native)(x), rtol=1e-8, atol=1e-11)
    np.testing.assert_allclose(jax.jit(jax.hessian(ours))(x), jax.hessian(native)(x), rtol=1e-8, atol=1e-11)

"""Every function transform of each autodiff system, on the dialects' losses: a table.

torch: each ``torch.func`` transform (grad, vjp, jvp, jacrev, jacfwd, hessian, vmap, vmap of grad),
forward-mode ``torch.autograd.forward_ad``, ``create_graph=True`` double backward and
``torch.compile(fullgraph=True)`` applied to the torch dialect equals the same transform applied to
PyTorch's own ``F.cross_entropy`` (float64).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.conftest import assert_close

torch = pytest.importorskip("torch")
F = torch.nn.functional

from unified_ce.adapters import torch as dialect  # noqa: E402

N, C = 4, 5


def _case_args(name: str) -> tuple[Any, Any, dict[str, Any]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, C, generator=g, dtype=torch.float64)
    t = torch.tensor([0, 2, 4, 1])
    w = torch.rand(C, generator=g, dtype=torch.float64) + 0.5
    cases: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "mean": (x, t, {}),
        "sum-weight-smoothing": (x, t, {"reduction": "sum", "weight": w, "label_smoothing": 0.1}),
        "none-ignore": (x, torch.tensor([0, 2, -100, 1]), {"reduction": "none"}),
        "mean-weight-ignore": (x, torch.tensor([0, 2, 3, 1]), {"weight": w, "ignore_index": 3}),
        "probs": (x, torch.softmax(torch.randn(N, C, generator=g, dtype=torch.float64), 1), {"reduction": "sum"}),
        "spatial": (torch.randn(2, C, 3, generator=g, dtype=torch.float64), torch.tensor([[0, 1, 4], [3, 3, 2]]), {}),
    }
    return cases[name]


CASES = ["mean", "sum-weight-smoothing", "none-ignore", "mean-weight-ignore", "probs", "spatial"]


def _total(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda x: f(x).sum()


#: transform name -> (transform of a function of the logits, whether it takes a batch of logits)
TORCH_TRANSFORMS: dict[str, Callable[[Callable[[Any], Any], Any], Any]] = {
    "grad": lambda f, x: torch.func.grad(_total(f))(x),
    "vjp": lambda f, x: torch.func.vjp(f, x)[1](torch.ones_like(f(x)) * 0.7)[0],
    "jvp": lambda f, x: torch.func.jvp(f, (x,), (torch.cos(x),))[1],
    "jacrev": lambda f, x: torch.func.jacrev(f)(x),
    "jacfwd": lambda f, x: torch.func.jacfwd(f)(x),
    "hessian": lambda f, x: torch.func.hessian(_total(f))(x),
    "vmap": lambda f, x: torch.func.vmap(f)(torch.stack([x, 2 * x, -x])),
    "vmap-of-grad": lambda f, x: torch.func.vmap(torch.func.grad(_total(f)))(torch.stack([x, 2 * x, -x])),
    "grad-of-grad": lambda f, x: torch.func.grad(lambda y: torch.func.grad(_total(f))(y).pow(2).sum())(x),
    "forward_ad": lambda f, x: _forward_ad(f, x),
    "create_graph": lambda f, x: _double_backward(f, x),
}


def _forward_ad(f: Callable[[Any], Any], x: Any) -> Any:
    fwad = torch.autograd.forward_ad
    with fwad.dual_level():
        return fwad.unpack_dual(f(fwad.make_dual(x, torch.sin(x)))).tangent


def _double_backward(f: Callable[[Any], Any], x: Any) -> Any:
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (gg,) = torch.autograd.grad((g * torch.cos(x.detach())).sum(), x)
    return gg


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("transform", list(TORCH_TRANSFORMS))
def test_torch_transform(transform: str, case: str) -> None:
    x, t, kwargs = _case_args(case)
    apply = TORCH_TRANSFORMS[transform]
    got = apply(lambda x: dialect.cross_entropy(x, t, **kwargs), x)
    expected = apply(lambda x: F.cross_entropy(x, t, **kwargs), x)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert_close(got.detach().numpy(), expected.detach().numpy(), dtype=np.float64, what=f"{transform} of {case}")


@pytest.mark.parametrize("backend", ["eager", "aot_eager", "inductor"])
def test_torch_compile_fullgraph(backend: str) -> None:
    """No graph break (``fullgraph=True``) on CPU with the logits made inside the compiled function
    (pytorch: ``InternalTorchDynamoError`` before); value and gradient equal PyTorch's."""
    torch._dynamo.reset()
    g = torch.Generator().manual_seed(0)
    w0 = torch.randn(6, C, generator=g)
    x = torch.randn(N, 6, generator=g)
    t = torch.tensor([0, 2, 4, 1])
    compiled = torch.compile(lambda w, x, t: dialect.cross_entropy(x @ w, t, label_smoothing=0.1), backend=backend,
                             fullgraph=True)  # fmt: skip
    results = []
    for fn in (compiled, lambda w, x, t: F.cross_entropy(x @ w, t, label_smoothing=0.1)):
        w = w0.clone().requires_grad_(True)
        loss = fn(w, x, t)
        loss.backward()
        results.append((loss.detach().numpy(), w.grad.numpy()))
    assert_close(results[0][0], results[1][0], dtype=np.float32, what=f"loss under {backend}")
    assert_close(results[0][1], results[1][1], dtype=np.float32, what=f"gradient under {backend}")


def test_torch_compile_bad_label_gives_nan() -> None:
    """Under torch.compile labels are not read on the host (no graph break, no sync): a label out of
    range gives a NaN loss, like jax.jit (documented in docs/backends.md)."""
    torch._dynamo.reset()
    f = torch.compile(lambda x, t: dialect.cross_entropy(x, t), backend="eager", fullgraph=True)
    out = f(torch.zeros(2, 3), torch.tensor([0, 7]))
    assert torch.isnan(out)

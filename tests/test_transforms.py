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


# --------------------------------------------------------------------------- JAX
#
# Each JAX transform of the torch dialect's loss on JAX arrays equals the same transform of a plain-JAX
# float64 reference (log_softmax, one-hot, PyTorch's weighted mean), differentiated by JAX itself.


def _jax() -> Any:
    from tests.conftest import Backend, make_backend

    make_backend(Backend.JAX)  # importorskip, and float64 on
    import jax

    return jax


def _jax_reference(x: Any, t: Any, kwargs: dict[str, Any]) -> Any:
    import jax
    import jax.numpy as jnp

    C = x.shape[1]
    lp = jax.nn.log_softmax(x, axis=1)
    w = kwargs.get("weight", jnp.ones(C, x.dtype))
    eps = kwargs.get("label_smoothing", 0.0)
    ignore = kwargs.get("ignore_index", -100)
    if t.dtype == x.dtype:  # probabilities
        q, valid, denom = t * (1 - eps) + eps / C, jnp.ones(t.shape[0], bool), t.shape[0]
    else:
        valid = t != ignore
        tt = jnp.where(valid, t, 0)
        q = jax.nn.one_hot(tt, C, dtype=x.dtype) * (1 - eps) + eps / C
        denom = jnp.sum(jnp.where(valid, w[tt], 0.0))
    loss = jnp.where(valid, -jnp.sum(q * w * lp, axis=1), 0.0)
    red = kwargs.get("reduction", "mean")
    return loss if red == "none" else jnp.sum(loss) if red == "sum" else jnp.sum(loss) / denom


def _jax_case(name: str) -> tuple[Any, Any, dict[str, Any]]:
    import jax.numpy as jnp

    x, t, kwargs = _case_args(name)
    conv = {k: jnp.asarray(v.numpy()) if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()}
    return jnp.asarray(x.numpy()), jnp.asarray(t.numpy()), conv


JAX_CASES = ["mean", "sum-weight-smoothing", "none-ignore", "mean-weight-ignore", "probs"]


def _jax_transforms() -> dict[str, Callable[[Callable[[Any], Any], Any], Any]]:
    jax = _jax()
    jnp = jax.numpy

    def tot(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda x: jnp.sum(f(x))

    return {
        "grad": lambda f, x: jax.grad(tot(f))(x),
        "value_and_grad": lambda f, x: jnp.concatenate([jnp.ravel(v) for v in jax.value_and_grad(tot(f))(x)]),
        "jvp": lambda f, x: jax.jvp(f, (x,), (jnp.cos(x),))[1],
        "vjp": lambda f, x: jax.vjp(f, x)[1](jnp.ones_like(f(x)) * 0.7)[0],
        "jacfwd": lambda f, x: jax.jacfwd(f)(x),
        "jacrev": lambda f, x: jax.jacrev(f)(x),
        "hessian": lambda f, x: jax.hessian(tot(f))(x),
        "vmap": lambda f, x: jax.vmap(f)(jnp.stack([x, 2 * x, -x])),
        "vmap-of-grad": lambda f, x: jax.vmap(jax.grad(tot(f)))(jnp.stack([x, 2 * x, -x])),
        "jit-of-grad": lambda f, x: jax.jit(jax.grad(tot(f)))(x),
        "remat": lambda f, x: jax.grad(jax.checkpoint(lambda y: jnp.sum(jnp.sin(f(y)))))(x),
    }


def _shard_map(f: Callable[[Any, Any], Any], x: Any, t: Any) -> Any:
    """The summed loss of a batch sharded over 4 devices (each device its rows, then psum) and the
    gradient of that sum (contracted with cos(x))."""
    jax = _jax()
    jnp = jax.numpy
    from jax.sharding import Mesh, PartitionSpec

    mesh = Mesh(np.array(jax.devices()[:4]), ("b",))

    def per_shard(xs: Any, ts: Any) -> Any:
        return jax.lax.psum(jnp.sum(f(xs, ts)), "b")

    g = jax.shard_map(
        per_shard, mesh=mesh, in_specs=(PartitionSpec("b"), PartitionSpec("b")), out_specs=PartitionSpec()
    )
    return jnp.stack([g(x, t), jnp.sum(jax.grad(g)(x, t) * jnp.cos(x))])


JAX_TRANSFORMS = [
    "grad", "value_and_grad", "jvp", "vjp", "jacfwd", "jacrev", "hessian", "vmap", "vmap-of-grad", "jit-of-grad",
    "remat", "shard_map",
]  # fmt: skip


@pytest.mark.parametrize("case", JAX_CASES)
@pytest.mark.parametrize("transform", JAX_TRANSFORMS)
def test_jax_transform(transform: str, case: str) -> None:
    transforms = _jax_transforms()  # float64 on first
    x, t, kwargs = _jax_case(case)
    if transform == "shard_map":
        if case.startswith("mean"):
            pytest.skip("a per-shard mean is not the global mean (sum reductions are checked)")
        got = _shard_map(lambda x, t: dialect.cross_entropy(x, t, **kwargs), x, t)
        expected = _shard_map(lambda x, t: _jax_reference(x, t, kwargs), x, t)
    else:
        got = transforms[transform](lambda x: dialect.cross_entropy(x, t, **kwargs), x)
        expected = transforms[transform](lambda x: _jax_reference(x, t, kwargs), x)
    assert got.shape == expected.shape, (got.shape, expected.shape)
    assert_close(np.asarray(got), np.asarray(expected), dtype=np.float64, what=f"{transform} of {case}")


def test_jax_residuals_are_o_items() -> None:
    """Reverse mode saves the logits (the argument itself) and O(items) row statistics only."""
    jax = _jax()
    jnp = jax.numpy
    x, t = jnp.zeros((64, 1000)), jnp.zeros(64, jnp.int32)
    for kwargs in ({}, {"label_smoothing": 0.1, "reduction": "none"}):
        _, vjp = jax.vjp(lambda x, kwargs=kwargs: dialect.cross_entropy(x, t, **kwargs), x)
        leaves = [a for a in jax.tree_util.tree_leaves(vjp) if hasattr(a, "shape")]
        big = [a for a in leaves if a.size >= x.size]
        assert all(a is x or (a.shape == x.shape and bool(jnp.all(a == x))) for a in big), [a.shape for a in big]
        assert sum(a.size for a in leaves if a.size < x.size) <= 8 * 64, [a.shape for a in leaves]


@pytest.mark.parametrize("option", ["label_smoothing", "mxnet_weight"])
def test_eager_jax_compiles_once_when_a_scalar_option_changes(option: str) -> None:
    """A schedule changing label_smoothing (or MXNet's weight, the spec's scale) every step must not
    build a new XLA program per value (130-170 ms and ~2 MB each before): the value is a runtime
    argument.  The loss and jax.grad stay equal to the reference for every value."""
    jax = _jax()
    jnp = jax.numpy
    from unified_ce import _autodiff
    from unified_ce.adapters.mxnet import SoftmaxCrossEntropyLoss

    x, t, _ = _jax_case("mean")

    def loss(v: float) -> Any:
        if option == "label_smoothing":
            return lambda x: dialect.cross_entropy(x, t, label_smoothing=v)
        return lambda x: jnp.sum(SoftmaxCrossEntropyLoss(weight=v)(x, t))

    def ref(v: float) -> Any:
        if option == "label_smoothing":
            return lambda x: _jax_reference(x, t, {"label_smoothing": v})
        return lambda x: v * jnp.sum(_jax_reference(x, t, {"reduction": "none"}))

    def program(v: float) -> Any:
        call = (
            dialect.cross_entropy.translate(x, t, label_smoothing=v)
            if option == "label_smoothing"
            else SoftmaxCrossEntropyLoss(weight=v)._translate(x, t)
        )
        return _autodiff._jax_function(_autodiff._jax_scalars(call.spec)[0], True)

    sizes = []
    for v in (0.05, 0.1, 0.2, 0.3, 0.45):
        assert_close(np.asarray(loss(v)(x)), np.asarray(ref(v)(x)), dtype=np.float64, what=f"{option}={v}")
        assert_close(np.asarray(jax.grad(loss(v))(x)), np.asarray(jax.grad(ref(v))(x)), dtype=np.float64)
        sizes.append(program(v)._cache_size())
    assert len({id(program(v)) for v in (0.05, 0.45)}) == 1, "one cached program for every value"
    assert sizes[-1] == sizes[0], f"compilations grew with the values: {sizes}"

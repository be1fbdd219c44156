"""PyTorch's own test inputs for cross-entropy, run through the torch dialect and compared with PyTorch.

What PyTorch's own test suite feeds ``F.cross_entropy`` / ``nn.CrossEntropyLoss`` and expects a number
for is valid input for the torch dialect.  Three sources:

* the OpInfo samples of ``nn.functional.cross_entropy``
  (``torch.testing._internal.common_methods_invocations.op_db``; needs ``expecttest``);
* the ModuleInfo samples of ``nn.CrossEntropyLoss`` (``torch.testing._internal.common_modules.module_db``);
* the cross-entropy cases of PyTorch's ``test/test_nn.py`` (``TestNN`` / ``TestNNDeviceType``), ported
  below as inputs (the expected numbers are not ported: they come from PyTorch itself, run here).

For each input the expected value, the gradients (with respect to the input and to a floating target)
and the double-backward gradients are those of the real ``torch.nn.functional.cross_entropy`` on the
same tensors, in float64.  Inputs PyTorch accepts are also run on NumPy and JAX arrays (value and
``value_and_grad`` against PyTorch's numbers).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from tests.conftest import Backend, assert_close, make_backend
from unified_ce.adapters import torch as dialect

torch = pytest.importorskip("torch")
F = torch.nn.functional

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@dataclass
class Sample:
    """One call: ``cross_entropy(input, target, **kwargs)``, or ``CrossEntropyLoss(**kwargs)(input, target)``."""

    input: Any
    target: Any
    kwargs: dict[str, Any] = field(default_factory=dict)
    module: bool = False
    #: PyTorch's backward raises for this input (its forward gives a number): compare values only
    forward_only: bool = False
    #: ``"cross_entropy"`` or ``"binary_cross_entropy"`` (``BCELoss`` when ``module``)
    api: str = "cross_entropy"


#: api -> (torch function, torch module, dialect function, dialect module)
_APIS: dict[str, tuple[Any, Any, Any, Any]] = {
    "cross_entropy": (F.cross_entropy, torch.nn.CrossEntropyLoss, dialect.cross_entropy, dialect.CrossEntropyLoss),
    "binary_cross_entropy": (F.binary_cross_entropy, torch.nn.BCELoss, dialect.binary_cross_entropy, dialect.BCELoss),
}


def _leaf(t: Any) -> Any:
    """A fresh float64 leaf copy (requiring grad when the original is floating and requires it)."""
    out = t.detach().clone()
    if out.is_floating_point() and t.requires_grad:
        out.requires_grad_(True)
    return out


def _call(impl: str, s: Sample, inp: Any, tgt: Any) -> Any:
    kwargs = {k: (_leaf(v) if isinstance(v, torch.Tensor) else v) for k, v in s.kwargs.items()}
    fn, module, our_fn, our_module = _APIS[s.api]
    if impl == "torch":
        return module(**kwargs)(inp, tgt) if s.module else fn(inp, tgt, **kwargs)
    return our_module(**kwargs)(inp, tgt) if s.module else our_fn(inp, tgt, **kwargs)


def _run(impl: str, s: Sample) -> dict[str, Any]:
    """Value, first and second derivatives of ``sum(loss * v)`` by torch autograd."""
    inp, tgt = _leaf(s.input), _leaf(s.target)
    out = _call(impl, s, inp, tgt)
    res: dict[str, Any] = {"value": out.detach()}
    if s.forward_only:
        return res
    gen = torch.Generator().manual_seed(1)
    v = torch.rand(out.shape, generator=gen, dtype=out.dtype)
    wrt = [inp] + ([tgt] if tgt.requires_grad else [])
    grads = torch.autograd.grad((out * v).sum(), wrt, create_graph=True)
    res["grad"] = [g.detach() for g in grads]
    # double backward: d/d(input, target) of <grad_input, u>
    u = torch.rand(inp.shape, generator=gen, dtype=inp.dtype)
    if grads[0].requires_grad:
        gg = torch.autograd.grad((grads[0] * u).sum(), wrt, allow_unused=True)
        res["gradgrad"] = [torch.zeros_like(w) if g is None else g.detach() for g, w in zip(gg, wrt)]
    else:  # no path from the gradient back to the inputs (e.g. zero classes): nothing to differentiate
        res["gradgrad"] = [torch.zeros_like(w) for w in wrt]
    res["v"] = v
    return res


def _compare(s: Sample, what: str = "") -> dict[str, Any]:
    expected = _run("torch", s)
    got = _run("unified_ce", s)
    assert got["value"].dtype == expected["value"].dtype, f"{what}: dtype {got['value'].dtype}"
    assert tuple(got["value"].shape) == tuple(expected["value"].shape), f"{what}: shape {tuple(got['value'].shape)}"
    assert_close(got["value"].numpy(), expected["value"].numpy(), dtype=np.float64, what=f"{what} value")
    for key in ("grad", "gradgrad"):
        for i, (g, e) in enumerate(zip(got.get(key, []), expected.get(key, []))):
            assert_close(g.numpy(), e.numpy(), dtype=np.float64, what=f"{what} {key}[{i}]")
    return expected


def _on_backend(s: Sample, expected: dict[str, Any], backend: str, what: str) -> None:
    """The same input as NumPy / JAX arrays: value and value_and_grad equal PyTorch's numbers."""
    be = make_backend(Backend(backend))

    def conv(v: Any) -> Any:
        return be.asarray(v.detach().numpy()) if isinstance(v, torch.Tensor) else v

    kwargs = {k: conv(v) for k, v in s.kwargs.items()}
    _, _, our_fn, our_module = _APIS[s.api]
    fn = our_module(**kwargs) if s.module else functools.partial(our_fn, **kwargs)
    x, t = conv(s.input), conv(s.target)
    out = be.call(fn, x, t)
    assert_close(be.to_numpy(out), expected["value"].numpy(), dtype=np.float64, what=f"{what} value on {backend}")
    if "grad" in expected:
        g_out = conv(expected["v"])
        if s.module:
            _, g = fn.value_and_grad(x, t, grad_output=g_out)
        else:
            _, g = our_fn.value_and_grad(x, t, grad_output=g_out, **kwargs)
        assert_close(be.to_numpy(g), expected["grad"][0].numpy(), dtype=np.float64, what=f"{what} grad on {backend}")


# --------------------------------------------------------------------------- OpInfo / ModuleInfo samples

#: sample counts of torch 2.13.0 (a different count fails test_sample_counts: update the tables)
N_OPINFO = 21
N_MODULEINFO = 105


@functools.cache
def opinfo_samples() -> list[Sample]:
    """``op_db``'s ``nn.functional.cross_entropy`` samples, float64, inputs requiring grad."""
    pytest.importorskip("expecttest", reason="torch.testing._internal needs expecttest")
    from torch.testing._internal.common_methods_invocations import op_db

    op = next(o for o in op_db if o.name == "nn.functional.cross_entropy")
    torch.manual_seed(0)
    return [
        Sample(s.input, s.args[0], dict(s.kwargs)) for s in op.sample_inputs("cpu", torch.float64, requires_grad=True)
    ]


@functools.cache
def moduleinfo_samples() -> list[Sample]:
    """``module_db``'s ``nn.CrossEntropyLoss`` samples, float64, inputs requiring grad."""
    pytest.importorskip("expecttest", reason="torch.testing._internal needs expecttest")
    from torch.testing._internal.common_modules import module_db

    info = next(m for m in module_db if m.module_cls is torch.nn.CrossEntropyLoss)
    torch.manual_seed(0)
    out = []
    for mi in info.module_inputs_func(info, device="cpu", dtype=torch.float64, requires_grad=True, training=True):
        args = mi.forward_input.args
        out.append(Sample(args[0], args[1], dict(mi.constructor_input.kwargs), module=True))
    return out


def test_sample_counts() -> None:
    assert len(opinfo_samples()) == N_OPINFO
    assert len(moduleinfo_samples()) == N_MODULEINFO


@pytest.mark.parametrize("i", range(N_OPINFO))
def test_opinfo_sample(i: int) -> None:
    s = opinfo_samples()[i]
    expected = _compare(s, f"OpInfo sample {i}")
    for backend in ("numpy", "jax"):
        if backend == "jax":
            pytest.importorskip("jax")
        _on_backend(s, expected, backend, f"OpInfo sample {i}")


@pytest.mark.parametrize("i", range(N_MODULEINFO))
def test_moduleinfo_sample(i: int) -> None:
    s = moduleinfo_samples()[i]
    expected = _compare(s, f"ModuleInfo sample {i}")
    # eager JAX compiles one program per shape and options (~1 s each): every third sample there
    for backend in ("numpy", "jax") if i % 3 == 0 else ("numpy",):
        if backend == "jax":
            pytest.importorskip("jax")
        _on_backend(s, expected, backend, f"ModuleInfo sample {i}")


# --------------------------------------------------------------------------- test_nn.py, ported


def _gen(seed: int) -> Any:
    return torch.Generator().manual_seed(seed)


def _randn(*shape: int, seed: int, grad: bool = True) -> Any:
    return torch.randn(*shape, generator=_gen(seed), dtype=torch.float64).requires_grad_(grad)


def _randint(high: int, *shape: int, seed: int) -> Any:
    return torch.randint(0, high, shape, generator=_gen(seed))


def _test_nn_cases() -> list[tuple[str, Callable[[], Sample]]]:
    cases: list[tuple[str, Callable[[], Sample]]] = []
    N, C = 5, 4
    for k in range(5):  # test_cross_entropy_loss_prob_target_all_reductions: k extra dims of size 2..4
        other = [2 + (j + k) % 3 for j in range(k)]
        for reduction in ("none", "mean", "sum"):
            for w in ("none", "abs_randn", "ones"):  # ... and _prob_target_unit_weights (weight=ones)

                def make(k: int = k, other: list[int] = other, reduction: str = reduction, w: str = w) -> Sample:
                    kw: dict[str, Any] = {"reduction": reduction}
                    if w != "none":
                        kw["weight"] = torch.ones(C, dtype=torch.float64) if w == "ones" else _randn(C, seed=9).abs()
                    # randn targets: negative entries, as PyTorch's test uses them
                    return Sample(_randn(N, C, *other, seed=k), _randn(N, C, *other, seed=10 + k), kw, module=True)

                cases.append((f"prob_target_all_reductions-k{k}-{reduction}-weight_{w}", make))
        for reduction in ("none", "mean", "sum"):  # test_cross_entropy_loss_index_target_unit_weights

            def make_idx(k: int = k, reduction: str = reduction) -> Sample:
                other = [2 + j for j in range(k)]
                kw = {"reduction": reduction, "weight": torch.ones(C, dtype=torch.float64)}
                return Sample(_randn(N, C, *other, seed=20 + k), _randint(C, N, *other, seed=30 + k), kw, module=True)

            cases.append((f"index_target_unit_weights-k{k}-{reduction}", make_idx))
    for reduction in ("none", "sum"):  # test_cross_entropy_loss_one_hot_target (the one-hot side)

        def make_onehot(reduction: str = reduction) -> Sample:
            t = _randint(C, N, 2, 3, seed=40)
            onehot = F.one_hot(t, C).movedim(-1, 1).to(torch.float64)
            return Sample(
                _randn(N, C, 2, 3, seed=41), onehot, {"reduction": reduction, "weight": _randn(C, seed=42).abs()}
            )

        cases.append((f"one_hot_target-{reduction}", make_onehot))
    for ls in (0.05, 0.15, 0.5, 1.0):
        for reduction in ("none", "mean", "sum"):
            # test_cross_entropy_label_smoothing_with_probs: log-probabilities as the target
            def make_lsp(ls: float = ls, reduction: str = reduction) -> Sample:
                target = F.log_softmax(_randn(N, C, 3, seed=50, grad=False), dim=1)
                return Sample(_randn(N, C, 3, seed=51), target, {"reduction": reduction, "label_smoothing": ls})

            cases.append((f"label_smoothing_with_probs-ls{ls}-{reduction}", make_lsp))
            # test_cross_entropy_label_smoothing_consistent_index_target_and_probs: both target forms
            for form in ("index", "probs"):

                def make_cons(ls: float = ls, reduction: str = reduction, form: str = form) -> Sample:
                    t = _randint(C, N, 2, seed=60)
                    target = t if form == "index" else F.one_hot(t, C).movedim(-1, 1).to(torch.float64)
                    return Sample(_randn(N, C, 2, seed=61), target, {"reduction": reduction, "label_smoothing": ls})

                cases.append((f"label_smoothing_consistent-{form}-ls{ls}-{reduction}", make_cons))
            # test_cross_entropy_label_smoothing_weight_ignore_indices
            for ignore in (-100, 1):

                def make_wi(ls: float = ls, reduction: str = reduction, ignore: int = ignore) -> Sample:
                    t = _randint(C, 2, 5, seed=70)
                    t[0, 1] = ignore
                    t[1, 3] = ignore
                    kw = {"reduction": reduction, "label_smoothing": ls, "ignore_index": ignore}
                    kw["weight"] = _randn(C, seed=71, grad=False).abs()
                    return Sample(_randn(2, C, 5, seed=72), t, kw)

                cases.append((f"label_smoothing_weight_ignore_indices-ignore{ignore}-ls{ls}-{reduction}", make_wi))
    for reduction in ("none", "mean", "sum"):
        # test_cross_entropy_loss_zero_div (pytorch/pytorch#73165): zero classes, probability target
        def make_zero(reduction: str = reduction) -> Sample:
            x = torch.rand(5, 0, generator=_gen(80), dtype=torch.float64).requires_grad_(True)
            return Sample(x, torch.rand(5, 0, generator=_gen(81), dtype=torch.float64), {"reduction": reduction}, True)

        cases.append((f"zero_div_73165-{reduction}", make_zero))
        # unbatched (C,) input with a target of shape (1,): PyTorch's forward gives a number
        for w in (False, True):

            def make_1d(reduction: str = reduction, w: bool = w) -> Sample:
                kw: dict[str, Any] = {"reduction": reduction}
                if w:
                    kw["weight"] = _randn(C, seed=90, grad=False).abs()
                return Sample(_randn(C, seed=91), torch.tensor([2]), kw, forward_only=True)

            cases.append((f"unbatched_target_shape_1-{reduction}-weight_{w}", make_1d))
    return cases


TEST_NN = [pytest.param(m, id=i) for i, m in _test_nn_cases()]


@pytest.mark.parametrize("make", TEST_NN)
def test_test_nn_case(make: Callable[[], Sample], request: pytest.FixtureRequest) -> None:
    s = make()
    what = request.node.callspec.id
    expected = _compare(s, what)
    for backend in ("numpy", "jax"):
        if backend == "jax":
            pytest.importorskip("jax")
        _on_backend(s, expected, backend, what)


def test_label_smoothing_errors_at_forward() -> None:
    """test_nn.py ``test_cross_entropy_label_smoothing_errors``: the module is built, the call raises."""
    x, t = _randn(3, 4, seed=0), _randint(4, 3, seed=1)
    for ls in (1.2, 1.5):
        loss = dialect.CrossEntropyLoss(label_smoothing=ls)  # constructing does not raise (PyTorch: neither)
        with pytest.raises(RuntimeError, match="label_smoothing"):
            loss(x, t)
        with pytest.raises(RuntimeError):
            torch.nn.CrossEntropyLoss(label_smoothing=ls)(x, t)


@pytest.mark.parametrize("backend", [b.value for b in Backend if b not in (Backend.TORCH_CUDA, Backend.CUPY)])
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1}, {"weight": np.zeros(0)}], ids=["plain", "ls", "weight"])
def test_zero_classes_every_backend(backend: str, kw: dict[str, Any]) -> None:
    """pytorch/pytorch#73165: zero classes with a probability target give -0. per item (none), -0. (sum)
    and nan (mean: PyTorch divides by ``input.numel() / C = 0 / 0``), with an empty gradient, on every
    library; lazily (``jax.jit``, Dask) too."""
    be = make_backend(Backend(backend))
    rng = np.random.default_rng(0)
    x, t = rng.random((5, 0)), rng.random((5, 0))
    for reduction in ("none", "sum", "mean"):
        tw = {k: torch.from_numpy(v) for k, v in kw.items() if isinstance(v, np.ndarray)}
        want = F.cross_entropy(torch.from_numpy(x), torch.from_numpy(t), reduction=reduction, **{**kw, **tw}).numpy()
        args = {k: be.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        fn = functools.partial(dialect.cross_entropy, reduction=reduction, **args)
        got = be.to_numpy(be.call(fn, be.asarray(x), be.asarray(t)))
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)  # nan where PyTorch's is nan, 0 elsewhere
        if be.autodiff:
            go = None if reduction != "none" else be.asarray(np.ones(5))
            _, g = be.grad(lambda a: fn(a, be.asarray(t)), be.asarray(x), go)  # noqa: B023
            assert be.to_numpy(g).shape == (5, 0)
        _, g = dialect.cross_entropy.value_and_grad(be.asarray(x), be.asarray(t), reduction=reduction, **args)
        assert be.to_numpy(g).shape == (5, 0)


def test_zero_classes_index_target_raises() -> None:
    """No class label fits zero classes: PyTorch raises ("Target 0 is out of bounds"), so do we."""
    with pytest.raises(IndexError):
        F.cross_entropy(torch.rand(5, 0), torch.zeros(5, dtype=torch.long))
    with pytest.raises(IndexError, match="at least one class"):
        dialect.cross_entropy(np.zeros((5, 0)), np.zeros(5, dtype=np.int64))
    with pytest.raises(IndexError):
        F.nll_loss(torch.rand(5, 0), torch.zeros(5, dtype=torch.long))
    with pytest.raises(IndexError, match="at least one class"):
        dialect.nll_loss(np.zeros((5, 0)), np.zeros(5, dtype=np.int64))


# --------------------------------------------------------------------------- BCELoss: test_nn.py / common_nn.py


def _probs(*shape: int, seed: int, lo: float = 0.0, hi: float = 1.0, grad: bool = True) -> Any:
    p = torch.rand(shape, generator=_gen(seed), dtype=torch.float64).clamp_(lo, hi)
    return p.requires_grad_(grad)


def _bce_cases() -> list[tuple[str, Callable[[], Sample]]]:
    """The numerical ``BCELoss`` inputs of PyTorch's tests (its expected numbers come from PyTorch, run here)."""
    B = "binary_cross_entropy"

    def sigmoid_of(*shape: int, seed: int) -> Any:  # test_bce_loss_score_consistency: sigmoid(rand - 0.5)
        return torch.sigmoid(torch.rand(*shape, generator=_gen(seed), dtype=torch.float64) - 0.5).requires_grad_(True)

    def binary(*shape: int, seed: int) -> Any:  # common_nn: torch.randn(15, 10).gt(0).double()
        return torch.randn(shape, generator=_gen(seed), dtype=torch.float64).gt(0).double()

    cases: list[tuple[str, Callable[[], Sample]]] = [
        # test_bce_loss_always_nonnegative: p == y == 1 and p == y == 0 give 0
        ("bce_always_nonnegative-ones", lambda: Sample(torch.ones(5, dtype=torch.float64), torch.ones(5,
         dtype=torch.float64), {}, module=True, api=B, forward_only=True)),
        ("bce_always_nonnegative-zeros", lambda: Sample(torch.zeros(5, dtype=torch.float64), torch.zeros(5,
         dtype=torch.float64), {}, module=True, api=B, forward_only=True)),
        # test_bce_loss_score_consistency (the BCELoss side)
        ("bce_score_consistency", lambda: Sample(sigmoid_of(64, 4, seed=100), torch.zeros(64, 4,
         dtype=torch.float64), {}, module=True, api=B)),
        # test_bce_loss_broadcasts_weights: weight (4,) and (16, 1) against (16, 4)
        ("bce_broadcasts_weights-4", lambda: Sample(sigmoid_of(16, 4, seed=101), _probs(16, 4, seed=102,
         grad=False), {"weight": _probs(4, seed=103, grad=False)}, module=True, api=B)),
        ("bce_broadcasts_weights-16x1", lambda: Sample(sigmoid_of(16, 4, seed=104), _probs(16, 4, seed=105,
         grad=False), {"weight": _probs(16, 1, seed=106, grad=False)}, module=True, api=B)),
        # common_nn BCELoss module tests: input rand(15, 10).clamp(1e-2, 1 - 1e-2), binary target
        ("common_nn-BCELoss", lambda: Sample(_probs(15, 10, seed=110, lo=1e-2, hi=1 - 1e-2), binary(15, 10,
         seed=111), {}, module=True, api=B)),
        ("common_nn-BCELoss_weights", lambda: Sample(_probs(15, 10, seed=112, lo=1e-2, hi=1 - 1e-2), binary(15,
         10, seed=113), {"weight": _probs(10, seed=114, grad=False)}, module=True, api=B)),
        # bceloss_no_reduce_test / bceloss_weights_no_reduce_test / bceloss_no_reduce_scalar_test
        ("common_nn-bceloss_no_reduce", lambda: Sample(_probs(15, 10, seed=115, lo=2.8e-2, hi=1 - 2.8e-2),
         binary(15, 10, seed=116), {"reduction": "none"}, api=B)),
        ("common_nn-bceloss_weights_no_reduce", lambda: Sample(_probs(15, 10, seed=117, lo=2.8e-2, hi=1 - 2.8e-2),
         binary(15, 10, seed=118), {"weight": _probs(10, seed=119, grad=False), "reduction": "none"}, api=B)),
        ("common_nn-bceloss_no_reduce_scalar", lambda: Sample(_probs(seed=120, lo=2.8e-2, hi=1 - 2.8e-2),
         binary(seed=121), {"reduction": "none"}, api=B)),
        ("common_nn-bceloss_weights_no_reduce_scalar", lambda: Sample(_probs(seed=122, lo=2.8e-2, hi=1 - 2.8e-2),
         binary(seed=123), {"weight": _probs(seed=124, grad=False), "reduction": "none"}, api=B)),
    ]  # fmt: skip
    return cases


@pytest.mark.parametrize("make", [pytest.param(m, id=i) for i, m in _bce_cases()])
def test_bce_test_nn_case(make: Callable[[], Sample], request: pytest.FixtureRequest) -> None:
    s = make()
    what = request.node.callspec.id
    expected = _compare(s, what)
    for backend in ("numpy", "jax"):
        if backend == "jax":
            pytest.importorskip("jax")
        _on_backend(s, expected, backend, what)


def test_bce_always_nonnegative_and_size_mismatch() -> None:
    """test_bce_loss_always_nonnegative (0 at p == y in {0, 1}) and test_bce_loss_size_mismatch (ValueError)."""
    for v in (0.0, 1.0):
        assert float(dialect.BCELoss()(np.full(5, v), np.full(5, v))) == 0.0
    a, b = np.random.default_rng(0).random(25), np.random.default_rng(1).random((25, 1))
    with pytest.raises(ValueError, match="target"):
        dialect.BCELoss()(a, b)
    with pytest.raises(ValueError):
        torch.nn.BCELoss()(torch.tensor(a), torch.tensor(b))


_DEPRECATED = "reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead."


@pytest.mark.parametrize(
    ("ours", "theirs", "kind"),
    [
        (dialect.cross_entropy, F.cross_entropy, "index"),
        (dialect.nll_loss, F.nll_loss, "index"),
        (dialect.binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits, "probs"),
        (dialect.binary_cross_entropy, F.binary_cross_entropy, "sigmoid"),
        (
            lambda x, t, **kw: dialect.CrossEntropyLoss(**kw)(x, t),
            lambda x, t, **kw: torch.nn.CrossEntropyLoss(**kw)(x, t),
            "index",
        ),
        (lambda x, t, **kw: dialect.NLLLoss(**kw)(x, t), lambda x, t, **kw: torch.nn.NLLLoss(**kw)(x, t), "index"),
    ],
    ids=["cross_entropy", "nll_loss", "bce_with_logits", "bce", "CrossEntropyLoss", "NLLLoss"],
)
def test_deprecated_elementwise_mean(ours: Callable[..., Any], theirs: Callable[..., Any], kind: str) -> None:
    """PyTorch 2.x still takes ``reduction='elementwise_mean'`` (torch.nn._reduction.get_enum): the mean, with its warning."""
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 4, generator=g, dtype=torch.float64)
    if kind == "index":
        t = torch.randint(0, 4, (5,), generator=g)
    else:
        t = torch.rand(5, 4, generator=g, dtype=torch.float64)
        x = x.sigmoid() if kind == "sigmoid" else x
    with pytest.warns(UserWarning, match=_DEPRECATED.replace("(", r"\(").replace(")", r"\)")):
        expected = theirs(x, t, reduction="elementwise_mean")
    with pytest.warns(UserWarning, match=r"reduction='elementwise_mean' is deprecated"):
        got = ours(x.numpy(), t.numpy(), reduction="elementwise_mean")
    assert_close(np.asarray(got), expected.numpy())

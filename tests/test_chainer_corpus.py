"""Chainer's own unit tests of ``softmax_cross_entropy``, ported: the chainer dialect must pass them.

Sources: chainer/chainer ``tests/chainer_tests/functions_tests/loss_tests/test_softmax_cross_entropy.py``
(Chainer 7.8.1) and ``test_sigmoid_cross_entropy.py`` (``TestSigmoidCrossEntropy``).  Every input those tests feed is run through the dialect: the forward value against
the test's own expected formula (``expected_forward_with_reduce`` / ``_without_reduce``, a loop with
``logaddexp``) at the test's tolerances; the gradient against central differences of that formula in
float64 (Chainer's ``gradient_check.check_backward(..., dtype=float64)``); the second derivative
(``check_double_backward``, ``enable_double_backprop=True``) against PyTorch autograd of the same
formula written with ``log_softmax``.  Where the tests expect ``ValueError`` the dialect raises one.
The test classes and parameter tables are kept as they are in Chainer (``test_cases``,
``TestNonDefaultIgnoreLabel``, ``TestSoftmaxCrossEntropyValueCheck``, ``TestClassWeightAssertion``,
``TestSoftmaxCrossEntropyInvalidReduce``, ``TestForwardConsistency``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from unified_ce.adapters.chainer import sigmoid_cross_entropy, softmax_cross_entropy

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@dataclass(frozen=True)
class Case:
    """One parameter set of Chainer's ``test_cases`` product."""

    reduce: str
    normalize: bool
    weight_apply: bool
    shape: tuple[int, ...] | None
    ignore: Any  # the index of t set to -1 (Chainer's ``ignore_index``), or None
    dtype: Any
    label_dtype: Any

    @property
    def id(self) -> str:
        shape = "x-1000" if self.shape is None else "x".join(map(str, self.shape))
        return (
            f"{self.reduce}-norm{int(self.normalize)}-w{int(self.weight_apply)}-{shape}-"
            f"{np.dtype(self.dtype).name}-{np.dtype(self.label_dtype).name}"
        )


def _product(**axes: list[Any]) -> list[dict[str, Any]]:
    return [dict(zip(axes, v)) for v in itertools.product(*axes.values())]


_ALL = (slice(None),)
_CASES = [
    # test each option flag (cache_score has no effect on values here)
    *_product(reduce=["mean", "no"], normalize=[True, False], weight_apply=[True, False],
              shape_ignore=[(None, None), ((2, 3, 2, 2), (0, 1, 0))], dtype=[np.float32], label_dtype=[np.int32]),
    # floating dtypes
    *_product(reduce=["mean", "no"], normalize=[True], weight_apply=[True],
              shape_ignore=[(None, None), ((2, 3), _ALL), ((2, 3, 2), (0,)), ((2, 3, 2, 2), (0, 1, 0))],
              dtype=[np.float16, np.float64], label_dtype=[np.int32]),
    # label dtypes
    *_product(reduce=["mean", "no"], normalize=[True], weight_apply=[True],
              shape_ignore=[(None, None), ((2, 3), _ALL), ((2, 3, 2), (0,)), ((2, 3, 2, 2), (0, 1, 0))],
              dtype=[np.float32], label_dtype=[np.int8, np.int16, np.int64]),
]  # fmt: skip
CASES = [
    Case(c["reduce"], c["normalize"], c["weight_apply"], c["shape_ignore"][0], c["shape_ignore"][1], c["dtype"],
         c["label_dtype"])
    for c in _CASES
]  # fmt: skip


def _inputs(c: Case, seed: int) -> dict[str, Any]:
    """``SoftmaxCrossEntropyTestBase.setUp``."""
    rng = np.random.default_rng(seed)
    if c.shape is None:
        x = np.array([[-5, 1]] if c.dtype == np.float16 else [[-1000, 1]], dtype=c.dtype)
        t = np.array([0], dtype=c.label_dtype)
    else:
        x = rng.uniform(-1, 1, c.shape).astype(c.dtype)
        t = rng.integers(0, c.shape[1], (c.shape[0], *c.shape[2:])).astype(c.label_dtype)
        if c.ignore is not None and len(c.ignore) <= t.ndim:
            t[c.ignore] = -1
    gy = rng.uniform(-1, 1, () if c.reduce == "mean" else t.shape).astype(c.dtype)
    ggx = rng.uniform(-1, 1, x.shape).astype(c.dtype)
    w = rng.uniform(0, 10, (x.shape[1],)).astype(c.dtype) if c.weight_apply else None
    return {"x": x, "t": t, "gy": gy, "ggx": ggx, "w": w}


def _expected(x: np.ndarray, t: np.ndarray, w: np.ndarray | None, reduce: str, normalize: bool) -> np.ndarray:
    """``expected_forward_with_reduce`` / ``expected_forward_without_reduce`` of Chainer's test, in float64."""
    x = np.asarray(x, np.float64)
    rows = np.rollaxis(x, 1, x.ndim).reshape((t.size, x.shape[1]))
    loss_shape = x.shape[:1] + x.shape[2:]
    per = np.zeros(loss_shape)
    total, count = 0.0, 0
    for i, (xi, ti) in enumerate(zip(rows, t.ravel())):
        if ti == -1:
            continue
        log_z = np.ufunc.reduce(np.logaddexp, xi)
        v = -(xi - log_z)[ti] * (1.0 if w is None else float(w[ti]))
        per[np.unravel_index(i, loss_shape)] = v
        total += v
        count += 1
    if reduce == "no":
        return per
    if normalize:
        return np.asarray(0.0 if count == 0 else total / count)
    return np.asarray(0.0 if len(t) == 0 else total / len(t))


def _numeric_grad(f: Any, x: np.ndarray, gy: np.ndarray | None, h: float = 1e-4) -> np.ndarray:
    """Central differences of ``sum(f(x) * gy)`` in float64 (``gradient_check.check_backward``)."""
    x = np.asarray(x, np.float64)
    go = np.ones(()) if gy is None else np.asarray(gy, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        g[i] = (np.sum(f(xp_) * go) - np.sum(f(xm) * go)) / (2 * h)
    return g


def _forward_tol(dtype: Any) -> dict[str, float]:
    return {"atol": 5e-4, "rtol": 5e-3} if dtype == np.float16 else {"atol": 1e-5, "rtol": 1e-4}


def _backward_tol(dtype: Any) -> dict[str, float]:
    return {"atol": 5e-3, "rtol": 5e-2} if dtype == np.float16 else {"atol": 1e-5, "rtol": 1e-4}


@pytest.mark.parametrize("double", [False, True], ids=["single", "double"])
@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_forward_and_backward(c: Case, double: bool) -> None:
    """``test_forward_cpu`` / ``test_backward_cpu`` of both test classes (and ``TestForwardConsistency``)."""
    d = _inputs(c, seed=len(c.id) + 7 * int(c.normalize))
    x, t, w = d["x"], d["t"], d["w"]
    loss = softmax_cross_entropy(
        x, t, normalize=c.normalize, reduce=c.reduce, class_weight=w, enable_double_backprop=double
    )
    assert loss.shape == d["gy"].shape and loss.dtype == c.dtype
    want = _expected(x, t, w, c.reduce, c.normalize)
    np.testing.assert_allclose(loss.astype(np.float64), want, **_forward_tol(c.dtype))
    # check_backward: softmax_cross_entropy(x, t, class_weight=..., reduce=...) -- normalize at its default
    gy = d["gy"] if c.reduce == "no" else None
    _, gx = softmax_cross_entropy.value_and_grad(x, t, class_weight=w, reduce=c.reduce, grad_output=gy)
    ref_w = None if w is None else w.astype(np.float64)
    num = _numeric_grad(lambda a: _expected(a, t, ref_w, c.reduce, True), x, gy)
    assert gx.dtype == c.dtype
    np.testing.assert_allclose(gx.astype(np.float64), num, **_backward_tol(c.dtype))


DOUBLE_CASES = [c for c in CASES if c.dtype != np.float16]  # torch on the CPU: float32 / float64


@pytest.mark.parametrize("c", DOUBLE_CASES, ids=[c.id for c in DOUBLE_CASES])
def test_double_backward(c: Case) -> None:
    """``check_double_backward``: d sum(gx * ggx) / dx with gx = d sum(loss * gy) / dx, against PyTorch
    autograd of the expected formula (``-w[t] log_softmax(x)[t]``, Chainer's normalisation)."""
    torch = pytest.importorskip("torch")
    d = _inputs(c, seed=len(c.id) + 7 * int(c.normalize))
    x64 = torch.tensor(d["x"], dtype=torch.float64)
    t = torch.tensor(d["t"].astype(np.int64))
    w = None if d["w"] is None else torch.tensor(d["w"], dtype=torch.float64)
    gy, ggx = torch.tensor(d["gy"], dtype=torch.float64), torch.tensor(d["ggx"], dtype=torch.float64)

    def reference(x: Any) -> Any:
        valid = t != -1
        logp = torch.log_softmax(x, 1)
        picked = torch.gather(logp, 1, torch.where(valid, t, 0).unsqueeze(1)).squeeze(1)
        per = -picked * (1.0 if w is None else w[torch.where(valid, t, 0)]) * valid
        if c.reduce == "no":
            return per
        n = valid.sum() if c.normalize else torch.tensor(len(t))
        return per.sum() / torch.clamp(n, min=1)

    def second(fn: Any, x: Any) -> tuple[Any, Any]:
        x = x.detach().clone().requires_grad_(True)
        (gx,) = torch.autograd.grad((fn(x) * gy).sum(), x, create_graph=True)
        (hv,) = torch.autograd.grad((gx * ggx).sum(), x)
        return gx.detach(), hv

    def ours(x: Any) -> Any:
        cw = None if w is None else w.to(x.dtype)
        return softmax_cross_entropy(x, t.to(torch.int32), c.normalize, True, cw, reduce=c.reduce,
                                     enable_double_backprop=True)  # fmt: skip

    want_g, want_h = second(reference, x64)
    got_g, got_h = second(ours, x64)
    np.testing.assert_allclose(got_g.numpy(), want_g.numpy(), atol=1e-10, rtol=1e-8)
    np.testing.assert_allclose(got_h.numpy(), want_h.numpy(), atol=1e-10, rtol=1e-8)


@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("t_value, valid", [(-2, False), (3, False), (-1, True)])
def test_value_check(t_value: int, valid: bool, double: bool) -> None:
    """``TestSoftmaxCrossEntropyValueCheck``: labels -2 and 3 (C = 2) raise ValueError; -1 is ignored."""
    x = np.random.default_rng(0).uniform(-1, 1, (2, 2)).astype(np.float32)
    t = np.array([t_value, 0], dtype=np.int32)
    if valid:
        softmax_cross_entropy(x, t, enable_double_backprop=double)
    else:
        with pytest.raises(ValueError):
            softmax_cross_entropy(x, t, enable_double_backprop=double)


@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize(
    "class_weight", [np.array([[0, 0]], dtype="f"), np.array([0, 0], dtype=np.int32)], ids=["ndim", "dtype"]
)
def test_class_weight_assertion(class_weight: np.ndarray, double: bool) -> None:
    """``TestClassWeightAssertion``: a 2-D or integer class weight raises ValueError (integer ``x`` there)."""
    x, t = np.array([[0, 1], [2, 3]]), np.array([0, 1])
    with pytest.raises(ValueError):
        softmax_cross_entropy(x, t, class_weight=class_weight, enable_double_backprop=double)


@pytest.mark.parametrize("double", [False, True])
def test_invalid_reduce(double: bool) -> None:
    """``TestSoftmaxCrossEntropyInvalidReduce``."""
    x, t = np.random.default_rng(0).uniform(-1, 1, (2, 3)).astype("f"), np.zeros((2,), "i")
    with pytest.raises(ValueError):
        softmax_cross_entropy(x, t, reduce="unknown_reduce_type", enable_double_backprop=double)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("double", [False, True])
@pytest.mark.parametrize("reduce", ["mean", "no"])
@pytest.mark.parametrize("ignore_label", [-2, 9])
def test_non_default_ignore_label(ignore_label: int, reduce: str, double: bool, weighted: bool) -> None:
    """``TestNonDefaultIgnoreLabel``: every label is ``ignore_label`` (9 is not even a class of C = 3):
    loss 0 (``'mean'``) or zeros, gradient 0, second derivative 0."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (2, 3)).astype(np.float32)
    t = np.full((2,), ignore_label, dtype=np.int32)
    w = np.ones((3,), dtype=np.float32) if weighted else None
    gy = rng.uniform(-1, 1, () if reduce == "mean" else (2,)).astype(np.float32)
    kw: dict[str, Any] = {"reduce": reduce, "class_weight": w, "ignore_label": ignore_label}
    loss = softmax_cross_entropy(x, t, enable_double_backprop=double, **kw)
    np.testing.assert_allclose(loss, 0.0 if reduce == "mean" else np.zeros((2,), np.float32))
    _, gx = softmax_cross_entropy.value_and_grad(x, t, grad_output=gy, enable_double_backprop=double, **kw)
    np.testing.assert_array_equal(gx, np.zeros_like(x))
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    kw_t = {**kw, "class_weight": None if w is None else torch.tensor(w)}
    out = softmax_cross_entropy(xt, torch.tensor(t), enable_double_backprop=True, **kw_t)
    (g,) = torch.autograd.grad((out * torch.tensor(gy)).sum(), xt, create_graph=True)
    (h,) = torch.autograd.grad((g * torch.ones_like(g)).sum(), xt, allow_unused=True)
    assert float(g.abs().sum()) == 0.0 and (h is None or float(h.abs().sum()) == 0.0)


SIGMOID = [((8, 7), True, False), ((8, 7), False, False), ((8, 7), True, True), ((65536, 1), False, False)]


@pytest.mark.parametrize("shape, normalize, ignore_all", SIGMOID, ids=["8x7-norm", "8x7", "8x7-ignore_all", "65536x1"])
def test_sigmoid_cross_entropy(shape: tuple[int, int], normalize: bool, ignore_all: bool) -> None:
    """``TestSigmoidCrossEntropy``: labels in {-1, 0, 1} (-1 ignored; all of them with ``ignore_all``: loss 0),
    the test's loop ``-(x (t - (x >= 0)) - log(1 + exp(-|x|)))`` over non-ignored elements, divided by their
    count (``normalize``) or by ``t.shape[0]``, to 5 places; the gradient against central differences
    (``check_backward``, ``eps=1e-2``; not for the 65536 x 1 case, as in the test)."""
    rng = np.random.default_rng(sum(shape) + normalize + 2 * ignore_all)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    t = -np.ones(shape, np.int32) if ignore_all else rng.integers(-1, 2, shape).astype(np.int32)

    def expected(a: np.ndarray) -> np.ndarray:
        a = a.astype(np.float64)
        valid = t != -1
        per = -(a * (t - (a >= 0)) - np.log1p(np.exp(-np.abs(a))))
        total, count = float(np.where(valid, per, 0.0).sum()), int(valid.sum())
        if ignore_all:
            return np.asarray(0.0)
        return np.asarray(total / count if normalize else total / t.shape[0])

    loss = sigmoid_cross_entropy(x, t, normalize)
    assert loss.shape == () and loss.dtype == np.float32
    assert abs(float(loss) - float(expected(x))) < 0.5e-5  # assertAlmostEqual(places=5)
    if shape[0] != 65536:
        _, g = sigmoid_cross_entropy.value_and_grad(x, t, normalize)
        np.testing.assert_allclose(g, _numeric_grad(expected, x, None, h=1e-3), atol=1e-5, rtol=1e-3)

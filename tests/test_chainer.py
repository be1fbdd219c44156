"""The Chainer dialect beyond the golden replay: double backprop, and what the golden table cannot say.

* ``double_backward`` entries of ``chainer.json`` (recorded from Chainer 7.8.1 with
  ``chainer.grad(..., enable_double_backprop=True)``): the Hessian-vector product
  ``d sum(gx * v) / dx`` on every autodiff backend, or ``RuntimeError`` where Chainer refuses
  (``enable_double_backprop=False``, its default).
* the golden cases where Chainer's backward is not the derivative of its forward are exactly the
  ones the dialect documents.
* the class weight that Chainer ignores for soft targets is ignored here too, with a warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.conftest import BackendInfo, assert_close
from unified_ce import CrossEntropySpec
from unified_ce.adapters import chainer as dialect
from unified_ce.adapters.chainer import sigmoid_cross_entropy, softmax_cross_entropy
from unified_ce.conformance import _format

GOLDEN = _format.load("chainer")
DOUBLE = GOLDEN["double_backward"]
FUNCS: dict[str, Any] = {"softmax_cross_entropy": softmax_cross_entropy, "sigmoid_cross_entropy": sigmoid_cross_entropy}


def _second_derivative(be: BackendInfo, fn: Any, x: Any, go: Any, v: Any) -> tuple[Any, Any]:
    """(gx, d sum(gx * v) / dx) with gx = d sum(fn(x) * go) / dx, by the backend's autodiff."""
    if be.name.startswith("torch"):
        import torch

        x = x.detach().clone().requires_grad_(True)
        out = fn(x)
        (gx,) = torch.autograd.grad(out, x, torch.ones_like(out) if go is None else go, create_graph=True)
        (hv,) = torch.autograd.grad((gx * v).sum(), x)
        return gx.detach(), hv
    import jax
    import jax.numpy as jnp

    def first(x: Any) -> Any:
        out, vjp = jax.vjp(fn, x)
        return vjp(jnp.ones_like(out) if go is None else go)[0]

    def inner(x: Any) -> Any:
        return jnp.sum(first(x) * v)

    grad2 = jax.grad(inner)
    if be.jit:
        first, grad2 = jax.jit(first), jax.jit(grad2)
    return first(x), grad2(x)


@pytest.mark.parametrize("case", DOUBLE, ids=[c["id"] for c in DOUBLE])
def test_double_backward(case: dict[str, Any], autodiff_backend: BackendInfo) -> None:
    be = autodiff_backend
    fn0 = FUNCS[case["api"]]
    args, kwargs = case["args"], case["kwargs"]
    rest = [be.asarray(a) for a in args[1:]]

    def fn(x: Any) -> Any:
        return fn0(x, *rest, **kwargs)

    x = be.asarray(args[0])
    go = None if case["grad_output"] is None else be.asarray(case["grad_output"])
    v = be.asarray(case["v"])
    expect = case["expect"]
    dtype = args[0].dtype
    if "error" in expect:
        with pytest.raises(RuntimeError, match="enable_double_backprop=True"):
            _second_derivative(be, fn, x, go, v)
        return
    gx, hv = _second_derivative(be, fn, x, go, v)
    assert_close(be.to_numpy(gx), expect["first_grad"], dtype=dtype, what=f"first gradient of {case['id']}")
    assert_close(be.to_numpy(hv), expect["output"], dtype=dtype, what=f"second derivative of {case['id']}")


def test_first_gradient_works_without_double_backprop(autodiff_backend: BackendInfo) -> None:
    """enable_double_backprop=False forbids only the second derivative, as in Chainer."""
    (case,) = [c for c in DOUBLE if c["id"] == "dd/sce-no_dbp-f64"]
    be = autodiff_backend
    x, t = (be.asarray(a) for a in case["args"])
    _, g = be.grad(lambda x: softmax_cross_entropy(x, t), x)
    assert_close(be.to_numpy(g), case["expect"]["first_grad"], what="first gradient")


def test_grad_deviations_are_exactly_the_documented_ones() -> None:
    """Every golden case whose Chainer backward differs from the derivative of its forward is listed."""
    recorded = {c["id"] for c in GOLDEN["cases"] if "grad_of_forward" in c["expect"] and not c["invalid"]}
    assert recorded == set(dialect.GOLDEN_GRAD_DEVIATIONS)


def test_unnormalised_soft_target_gradient_is_chainers_plus_the_missing_term() -> None:
    """Chainer's soft-target gradient is (softmax - t) * coeff; the derivative adds (sum t - 1) softmax coeff."""
    (case,) = [c for c in GOLDEN["cases"] if c["id"] == "sce/soft-ce-unnormalized-f64"]
    x, t = case["args"]
    loss, grad = softmax_cross_entropy.value_and_grad(x, t)
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    coeff = 1.0 / (x.size / x.shape[1])
    missing = (t.sum(1, keepdims=True) - 1.0) * p * coeff
    assert_close(grad, case["expect"]["grad"] + missing, what="gradient")
    assert_close(loss, case["expect"]["output"], what="loss")


def test_class_weight_ignored_for_soft_targets_with_a_warning() -> None:
    (case,) = [c for c in GOLDEN["cases"] if c["id"] == "sce/soft-class_weight-f64"]
    x, t = case["args"]
    with pytest.warns(UserWarning, match="class_weight is ignored for soft targets"):
        out = softmax_cross_entropy(x, t, class_weight=case["kwargs"]["class_weight"])
    assert_close(out, case["expect"]["output"])
    assert_close(out, softmax_cross_entropy(x, t))


@pytest.mark.parametrize(
    "kwargs, soft, spec",
    [
        ({}, False, CrossEntropySpec(axis=1, ignore_index=-1, denominator="valid", zero_denominator="zero")),
        (
            {"normalize": False, "ignore_label": None},
            False,
            CrossEntropySpec(axis=1, ignore_index=None, denominator="batch", zero_denominator="zero"),
        ),
        ({"reduce": "no"}, False, CrossEntropySpec(axis=1, ignore_index=-1, reduction="none", zero_denominator="zero")),
        ({}, True, CrossEntropySpec(axis=1, target="probs", denominator="items", zero_denominator="zero")),
        (
            {"soft_target_loss": "kl-divergence", "normalize": False},
            True,
            CrossEntropySpec(
                axis=1, target="probs", soft_loss="kl", kl_eps=1e-7, denominator="items", zero_denominator="zero"
            ),
        ),
    ],
)
def test_translation(kwargs: dict[str, Any], soft: bool, spec: CrossEntropySpec) -> None:
    x = np.zeros((2, 3, 4))
    t = np.full((2, 3, 4), 1 / 3) if soft else np.zeros((2, 4), np.int32)
    call = softmax_cross_entropy.translate(x, t, **kwargs)
    assert call.spec == spec
    assert call.double_backprop is False


def test_sigmoid_translation() -> None:
    call = sigmoid_cross_entropy.translate(np.zeros((2, 3)), np.zeros((2, 3), np.int8), normalize=False)
    assert call.spec == CrossEntropySpec(
        activation="sigmoid", ignore_index=-1, denominator="batch", zero_denominator="zero"
    )
    assert call.double_backprop is True


@pytest.mark.parametrize(
    "kwargs, t, error, match",
    [
        ({"ignore_label": 2.5}, None, TypeError, "ignore_label must be an int or None"),
        ({"ignore_label": True}, None, TypeError, "ignore_label must be an int or None"),
        ({"enable_double_backprop": True}, np.full((2, 3), 1 / 3), TypeError, "enable_double_backprop=True"),
        ({}, np.zeros(2, np.uint8), TypeError, "signed integer"),
        ({}, np.zeros(2, np.float64), ValueError, "soft targets and must have x's shape"),
        ({"reduce": "sum"}, None, ValueError, "reduce must be one of 'mean', 'no'"),
        ({}, np.array([0, 3], np.int32), IndexError, r"t holds class labels outside \[0, 3\)"),
    ],
)
def test_errors_name_chainers_arguments(kwargs: dict[str, Any], t: Any, error: type, match: str) -> None:
    x = np.zeros((2, 3))
    t = np.zeros(2, np.int32) if t is None else t
    with pytest.raises(error, match=match):
        softmax_cross_entropy(x, t, **kwargs)

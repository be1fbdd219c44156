"""The transformers dialect (``ForCausalLMLoss``) and the core features it added: a divisor given at
call time (``denominator="given"``) and float32 computation (``compute_dtype="float32"``).

Expected values come from float64 loops written here (the shift, the mask, the sum and the division
spelled out) and from ``tests/reference.py``; golden data from the real transformers is run by
``tests/test_golden.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import unified_ce as uce
from tests.conftest import BackendInfo, assert_close
from tests.reference import reference
from unified_ce import CrossEntropySpec
from unified_ce._errors import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from unified_ce.adapters._base import Call, run
from unified_ce.adapters.transformers import ForCausalLMLoss


def causal_lm_loss(logits: np.ndarray, labels: np.ndarray, num_items: float | None, ignore: int = -100) -> float:
    """ForCausalLMLoss by loops, in float64: token t of each row against label t + 1."""
    x = np.asarray(logits, np.float64)
    total, count = 0.0, 0
    for row in np.ndindex(labels.shape[:-1]):
        T = labels.shape[-1]
        for t in range(T - 1):
            lab = int(labels[(*row, t + 1)])
            if lab == ignore:
                continue
            v = x[(*row, t)]
            m = max(v)
            total += m + math.log(sum(math.exp(c - m) for c in v)) - v[lab]
            count += 1
    den = count if num_items is None else num_items
    return total / den if den else (math.nan if total == 0 else math.inf)


CASES = [  # (logits shape, ignored fraction, num_items_in_batch, ignore_index)
    ((2, 5, 7), 0.0, None, -100),
    ((2, 5, 7), 0.3, None, -100),
    ((2, 5, 7), 0.3, 11, -100),
    ((3, 4, 6), 0.0, 2.5, 3),
    ((2, 2, 3, 5), 0.2, 4, -100),
    ((6, 4), 0.0, None, -100),
]


@pytest.mark.parametrize(("shape", "ignored", "num_items", "ignore"), CASES)
def test_value_and_gradient_match_the_float64_loop(
    backend: BackendInfo, shape: tuple[int, ...], ignored: float, num_items: float | None, ignore: int
) -> None:
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    x = rng.normal(size=shape) * 2
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    labels[rng.random(labels.shape) < ignored] = ignore
    expected = causal_lm_loss(x, labels, num_items, ignore)
    V = shape[-1]
    out, grad = ForCausalLMLoss.value_and_grad(
        backend.asarray(x), backend.asarray(labels), V, num_items_in_batch=num_items, ignore_index=ignore
    )
    out = backend.to_numpy(out)
    assert out.dtype == np.float32  # logits.float(): float32 whatever the logits' dtype
    assert_close(out, np.asarray(expected), dtype=np.float32)
    h = 1e-6  # central differences of the float64 loop
    num = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        num[i] = (causal_lm_loss(xp_, labels, num_items, ignore) - causal_lm_loss(xm, labels, num_items, ignore)) / (
            2 * h
        )
    g = backend.to_numpy(grad)
    assert g.shape == x.shape
    assert_close(g, num, dtype=np.float32)


def test_given_divisor_is_the_sum_over_the_divisor_as_a_spec() -> None:
    rng = np.random.default_rng(0)
    x, t = rng.normal(size=(6, 5)), np.array([0, 4, -100, 2, 2, 1])
    spec = CrossEntropySpec(ignore_index=-100, denominator="given")
    total = reference(spec.replace(reduction="sum"), x, t)
    for d in (7, 2.5, np.array(3.0), np.float32(4.0), np.int64(9)):
        assert_close(np.asarray(run(Call(spec, x, t, divisor=d))), total / float(d), dtype=np.float64)
    # a divisor of 0 with items to count raises eagerly; with every item ignored it is 0/0 = nan
    with pytest.raises(InvalidArgumentError, match="divisor is 0"):
        run(Call(spec, x, t, divisor=0))
    assert math.isnan(float(run(Call(spec, x, np.full(6, -100), divisor=0))))
    with pytest.raises(InvalidArgumentError, match="divisor"):
        run(Call(spec, x, t))  # no divisor
    with pytest.raises(InvalidArgumentError, match="divisor"):
        run(Call(CrossEntropySpec(), x, np.zeros(6, np.int64), divisor=3))  # a divisor the spec does not use
    with pytest.raises(InvalidArgumentError, match="0-d"):
        run(Call(spec, x, t, divisor=np.array([3.0])))
    with pytest.raises(InvalidTypeError, match="divisor"):
        run(Call(spec, x, t, divisor="3"))
    assert "divisor given at call time" in spec.describe()


def test_divisor_is_a_traced_argument_under_jit() -> None:
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    rng = np.random.default_rng(1)
    x, t = rng.normal(size=(2, 4, 5)).astype(np.float32), rng.integers(0, 5, size=(2, 4))

    @jax.jit
    def f(x: object, n: object) -> object:
        return ForCausalLMLoss(x, jnp.asarray(t), 5, num_items_in_batch=n)

    for n in (3.0, 6.0):  # one compiled program, the divisor a runtime value
        assert_close(
            np.asarray(f(jnp.asarray(x), jnp.asarray(n))), np.asarray(causal_lm_loss(x, t, n)), dtype=np.float32
        )
    # d(S / n)/dn = -S / n**2
    dn = jax.grad(f, argnums=1)(jnp.asarray(x), jnp.asarray(4.0))
    assert_close(np.asarray(dn), np.asarray(-causal_lm_loss(x, t, 1.0) / 16), dtype=np.float32)


def test_torch_divisor_tensor_and_double_backward() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = torch.tensor(rng.normal(size=(2, 4, 5)), requires_grad=True)
    t = torch.tensor(rng.integers(0, 5, size=(2, 4)))
    out = ForCausalLMLoss(x, t, 5, num_items_in_batch=torch.tensor(5))
    assert out.dtype == torch.float32
    (g,) = torch.autograd.grad(out, x, create_graph=True)
    assert g.dtype == torch.float64
    (g2,) = torch.autograd.grad((g * g).sum(), x)  # differentiable gradient
    assert torch.isfinite(g2).all()
    expected = causal_lm_loss(x.detach().numpy().astype(np.float32), t.numpy(), 5)
    assert abs(float(out.detach()) - expected) < 1e-5


def test_float32_computation_of_float64_logits() -> None:
    # transformers 5.24.0: these float64 logits give 2.710495948791504 (float32); float64 gives 2.710495933082915
    x = np.array([[[1.0, 2, 3], [0, 0, 5], [1, 1, 1]]])
    out = ForCausalLMLoss(x, np.array([[0, 2, 1]]), 3)
    assert out.dtype == np.float32 and float(out) == pytest.approx(2.710495948791504, abs=2e-7)
    spec = CrossEntropySpec(compute_dtype="float32")
    value, grad = uce.value_and_grad(x[0], np.array([2, 1, 0]), spec)
    assert value.dtype == np.float32 and grad.dtype == np.float64
    assert "float32" in spec.describe()


def test_errors_name_the_argument_and_are_torch_classes() -> None:
    x, t = np.zeros((2, 3, 4), np.float32), np.zeros((2, 3), np.int64)
    with pytest.raises(InvalidArgumentError, match="vocab_size") as e:
        ForCausalLMLoss(x, t, 5)
    assert isinstance(e.value, RuntimeError)
    with pytest.raises(InvalidTypeError, match="labels") as e2:
        ForCausalLMLoss(x, t.astype(np.float32), 4)
    assert isinstance(e2.value, RuntimeError)
    with pytest.raises(InvalidArgumentError, match=r"shift_labels.*batch_size"):
        ForCausalLMLoss(x, None, 4, shift_labels=np.zeros((2, 2), np.int64))
    with pytest.raises(LabelOutOfRangeError) as e3:
        ForCausalLMLoss(x, np.full((2, 3), 4), 4)
    assert isinstance(e3.value, IndexError)
    with pytest.raises(InvalidTypeError, match="num_items_in_batch"):
        ForCausalLMLoss(x, t, 4, num_items_in_batch=[3])
    # flattened shift_labels with the same token count are reshaped, as view(-1) allows
    flat = np.array([1, 2, -100, 3, 0, -100])
    assert float(ForCausalLMLoss(x, None, 4, shift_labels=flat)) == float(
        ForCausalLMLoss(x, None, 4, shift_labels=flat.reshape(2, 3))
    )

"""The optax dialect's own rules, and what it does not translate yet, checked by value / error.

``tests/test_golden.py`` replays what optax 0.2.8 returned (``golden/optax.json``);
``tests/test_optax_corpus.py`` runs optax's own classification tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from unified_ce import InvalidTypeError, LabelOutOfRangeError
from unified_ce.adapters.optax import (
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
)


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def test_unnormalised_labels_are_taken_as_given() -> None:
    """optax computes -sum(labels * log_softmax); its autodiff gradient is sum(labels) softmax - labels."""
    rng = np.random.default_rng(0)
    x, q = rng.normal(size=(3, 4)), rng.uniform(0, 2, size=(3, 4))
    loss, grad = softmax_cross_entropy.value_and_grad(x, q)
    np.testing.assert_allclose(loss, -(q * _log_softmax(x)).sum(-1), rtol=1e-12)
    np.testing.assert_allclose(grad, q.sum(-1, keepdims=True) * np.exp(_log_softmax(x)) - q, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("bad", [5, -1])
def test_out_of_range_labels_raise(bad: int) -> None:
    """JAX's take_along_axis wraps -1 and fills NaN for C: optax returns a number."""
    with pytest.raises(LabelOutOfRangeError):
        softmax_cross_entropy_with_integer_labels(np.zeros((2, 5)), np.array([0, bad]))


def test_integer_labels_need_an_integer_dtype() -> None:
    with pytest.raises(InvalidTypeError, match=r"subdtype of numpy\.integer"):
        softmax_cross_entropy_with_integer_labels(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_logits_must_be_floating() -> None:
    with pytest.raises(InvalidTypeError, match=r"subdtype of numpy\.floating"):
        softmax_cross_entropy(np.zeros((2, 3), np.int64), np.full((2, 3), 1 / 3))


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        ({"axis": (1, 3)}, ValueError, "out of bounds"),
        ({"axis": (1, 1)}, ValueError, "repeated axis"),
        ({"axis": 1.0}, ValueError, "must be of type 'int' or 'tuple"),
        ({"where": np.ones((2, 5), bool)}, ValueError, "where of shape"),
        ({"where": np.ones((2, 3, 4), np.int64)}, TypeError, "where must be a boolean array"),
    ],
)
def test_bad_axis_and_where_raise_naming_them(kw: dict, exc: type, match: str) -> None:
    with pytest.raises(exc, match=match):
        softmax_cross_entropy(np.zeros((2, 3, 4)), np.full((2, 3, 4), 0.25), **kw)


def test_integer_labels_refuse_axis_none_like_optax() -> None:
    with pytest.raises(ValueError, match=r"must be of type 'int' or 'tuple\[int, \.\.\.\]'"):
        softmax_cross_entropy_with_integer_labels(np.zeros((2, 3)), np.array([0, 1]), axis=None)


def test_sigmoid_integer_labels_are_binary() -> None:
    x = np.array([0.0, 2.0, -1.0])
    np.testing.assert_allclose(
        sigmoid_binary_cross_entropy(x, np.array([1, 0, 1])), [np.log(2.0), np.log1p(np.exp(2.0)), np.log1p(np.e)]
    )
    with pytest.raises(LabelOutOfRangeError):
        sigmoid_binary_cross_entropy(x, np.array([1, 2, 0]))


@pytest.mark.parametrize("lib", ["torch", "jax"])
def test_a_numpy_where_works_with_another_librarys_logits(lib: str) -> None:
    """optax accepts a NumPy ``where`` with JAX logits; so does the dialect, on torch too (a constant)."""
    mod = pytest.importorskip(lib)
    x = np.random.default_rng(0).normal(size=(3, 4))
    p, w = np.full((3, 4), 0.25), np.array([True, False, True])
    want = softmax_cross_entropy(x, p, where=w)
    conv = mod.tensor if lib == "torch" else mod.numpy.asarray
    got = softmax_cross_entropy(conv(x), conv(p), where=w)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    assert want[1] == 0


def test_where_is_not_evaluated_over_several_processes() -> None:
    fn = softmax_cross_entropy.distributed(process_group=object())
    with pytest.raises(ValueError, match="class mask"):
        fn(np.zeros((2, 3)), np.full((2, 3), 1 / 3), where=np.ones((2, 3), bool))

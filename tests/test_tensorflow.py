"""The tensorflow dialect's own rules and deliberate deviations, checked by value.

``tests/test_golden.py`` replays what TensorFlow 2.21 returned (``golden/tensorflow.json``);
``tests/test_tensorflow_corpus.py`` runs TensorFlow's own unit tests.  Here: the places where the
dialect deliberately differs, against float64 NumPy formulas.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import BackendInfo, assert_close
from unified_ce import InvalidArgumentError, InvalidTypeError
from unified_ce.adapters.tensorflow import (
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits,
)


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def test_unnormalised_labels_gradient_is_the_derivative(backend: BackendInfo) -> None:
    """TensorFlow's backward returns softmax - labels; here the derivative of its forward:
    sum(labels) * softmax - labels (rows of labels not summing to 1)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    q = rng.uniform(0, 2, size=(3, 4))
    loss, grad = softmax_cross_entropy_with_logits.value_and_grad(backend.asarray(q), backend.asarray(x))
    p = np.exp(_log_softmax(x))
    assert_close(backend.to_numpy(loss), -(q * _log_softmax(x)).sum(-1), dtype=np.float64, what="forward")
    assert_close(backend.to_numpy(grad), q.sum(-1, keepdims=True) * p - q, dtype=np.float64, what="gradient")
    assert not np.allclose(backend.to_numpy(grad), p - q)  # TensorFlow's backward would differ here


def test_labels_come_first_and_name_is_ignored() -> None:
    x = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]])
    t = np.array([0, 1])
    a = sparse_softmax_cross_entropy_with_logits(t, x, name="xent")
    b = sparse_softmax_cross_entropy_with_logits(logits=x, labels=t)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, -_log_softmax(x)[[0, 1], [0, 1]], rtol=1e-12)


def test_sparse_labels_must_be_integers() -> None:
    with pytest.raises(InvalidTypeError, match="labels must be integer"):
        sparse_softmax_cross_entropy_with_logits(np.array([0.0, 1.0]), np.zeros((2, 3)))


def test_sigmoid_labels_must_have_the_logits_dtype() -> None:
    with pytest.raises(InvalidTypeError, match="labels must have the logits' dtype"):
        sigmoid_cross_entropy_with_logits(labels=np.ones(3, np.float32), logits=np.zeros(3))


def test_sigmoid_negative_labels_raise() -> None:
    """TensorFlow computes a number for labels < 0; they are not probabilities."""
    with pytest.raises(InvalidArgumentError, match="labels"):
        sigmoid_cross_entropy_with_logits(labels=np.array([-0.5, 1.0]), logits=np.zeros(2))


def test_negative_axis_on_rank_4() -> None:
    """TensorFlow 2.21 fails for axis=-2 on rank 4 (inside tf.range); the dialect computes it."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 4, 2))
    q = np.exp(_log_softmax(rng.normal(size=x.shape), axis=-2))
    out = softmax_cross_entropy_with_logits(q, x, axis=-2)
    np.testing.assert_allclose(out, -(q * _log_softmax(x, axis=-2)).sum(-2), rtol=1e-12)


def test_value_and_grad_and_distributed_exist() -> None:
    f = sparse_softmax_cross_entropy_with_logits.distributed()
    x = np.zeros((2, 3))
    np.testing.assert_allclose(f(np.array([0, 2]), x), np.log(3.0) * np.ones(2))


def test_weighted_formula_and_gradient_at_zero(backend: BackendInfo) -> None:
    """(1 - z) x + (1 + (q - 1) z) softplus(-x); the gradient is its derivative also at x == 0, where
    TensorFlow's autodiff of log1p(exp(-|x|)) + relu(-x) gives (1 - z)."""
    x = np.array([0.0, 0.0, -3.0, 2.5, 0.0])
    z = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    q = np.array([2.0, 3.0, 0.5, 4.0, 1.5])
    loss, grad = weighted_cross_entropy_with_logits.value_and_grad(
        backend.asarray(z), backend.asarray(x), pos_weight=backend.asarray(q)
    )
    lw = 1 + (q - 1) * z
    assert_close(backend.to_numpy(loss), (1 - z) * x + lw * np.log1p(np.exp(-x)), dtype=np.float64, what="loss")
    assert_close(backend.to_numpy(grad), (1 - z) - lw / (1 + np.exp(x)), dtype=np.float64, what="gradient")


def test_weighted_pos_weight_per_class() -> None:
    x = np.random.default_rng(2).normal(size=(3, 4))
    z = np.random.default_rng(3).integers(0, 2, size=(3, 4)).astype(np.float64)
    q = np.array([0.5, 1.0, 2.0, 4.0])
    want = (1 - z) * x + (1 + (q - 1) * z) * np.log1p(np.exp(-x))
    np.testing.assert_allclose(weighted_cross_entropy_with_logits(z, x, q), want, rtol=1e-12)


# labels shapes TensorFlow 2.21 refuses (golden: labels_broadcast-*-error), or accepts only through its
# flattening to 2-D with axis != -1 (not translated): each raises a ValueError naming the labels and the form
# wanted (with axis=-1 those shapes are reshaped to TensorFlow's (rows, classes) view: golden labels_rank3-rows1,
# logits_rank1, rows_resplit)
@pytest.mark.parametrize(
    ("labels_shape", "logits_shape", "axis", "wanted"),
    [
        ((), (4, 5), -1, "at least one dimension"),
        ((4,), (4, 5), -1, "rows must be 1 or 4, classes 1 or 5"),
        ((2, 4, 5), (4, 5), -1, "rows must be 1 or 4"),
        ((2, 1, 5), (2, 3, 5), -1, "rows must be 1 or 6"),
        ((4, 5), (4, 1), -1, "classes 1 or 1"),
        ((5,), (5, 4), 0, "the logits' rank 2 when axis=0"),
        ((5, 3, 2), (5, 2, 3), 0, "NumPy rules, with axis=0"),  # another split of the rows, axis != -1
    ],
)
def test_softmax_labels_shapes_refused(labels_shape: tuple, logits_shape: tuple, axis: int, wanted: str) -> None:
    labels, logits = np.full(labels_shape, 0.2), np.zeros(logits_shape)
    with pytest.raises(InvalidArgumentError, match=r"^labels ") as info:
        softmax_cross_entropy_with_logits(labels, logits, axis=axis)
    assert isinstance(info.value, ValueError)
    assert wanted in str(info.value)

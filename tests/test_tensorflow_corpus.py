"""TensorFlow's own cross-entropy unit tests, ported: the tensorflow dialect must pass them.

Sources (tensorflow/tensorflow): ``tensorflow/python/kernel_tests/nn_ops/xent_op_test_base.py``
(softmax), ``tensorflow/python/kernel_tests/sparse_ops/sparse_xent_op_test_base.py`` (sparse) and
``tensorflow/python/ops/nn_xent_test.py`` (sigmoid, weighted).  Expected values are the numbers
written in those tests, or their NumPy reference formulas (``_npXent``, ``_SigmoidCrossEntropyWithLogits``)
with the tolerances the tests use.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import BackendInfo
from unified_ce.adapters.tensorflow import (
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits,
    weighted_cross_entropy_with_logits,
)


def _np_xent(labels: np.ndarray, logits: np.ndarray, dim: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """``XentOpTestBase._npXent``: loss and TensorFlow's backward ``softmax - labels``."""
    e = np.exp(logits - logits.max(axis=dim, keepdims=True))
    probs = e / e.sum(axis=dim, keepdims=True)
    return -np.sum(labels * np.log(probs + 1.0e-20), axis=dim), probs - labels


def _np_sparse_xent(labels: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``SparseXentOpTestBase._npXent`` (reshaped back to the labels' shape)."""
    onehot = np.eye(logits.shape[-1], dtype=logits.dtype)[labels]
    loss, grad = _np_xent(onehot, logits)
    return loss, grad


def _tol(dtype: type) -> dict[str, float]:
    """``assertAllCloseAccordingToType``'s tolerances (half: 1e-3; the loss of half uses half_rtol=1e-2)."""
    return {np.float16: {"rtol": 1e-2, "atol": 1e-3}, np.float32: {"rtol": 1e-6, "atol": 1e-6}}.get(
        dtype, {"rtol": 1e-6, "atol": 1e-6}
    )


LOGITS = np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]])
SOFT = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 0.5, 0.5, 0.0]])


# ------------------------------------------------------------------ softmax_cross_entropy_with_logits


def test_np_xent_numbers(backend: BackendInfo) -> None:
    """testNpXent: the numbers written in the test (rtol=atol=1e-3)."""
    loss, grad = softmax_cross_entropy_with_logits.value_and_grad(backend.asarray(SOFT), backend.asarray(LOGITS))
    np.testing.assert_allclose(backend.to_numpy(loss), [1.3862, 1.9401], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(
        backend.to_numpy(grad), [[0.25, 0.25, 0.25, -0.75], [0.0321, -0.4129, -0.2632, 0.6439]], rtol=1e-3, atol=1e-3
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_xent_2d_dtypes(dtype: type) -> None:
    """testHalf / testFloat / testDouble against ``_npXent`` (loss and gradient)."""
    labels, logits = SOFT.astype(dtype), LOGITS.astype(dtype)
    want_loss, want_grad = _np_xent(SOFT, LOGITS)
    loss, grad = softmax_cross_entropy_with_logits.value_and_grad(labels, logits)
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.astype(np.float64), want_loss, **_tol(dtype))
    np.testing.assert_allclose(grad.astype(np.float64), want_grad, **_tol(dtype))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_xent_3d(dim: int) -> None:
    """test3D: the loss along every axis of a (3, 2, 4) input."""
    labels = np.array(
        [
            [[0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0]],
            [[0.0, 0.5, 0.5, 0.0], [0.5, 0.5, 0.0, 0.0]],
            [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]],
        ],
        np.float32,
    )
    logits = np.array(
        [
            [[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]],
            [[2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0]],
            [[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]],
        ],
        np.float32,
    )
    want, _ = _np_xent(labels.astype(np.float64), logits.astype(np.float64), dim=dim)
    np.testing.assert_allclose(softmax_cross_entropy_with_logits(labels, logits, axis=dim), want, rtol=1e-6, atol=1e-6)


def test_xent_zero_dimension() -> None:
    """testZeroDimension: a (0, 2, 4) input gives a (0, 2) loss."""
    out = softmax_cross_entropy_with_logits(np.zeros((0, 2, 4), np.float32), np.zeros((0, 2, 4), np.float32))
    assert out.shape == (0, 2) and out.dtype == np.float32


def test_xent_gradient_matches_finite_differences() -> None:
    """testGradient: the gradient of the loss (labels rows summing to 1) against finite differences."""
    labels = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.5]).reshape(3, 4)
    logits = np.array([0.1, 0.2, 0.3, 0.4, 0.1, 0.4, 0.9, 1.6, 0.1, 0.8, 2.7, 6.4]).reshape(3, 4)
    go = np.array([0.3, -1.2, 0.7])
    _, grad = softmax_cross_entropy_with_logits.value_and_grad(labels, logits, grad_output=go)
    h = 1e-6
    fd = np.zeros_like(logits)
    for i in np.ndindex(*logits.shape):
        d = np.zeros_like(logits)
        d[i] = h
        up = softmax_cross_entropy_with_logits(labels, logits + d)
        down = softmax_cross_entropy_with_logits(labels, logits - d)
        fd[i] = np.sum((up - down) * go) / (2 * h)
    assert np.max(np.abs(grad - fd)) < 5e-8


def test_xent_shape_mismatch() -> None:
    """testShapeMismatch: ValueError."""
    with pytest.raises(ValueError):
        softmax_cross_entropy_with_logits(
            np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]), np.array([[0.0, 1.0], [2.0, 3.0]])
        )


def test_xent_single_class() -> None:
    """testSingleClass: C=1 with labels [-1, 0, 1, 1]: loss 0 (TensorFlow's backward gives
    ``softmax - labels`` = [2, 1, 0, 0]; the derivative of that loss is ``sum(labels) softmax - labels`` = 0)."""
    labels = np.array([[-1.0], [0.0], [1.0], [1.0]])
    loss, grad = softmax_cross_entropy_with_logits.value_and_grad(labels, np.array([[1.0], [-1.0], [0.0], [1.0]]))
    np.testing.assert_allclose(loss, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(grad, np.zeros((4, 1)))


def test_xent_single_class_valid_labels() -> None:
    """testSingleClass with the labels a distribution over one class can hold (1): loss 0, gradient 0."""
    loss, grad = softmax_cross_entropy_with_logits.value_and_grad(
        np.ones((4, 1)), np.array([[1.0], [-1.0], [0.0], [1.0]])
    )
    np.testing.assert_allclose(loss, [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(grad, np.zeros((4, 1)))


# testLabelsBroadcast (float16 in TensorFlow; float64 here, tolerance 1e-3 as _testXent2D's for half)
_BROADCAST = [
    (np.array([[0.0, 0.0, 0.0, 1.0]]), LOGITS),  # (1, 4) labels against (2, 4) logits
    (np.array([[1.0]]), np.array([[1.0], [2.0]])),  # (1, 1) against (2, 1)
    (np.array([[0.0], [2.0], [0.25]]), np.array([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])),
]


@pytest.mark.parametrize("case", range(len(_BROADCAST)))
def test_xent_labels_broadcast(backend: BackendInfo, case: int) -> None:
    """testLabelsBroadcast: labels broadcast against the logits, loss against ``_npXent`` of the broadcast labels."""
    labels, logits = _BROADCAST[case]
    want, _ = _np_xent(np.broadcast_to(labels, logits.shape), logits)
    loss = softmax_cross_entropy_with_logits(backend.asarray(labels), backend.asarray(logits))
    np.testing.assert_allclose(backend.to_numpy(loss), want, rtol=1e-3, atol=1e-3)


def test_xent_labels_broadcast_gradient() -> None:
    """testLabelsBroadcast's (3, 1) labels: the gradient of the deterministic TensorFlow op
    (``xent_op_deterministic_test.py``, the derivative of the forward) -- the default kernel's
    ``softmax - labels`` gives ``[[0.25] * 4, [-1.968, ...], ...]`` since the broadcast rows do not sum to 1."""
    labels, logits = _BROADCAST[2]
    _, grad = softmax_cross_entropy_with_logits.value_and_grad(labels, logits)
    want = [[0.0, 0.0, 0.0, 0.0], [-1.743, -1.303, -0.105, 3.150], [-0.218, -0.163, -0.013, 0.394]]
    np.testing.assert_allclose(grad, want, rtol=1e-3, atol=1e-3)


# ------------------------------------------------------------------ sparse_softmax_cross_entropy_with_logits


def test_sparse_np_xent_numbers(backend: BackendInfo) -> None:
    """SparseXentOpTestBase.testNpXent: labels [3, 0], the numbers written in the test (rtol=atol=1e-3)."""
    loss, grad = sparse_softmax_cross_entropy_with_logits.value_and_grad(
        backend.asarray(np.array([3, 0])), backend.asarray(LOGITS)
    )
    np.testing.assert_allclose(backend.to_numpy(loss), [1.3862, 3.4420], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(
        backend.to_numpy(grad), [[0.25, 0.25, 0.25, -0.75], [-0.968, 0.087, 0.237, 0.6439]], rtol=1e-3, atol=1e-3
    )


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
def test_sparse_dtypes(dtype: type, label_dtype: type) -> None:
    """testHalf / testFloat / testDouble with int32 and int64 labels, against ``_npXent``."""
    labels = np.array([3, 0]).astype(label_dtype)
    want_loss, want_grad = _np_sparse_xent(labels, LOGITS)
    loss, grad = sparse_softmax_cross_entropy_with_logits.value_and_grad(labels, LOGITS.astype(dtype))
    assert loss.dtype == dtype
    np.testing.assert_allclose(loss.astype(np.float64), want_loss, **_tol(dtype))
    np.testing.assert_allclose(grad.astype(np.float64), want_grad, **_tol(dtype))


def test_sparse_higher_rank() -> None:
    """testHighDim / testHighDim2: (1, 2, 4) and (2, 2, 4) logits, loss of the labels' shape."""
    labels = np.array([[3, 0], [1, 2]])
    logits = np.array([[[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0]], [[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]]])
    want, _ = _np_sparse_xent(labels, logits)
    loss = sparse_softmax_cross_entropy_with_logits(labels, logits)
    assert loss.shape == (2, 2)
    np.testing.assert_allclose(loss, want, rtol=1e-12)


def test_sparse_scalar_logits() -> None:
    """testScalar: logits must not be a scalar (ValueError)."""
    with pytest.raises(ValueError):
        sparse_softmax_cross_entropy_with_logits(np.array(0), np.array(1.0))


@pytest.mark.parametrize("bad", [4, -1])
def test_sparse_invalid_label(bad: int) -> None:
    """testInvalidLabelCPU: a label outside [0, C) raises (TensorFlow: InvalidArgumentError on CPU)."""
    with pytest.raises(ValueError, match="label"):
        sparse_softmax_cross_entropy_with_logits(np.array([4, 3, 0, bad]), np.ones((4, 4)))


def test_sparse_shape_mismatch() -> None:
    """testShapeMismatch / testVector-style rank errors: ValueError."""
    with pytest.raises(ValueError):
        sparse_softmax_cross_entropy_with_logits(np.array([0, 2]), np.ones((3, 4)))


# ------------------------------------------------------------------ sigmoid_cross_entropy_with_logits

X = [-100.0, -2.0, -2.0, 0.0, 2.0, 2.0, 2.0, 100.0]
Y = [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.5, 1.0]


def _np_sigmoid_xent(x: list[float], z: list[float], pos_coeff: float = 1.0) -> np.ndarray:
    """``_SigmoidCrossEntropyWithLogits`` / ``_WeightedCrossEntropy`` of nn_xent_test.py (pred clipped at 1e-4)."""
    pred = [min(max(1 / (1 + math.exp(-v)), 1e-4), 1 - 1e-4) for v in x]
    return np.array([-zz * pos_coeff * math.log(p) - (1 - zz) * math.log(1 - p) for p, zz in zip(pred, z)])


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("sizes", [(8,), (2, 2, 2)])
def test_logistic_output(dtype: type, sizes: tuple[int, ...]) -> None:
    """testLogisticOutput / testLogisticOutputMultiDim (atol=0.001)."""
    logits = np.array(X, dtype).reshape(sizes)
    targets = np.array(Y, dtype).reshape(sizes)
    out = sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    assert out.dtype == dtype and out.shape == sizes
    np.testing.assert_allclose(out.astype(np.float32), _np_sigmoid_xent(X, Y).reshape(sizes), atol=0.001)


def test_logistic_gradient_at_zero() -> None:
    """testGradientAtZero: [0.5, -0.5]."""
    _, grad = sigmoid_cross_entropy_with_logits.value_and_grad(labels=np.array([0.0, 1.0]), logits=np.zeros(2))
    np.testing.assert_allclose(grad, [0.5, -0.5])


def test_logistic_gradient_matches_finite_differences() -> None:
    """testGradient: sizes [4, 2], float64, error < 1e-7."""
    logits = np.array(X).reshape(4, 2)
    targets = np.array(Y).reshape(4, 2)
    _, grad = sigmoid_cross_entropy_with_logits.value_and_grad(labels=targets, logits=logits)
    h = 1e-6
    fd = (
        sigmoid_cross_entropy_with_logits(labels=targets, logits=logits + h)
        - sigmoid_cross_entropy_with_logits(labels=targets, logits=logits - h)
    ) / (2 * h)
    assert np.max(np.abs(grad - fd)) < 1e-7


def test_logistic_shape_error() -> None:
    """testShapeError: 'must have the same shape' (ValueError)."""
    with pytest.raises(ValueError, match="shape"):
        sigmoid_cross_entropy_with_logits(labels=np.array([1.0, 2.0, 3.0]), logits=np.array([[2.0, 1.0]]))


@pytest.mark.parametrize("sizes", [(8,), (2, 2, 2)])
def test_weighted_output(sizes: tuple[int, ...]) -> None:
    """WeightedCrossEntropyTest.testOutput / testOutputMultiDim (pos_weight=3, float32, atol=0.001)."""
    out = weighted_cross_entropy_with_logits(
        labels=np.array(Y, np.float32).reshape(sizes), logits=np.array(X, np.float32).reshape(sizes), pos_weight=3.0
    )
    assert out.dtype == np.float32 and out.shape == sizes
    np.testing.assert_allclose(out, _np_sigmoid_xent(X, Y, 3.0).reshape(sizes), atol=0.001)


def test_weighted_gradient_matches_finite_differences() -> None:
    """WeightedCrossEntropyTest.testGradient: sizes [4, 2], float64, error < 1e-7."""
    logits, targets = np.array(X).reshape(4, 2), np.array(Y).reshape(4, 2)
    _, grad = weighted_cross_entropy_with_logits.value_and_grad(targets, logits, pos_weight=3.0)
    h = 1e-6
    fd = (
        weighted_cross_entropy_with_logits(targets, logits + h, pos_weight=3.0)
        - weighted_cross_entropy_with_logits(targets, logits - h, pos_weight=3.0)
    ) / (2 * h)
    assert np.max(np.abs(grad - fd)) < 1e-7


def test_weighted_shape_error() -> None:
    """WeightedCrossEntropyTest.testShapeError: 'must have the same shape' (ValueError)."""
    with pytest.raises(ValueError, match="shape"):
        weighted_cross_entropy_with_logits(
            labels=np.array([1.0, 2.0, 3.0]), logits=np.array([[2.0, 1.0]]), pos_weight=2.0
        )

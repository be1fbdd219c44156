"""optax's own classification-loss unit tests, ported: the optax dialect must pass them.

Source: google-deepmind/optax ``optax/losses/_classification_test.py`` (0.2.8): ``SoftmaxCrossEntropyTest``,
``SafeSoftmaxCrossEntropyTest``, ``SoftmaxCrossEntropyWithIntegerLabelsTest``, ``SigmoidCrossEntropyTest``.
Expected values are the numbers written in those tests (or the test's own consistency relations),
with the tolerances they use.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import BackendInfo
from unified_ce.adapters.optax import (
    safe_softmax_cross_entropy,
    sigmoid_binary_cross_entropy,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
)

YS = np.array([[10.0, 1.0, -2.0], [1.0, 4.0, 0.2]], np.float32)
TS = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], np.float32)
EXP = np.array([9.00013, 3.0696733], np.float32)


def test_softmax_scalar_and_batched(backend: BackendInfo) -> None:
    """SoftmaxCrossEntropyTest.test_scalar / test_batched (atol=1e-4)."""
    np.testing.assert_allclose(
        backend.to_numpy(softmax_cross_entropy(backend.asarray(YS[0]), backend.asarray(TS[0]))), EXP[0], atol=1e-4
    )
    np.testing.assert_allclose(
        backend.to_numpy(softmax_cross_entropy(backend.asarray(YS), backend.asarray(TS))), EXP, atol=1e-4
    )


def test_softmax_gradient_finite_differences() -> None:
    """SoftmaxCrossEntropyTest.test_gradient (check_grads order 1 on the first two rows)."""
    x, t = YS.astype(np.float64), TS.astype(np.float64)
    _, g = softmax_cross_entropy.value_and_grad(x, t)
    h = 1e-6
    fd = np.zeros_like(x)
    for i in np.ndindex(*x.shape):
        d = np.zeros_like(x)
        d[i] = h
        fd[i] = np.sum(softmax_cross_entropy(x + d, t) - softmax_cross_entropy(x - d, t)) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_softmax_axis(axis: int) -> None:
    """SoftmaxCrossEntropyTest.test_axis: axis=k equals moveaxis(k, -1) (atol=1e-4)."""
    rng = np.random.default_rng(axis)
    shape = [4, 5, 6]
    preds = rng.normal(size=shape)
    shape_t = list(shape)
    targets = rng.dirichlet(np.ones(shape[axis]), size=tuple(s for i, s in enumerate(shape) if i != axis))
    targets = np.moveaxis(targets, -1, axis)
    assert list(targets.shape) == shape_t
    x = softmax_cross_entropy(preds, targets, axis=axis)
    y = softmax_cross_entropy(np.moveaxis(preds, axis, -1), np.moveaxis(targets, axis, -1))
    np.testing.assert_allclose(x, y, atol=1e-4)


PER_LOGIT_MASK = np.array([[1, 0, 0], [0, 0, 0]]).astype(bool)
MASK = np.array([True, False])


@pytest.mark.parametrize("fn", ["softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels"])
def test_per_logit_mask(backend: BackendInfo, fn: str) -> None:
    """{SoftmaxCrossEntropyTest,SoftmaxCrossEntropyWithIntegerLabelsTest}.test_per_logit_mask: rows with
    every logit masked give 0."""
    f, t = (softmax_cross_entropy, TS) if fn == "softmax_cross_entropy" else (
        softmax_cross_entropy_with_integer_labels, INT_TS)  # fmt: skip
    out = backend.to_numpy(f(backend.asarray(YS), backend.asarray(t), where=backend.asarray(PER_LOGIT_MASK)))
    np.testing.assert_array_equal(np.where(np.any(PER_LOGIT_MASK, -1), 0.0, out), 0)


@pytest.mark.parametrize("fn", ["softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels"])
def test_gradient_finite_with_a_mask(backend: BackendInfo, fn: str) -> None:
    """test_gradient's second half: the gradient of sum(loss) is finite when a mask of examples is present."""
    f, t = (softmax_cross_entropy, TS) if fn == "softmax_cross_entropy" else (
        softmax_cross_entropy_with_integer_labels, INT_TS)  # fmt: skip
    _, g = f.value_and_grad(backend.asarray(YS), backend.asarray(t), where=backend.asarray(MASK))
    assert np.all(np.isfinite(backend.to_numpy(g)))


@pytest.mark.parametrize("size", [5, 10])
def test_softmax_mask_equals_slice(size: int) -> None:
    """SoftmaxCrossEntropyTest.test_mask: where= equals the classes sliced out (atol=1e-4)."""
    rng = np.random.default_rng(size)
    preds = rng.normal(size=size)
    targets = rng.dirichlet(np.ones(size))
    mask = rng.integers(2, size=size).astype(bool)
    mask[0] = True  # (an empty slice has no softmax to compare with)
    x = softmax_cross_entropy(preds[mask], targets[mask])
    y = softmax_cross_entropy(preds, targets, where=mask)
    np.testing.assert_allclose(x, y, atol=1e-4)


SAFE_YS = np.array(
    [[10.0, 1.0, -2.0], [1.0, 4.0, 0.2], [-np.inf, 0.0, 0.0], [-np.inf, 0.0, 0.0], [-np.inf, 0.0, -np.inf]],
    np.float32,
)
SAFE_TS = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.4, 0.3, 0.3], [0.0, 1.0, 0.0]], np.float32)
SAFE_EXP = np.array([9.00013, 3.0696733, 0.693147, np.inf, 0.0], np.float32)


def test_safe_finite_rows(backend: BackendInfo) -> None:
    """SafeSoftmaxCrossEntropyTest.test_batched, the rows with finite logits (atol=1e-4)."""
    out = safe_softmax_cross_entropy(backend.asarray(SAFE_YS[:2]), backend.asarray(SAFE_TS[:2]))
    np.testing.assert_allclose(backend.to_numpy(out), SAFE_EXP[:2], atol=1e-4)


def test_safe_batched_with_infinite_logits(backend: BackendInfo) -> None:
    """SafeSoftmaxCrossEntropyTest.test_batched: 0 log 0 = 0 at -inf logits (atol=1e-4; row 4: inf)."""
    out = safe_softmax_cross_entropy(backend.asarray(SAFE_YS), backend.asarray(SAFE_TS))
    np.testing.assert_allclose(backend.to_numpy(out), SAFE_EXP, atol=1e-4)


def test_safe_against_plain_implementation() -> None:
    """SafeSoftmaxCrossEntropyTest.test_against_plain_implementation: finite logits give
    softmax_cross_entropy's value and gradient (atol=1e-4)."""
    v1, g1 = softmax_cross_entropy.value_and_grad(SAFE_YS[0], SAFE_TS[0])
    v2, g2 = safe_softmax_cross_entropy.value_and_grad(SAFE_YS[0], SAFE_TS[0])
    np.testing.assert_allclose(v1, v2, atol=1e-4)
    np.testing.assert_allclose(g1, g2, atol=1e-4)


INT_TS = np.array([1, 0], np.int32)


def test_integer_labels_consistent_with_softmax(backend: BackendInfo) -> None:
    """SoftmaxCrossEntropyWithIntegerLabelsTest.test_consistent_with_softmax_cross_entropy_{scalar,batched}."""
    onehot = np.eye(3, dtype=np.float32)[INT_TS]
    want = softmax_cross_entropy(YS, onehot)
    got = softmax_cross_entropy_with_integer_labels(backend.asarray(YS), backend.asarray(INT_TS))
    np.testing.assert_allclose(backend.to_numpy(got), want, atol=1e-4)
    got0 = softmax_cross_entropy_with_integer_labels(backend.asarray(YS[0]), backend.asarray(INT_TS[0]))
    np.testing.assert_allclose(backend.to_numpy(got0), want[0], atol=1e-4)


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_integer_labels_axis(axis: int) -> None:
    """SoftmaxCrossEntropyWithIntegerLabelsTest.test_axis (atol=1e-4)."""
    rng = np.random.default_rng(10 + axis)
    shape = (4, 5, 6)
    preds = rng.normal(size=shape)
    targets = rng.integers(shape[axis], size=shape[:axis] + shape[axis + 1 :])
    x = softmax_cross_entropy_with_integer_labels(preds, targets, axis=axis)
    y = softmax_cross_entropy_with_integer_labels(np.moveaxis(preds, axis, -1), targets)
    np.testing.assert_allclose(x, y, atol=1e-4)


@pytest.mark.parametrize(
    "axis",
    [(1, 3), (3, 2), (2, 3), (-3, -1), (-1, -2), (-2, -1), (0, 1, 3), (-4, -3, -1)],
)
def test_integer_labels_axes(backend: BackendInfo, axis: tuple[int, ...]) -> None:
    """SoftmaxCrossEntropyWithIntegerLabelsTest.test_axes: logits laid out as (batch..., classes) and
    moved to shape (2, 3, 4, 5) by the inverse permutation give the same losses (assert_allclose, rtol=1e-7)."""
    shape = (2, 3, 4, 5)
    ndim = len(shape)
    logits_axis = tuple((x + ndim) % ndim for x in axis)
    labels_axis = tuple(x for x in range(ndim) if x not in logits_axis)
    logits_shape = tuple(shape[x] for x in logits_axis)
    labels_shape = tuple(shape[x] for x in labels_axis)
    num_classes = int(np.prod(logits_shape))
    rng = np.random.default_rng(42)
    logits = rng.uniform(size=(*labels_shape, num_classes)).astype(np.float32)
    labels = rng.integers(0, num_classes - 1, size=labels_shape)
    desired = softmax_cross_entropy_with_integer_labels(logits, labels)
    perm = labels_axis + logits_axis
    perm_inv = tuple(i for i, _ in sorted(enumerate(perm), key=lambda x: x[1]))
    moved = logits.reshape(labels_shape + logits_shape).transpose(perm_inv)
    assert moved.shape == shape
    actual = softmax_cross_entropy_with_integer_labels(backend.asarray(moved), backend.asarray(labels), axis)
    np.testing.assert_allclose(backend.to_numpy(actual), desired, rtol=1e-6)


@pytest.mark.parametrize(
    "preds,labels,expected",
    [
        ([-1e09, -1e-09], [1.0, 0.0], 5e08),
        ([-1e09, -1e-09], [0.0, 1.0], 0.3465736),
        ([1e09, 1e-09], [1.0, 0.0], 0.3465736),
        ([1e09, 1e-09], [0.0, 1.0], 5e08),
        ([-1e09, 1e-09], [1.0, 0.0], 5e08),
        ([-1e09, 1e-09], [0.0, 1.0], 0.3465736),
        ([1e09, -1e-09], [1.0, 0.0], 0.3465736),
        ([1e09, -1e-09], [0.0, 1.0], 5e08),
        ([0.0, 0.0], [1.0, 0.0], 0.6931472),
        ([0.0, 0.0], [0.0, 1.0], 0.6931472),
    ],
)
def test_sigmoid_cross_entropy(backend: BackendInfo, preds: list[float], labels: list[float], expected: float) -> None:
    """SigmoidCrossEntropyTest.test_sigmoid_cross_entropy: the mean of the two losses (rtol=atol=1e-6)."""
    out = sigmoid_binary_cross_entropy(backend.asarray(np.array(preds)), backend.asarray(np.array(labels)))
    np.testing.assert_allclose(backend.to_numpy(out).mean(), expected, rtol=1e-6, atol=1e-6)

"""The paddle dialect's deliberate deviations and Paddle-specific rules, checked by value.

The golden suite (``tests/test_golden.py``) replays what Paddle 3.3.1 itself returned; here the
cases Paddle cannot serve as a reference for (inputs it refuses or turns into a wrong number) are
checked against obviously correct float64 NumPy formulas.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.conftest import BackendInfo, assert_close
from unified_ce import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from unified_ce.adapters.paddle import VisibleDeprecationWarning, cross_entropy, softmax_with_cross_entropy

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _reference(x: np.ndarray, label: np.ndarray, axis: int = -1, floor: float = -64.0) -> tuple[np.ndarray, np.ndarray]:
    """Paddle's CPU forward in float64 (softmax of x - max(x) clipped at ``floor``) and its backward
    ``softmax - onehot`` (of the unclipped softmax), for hard labels with the class axis kept."""
    x = x.astype(np.float64)
    z = np.maximum(x - x.max(axis=axis, keepdims=True), floor)
    logp = z - np.log(np.exp(z).sum(axis=axis, keepdims=True))
    loss = -np.take_along_axis(logp, label.astype(np.int64), axis=axis)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    p = e / e.sum(axis=axis, keepdims=True)
    onehot = np.arange(x.shape[axis]).reshape([-1 if i == axis % x.ndim else 1 for i in range(x.ndim)]) == label
    return loss, p - onehot


def test_deprecation_warning() -> None:
    with pytest.warns(VisibleDeprecationWarning, match="paddle.nn.functional.cross_entropy"):
        softmax_with_cross_entropy(np.zeros((2, 3)), np.zeros((2, 1), np.int64))
    assert issubclass(VisibleDeprecationWarning, UserWarning)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_clip_at_64_against_float64_reference(backend: BackendInfo, axis: int) -> None:
    x = np.array([[0.0, 63.0, 1.0, -1e4], [0.0, 64.5, 1.0, 2.0], [0.0, 100.0, 1.0, 3.0], [1e4, -1e4, 0.0, 5.0]])
    x = x if axis != 0 else np.ascontiguousarray(x.T)
    label = np.zeros([1 if i == axis % 2 else s for i, s in enumerate(x.shape)], np.int64)
    want, want_grad = _reference(x, label, axis)
    loss, grad = softmax_with_cross_entropy.value_and_grad(backend.asarray(x), backend.asarray(label), axis=axis)
    assert_close(backend.to_numpy(loss), want, dtype=np.float64, what="clipped loss")
    assert_close(backend.to_numpy(grad), want_grad, dtype=np.float64, what="Paddle's backward softmax - onehot")
    assert float(backend.to_numpy(loss).max()) < 64.01  # the loss of one class is capped at about 64


def test_float16_logits_accepted() -> None:
    # Paddle's CPU build has no float16 kernel (its GPU kernel has one): accepted here
    x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]])
    t = np.array([[3], [0]])
    out = softmax_with_cross_entropy(x.astype(np.float16), t)
    assert out.dtype == np.float16 and out.shape == (2, 1)
    np.testing.assert_allclose(out.astype(np.float64), _reference(x, t)[0], rtol=2e-3)


def test_float_labels_have_a_gradient() -> None:
    # Paddle's CPU backward has integer kernels only; whole-valued float labels give the same gradient
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4))
    t = rng.integers(0, 4, (5, 1))
    _, g_int = softmax_with_cross_entropy.value_and_grad(x, t)
    _, g_float = softmax_with_cross_entropy.value_and_grad(x, t.astype(np.float32))
    np.testing.assert_array_equal(g_int, g_float)


@pytest.mark.parametrize(
    ("label", "error"),
    [
        (np.array([[0.5, 0.5, 0.5], [0.2, 0.3, 0.5]]), "sum to 1"),  # a row summing to 1.5
        (np.array([[0.0, 0.0, 0.0], [0.2, 0.3, 0.5]]), "sum to 1"),  # an all-zero row
        (np.array([[-0.5, 1.0, 0.5], [0.2, 0.3, 0.5]]), "non-negative"),
    ],
)
def test_soft_labels_must_be_distributions(label: np.ndarray, error: str) -> None:
    with pytest.raises(InvalidArgumentError, match=error):
        softmax_with_cross_entropy(np.zeros((2, 3)), label, soft_label=True)


def test_soft_labels_within_tolerance() -> None:
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    q = np.full((3, 4), 0.25, np.float32)
    q[0, 0] += 1e-4  # float32 rounding of a distribution: accepted (tolerance sqrt(eps) = 3.5e-4)
    out = softmax_with_cross_entropy(x, q, soft_label=True)
    want = -(q.astype(np.float64) * (x - np.log(np.exp(x.astype(np.float64)).sum(-1, keepdims=True)))).sum(-1)
    np.testing.assert_allclose(out[:, 0], want, rtol=2e-6)


def test_invalid_labels_raise() -> None:
    x = np.zeros((3, 4))
    with pytest.raises(LabelOutOfRangeError, match="label"):
        softmax_with_cross_entropy(x, np.array([[0], [2**32 + 2], [1]], np.int64))  # Paddle: wraps to 2
    with pytest.raises(InvalidArgumentError, match="non-integer"):
        softmax_with_cross_entropy(x, np.array([[0.0], [2.6], [1.0]]))  # Paddle: truncates to 2
    with pytest.raises(InvalidTypeError):
        softmax_with_cross_entropy(x, np.array([[True], [False], [True]]))  # Paddle: classes 1/0
    with pytest.raises(InvalidArgumentError):
        softmax_with_cross_entropy(np.zeros((2, 0)), np.zeros((2, 1), np.int64))  # Paddle: garbage


def test_label_shapes() -> None:
    # Paddle reshapes a label with one axis fewer to [label.shape[0], logits.shape[1]]
    out = softmax_with_cross_entropy(np.zeros((3, 1)), np.zeros(3, np.int64))
    assert out.shape == (3, 1)
    with pytest.raises(InvalidArgumentError, match=r"\[5, 4\]"):
        softmax_with_cross_entropy(np.zeros((5, 4)), np.zeros(5, np.int64))
    with pytest.raises(InvalidArgumentError, match="label must have"):
        softmax_with_cross_entropy(np.zeros((2, 3, 4)), np.zeros((2, 3, 4), np.int64))
    # errors name Paddle's argument, label
    with pytest.raises(LabelOutOfRangeError, match="label holds class labels"):
        softmax_with_cross_entropy(np.zeros((2, 3)), np.array([[0], [3]]))


def test_arguments() -> None:
    x, t = np.zeros((2, 3)), np.zeros((2, 1), np.int64)
    with pytest.raises(InvalidArgumentError, match="numeric_stable_mode"):
        softmax_with_cross_entropy(x.T, t.T, axis=0, numeric_stable_mode=False)
    softmax_with_cross_entropy(x, t, axis=1, numeric_stable_mode=False)  # the last axis: allowed
    with pytest.raises(InvalidTypeError):
        softmax_with_cross_entropy(x, t, ignore_index=1.5)
    with pytest.raises(InvalidArgumentError, match="int32"):
        softmax_with_cross_entropy(x, t, ignore_index=2**31)
    with pytest.raises(InvalidTypeError, match="soft_label"):
        softmax_with_cross_entropy(x, t, soft_label="yes")
    with pytest.raises(InvalidTypeError, match="dtype"):
        softmax_with_cross_entropy(x.astype(np.float32), np.full((2, 3), 1 / 3), soft_label=True)


def test_return_softmax(backend: BackendInfo) -> None:
    x = np.random.default_rng(2).standard_normal((2, 3, 4))
    t = np.array([[[0, 1, 2, 1]], [[2, 2, 0, 1]]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loss, p = softmax_with_cross_entropy(backend.asarray(x), backend.asarray(t), axis=1, return_softmax=True)
    backend.check(p)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    assert_close(backend.to_numpy(p), e / e.sum(axis=1, keepdims=True), dtype=np.float64, what="softmax")
    assert_close(backend.to_numpy(loss), _reference(x, t, axis=1)[0], dtype=np.float64, what="loss")


def test_use_softmax_false_refuses_probabilities_outside_the_unit_interval(backend: BackendInfo) -> None:
    # Paddle returns -log p for p > 1 (a negative loss) and nan for p < 0 at the label, and does not look at
    # the other classes; unified_ce raises (eager) or makes the whole item NaN (lazy: values unknown when traced)
    p = np.array([[0.2, 0.3, 0.5], [0.1, 1.5, 0.4], [0.6, 0.4, 0.0]])
    label = np.array([2, 0, 1])
    if backend.lazy:
        loss = backend.to_numpy(
            backend.call(lambda a, t: cross_entropy(a, t, use_softmax=False, reduction="none"), backend.asarray(p),
                         backend.asarray(label))
        )  # fmt: skip
        assert np.isnan(loss[1]) and np.allclose(loss[[0, 2]], -np.log([0.5, 0.4]))
        return
    with pytest.raises(InvalidArgumentError, match=r"^input must be probabilities in \[0, 1\]"):
        cross_entropy(backend.asarray(p), backend.asarray(label), use_softmax=False)
    with pytest.raises(InvalidArgumentError, match="input must be probabilities"):
        cross_entropy(backend.asarray(-p), backend.asarray(label), use_softmax=False, soft_label=False)


def test_use_softmax_false_float16_accepted() -> None:
    # Paddle's CPU build has no float16 kernel: accepted here, computed in float32
    p = np.array([[0.25, 0.25, 0.5], [0.5, 0.5, 0.0]])
    out = cross_entropy(p.astype(np.float16), np.array([2, 2]), use_softmax=False, reduction="none")
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), [np.log(2.0), np.float16(1e20)], rtol=1e-3)


def test_soft_label_mean_with_ignore_index_zero_raises() -> None:
    """Paddle's mean with soft labels and ignore_index=0 divides by the nonzero soft-label entries
    (data-dependent, not translated): a clear error naming ignore_index, never the mean over items."""
    x = np.random.default_rng(0).normal(size=(4, 5))
    q = np.full((4, 5), 0.2)
    with pytest.raises(InvalidArgumentError, match="ignore_index=0 with soft_label=True") as info:
        cross_entropy(x, q, soft_label=True, ignore_index=0)
    assert isinstance(info.value, ValueError)
    # the other reductions and the default ignore_index are unaffected
    logp = x - np.log(np.exp(x).sum(-1, keepdims=True))
    assert_close(cross_entropy(x, q, soft_label=True, ignore_index=0, reduction="sum"), -(q * logp).sum())
    assert_close(cross_entropy(x, q, soft_label=True), -(q * logp).sum() / 4)

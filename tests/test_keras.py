"""The keras dialect's own rules and deliberate deviations, checked by value / error.

``tests/test_golden.py`` replays what Keras 3.15 returned (``golden/keras.json``);
``tests/test_keras_corpus.py`` runs Keras's own loss tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from unified_ce import InvalidArgumentError
from unified_ce.adapters.keras import (
    BinaryCrossentropy,
    SparseCategoricalCrossentropy,
    sparse_categorical_crossentropy,
)


def _nll(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    m = x.max(-1, keepdims=True)
    logp = x - m - np.log(np.exp(x - m).sum(-1, keepdims=True))
    return -np.take_along_axis(logp, t[..., None], axis=-1)[..., 0]


def test_sum_over_batch_size_with_ignore_class_and_weights() -> None:
    """sum(loss * w) over non-ignored items / their number (not the sum of the weights); all ignored: 0."""
    rng = np.random.default_rng(0)
    x, t, w = rng.normal(size=(5, 4)), np.array([0, -1, 3, 2, -1]), rng.uniform(0, 2, 5)
    valid = t != -1
    per = np.where(valid, _nll(x, np.where(valid, t, 0)), 0.0)
    out = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, dtype="float64")(t, x, sample_weight=w)
    np.testing.assert_allclose(out, (per * w).sum() / valid.sum(), rtol=1e-12)
    assert float(SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)(np.full(3, -1), x[:3])) == 0.0


def test_sparse_axis_other_than_last_works() -> None:
    """Keras's TensorFlow backend refuses axis=1; its JAX backend (and this dialect) computes it."""
    x = np.random.default_rng(1).normal(size=(2, 4, 3))
    t = np.array([[0, 3, 1], [2, 2, 0]])
    out = sparse_categorical_crossentropy(t, x, from_logits=True, axis=1)
    np.testing.assert_allclose(out, _nll(np.moveaxis(x, 1, -1), t), rtol=1e-12)


def test_binary_sum_divides_by_the_classes() -> None:
    """BinaryCrossentropy averages over the last axis first: reduction='sum' is the elementwise sum / C."""
    x = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -3.0]])
    z = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    elem = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    bce = BinaryCrossentropy(from_logits=True, reduction="sum", dtype="float64")
    np.testing.assert_allclose(bce(z, x), elem.sum() / 3, rtol=1e-12)


def test_classes_compute_in_float32_by_default() -> None:
    """Keras's Loss.__call__ converts both arguments to dtype (None: floatx, float32)."""
    x = np.random.default_rng(3).normal(size=(3, 4))
    t = np.array([0, 3, 1])
    out = SparseCategoricalCrossentropy(from_logits=True)(t, x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, _nll(x.astype(np.float32).astype(np.float64), t).mean(), rtol=1e-6)
    assert SparseCategoricalCrossentropy(from_logits=True, dtype="float64")(t, x).dtype == np.float64


def test_incompatible_sample_weight_raises() -> None:
    with pytest.raises(InvalidArgumentError, match="Incompatible shapes"):
        SparseCategoricalCrossentropy(from_logits=True)(np.zeros((2, 3), np.int64), np.zeros((2, 3, 4)), np.ones(2))


def test_mean_with_sample_weight_divides_by_the_weights_as_keras_aligns_them() -> None:
    """Keras 3.15.1 (TensorFlow backend) printed these numbers for this input: a (N, 1) weight of (N, T)
    losses is summed unbroadcast (4.2270174 = 3 x 1.4090058, the same weight broadcast by hand);
    with ignore_class the weight is first multiplied by the mask, i.e. broadcast (1.4025594)."""
    from unified_ce.adapters.keras import SparseCategoricalCrossentropy

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    t = np.array([[0, 1, 2], [3, 0, 1]])
    sw = np.array([[1.0], [3.0]], np.float32)
    loss = SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight")
    masked = SparseCategoricalCrossentropy(from_logits=True, reduction="mean_with_sample_weight", ignore_class=2)
    np.testing.assert_allclose(float(loss(t, x, sample_weight=sw)), 4.227017402648926, rtol=2e-6)
    np.testing.assert_allclose(
        float(loss(t, x, sample_weight=np.broadcast_to(sw, (2, 3)).copy())), 1.4090057611465454, rtol=2e-6
    )
    np.testing.assert_allclose(float(masked(t, x, sample_weight=sw)), 1.4025593996047974, rtol=2e-6)


@pytest.mark.parametrize("api", ["cce", "scce", "bce"])
@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean_with_sample_weight"])
def test_empty_rank1_losses_are_returned_unreduced(api: str, reduction: str) -> None:
    """Keras 3.15.1's reduce_values returns losses of shape (0,) as they are, whatever the reduction (all
    three classes printed ``array([], dtype=float32)``); an (N, 1) sample_weight first expands them to
    (0, 1), which are reduced (Keras printed ``array(0., dtype=float32)``)."""
    from unified_ce.adapters.keras import CategoricalCrossentropy

    x = np.zeros((0, 5), np.float32)
    cls = {"cce": CategoricalCrossentropy, "scce": SparseCategoricalCrossentropy, "bce": BinaryCrossentropy}[api]
    t = np.zeros((0,), np.int64) if api == "scce" else x
    loss = cls(from_logits=True, reduction=reduction)
    for sw in (None, np.zeros((0,), np.float32)):
        out = loss(t, x, sample_weight=sw)
        assert out.shape == (0,) and out.dtype == np.float32
    out = loss(t, x, sample_weight=np.zeros((0, 1), np.float32))
    assert out.shape == () and float(out) == 0.0


def test_label_smoothing_on_another_axis_counts_the_last_axis() -> None:
    """Keras smooths ``y (1 - ls) + ls / K`` with K the size of the LAST axis even when ``axis`` is another
    one (golden ``CategoricalCrossentropy/*-axis*-ls0.2``); here with mean_with_sample_weight, whose
    unbroadcast weight sum also rescales the loss (float64 reference of Keras's formulas)."""
    from unified_ce.adapters.keras import CategoricalCrossentropy

    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 4, 3))
    y = rng.dirichlet(np.ones(4), size=(2, 3)).transpose(0, 2, 1)  # distributions along axis 1
    sw = np.array([[1.0], [3.0]])
    ls = 0.3
    smoothed = y * (1 - ls) + ls / 3  # K = 3, the last axis (4 classes on axis 1)
    logp = x - x.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    per = -(smoothed * logp).sum(1)  # (2, 3)
    cce = CategoricalCrossentropy(from_logits=True, axis=1, label_smoothing=ls, dtype="float64")
    np.testing.assert_allclose(cce(y, x), per.mean(), rtol=1e-12)
    mws = CategoricalCrossentropy(
        from_logits=True, axis=1, label_smoothing=ls, reduction="mean_with_sample_weight", dtype="float64"
    )
    np.testing.assert_allclose(mws(y, x, sample_weight=sw), (per * sw).sum() / sw.sum(), rtol=1e-12)
    # the gradient is the derivative of that forward: sum(labels) * softmax - labels (per item), / the count
    _, grad = cce.value_and_grad(y, x)
    expected = (smoothed.sum(1, keepdims=True) * np.exp(logp) - smoothed) / per.size
    np.testing.assert_allclose(grad, expected, rtol=1e-10)


def test_binary_class_on_rank3_reduces_the_per_item_means_as_keras() -> None:
    """BinaryCrossentropy of (2, 3, 4) inputs: the means over ``axis`` are the (2, 3) or (2, 4) per-item
    losses, then Keras's reduction; Keras 3.15.1 (TensorFlow backend) printed these numbers for this input
    (mean_with_sample_weight divides by the sum of the weight as aligned, not broadcast)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    z = (rng.uniform(size=(2, 3, 4)) > 0.5).astype(np.float32)
    mws = "mean_with_sample_weight"
    for reduction, axis, sw, keras_value in (
        ("sum_over_batch_size", -1, None, 0.8805260062217712),
        ("sum", -1, None, 5.283154010772705),
        (mws, 1, np.array([[1.0, 3.0, 2.0, 1.0]], np.float32), 1.6512659788131714),
        ("sum_over_batch_size", 1, np.array([[1.0], [3.0]], np.float32), 1.8190009593963623),
        (mws, -1, np.float32(2.0), 5.283154010772705),
    ):
        bce = BinaryCrossentropy(from_logits=True, reduction=reduction, axis=axis)
        np.testing.assert_allclose(float(bce(z, x, sample_weight=sw)), keras_value, rtol=2e-6)
    with pytest.raises(InvalidArgumentError, match="Incompatible shapes"):  # Keras: TensorFlow's shape error
        BinaryCrossentropy(from_logits=True, reduction=mws)(z, x, sample_weight=np.array([1.0, 3.0]))


def test_binary_per_item_losses_at_rank3_are_the_means_over_axis() -> None:
    """Keras's ``ops.mean(elementwise, axis=axis)``: (2, 3, 4) inputs give (2, 4) losses for axis=1 (float64
    reference); the gradient of sum(loss * g) is (sigmoid(x) - z) g / 3."""
    from unified_ce.adapters.keras import binary_crossentropy

    rng = np.random.default_rng(11)
    x, z = rng.normal(size=(2, 3, 4)), rng.uniform(size=(2, 3, 4))
    elem = np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))
    out = BinaryCrossentropy(from_logits=True, axis=1, reduction=None, dtype="float64")(z, x)
    np.testing.assert_allclose(out, elem.mean(1), rtol=1e-12)
    g = rng.normal(size=(2, 4))
    value, grad = binary_crossentropy.value_and_grad(z, x, from_logits=True, axis=1, grad_output=g)
    np.testing.assert_allclose(value, elem.mean(1), rtol=1e-12)
    np.testing.assert_allclose(grad, (1 / (1 + np.exp(-x)) - z) * g[:, None, :] / 3, rtol=1e-10)

"""Keras's own cross-entropy unit tests, ported: the keras dialect must pass them.

Source: keras-team/keras ``keras/src/losses/losses_test.py`` (3.15): ``BinaryCrossentropyTest``,
``CategoricalCrossentropyTest``, ``SparseCategoricalCrossentropyTest``.  Expected values are the numbers
written there, with Keras's ``assertAlmostEqual`` tolerance (3 decimals) or ``assertAllClose``
(``rtol=atol=1e-6``).  Keras's loss classes compute in float32; these tests feed float64 NumPy
logits, which the dialect computes in float64 (within the tests' tolerances).  The
``from_logits=False`` halves (probabilities, clipped to [1e-7, 1 - 1e-7]) come next, then the
``dtype="bfloat16"`` tests (``test_dtype_arg``: Keras asserts the dtype of the loss, no number) on the
libraries that have bfloat16 (torch, JAX), with Keras's bfloat16 numbers recorded by
``tools/golden/record_keras.py`` into ``tools/golden/bfloat16/keras.json`` (NumPy, and so the golden
format, has no bfloat16): compared at half-precision tolerance, as unified_ce computes bfloat16 in float32
and rounds once where Keras computes in bfloat16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import BackendInfo
from unified_ce.adapters import keras as keras_dialect
from unified_ce.adapters.keras import BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy
from unified_ce.conformance import _format

ALMOST = {"atol": 1.5e-3, "rtol": 0.0}  # assertAlmostEqual(..., decimal=3)

BCE_TRUE = np.array([[1, 0, 1], [0, 1, 1]])
BCE_LOGITS = np.array([[10.0, -10.0, 10.0], [10.0, 10.0, -10.0]])


def _f(be: BackendInfo, out: object) -> np.ndarray:
    return np.asarray(be.to_numpy(out), dtype=np.float64)


def test_bce_all_correct(backend: BackendInfo) -> None:
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    logits = np.array([[10.0, -10.0, -10.0], [-10.0, 10.0, -10.0], [-10.0, -10.0, 10.0]])
    out = BinaryCrossentropy(from_logits=True)(backend.asarray(y_true), backend.asarray(logits))
    np.testing.assert_allclose(_f(backend, out), 0.0, **ALMOST)


@pytest.mark.parametrize(
    "sample_weight,expected",
    [(None, 3.3333), (2.3, 7.666), (np.array([4, 3]), 10.0)],
    ids=["unweighted", "scalar", "sample"],
)
def test_bce_weights(backend: BackendInfo, sample_weight: object, expected: float) -> None:
    sw = backend.asarray(sample_weight) if isinstance(sample_weight, np.ndarray) else sample_weight
    out = BinaryCrossentropy(from_logits=True)(backend.asarray(BCE_TRUE), backend.asarray(BCE_LOGITS), sample_weight=sw)
    np.testing.assert_allclose(_f(backend, out), expected, **ALMOST)


def test_bce_no_reduction() -> None:
    out = BinaryCrossentropy(from_logits=True, reduction=None)(BCE_TRUE, BCE_LOGITS)
    np.testing.assert_allclose(out, [0.0, 6.666], atol=1e-3)


def test_bce_label_smoothing() -> None:
    out = BinaryCrossentropy(from_logits=True, label_smoothing=0.1)(
        np.array([[1, 0, 1]]), np.array([[10.0, -10.0, -10.0]])
    )
    np.testing.assert_allclose(out, (10.0 + 5.0 * 0.1) / 3.0, **ALMOST)


def test_bce_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="must have the same shape"):
        BinaryCrossentropy(from_logits=True)(np.array([[0], [1], [2]]), np.zeros((3, 3)))


ONEHOT = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
LABELS = np.array([[0], [1], [2]])
LOGITS = np.array([[8.0, 1.0, 1.0], [0.0, 9.0, 1.0], [2.0, 3.0, 5.0]])


@pytest.mark.parametrize("cls,y_true", [(CategoricalCrossentropy, ONEHOT), (SparseCategoricalCrossentropy, LABELS)])
@pytest.mark.parametrize(
    "sample_weight,expected",
    [(None, 0.0573), (2.3, 0.1317), (np.array([[1.2], [3.4], [5.6]]), 0.31829)],
    ids=["unweighted", "scalar", "sample"],
)
def test_categorical_weights(
    backend: BackendInfo, cls: type, y_true: np.ndarray, sample_weight: object, expected: float
) -> None:
    sw = backend.asarray(sample_weight) if isinstance(sample_weight, np.ndarray) else sample_weight
    out = cls(from_logits=True)(backend.asarray(y_true), backend.asarray(LOGITS), sample_weight=sw)
    np.testing.assert_allclose(_f(backend, out), expected, **ALMOST)


@pytest.mark.parametrize("cls,y_true", [(CategoricalCrossentropy, ONEHOT), (SparseCategoricalCrossentropy, LABELS)])
def test_categorical_all_correct_and_no_reduction(cls: type, y_true: np.ndarray) -> None:
    perfect = np.array([[10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    np.testing.assert_allclose(cls(from_logits=True)(y_true, perfect), 0.0, **ALMOST)
    out = cls(from_logits=True, reduction=None)(y_true, LOGITS)
    np.testing.assert_allclose(out, (0.001822, 0.000459, 0.169846), rtol=1e-6, atol=1e-6)


def test_cce_label_smoothing() -> None:
    out = CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)(
        np.array([[1, 0, 0]]), np.array([[100.0, -100.0, -100.0]])
    )
    np.testing.assert_allclose(out, 400.0 * 0.1 / 3.0, **ALMOST)


@pytest.mark.parametrize("y_true", [np.array([[-1, 2]]), np.array([[[-1], [2]]])], ids=["labels", "labels_kept_axis"])
def test_scce_ignore_class(backend: BackendInfo, y_true: np.ndarray) -> None:
    logits = np.array([[[0.854, 0.698, 0.598], [0.088, 0.86, 0.018]]])
    loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=None)
    np.testing.assert_allclose(
        _f(backend, loss(backend.asarray(y_true), backend.asarray(logits))), [[0.0, 1.480129]], rtol=1e-6, atol=1e-6
    )


# --------------------------------------------------------------------------- from_logits=False (probabilities)

PROBS_TRUE = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
PROBS_PRED = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]], np.float32)
BCE_INT_TRUE = np.array([1, 0, 1, 0]).reshape([2, 2])
BCE_INT_PRED = np.array([1, 1, 1, 0], np.float32).reshape([2, 2])


def test_probs_bce_all_correct(backend: BackendInfo) -> None:
    """BinaryCrossentropyTest.test_all_correct_unweighted: y_pred == y_true (0 and 1 clipped) gives ~0."""
    y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    np.testing.assert_allclose(_f(backend, BinaryCrossentropy()(backend.asarray(y), backend.asarray(y))), 0.0, **ALMOST)


def test_probs_bce_unweighted(backend: BackendInfo) -> None:
    """BinaryCrossentropyTest.test_unweighted (the probability halves)."""
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    y_pred = np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]], np.float32)
    out = BinaryCrossentropy()(backend.asarray(y_true), backend.asarray(y_pred))
    np.testing.assert_allclose(_f(backend, out), 0.20046903, rtol=1e-6, atol=1e-6)
    out = BinaryCrossentropy()(backend.asarray(BCE_INT_TRUE), backend.asarray(BCE_INT_PRED))
    np.testing.assert_allclose(_f(backend, out), 3.98559, **ALMOST)


@pytest.mark.parametrize(
    "sample_weight,expected", [(2.3, 9.1668), (np.array([1.2, 3.4]).reshape((2, 1)), 4.7827)], ids=["scalar", "sample"]
)
def test_probs_bce_weighted(backend: BackendInfo, sample_weight: object, expected: float) -> None:
    """BinaryCrossentropyTest.test_scalar_weighted / test_sample_weighted (the probability halves)."""
    sw = backend.asarray(sample_weight) if isinstance(sample_weight, np.ndarray) else sample_weight
    out = BinaryCrossentropy()(backend.asarray(BCE_INT_TRUE), backend.asarray(BCE_INT_PRED), sample_weight=sw)
    np.testing.assert_allclose(_f(backend, out), expected, **ALMOST)


def test_probs_bce_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="must have the same shape"):
        BinaryCrossentropy()(np.array([[0], [1], [2]]), PROBS_PRED)


@pytest.mark.parametrize("cls,y_true", [(CategoricalCrossentropy, PROBS_TRUE), (SparseCategoricalCrossentropy, LABELS)])
def test_probs_categorical_all_correct(backend: BackendInfo, cls: type, y_true: np.ndarray) -> None:
    """test_all_correct_unweighted: one-hot predictions (zeros clipped to 1e-7) give ~0."""
    out = cls()(backend.asarray(y_true), backend.asarray(PROBS_TRUE.astype(np.float32)))
    np.testing.assert_allclose(_f(backend, out), 0.0, **ALMOST)


@pytest.mark.parametrize(
    "cls,y_true", [(CategoricalCrossentropy, PROBS_TRUE), (SparseCategoricalCrossentropy, np.array([0, 1, 2]))]
)
@pytest.mark.parametrize(
    "sample_weight,expected",
    [(None, 0.3239), (2.3, 0.7449), (np.array([[1.2], [3.4], [5.6]]), 1.0696)],
    ids=["unweighted", "scalar", "sample"],
)
def test_probs_categorical(
    backend: BackendInfo, cls: type, y_true: np.ndarray, sample_weight: object, expected: float
) -> None:
    """test_unweighted / test_scalar_weighted / test_sample_weighted: the second row sums to 1.99 (renormalised)."""
    sw = backend.asarray(sample_weight) if isinstance(sample_weight, np.ndarray) else sample_weight
    out = cls()(backend.asarray(y_true), backend.asarray(PROBS_PRED), sample_weight=sw)
    np.testing.assert_allclose(_f(backend, out), expected, **ALMOST)


def test_probs_categorical_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="must have the same shape"):
        CategoricalCrossentropy()(np.array([[0], [1], [2]]), PROBS_PRED.astype(np.float64))


SEG_TRUE = np.array([[0, 1, 1, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])
SEG_ONEHOT = np.eye(2)[SEG_TRUE]
MSEG_TRUE = np.array([[0, 1, 2, 0], [1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 1]])


def test_probs_scce_binary_segmentation(backend: BackendInfo) -> None:
    """SparseCategoricalCrossentropyTest.test_binary_segmentation: one-hot pixels, then two soft ones."""
    out = SparseCategoricalCrossentropy()(backend.asarray(SEG_TRUE), backend.asarray(SEG_ONEHOT))
    np.testing.assert_allclose(_f(backend, out), 0.0, rtol=1e-6, atol=1e-6)
    y_pred = SEG_ONEHOT.copy()
    y_pred[0, 3] = [0.2, 0.8]
    y_pred[3, 3] = [0.6, 0.4]
    out = SparseCategoricalCrossentropy()(backend.asarray(SEG_TRUE), backend.asarray(y_pred))
    np.testing.assert_allclose(_f(backend, out), (-np.log(0.2) - np.log(0.4)) / 16.0, rtol=1e-6, atol=1e-6)


def test_probs_scce_multi_class_segmentation(backend: BackendInfo) -> None:
    """SparseCategoricalCrossentropyTest.test_multi_class_segmentation."""
    y_pred = np.eye(3)[MSEG_TRUE]
    out = SparseCategoricalCrossentropy()(backend.asarray(MSEG_TRUE), backend.asarray(y_pred))
    np.testing.assert_allclose(_f(backend, out), 0.0, rtol=1e-6, atol=1e-6)
    y_pred[0, 3] = [0.2, 0.0, 0.8]
    y_pred[1, 0] = [0.7, 0.3, 0.0]
    y_pred[3, 2] = [0.5, 0.5, 0.0]
    out = SparseCategoricalCrossentropy()(backend.asarray(MSEG_TRUE), backend.asarray(y_pred))
    expected = (-np.log(0.2) - np.log(0.3) - np.log(0.5)) / 16.0
    np.testing.assert_allclose(_f(backend, out), expected, rtol=1e-6, atol=1e-6)


# --------------------------------------------------------------------------- dtype="bfloat16"

BF16_CASES = _format.load(Path(__file__).resolve().parents[1] / "tools" / "golden" / "bfloat16" / "keras.json")["cases"]
#: Keras's ``assertAllClose`` has no bfloat16 numbers to compare here; half precision's tolerance (one bfloat16
#: step is 2**-8 relative): Keras rounds every operation to bfloat16, unified_ce once.
BF16_TOL = {"rtol": 1e-2, "atol": 1e-3}


def _bfloat16(be: BackendInfo) -> Any:
    if not hasattr(be.xp, "bfloat16"):
        pytest.skip(f"{be.name} has no bfloat16")
    return be.xp.bfloat16


def _f32(be: BackendInfo, a: Any) -> np.ndarray:
    """As float64 NumPy values (torch's bfloat16 tensors have no ``.numpy()``)."""
    return _f(be, be.xp.astype(a, be.xp.float32))


@pytest.mark.parametrize(
    "cls,y_true,y_pred",
    [
        (
            BinaryCrossentropy,
            np.eye(3, dtype=np.float32),
            np.array([[0.9, 0.1, 0.2], [0.3, 0.8, 0.1], [0.1, 0.2, 0.7]]),
        ),
        (CategoricalCrossentropy, np.eye(3, dtype=np.int64), np.eye(3)),
        (SparseCategoricalCrossentropy, np.array([[0], [1], [2]]), np.eye(3)),
    ],
)
def test_dtype_arg(backend: BackendInfo, cls: type, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """``test_dtype_arg`` of the three test classes: ``cls(dtype="bfloat16")`` returns a bfloat16 loss (Keras skips
    the binary one on its torch backend, whose ``binary_cross_entropy`` has no bfloat16; here it runs)."""
    bf16 = _bfloat16(backend)
    loss = backend.call(cls(dtype="bfloat16"), backend.asarray(y_true), backend.asarray(y_pred.astype(np.float32)))
    assert loss.dtype == bf16


def test_dtype_arg_without_bfloat16() -> None:
    """NumPy has no bfloat16: a clear error naming the argument, not a float32 loss."""
    with pytest.raises(ValueError, match=r"dtype='bfloat16'.*no bfloat16"):
        CategoricalCrossentropy(dtype="bfloat16")(np.eye(3), np.eye(3, dtype=np.float32))


@pytest.mark.parametrize("case", BF16_CASES, ids=[c["id"] for c in BF16_CASES])
def test_bfloat16_golden(backend: BackendInfo, case: dict[str, Any]) -> None:
    """Keras 3's bfloat16 numbers (value and gradient with respect to the float32 ``y_pred``)."""
    bf16 = _bfloat16(backend)
    loss = getattr(keras_dialect, case["api"])(**case["init"])
    y_true, y_pred = (backend.asarray(a) for a in case["args"])
    kw = {k: backend.asarray(v) for k, v in case["kwargs"].items()}
    go = case["grad_output"]
    go_b = None if go is None else backend.xp.astype(backend.asarray(go), bf16)

    def value_and_grad(t: Any, p: Any, *g: Any) -> Any:
        return loss.value_and_grad(t, p, grad_output=g[0] if g else None, **kw)

    out, grad = backend.call(value_and_grad, y_true, y_pred, *([] if go_b is None else [go_b]))
    assert out.dtype == bf16 and grad.dtype == y_pred.dtype
    expect = case["expect"]
    scale = max(1.0, float(np.nanmax(np.abs(expect["output"]), initial=0.0)))
    np.testing.assert_allclose(
        _f32(backend, out), expect["output"], rtol=BF16_TOL["rtol"], atol=BF16_TOL["atol"] * scale, equal_nan=True
    )
    scale = max(1.0, float(np.nanmax(np.abs(expect["grad"]), initial=0.0)))
    np.testing.assert_allclose(
        _f32(backend, grad), expect["grad"], rtol=BF16_TOL["rtol"], atol=BF16_TOL["atol"] * scale, equal_nan=True
    )
    if backend.autodiff and not backend.jit:
        _, g = backend.grad(lambda p: loss(y_true, p, **kw), y_pred, go_b)
        np.testing.assert_allclose(
            _f32(backend, g), expect["grad"], rtol=BF16_TOL["rtol"], atol=BF16_TOL["atol"] * scale, equal_nan=True
        )

"""MLX's own cross-entropy unit tests, ported: the mlx dialect must pass them.

Source: ml-explore/mlx ``python/tests/test_losses.py`` (``test_cross_entropy``,
``test_binary_cross_entropy``).  Expected values are the numbers written in those tests, compared
with ``mx.allclose``'s defaults (``rtol=1e-5``, ``atol=1e-8``), including the probability-input parts
of the binary test (``with_logits=False``: ``_test_probs_as_inputs``, ``_test_tiny_probs_as_inputs``).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import BackendInfo
from unified_ce.adapters.mlx import binary_cross_entropy, cross_entropy

TOL = {"rtol": 1e-5, "atol": 1e-8}
LOGITS = np.array([[2.0, -1.0], [-1.0, 2.0]], np.float32)
INDICES = np.array([0, 1])
ONEHOT = np.array([[1.0, 0.0], [0.0, 1.0]], np.float32)
WEIGHTS = np.array([1.0, 2.0], np.float32)


def _np(be: BackendInfo, out: object) -> np.ndarray:
    return np.asarray(be.to_numpy(out), dtype=np.float64)


def test_infinite_logits(backend: BackendInfo) -> None:
    """-inf logits: index targets give 0; one-hot probability targets give NaN (0 * -inf, like PyTorch)."""
    be = backend
    logits = np.array([[0.0, -np.inf], [-np.inf, 0.0]], np.float32)
    np.testing.assert_allclose(_np(be, cross_entropy(be.asarray(logits), be.asarray(INDICES))), [0.0, 0.0], **TOL)
    assert np.isnan(_np(be, cross_entropy(be.asarray(logits), be.asarray(ONEHOT)))).all()


@pytest.mark.parametrize("targets", [INDICES, ONEHOT], ids=["indices", "probs"])
def test_weights(backend: BackendInfo, targets: np.ndarray) -> None:
    out = cross_entropy(backend.asarray(LOGITS), backend.asarray(targets), weights=backend.asarray(WEIGHTS))
    np.testing.assert_allclose(_np(backend, out), [0.04858735, 0.0971747], **TOL)


@pytest.mark.parametrize("targets", [INDICES, ONEHOT], ids=["indices", "probs"])
def test_label_smoothing(backend: BackendInfo, targets: np.ndarray) -> None:
    out = cross_entropy(backend.asarray(LOGITS), backend.asarray(targets), label_smoothing=0.3, reduction="none")
    np.testing.assert_allclose(_np(backend, out), [0.498587, 0.498587], **TOL)


def test_weights_and_label_smoothing(backend: BackendInfo) -> None:
    out = cross_entropy(
        backend.asarray(LOGITS), backend.asarray(INDICES), weights=backend.asarray(WEIGHTS), label_smoothing=0.3
    )
    np.testing.assert_allclose(_np(backend, out), [0.49858734, 0.9971747], **TOL)


def test_other_axis() -> None:
    logits = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    targets = np.array([1, 2, 3, 0])
    np.testing.assert_allclose(cross_entropy(logits.T, targets, axis=0), cross_entropy(logits, targets, axis=-1), **TOL)


BCE_LOGITS = np.array([0.105361, 0.223144, 1.20397, 0.916291], np.float32)
BCE_TARGETS = np.array([0, 0, 1, 1])
BCE_NONE = np.array([0.747215, 0.810930, 0.262365, 0.336472])


def test_binary_logits_as_inputs(backend: BackendInfo) -> None:
    be = backend
    x, t = be.asarray(BCE_LOGITS), be.asarray(BCE_TARGETS)
    np.testing.assert_allclose(_np(be, binary_cross_entropy(x, t, reduction="none")), BCE_NONE, **TOL)
    np.testing.assert_allclose(_np(be, binary_cross_entropy(x, t, reduction="mean")), BCE_NONE.mean(), **TOL)
    np.testing.assert_allclose(_np(be, binary_cross_entropy(x, t, reduction="sum")), BCE_NONE.sum(), **TOL)
    w = be.asarray(np.array([1.0, 2.0, 1.0, 2.0], np.float32))
    np.testing.assert_allclose(
        _np(be, binary_cross_entropy(x, t, weights=w, reduction="none")), [0.747215, 1.62186, 0.262365, 0.672944], **TOL
    )


PROBS = np.array([0.5, 0.6, 0.7, 0.8], np.float32)
PROBS_NONE = np.array([0.693147, 0.916291, 0.356675, 0.223144])


def test_binary_probs_as_inputs(backend: BackendInfo) -> None:
    be = backend
    x, t = be.asarray(PROBS), be.asarray(BCE_TARGETS)
    out = binary_cross_entropy(x, t, with_logits=False, reduction="none")
    np.testing.assert_allclose(_np(be, out), PROBS_NONE, **TOL)
    out = binary_cross_entropy(x, t, with_logits=False, reduction="mean")
    np.testing.assert_allclose(_np(be, out), PROBS_NONE.mean(), **TOL)
    out = binary_cross_entropy(x, t, with_logits=False, reduction="sum")
    np.testing.assert_allclose(_np(be, out), PROBS_NONE.sum(), **TOL)


def test_binary_tiny_probs_as_inputs(backend: BackendInfo) -> None:
    """``_test_tiny_probs_as_inputs``: 1e-59 is 0 in float32; p of exactly 0 and 1 give 0 (not nan)."""
    be = backend
    tiny = 1e-59
    x = be.asarray(np.array([0, tiny, 1 - tiny, 1], np.float32))
    expected = np.array([0.0, tiny, tiny, 0.0])
    for red, want in (("none", expected), ("mean", expected.mean()), ("sum", expected.sum())):
        out = binary_cross_entropy(x, be.asarray(BCE_TARGETS), with_logits=False, reduction=red)
        np.testing.assert_allclose(_np(be, out), want, **TOL)

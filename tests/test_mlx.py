"""The mlx dialect's own rules and deliberate deviations, checked by value.

``tests/test_golden.py`` replays what MLX 0.32 returned (``golden/mlx.json``);
``tests/test_mlx_corpus.py`` runs MLX's own unit tests.  Here: what the dialect does differently
on purpose, against float64 NumPy formulas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import BackendInfo
from unified_ce import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from unified_ce.adapters import mlx as mlx_dialect
from unified_ce.adapters.mlx import binary_cross_entropy, cross_entropy
from unified_ce.conformance import _format


def _lse(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def test_mean_divides_by_the_number_of_items_not_the_weights() -> None:
    rng = np.random.default_rng(0)
    x, t, w = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, 0]), rng.uniform(0, 2, 5)
    per_item = _lse(x) - x[np.arange(5), t]
    np.testing.assert_allclose(cross_entropy(x, t, weights=w, reduction="mean"), (w * per_item).mean(), rtol=1e-12)


def test_label_smoothing_formula() -> None:
    """MLX: lse(x) - (1 - eps) x_y - eps mean(x)."""
    rng = np.random.default_rng(1)
    x, t, eps = rng.normal(size=(4, 6)), np.array([5, 0, 2, 3]), 0.25
    want = _lse(x) - (1 - eps) * x[np.arange(4), t] - eps * x.mean(-1)
    np.testing.assert_allclose(cross_entropy(x, t, label_smoothing=eps), want, rtol=1e-12)


def test_label_smoothing_must_be_below_one() -> None:
    with pytest.raises(InvalidArgumentError, match=r"label_smoothing must be in \[0, 1\)"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 1]), label_smoothing=1.0)


def test_out_of_range_labels_raise() -> None:
    """MLX's take_along_axis reads out of bounds and returns a number."""
    with pytest.raises(LabelOutOfRangeError):
        cross_entropy(np.zeros((2, 3)), np.array([0, 3]))


def test_unnormalised_probabilities_raise() -> None:
    """MLX computes lse(x) - sum(q x) for any q, which is no cross-entropy unless q sums to 1."""
    with pytest.raises(InvalidArgumentError, match="sum to 1"):
        cross_entropy(np.zeros((2, 3)), np.array([[0.5, 0.5, 0.5], [1.0, 0.0, 0.0]]))


def test_weights_need_the_loss_shape() -> None:
    with pytest.raises(InvalidArgumentError, match="weights must have the loss's shape"):
        cross_entropy(np.zeros((2, 3)), np.array([0, 1]), weights=np.ones(3))
    with pytest.raises(InvalidArgumentError, match="weights must have the loss's shape"):
        binary_cross_entropy(np.zeros((2, 3)), np.ones((2, 3)), weights=np.ones(2))


def test_index_targets_must_be_integers() -> None:
    with pytest.raises(InvalidTypeError, match="integer dtype"):
        cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_empty_batch_works() -> None:
    """MLX's logsumexp refuses empty arrays; here an empty batch has an empty loss and a nan mean."""
    assert cross_entropy(np.zeros((0, 3)), np.zeros((0,), np.int64)).shape == (0,)
    assert np.isnan(cross_entropy(np.zeros((0, 3)), np.zeros((0,), np.int64), reduction="mean"))


def test_binary_probabilities_outside_0_1_raise() -> None:
    """MLX gives nan (the log of a negative number); the dialect names the argument instead."""
    with pytest.raises(InvalidArgumentError, match=r"^inputs must be probabilities"):
        binary_cross_entropy(np.array([0.5, 1.5]), np.ones(2), with_logits=False)
    with pytest.raises(InvalidArgumentError, match=r"^targets"):
        binary_cross_entropy(np.full(2, 0.5), np.array([0.5, 1.5]), with_logits=False)


def test_distributed_and_value_and_grad() -> None:
    x, t = np.zeros((2, 3)), np.array([0, 2])
    loss, grad = cross_entropy.value_and_grad(x, t, reduction="sum")
    np.testing.assert_allclose(loss, 2 * np.log(3.0))
    np.testing.assert_allclose(grad, np.full((2, 3), 1 / 3) - np.eye(3)[t])
    np.testing.assert_allclose(cross_entropy.distributed()(x, t), np.log(3.0) * np.ones(2))


#: MLX 0.32's bfloat16 results (``tools/golden/record_mlx.py`` -> ``tools/golden/bfloat16/mlx.json``: NumPy, and
#: so the golden format, has no bfloat16; the floating arguments are stored as float32 holding bfloat16 values)
BF16_CASES = _format.load(Path(__file__).resolve().parents[1] / "tools" / "golden" / "bfloat16" / "mlx.json")["cases"]


@pytest.mark.parametrize("case", BF16_CASES, ids=[c["id"] for c in BF16_CASES])
def test_bfloat16_golden(backend: BackendInfo, case: dict[str, Any]) -> None:
    """bfloat16 inputs give a bfloat16 loss and gradient with MLX's numbers.  MLX rounds every step to bfloat16,
    unified_ce computes in float32 and rounds once: MLX's ``logaddexp(0, x) - x z`` cancels in bfloat16 and is
    off by up to a bfloat16 step of the larger term (``0.09375`` where the float64 value is ``0.0876``), hence an absolute
    tolerance of 1% of the largest magnitude."""
    be = backend
    if not hasattr(be.xp, "bfloat16"):
        pytest.skip(f"{be.name} has no bfloat16")
    bf16 = be.xp.bfloat16

    def arr(v: np.ndarray) -> Any:
        a = be.asarray(v)
        return be.xp.astype(a, bf16) if v.dtype.kind == "f" else a

    fn = getattr(mlx_dialect, case["api"])
    args = [arr(a) for a in case["args"]]
    kw = {k: arr(v) if isinstance(v, np.ndarray) else v for k, v in case["kwargs"].items()}
    arrays = {k: v for k, v in kw.items() if not isinstance(v, (str, bool, float, int))}
    plain = {k: v for k, v in kw.items() if k not in arrays}
    go = None if case["grad_output"] is None else arr(case["grad_output"])

    def value_and_grad(*a: Any) -> Any:
        n = len(args)
        return fn.value_and_grad(*a[:n], grad_output=go, **dict(zip(arrays, a[n:])), **plain)

    out, grad = be.call(value_and_grad, *args, *arrays.values())
    assert out.dtype == bf16 and grad.dtype == bf16
    for got, want in ((out, case["expect"]["output"]), (grad, case["expect"]["grad"])):
        scale = max(1.0, float(np.nanmax(np.abs(want), initial=0.0)))
        got_np = np.asarray(be.to_numpy(be.xp.astype(got, be.xp.float32)), dtype=np.float64)
        np.testing.assert_allclose(got_np, want, rtol=1e-2, atol=1e-2 * scale, equal_nan=True)

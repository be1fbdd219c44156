"""The dispatcher (unified_ce._dispatch): the native entry point is consulted first, gets the arrays as
given, and is used for the loss and the gradient; without one, the kernels / the reference core."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from unified_ce import _dispatch


class Recorder:
    """A stand-in native evaluator: returns marked values and records what it was given."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def evaluate(self, inp: Any, double_backprop: bool = True) -> Any:
        self.seen.append(("evaluate", inp.x.dtype, double_backprop))
        return np.asarray(123.0)

    def evaluate_with_grad(self, inp: Any, grad_output: Any) -> tuple[Any, Any]:
        self.seen.append(("evaluate_with_grad", inp.x.dtype, grad_output))
        return np.asarray(7.0), np.full(inp.x.shape, 0.5)


@pytest.fixture
def native(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    calls: list[Any] = []

    def chooser(spec: Any, logits: Any, target: Any, cw: Any, sw: Any) -> Any:
        calls.append(spec)
        return rec if spec.label_smoothing == 0 else None  # covers unsmoothed specs only

    monkeypatch.setattr(_dispatch, "NATIVE", [chooser])
    rec.calls = calls  # type: ignore[attr-defined]
    return rec


def test_native_evaluator_is_used_for_loss_and_gradient(native: Recorder) -> None:
    x = np.zeros((2, 3), np.float16)
    t = np.array([0, 2])
    assert float(uce.cross_entropy(x, t)) == 123.0
    loss, grad = uce.value_and_grad(x, t)
    assert float(loss) == 7.0 and grad.shape == (2, 3)
    assert [s[:2] for s in native.seen] == [("evaluate", np.float16), ("evaluate_with_grad", np.float16)]


def test_uncovered_spec_falls_back_to_the_reference_core(native: Recorder) -> None:
    x = np.log(np.array([[0.2, 0.3, 0.5]]))
    t = np.array([2])
    got = float(uce.cross_entropy(x, t, label_smoothing=0.3))
    q = 0.7 * np.array([0.0, 0.0, 1.0]) + 0.3 / 3
    assert got == pytest.approx(-(q * np.log([0.2, 0.3, 0.5])).sum(), rel=1e-12)
    assert not native.seen and len(native.calls) == 1  # type: ignore[attr-defined]


def test_softmax_beside_a_native_evaluator_is_computed_in_the_compute_dtype(native: Recorder) -> None:
    x = np.array([[0.0, np.log(3.0)]], np.float16)
    inp, plan = _dispatch.prepare(uce.CrossEntropySpec(), x, np.array([1]))
    assert plan.kernel is native and inp.x.dtype == np.float16  # the evaluator reads the logits as given
    p = _dispatch.softmax(inp, plan)
    assert p.dtype == np.float16
    np.testing.assert_allclose(p.astype(np.float64), [[0.25, 0.75]], rtol=1e-3)


def test_no_native_evaluator_by_default() -> None:
    assert _dispatch.NATIVE == []
    _, plan = _dispatch.prepare(uce.CrossEntropySpec(), np.zeros((2, 3)), np.array([0, 1]))
    assert plan.kernel is not None and plan.kernel.name == "numpy_cpu"  # kernels.select, not NATIVE
    _, plan = _dispatch.prepare(uce.CrossEntropySpec(), np.zeros((2, 3)), np.array([0, 1]), use_kernels=False)
    assert plan.kernel is None

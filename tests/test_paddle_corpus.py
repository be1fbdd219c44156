"""Paddle's own unit tests of ``cross_entropy`` / ``CrossEntropyLoss``, ported: the paddle dialect must pass them.

Source: PaddlePaddle/Paddle ``test/legacy_test/test_cross_entropy_loss.py`` (the dygraph side of each
test; the static-graph side computes the same numbers).  Each test feeds the dialect the inputs of one
Paddle test (same shapes, dtypes, options, value ranges) and compares with that test's own NumPy
reference (``cross_entropy_loss_1d`` / ``_2d``, ``cross_entropy_soft`` / ``_soft_2d`` with
``label_smooth``) at its tolerance (``rtol=1e-5``); the gradient is compared with central differences
of the same reference (Paddle's ``OpTest.check_grad`` does the same numerically).  Where the tests
expect an error (``TestCrossEntropyFAPIError``) the dialect raises that class.  Also ported: the op test
``test/legacy_test/test_softmax_with_cross_entropy_op.py`` (``softmax_with_cross_entropy``, and its
``NotWithSoftmax`` classes, the kernel on probabilities: ``cross_entropy(..., use_softmax=False)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from unified_ce.adapters.paddle import CrossEntropyLoss, cross_entropy, softmax_with_cross_entropy

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

DTYPE = np.float64  # the tests' dtype off ROCm


def _log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def _label_smooth(label: np.ndarray, C: int, eps: float, is_onehot: bool = True) -> np.ndarray:
    """The test's ``label_smooth``: one-hot (or index) labels -> (1 - eps) onehot + eps / C."""
    onehot = label if (label.shape[-1] == C and is_onehot) else np.eye(C)[label]
    return (onehot * (1.0 - eps) + eps / C).astype(np.float64)


def _ce_hard(x: np.ndarray, label: np.ndarray, weight: Any = None, reduction: str = "mean",
             ignore_index: int = -100) -> np.ndarray:  # fmt: skip
    """``cross_entropy_loss_1d`` / ``_2d`` (class axis last): the mean divides by the summed weights of
    the non-ignored labels, and is the plain sum when that is 0."""
    logp = _log_softmax(x.astype(np.float64))
    valid = label != ignore_index
    safe = np.where(valid, label, 0)
    w = np.ones(x.shape[-1]) if weight is None else np.asarray(weight, np.float64)
    wt = np.where(valid, w[safe], 0.0)
    out = -np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0] * wt
    if reduction == "none":
        return out
    if reduction == "sum":
        return np.asarray(out.sum())
    total = wt.sum()
    return np.asarray(out.sum() / total if total != 0 else out.sum())


def _ce_soft(x: np.ndarray, label: np.ndarray, weight: Any = None, reduction: str = "mean") -> np.ndarray:
    """``cross_entropy_soft`` / ``_soft_2d`` (class axis last): each item times ``dot(weight, label)``;
    the mean divides by the sum of those (by ``N`` -- the first axis only -- without a weight)."""
    loss = -(label * _log_softmax(x.astype(np.float64))).sum(axis=-1, keepdims=True)
    if weight is None and reduction == "none":
        return loss
    total: Any = x.shape[0]
    if weight is not None:
        iw = label @ np.asarray(weight, np.float64)
        loss = loss * iw[..., None]
        total = iw.sum()
    if reduction == "none":
        return loss
    if reduction == "mean":
        return np.asarray(loss.sum() / total)
    return np.asarray(loss.sum())


def _numeric_grad(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x, dtype=np.float64)
    for i in np.ndindex(*x.shape):
        xp_, xm = x.astype(np.float64), x.astype(np.float64)
        xp_[i] += h
        xm[i] -= h
        g[i] = (np.sum(f(xp_)) - np.sum(f(xm))) / (2 * h)
    return g


def _check(fn: Callable[..., Any], x: np.ndarray, label: np.ndarray, want: np.ndarray,
           ref: Callable[[np.ndarray], np.ndarray], grad: bool = True, **kw: Any) -> None:  # fmt: skip
    """Value (rtol=1e-5, the tests' tolerance), then the gradient of ``sum(loss)`` against central differences."""
    got = fn(x, label, **kw)
    np.testing.assert_allclose(np.squeeze(got), np.squeeze(want), rtol=1e-5)
    if grad:
        _, g = fn.value_and_grad(x, label, grad_output=np.ones(np.shape(got), x.dtype), **kw)  # type: ignore[attr-defined]
        np.testing.assert_allclose(g, _numeric_grad(ref, x), rtol=1e-5, atol=1e-7)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _soft_labels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    q = rng.uniform(0.1, 1.0, shape).astype(DTYPE)
    return q / q.sum(axis=-1, keepdims=True)


def _onehot(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    idx = rng.integers(0, shape[-1], shape[:-1])
    return np.eye(shape[-1], dtype=DTYPE)[idx]


# --------------------------------------------------------------------------- soft labels


SOFT = [
    # (test, shape, reduction, weighted)
    ("soft_1d", (4, 3), "none", False),
    ("soft_1d_weight", (4, 3), "none", True),
    ("soft_1d_mean", (4, 3), "mean", False),
    ("soft_1d_weight_mean", (4, 3), "mean", True),
    ("soft_2d", (3, 2, 2, 5), "none", False),
    ("soft_2d_weight_mean", (3, 2, 2, 5), "mean", True),
]


@pytest.mark.parametrize("name, shape, reduction, weighted", SOFT, ids=[s[0] for s in SOFT])
def test_soft_labels(name: str, shape: tuple[int, ...], reduction: str, weighted: bool) -> None:
    """``test_cross_entropy_loss_soft_*`` (and the ``CrossEntropyLoss`` class of the static side)."""
    rng = _rng(len(name))
    x = rng.uniform(0.1, 1.0, shape).astype(DTYPE)
    q = _soft_labels(rng, shape)
    w = rng.uniform(0.1, 1.0, shape[-1]).astype(DTYPE) if weighted else None
    want = _ce_soft(x, q, w, reduction)
    kw = {"soft_label": True, "weight": w, "reduction": reduction}
    _check(cross_entropy, x, q, want, lambda a: _ce_soft(a, q, w, reduction), **kw)
    np.testing.assert_allclose(np.squeeze(CrossEntropyLoss(**kw)(x, q)), np.squeeze(want), rtol=1e-5)


def test_softmax_with_cross_entropy_soft() -> None:
    """``test_softmax_with_cross_entropy`` / ``_alias``: the deprecated API and ``cross_entropy`` agree."""
    rng = _rng(0)
    x = rng.uniform(0.1, 1.0, (4, 3)).astype(DTYPE)
    q = _soft_labels(rng, (4, 3))
    want = _ce_soft(x, q, None, "none")
    np.testing.assert_allclose(softmax_with_cross_entropy(x, q, soft_label=True, axis=-1), want, rtol=1e-5)
    np.testing.assert_allclose(cross_entropy(x, q, soft_label=True, axis=-1, reduction="none"), want, rtol=1e-5)


# --------------------------------------------------------------------------- label smoothing

SMOOTH = [
    # (test, shape, reduction, weighted, integer labels)
    ("onehot_label_smoothing_1d", (4, 3), "none", False, False),
    ("onehot_label_smoothing_1d_weight_mean", (4, 3), "mean", True, False),
    ("onehot_label_smoothing_2d", (3, 2, 2, 5), "none", False, False),
    ("onehot_label_smoothing_2d_weight_mean", (3, 2, 2, 5), "mean", True, False),
    ("integer_label_smoothing_1d", (4, 3), "none", False, True),
    ("integer_label_smoothing_1d_weight_mean", (4, 3), "mean", True, True),
    ("integer_label_smoothing_2d", (3, 2, 2, 5), "none", False, True),
    ("integer_label_smoothing_2d_weight_mean", (3, 2, 2, 5), "mean", True, True),
]


@pytest.mark.parametrize("name, shape, reduction, weighted, integer", SMOOTH, ids=[s[0] for s in SMOOTH])
def test_label_smoothing(name: str, shape: tuple[int, ...], reduction: str, weighted: bool, integer: bool) -> None:
    """``test_cross_entropy_loss_{onehot,integer}_label_smoothing_*``: ``soft_label=True`` with one-hot
    *or integer* labels and ``label_smoothing`` in [0.1, 1) (Paddle's docs: with smoothing, the label
    may be either, whatever ``soft_label`` says)."""
    rng = _rng(len(name))
    eps = float(np.float32(rng.uniform(0.1, 1.0)))  # Paddle's epsilon is a float32 attribute
    x = rng.uniform(0.1, 1.0, shape).astype(DTYPE)
    C = shape[-1]
    label = rng.integers(0, C, shape[:-1]).astype(np.int64) if integer else _onehot(rng, shape)
    smooth = _label_smooth(label, C, eps, is_onehot=not integer)
    w = rng.uniform(0.1, 1.0, C).astype(DTYPE) if weighted else None
    want = _ce_soft(x, smooth, w, reduction)
    kw = {"soft_label": True, "label_smoothing": eps, "weight": w, "reduction": reduction}
    _check(cross_entropy, x, label, want, lambda a: _ce_soft(a, smooth, w, reduction), **kw)
    np.testing.assert_allclose(np.squeeze(CrossEntropyLoss(**kw)(x, label)), np.squeeze(want), rtol=1e-5)


# --------------------------------------------------------------------------- hard labels

HARD: list[tuple[str, Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray, Any, dict[str, Any]]]]] = [
    ("1d_with_mean_ignore", lambda r: (r.random((2, 4)), r.integers(0, 4, 2), None, {"ignore_index": 0})),
    ("1d_with_mean_ignore_negative", lambda r: (r.random((100, 200)), -np.ones(100, np.int64), None,
                                                 {"ignore_index": -1})),
    ("1d_with_weight_mean_ignore", lambda r: (r.random((100, 200)), r.integers(0, 200, 100), r.random(200),
                                               {"ignore_index": 0})),
    ("1d_with_weight_mean_ignore_exceedlabel", lambda r: (r.random((100, 200)),
                                                          np.r_[255, r.integers(0, 200, 99)], r.random(200),
                                                          {"ignore_index": 255})),
    ("1d_with_weight_mean", lambda r: (r.random((2, 4)), r.integers(0, 4, 2), r.random(4), {})),
    ("1d_with_weight_sum", lambda r: (r.random((100, 200)), r.integers(0, 100, 100), r.random(200),
                                      {"reduction": "sum"})),
    ("1d_with_weight_none", lambda r: (r.random((100, 200)), r.integers(0, 100, 100), r.random(200),
                                       {"reduction": "none"})),
    ("1d_mean", lambda r: (r.random((100, 200)), r.integers(0, 100, 100), None, {})),
    ("1d_sum", lambda r: (r.random((100, 200)), r.integers(0, 100, 100), None, {"reduction": "sum"})),
    ("1d_none", lambda r: (r.random((100, 200)), r.integers(0, 100, 100), None, {"reduction": "none"})),
    ("2d_with_weight_none", lambda r: (r.random((2, 2, 2, 3)), r.integers(0, 3, (2, 2, 2)), r.random(3),
                                       {"reduction": "none"})),
    ("2d_with_weight_mean_ignore_exceedlabel", lambda r: (r.random((4, 16, 16, 3)),
                                                          _with(r.integers(0, 3, (4, 16, 16)), (0, 0, 0), 255),
                                                          r.random(3), {"ignore_index": 255})),
    ("2d_with_weight_mean", lambda r: (r.random((2, 2, 2, 3)), r.integers(0, 3, (2, 2, 2)), r.random(3), {})),
    ("2d_with_weight_sum", lambda r: (r.random((2, 2, 2, 3)), r.integers(0, 3, (2, 2, 2)), r.random(3),
                                      {"reduction": "sum"})),
    ("2d_none", lambda r: (r.random((2, 2, 2, 3)), r.integers(0, 3, (2, 2, 2)), None, {"reduction": "none"})),
    ("2d_mean", lambda r: (r.random((2, 2, 2, 3)), r.integers(0, 3, (2, 2, 2)), None, {})),
    ("2d_sum", lambda r: (r.random((2, 2, 2, 3)), r.integers(0, 3, (2, 2, 2)), None, {"reduction": "sum"})),
    # CrossEntropyLossCompatible: labels of shape (N, 1), 3-D input, int32 labels
    ("compatible_label_squeeze", lambda r: (r.random((8, 5)), r.integers(0, 5, (8, 1)), None, {})),
    ("compatible_3d", lambda r: (r.random((2, 3, 5)), r.integers(0, 5, (2, 3)), None, {})),
    ("compatible_none_3d", lambda r: (r.random((2, 3, 5)), r.integers(0, 5, (2, 3)), None, {"reduction": "none"})),
    ("compatible_int32_label", lambda r: (r.random((8, 5)), r.integers(0, 5, 8).astype(np.int32), None, {})),
    ("compatible_weight_sum", lambda r: (r.random((8, 5)), r.integers(0, 5, 8), r.random(5), {"reduction": "sum"})),
]  # fmt: skip


def _with(a: np.ndarray, index: tuple[int, ...], value: int) -> np.ndarray:
    a = a.copy()
    a[index] = value
    return a


@pytest.mark.parametrize("name, make", HARD, ids=[h[0] for h in HARD])
def test_hard_labels(name: str, make: Callable[[np.random.Generator], Any]) -> None:
    """``test_cross_entropy_loss_{1d,2d}_*`` and ``CrossEntropyLossCompatible`` against the tests'
    ``cross_entropy_loss_1d`` / ``_2d`` (an all-ignored batch gives 0; ignore_index 255 beyond C)."""
    x, label, w, kw = make(_rng(len(name)))
    x = x.astype(DTYPE)
    w = None if w is None else w.astype(DTYPE)
    flat = label.reshape(label.shape[:-1]) if label.ndim == x.ndim else label
    reduction = kw.get("reduction", "mean")
    ignore = kw.get("ignore_index", -100)
    want = _ce_hard(x, flat.astype(np.int64), w, reduction, ignore)
    small = x.size <= 64  # central differences on the small inputs

    def ref(a: np.ndarray) -> np.ndarray:
        return _ce_hard(a, flat.astype(np.int64), w, reduction, ignore)

    _check(cross_entropy, x, label, want, ref, grad=small, weight=w, **kw)
    np.testing.assert_allclose(np.squeeze(CrossEntropyLoss(weight=w, **kw)(x, label)), np.squeeze(want), rtol=1e-5)


def test_axis_change_mean() -> None:
    """``test_cross_entropy_loss_2d_with_weight_axis_change_mean``: NCHW input with ``axis=1``."""
    r = _rng(5)
    x, label, w = r.random((2, 3, 2, 2)), r.integers(0, 3, (2, 2, 2)), r.random(3)
    want = _ce_hard(np.transpose(x, (0, 2, 3, 1)), label, w, "mean")
    _check(cross_entropy, x, label, want, lambda a: _ce_hard(np.transpose(a, (0, 2, 3, 1)), label, w, "mean"),
           weight=w, axis=1)  # fmt: skip


# --------------------------------------------------------------------------- TestCrossEntropyFAPIError


def test_errors() -> None:
    """A weight of C + 1 entries raises ValueError; a label of C or -1 (ignore_index -100) IndexError."""
    r = _rng(0)
    x = r.random((20, 100)).astype(np.float32)
    label = r.integers(0, 100, (20, 1))
    with pytest.raises(ValueError):
        cross_entropy(x, label, weight=r.random(101).astype(np.float32), ignore_index=-100)
    for bad in (100, -1):
        with pytest.raises(IndexError):
            cross_entropy(x, _with(label, (0, 0), bad), weight=r.random(100).astype(np.float32), ignore_index=-100)
    with pytest.raises(ValueError):  # static_test_WeightLength_NotEqual
        CrossEntropyLoss(weight=r.random(3).astype(np.float32))(r.random((2, 4)).astype(np.float32),
                                                                r.integers(0, 4, 2))  # fmt: skip


# --------------------------------------------------------------------------- test_softmax_with_cross_entropy_op.py

#: (test class, shape, axis, ignore_index, soft_label, label dtype, numeric_stable_mode, logits)
SWCE: list[tuple[str, list[int], int, int, bool, str, bool, str]] = [
    ("TestSoftmaxWithCrossEntropyOp", [41, 37], -1, -1, False, "int64", False, "uniform"),
    ("TestSoftmaxWithCrossEntropyOpInt32", [41, 37], -1, -1, False, "int32", False, "uniform"),
    ("TestSoftmaxWithCrossEntropyOpInt16", [41, 37], -1, -1, False, "int16", False, "uniform"),
    ("TestSoftmaxWithCrossEntropyOpInt8", [41, 37], -1, -1, False, "int8", False, "uniform"),
    ("TestSoftmaxWithCrossEntropyOpUInt8", [41, 37], -1, -1, False, "uint8", False, "uniform"),
    ("TestSoftmaxWithCrossEntropyOpNoCudnn", [3, 5, 7, 11], -1, -1, False, "int64", True, "uniform"),
    ("TestSoftmaxWithCrossEntropyOp2", [41, 37], -1, -1, True, "int64", True, "uniform"),
    ("TestSoftmaxWithCrossEntropyOp3", [41, 37], -1, 5, False, "int64", False, "uniform"),
    ("TestSoftmaxWithCrossEntropyOp3NoCudnn", [3, 5, 7, 11], -1, 4, False, "int64", True, "uniform"),
    *[(f"TestSoftmaxWithCrossEntropyOpAxis{a + 1}", [3, 5, 7, 11], a, -1, False, "int64", True, "uniform")
      for a in range(4)],
    ("TestSoftmaxWithCrossEntropyOpAxisDimEqualOne", [3, 5, 7, 1], -1, -1, False, "int64", True, "uniform"),
    *[(f"TestSoftmaxWithCrossEntropyOpSoftLabelAxis{a + 1}", [3, 5, 7, 11], a, -1, True, "int64", True, "uniform")
      for a in range(4)],
    *[(f"TestSoftmaxWithCrossEntropyOpIgnoreIndexNoCudnnAxis{a + 1}", [3, 5, 7, 11], a, ig, False, "int64", True,
       "uniform") for a, ig in ((0, 1), (1, 0), (2, 3), (3, 3))],
    ("TestSoftmaxWithCrossEntropyOpBoundary0", [3, 5, 7, 11], -1, -1, False, "int64", True, "-500"),
    ("TestSoftmaxWithCrossEntropyOpBoundary1", [3, 5, 7, 11], -1, -1, False, "int64", True, "1000/-1000"),
    ("TestSoftmaxWithCrossEntropyOp_ZeroSize", [0, 10], -1, -1, False, "int64", False, "uniform"),
]  # fmt: skip


def _stable_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """``test_softmax_op.stable_softmax`` along ``axis``: the shift clipped at -64 (Paddle's CPU softmax)."""
    shifted = np.clip(x - x.max(axis=axis, keepdims=True), -64.0, None)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def _swce_reference(logits: np.ndarray, labels: np.ndarray, soft: bool, axis: int, ignore: int) -> np.ndarray:
    """The op test's ``cross_entropy(stable_softmax(logits), label, soft_label, axis, ignore_index)``."""
    return _op_cross_entropy(_stable_softmax(logits, axis) if logits.size else logits, labels, soft, axis, ignore)


def _op_cross_entropy(softmax: np.ndarray, labels: np.ndarray, soft: bool, axis: int, ignore: int) -> np.ndarray:
    """The op test's ``cross_entropy(softmax, label, soft_label, axis, ignore_index)`` of probabilities."""
    if soft:
        return (-labels * np.log(softmax)).sum(axis=axis, keepdims=True)
    lab = labels.astype(np.int64)
    picked = np.take_along_axis(softmax, np.where(lab == ignore, 0, lab), axis=axis)
    return np.where(lab == ignore, 0.0, -np.log(picked))


@pytest.mark.parametrize("case", SWCE, ids=[c[0] for c in SWCE])
def test_softmax_with_cross_entropy_op(case: tuple[Any, ...]) -> None:
    """Every ``use_softmax=True`` class of the op test (``check_output``: loss and softmax; ``check_grad``
    with ``numeric_grad_delta=0.001``) through ``softmax_with_cross_entropy(..., return_softmax=True)``."""
    name, shape, axis, ignore, soft, label_dtype, stable, init = case
    rng = _rng(len(name))
    if init == "uniform":
        logits = rng.uniform(0.1, 1.0, shape).astype(DTYPE)
    elif init == "-500":
        logits = np.full(shape, -500.0, DTYPE)
    else:
        logits = np.full(shape, 1000.0, DTYPE)
        logits[:, :, 0, :] = -1000.0
    if soft:
        labels = rng.uniform(0.1, 1.0, shape).astype(DTYPE)
        labels /= labels.sum(axis=axis, keepdims=True)
    else:
        lshape = list(shape)
        lshape[axis] = 1
        labels = rng.integers(0, shape[axis], lshape).astype(label_dtype)
    kw: dict[str, Any] = {"soft_label": soft, "ignore_index": ignore, "numeric_stable_mode": stable, "axis": axis}
    loss, softmax = softmax_with_cross_entropy(logits, labels, return_softmax=True, **kw)
    want = _swce_reference(logits, labels, soft, axis, ignore)
    assert loss.shape == want.shape
    np.testing.assert_allclose(loss, want, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(softmax, _stable_softmax(logits, axis) if logits.size else logits, rtol=1e-5)
    if logits.size and logits.size <= 64 * 64 and init == "uniform":
        # check_grad: d mean(loss) / d logits (OpTest's numeric gradient of the output's mean), on a slice
        # of the items for the larger shapes (central differences cost two forwards per logit)
        g_out = np.full(want.shape, 1.0 / want.size)
        _, g = softmax_with_cross_entropy.value_and_grad(logits, labels, grad_output=g_out, **kw)
        idx = tuple(slice(0, 2) if i != axis % len(shape) else slice(None) for i in range(len(shape)))

        def ref(a: np.ndarray) -> np.ndarray:
            full = logits.copy()
            full[idx] = a
            return _swce_reference(full, labels, soft, axis, ignore) / want.size

        np.testing.assert_allclose(g[idx], _numeric_grad(ref, logits[idx], h=1e-3), rtol=1e-4, atol=1e-9)


@pytest.mark.parametrize("shapes", [((), (3, 4, 5, 6)), ((3, 4, 5), (3, 4, 5, 6))], ids=["input_dims1", "input_dims2"])
def test_softmax_with_cross_entropy_op_errors(shapes: tuple[tuple[int, ...], tuple[int, ...]]) -> None:
    """``TestSoftmaxWithCrossEntropyOpError``: 0-d logits, or a label of rank input + 1, raise ValueError."""
    x_shape, l_shape = shapes
    with pytest.raises(ValueError):
        softmax_with_cross_entropy(np.zeros(x_shape, np.float32), np.zeros(l_shape, np.int32))


#: The ``use_softmax=False`` classes of the op test (``TestSoftmaxWithCrossEntropyOp_NotWithSoftmax_*``):
#: (test class suffix, shape, axis, ignore_index, soft_label).  They feed the kernel
#: ``stable_softmax(uniform(0.1, 1.0))`` as the input and expect ``cross_entropy(softmax, label, ...)``.
NOT_WITH_SOFTMAX: list[tuple[str, list[int], int, int, bool]] = [
    ("SoftLabel_1D", [13, 8], -1, -1, True),
    ("HardLabel_1D", [13, 8], -1, -1, False),
    ("SoftLabel_2D", [3, 5, 7, 11], -1, -1, True),
    *[(f"SoftLabel_2D_Axis{a + 1}", [3, 5, 7, 11], a, -1, True) for a in (1, 2, 3)],
    ("HardLabel_2D", [3, 5, 7, 11], -1, -1, False),
    *[(f"HardLabel_2D_Axis{a + 1}", [3, 5, 7, 11], a, -1, False) for a in (1, 2, 3)],
    ("HardLabel_Ignore", [13, 8], -1, 2, False),
    ("HardLabel_Ignore_Axis", [13, 8], 1, 2, False),
    ("HardLabel_2D_Ignore", [3, 5, 7, 11], -1, 2, False),
    ("HardLabel_2D_Ignore_Axis3", [3, 5, 7, 11], 2, 2, False),
]


@pytest.mark.parametrize("case", NOT_WITH_SOFTMAX, ids=[c[0] for c in NOT_WITH_SOFTMAX])
def test_softmax_with_cross_entropy_op_not_with_softmax(case: tuple[Any, ...]) -> None:
    """``TestSoftmaxWithCrossEntropyOp_NotWithSoftmax_*``: the kernel on probabilities (``use_softmax=False``,
    called there through ``_C_ops.cross_entropy_with_softmax``; here through ``cross_entropy(...,
    use_softmax=False, reduction='none')``, which runs the same kernel): ``check_output`` on the loss, and
    ``check_grad`` (the gradient of the loss's mean with respect to the probabilities, ``-q / p``) against
    central differences of the test's reference."""
    name, shape, axis, ignore, soft = case
    rng = _rng(len(name))
    probs = _stable_softmax(rng.uniform(0.1, 1.0, shape).astype(DTYPE), axis)
    if soft:
        labels = rng.uniform(0.1, 1.0, shape).astype(DTYPE)
        labels /= labels.sum(axis=axis, keepdims=True)
    else:
        lshape = list(shape)
        lshape[axis] = 1
        labels = rng.integers(0, shape[axis], lshape).astype(np.int64)
    kw: dict[str, Any] = {"soft_label": soft, "ignore_index": ignore, "axis": axis, "use_softmax": False}
    want = _op_cross_entropy(probs, labels, soft, axis, ignore)
    loss = cross_entropy(probs, labels, reduction="none", **kw)
    assert loss.shape == want.shape
    np.testing.assert_allclose(loss, want, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(CrossEntropyLoss(reduction="none", **kw)(probs, labels), want, rtol=1e-5, atol=1e-12)
    # check_grad: d mean(loss) / d input, on a slice of the items (central differences cost two forwards each)
    g_out = np.full(want.shape, 1.0 / want.size)
    _, g = cross_entropy.value_and_grad(probs, labels, reduction="none", grad_output=g_out, **kw)
    idx = tuple(slice(0, 2) if i != axis % len(shape) else slice(None) for i in range(len(shape)))

    def ref(a: np.ndarray) -> np.ndarray:
        full = probs.copy()
        full[idx] = a
        return _op_cross_entropy(full, labels, soft, axis, ignore) / want.size

    np.testing.assert_allclose(g[idx], _numeric_grad(ref, probs[idx]), rtol=1e-5, atol=1e-9)
    # and the mean itself: Paddle's cross_entropy divides by every item (ignore_index < 0) or by the
    # non-ignored ones (a non-negative ignore_index)
    n = want.size if ignore < 0 or soft else int(np.sum(labels != ignore))
    np.testing.assert_allclose(cross_entropy(probs, labels, **kw), want.sum() / n, rtol=1e-5)

"""The mxnet dialect beyond the golden replay.

* The golden cases MXNet refuses but the dialect accepts on purpose (``GOLDEN_DEVIATIONS``) are
  checked here by value: keyword ``sample_weight``, 0-d ``sample_weight``, empty batches.
* ``sample_weight`` broadcasting against a float64 reference that spells out MXNet's
  ``hybrid_forward`` line by line (``mxnet/gluon/loss.py`` 380-401, classic NDArray mode).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.conftest import BackendInfo, assert_close
from unified_ce import InvalidArgumentError, LabelOutOfRangeError
from unified_ce.adapters import mxnet
from unified_ce.adapters.mxnet import SoftmaxCELoss, SoftmaxCrossEntropyLoss

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def reference(
    pred, label, sample_weight=None, *, axis=-1, sparse_label=True, from_logits=False, weight=None, batch_axis=0
):
    """MXNet's SoftmaxCrossEntropyLoss.hybrid_forward, in float64 NumPy."""
    pred = pred.astype(np.float64)
    if not from_logits:
        m = pred.max(axis=axis, keepdims=True)
        pred = pred - m - np.log(np.exp(pred - m).sum(axis=axis, keepdims=True))
    if sparse_label:
        idx = np.expand_dims(label.astype(np.int64), axis) if label.ndim < pred.ndim else label.astype(np.int64)
        loss = -np.take_along_axis(pred, idx, axis=axis)  # pick(..., keepdims=True)
    else:
        loss = -(pred * label.reshape(pred.shape)).sum(axis=axis, keepdims=True)
    if sample_weight is not None:
        loss = loss * sample_weight  # broadcast_mul
    if weight is not None:
        loss = loss * weight
    b = batch_axis % loss.ndim
    return loss.mean(axis=tuple(i for i in range(loss.ndim) if i != b))  # mean(axis=batch_axis, exclude=True)


rng = np.random.default_rng(5)

SW_CASES = [
    # pred shape, init, sample_weight shape
    ((4, 3), {}, (4, 1)),
    ((4, 3), {}, (4,)),
    ((4, 3), {}, (3,)),
    ((4, 3), {}, (7,)),
    ((4, 3), {}, (4, 3)),
    ((4, 3), {}, (1, 1)),
    ((3, 4), {"axis": 0, "batch_axis": 1}, (4,)),
    ((3, 4), {"axis": 0, "batch_axis": 1}, (3, 4)),
    ((2, 3, 4), {"axis": 1}, (2, 1, 4)),
    ((2, 3, 4), {"axis": 1}, (2, 4)),
    ((2, 3, 4), {"axis": 1}, (1, 3, 1)),
    ((2, 3, 4), {"axis": 1}, (2, 3, 4)),
    ((2, 3, 4), {"axis": 1}, (2, 5, 4)),
    ((2, 3, 4), {"axis": 1, "batch_axis": 2}, (3, 1)),
    ((2, 3, 4, 2), {"axis": -1, "batch_axis": 1}, (3, 4, 1)),
    ((2, 3, 4, 2), {"axis": -1, "batch_axis": 1}, (4, 2)),
    ((2, 3, 4), {"axis": 1, "sparse_label": False, "weight": 0.5}, (2, 3, 4)),
    ((2, 3, 4), {"axis": 1, "from_logits": True}, (2, 4)),
]


@pytest.mark.parametrize("shape,init,sw_shape", SW_CASES, ids=[f"{s}-{i}-{w}" for s, i, w in SW_CASES])
def test_sample_weight_broadcasting_matches_mxnet_formula(
    shape: tuple[int, ...], init: dict, sw_shape: tuple[int, ...], backend: BackendInfo
) -> None:
    be = backend
    axis = init.get("axis", -1) % len(shape)
    pred = rng.standard_normal(shape)
    if init.get("sparse_label", True):
        label = rng.integers(0, shape[axis], size=shape[:axis] + shape[axis + 1 :]).astype(np.float64)
    else:
        label = rng.random(shape)
    sw = rng.uniform(0, 2, size=sw_shape)
    expected = reference(pred, label, sw, **init)
    loss = SoftmaxCrossEntropyLoss(**init)
    out = be.call(lambda p, t, w: loss(p, t, w), be.asarray(pred), be.asarray(label), be.asarray(sw))
    be.check(out)
    assert_close(be.to_numpy(out), expected, what="loss")
    value, grad = loss.value_and_grad(be.asarray(pred), be.asarray(label), be.asarray(sw))
    assert_close(be.to_numpy(value), expected, what="value_and_grad value")
    # the gradient of sum(out) against central differences of the reference
    h = 1e-6
    num = np.zeros_like(pred)
    for i in np.ndindex(pred.shape):
        d = np.zeros_like(pred)
        d[i] = h
        num[i] = (reference(pred + d, label, sw, **init).sum() - reference(pred - d, label, sw, **init).sum()) / (2 * h)
    np.testing.assert_allclose(be.to_numpy(grad), num, rtol=1e-6, atol=1e-7)


def test_sample_weight_keyword_equals_positional() -> None:
    pred, label, sw = rng.standard_normal((3, 4)), np.array([0, 3, 1]), rng.random((3, 1))
    loss = SoftmaxCrossEntropyLoss()
    np.testing.assert_array_equal(loss(pred, label, sample_weight=sw), loss(pred, label, sw))


def test_zero_dim_sample_weight_scales_every_item(backend: BackendInfo) -> None:
    be = backend
    pred, label = rng.standard_normal((3, 4)), np.array([0.0, 3.0, 1.0])
    out = SoftmaxCrossEntropyLoss()(be.asarray(pred), be.asarray(label), be.asarray(np.array(2.5)))
    assert_close(be.to_numpy(out), reference(pred, label, weight=2.5), what="0-d sample_weight")


@pytest.mark.parametrize("sparse", [True, False])
def test_empty_batch(sparse: bool, backend: BackendInfo) -> None:
    be = backend
    label = np.zeros((0,), np.float32) if sparse else np.zeros((0, 4), np.float32)
    out = SoftmaxCrossEntropyLoss(sparse_label=sparse)(be.asarray(np.zeros((0, 4), np.float32)), be.asarray(label))
    be.check(out)
    out = be.to_numpy(out)
    assert out.shape == (0,) and out.dtype == np.float32


def test_empty_non_batch_axis_is_a_mean_of_nothing() -> None:
    out = SoftmaxCrossEntropyLoss(axis=1)(np.zeros((2, 3, 0)), np.zeros((2, 0)))
    assert out.shape == (2,) and np.isnan(out).all()


def test_label_with_the_class_axis_kept() -> None:
    pred, label = rng.standard_normal((2, 3, 4)), rng.integers(0, 3, size=(2, 4))
    loss = SoftmaxCrossEntropyLoss(axis=1)
    np.testing.assert_array_equal(loss(pred, label[:, None, :]), loss(pred, label))


def test_alias_and_repr() -> None:
    assert SoftmaxCELoss is SoftmaxCrossEntropyLoss
    assert repr(SoftmaxCELoss(weight=2.0, batch_axis=1)) == "SoftmaxCrossEntropyLoss(batch_axis=1, w=2.0)"
    assert set(mxnet.SEMANTICS) == set(__import__("unified_ce.adapters.torch", fromlist=["SEMANTICS"]).SEMANTICS)


@pytest.mark.parametrize(
    "init,error",
    [
        ({"foo": 1}, TypeError),
        ({"weight": np.array(2.0)}, TypeError),
        ({"weight": "2"}, TypeError),
        ({"weight": math.inf}, InvalidArgumentError),
    ],
)
def test_constructor_errors(init: dict, error: type) -> None:
    with pytest.raises(error):
        SoftmaxCrossEntropyLoss(**init)
    SoftmaxCrossEntropyLoss(prefix="ce_", params=None)  # Gluon's Block kwargs are accepted


@pytest.mark.parametrize(
    "label,error",
    [
        (np.array([0, 4]), LabelOutOfRangeError),
        (np.array([-1.0, 2.0]), LabelOutOfRangeError),
        (np.array([0.5, 2.0]), InvalidArgumentError),
    ],
)
def test_labels_mxnet_clips_or_truncates_raise(label: np.ndarray, error: type) -> None:
    with pytest.raises(error, match=r"target|label"):
        SoftmaxCrossEntropyLoss()(np.zeros((2, 4)), label)


@pytest.mark.parametrize(
    "shape,init,sw_shape",
    [((3, 4), {}, (2, 3, 1)), ((2, 3, 4), {"axis": 1, "batch_axis": 1}, (3, 1)), ((3, 4), {}, (2, 1))],
)
def test_sample_weight_that_changes_the_output_shape_raises(shape: tuple, init: dict, sw_shape: tuple) -> None:
    axis = init.get("axis", -1) % len(shape)
    label = np.zeros(shape[:axis] + shape[axis + 1 :])
    with pytest.raises(InvalidArgumentError, match="sample_weight"):
        SoftmaxCrossEntropyLoss(**init)(np.zeros(shape), label, np.ones(sw_shape))


def test_dtype_rules() -> None:
    pred = np.zeros((2, 4), np.float32)
    with pytest.raises(TypeError, match="sample_weight"):
        SoftmaxCrossEntropyLoss()(pred, np.zeros(2), np.ones((2, 1)))  # float64 weight, float32 pred
    with pytest.raises(TypeError, match="dtype"):
        SoftmaxCrossEntropyLoss(sparse_label=False)(pred, np.zeros((2, 4)))  # float64 probabilities
    assert SoftmaxCrossEntropyLoss()(pred, np.zeros(2, np.uint8)).dtype == np.float32

"""Tiny NumPy calls (:mod:`unified_ce.kernels._numpy_tiny`) give the reference core's numbers and errors.

Every case runs the direct path (checked to be taken) and the full path of the reference core
(``UNIFIED_CE_KERNEL=reference``); values, dtypes and shapes must agree with it to rounding and
with the float64 loop reference of ``tests/reference.py``.  Invalid input -- labels out of range,
wrong shapes or dtypes -- must raise the full path's error, and calls the path does not cover must
be handed to the full path.  Also: the namespace cache still checks devices on a hit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from unified_ce import CrossEntropySpec
from unified_ce._errors import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from unified_ce.adapters._base import Call
from unified_ce.kernels import _numpy_tiny

from .reference import reference

TORCH_SPEC = {"axis": 1, "ignore_index": -100, "denominator": "label_weight", "probs_nonnegative": False}
# (id, spec fields, labels: "plain" | "some-ignored" | "all-ignored", label dtype)
CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("mean", {}, "plain", "int64"),
    ("sum", {"reduction": "sum"}, "plain", "int64"),
    ("none", {"reduction": "none"}, "plain", "int64"),
    ("none-keepdims-axis1", {"reduction": "none", "keepdims": True, "axis": 1}, "plain", "int64"),
    ("int32-labels", {}, "plain", "int32"),
    ("int16-labels", {"reduction": "sum"}, "plain", "int16"),
    ("int8-labels", {}, "plain", "int8"),
    ("ignore-valid", {"ignore_index": -100}, "some-ignored", "int64"),
    ("ignore-in-range", {"ignore_index": 2, "reduction": "sum"}, "some-ignored", "int64"),
    ("ignore-none-reduction", {"ignore_index": -1, "reduction": "none"}, "some-ignored", "int32"),
    ("ignore-items", {"ignore_index": -100, "denominator": "items"}, "some-ignored", "int64"),
    ("ignore-label-weight", {"ignore_index": -100, "denominator": "label_weight", "axis": 1}, "some-ignored", "int64"),
    ("ignore-item-weight", {"ignore_index": 0, "denominator": "item_weight"}, "some-ignored", "int64"),
    ("ignore-unrepresentable", {"ignore_index": 1000}, "plain", "int8"),  # no int8 label is 1000
    ("all-ignored-zero", {"ignore_index": -100, "zero_denominator": "zero"}, "all-ignored", "int64"),
    ("torch-dialect-spec", TORCH_SPEC, "some-ignored", "int64"),
]


def _inputs(dtype: str, labels: str, ldtype: str, spec: CrossEntropySpec, shape: tuple[int, int] = (8, 10)) -> Any:
    rng = np.random.default_rng(len(labels) + len(ldtype))
    n, c = shape
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    x[0, 0] = 60.0  # a large gap
    t = rng.integers(0, c, size=n).astype(ldtype)
    if labels != "plain":
        t[:: 3 if labels == "some-ignored" else 1] = spec.ignore_index
    return x, t


def _full_path(monkeypatch: pytest.MonkeyPatch, *args: Any, **kwargs: Any) -> Any:
    with monkeypatch.context() as m:
        m.setenv("UNIFIED_CE_KERNEL", "reference")
        return uce.cross_entropy(*args, **kwargs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("cid", "fields", "labels", "ldtype"), CASES, ids=[c[0] for c in CASES])
def test_direct_path_matches_reference_core(
    monkeypatch: pytest.MonkeyPatch, dtype: str, cid: str, fields: dict[str, Any], labels: str, ldtype: str
) -> None:
    spec = CrossEntropySpec(**fields)
    x, t = _inputs(dtype, labels, ldtype, spec)
    copies = (x.copy(), t.copy())
    direct = _numpy_tiny.direct(Call(spec, x, t))
    assert direct is not None  # the case is covered: the path is taken
    ours = uce.cross_entropy(x, t, spec)  # the public call takes the same path
    full = _full_path(monkeypatch, x, t, spec)
    for got in (direct, ours):
        assert type(got) is type(full) and got.dtype == full.dtype and got.shape == full.shape
        np.testing.assert_allclose(got, full, rtol=1e-6 if dtype == "float32" else 1e-14, atol=0)
    np.testing.assert_allclose(ours, reference(spec, x, t), rtol=2e-6 if dtype == "float32" else 1e-12, atol=1e-7)
    np.testing.assert_array_equal(x, copies[0])  # the caller's arrays are untouched
    np.testing.assert_array_equal(t, copies[1])


@pytest.mark.parametrize(
    ("fields", "bad"),
    [({}, 10), ({}, -1), ({"ignore_index": -100}, -1), ({"ignore_index": -100}, 10), ({"ignore_index": 3}, 12)],
    ids=["too-large", "negative", "negative-not-ignored", "too-large-with-ignore", "in-range-ignore"],
)
@pytest.mark.parametrize("ldtype", ["int64", "int32", "int8"])
def test_labels_out_of_range_still_raise(fields: dict[str, Any], bad: int, ldtype: str) -> None:
    spec = CrossEntropySpec(**fields)
    x, t = _inputs("float32", "plain", ldtype, spec)
    t[5] = bad
    assert _numpy_tiny.direct(Call(spec, x, t)) is None  # refused: the full path raises
    with pytest.raises(LabelOutOfRangeError, match="outside"):
        uce.cross_entropy(x, t, spec)


def test_dialect_errors_keep_their_names_and_classes() -> None:
    """Through a dialect on NumPy: the torch dialect's error names ``target``, is also an IndexError."""
    from unified_ce.adapters.torch import cross_entropy

    x, t = _inputs("float32", "plain", "int64", CrossEntropySpec())
    t[0] = 10
    with pytest.raises(LabelOutOfRangeError, match=r"^target") as info:
        cross_entropy(x, t)
    assert isinstance(info.value, IndexError)


@pytest.mark.parametrize(
    ("what", "make"),
    [
        ("class weight", lambda x, t: Call(CrossEntropySpec(), x, t, np.ones(10, np.float32))),
        ("sample weight", lambda x, t: Call(CrossEntropySpec(), x, t, None, np.ones((8, 1), np.float32))),
        ("label smoothing", lambda x, t: Call(CrossEntropySpec(label_smoothing=0.1), x, t)),
        ("z-loss", lambda x, t: Call(CrossEntropySpec(z_loss=1e-4), x, t)),
        ("scale", lambda x, t: Call(CrossEntropySpec(scale=2.0), x, t)),
        ("float16 logits", lambda x, t: Call(CrossEntropySpec(), x.astype(np.float16), t)),
        ("float labels", lambda x, t: Call(CrossEntropySpec(), x, t.astype(np.float32))),
        ("uint8 labels", lambda x, t: Call(CrossEntropySpec(), x, t.astype(np.uint8))),
        ("bool labels", lambda x, t: Call(CrossEntropySpec(), x[:, :2], t % 2 == 0)),
        ("class axis 0", lambda x, t: Call(CrossEntropySpec(axis=0), x, t)),
        ("3-d logits", lambda x, t: Call(CrossEntropySpec(axis=1), x[:, :, None], t[:, None])),
        ("wrong batch", lambda x, t: Call(CrossEntropySpec(), x, t[:5])),
        ("2-d labels", lambda x, t: Call(CrossEntropySpec(), x, t[:, None])),
        ("probability target", lambda x, t: Call(CrossEntropySpec(target="probs"), x, np.full_like(x, 0.1))),
        ("large", lambda x, t: Call(CrossEntropySpec(), np.zeros((200, 100), np.float32), np.zeros(200, np.int64))),
        ("all ignored, 0/0", lambda x, t: Call(CrossEntropySpec(ignore_index=-100), x, np.full(8, -100))),
        ("a list", lambda x, t: Call(CrossEntropySpec(), x, t.tolist())),
    ],
)
def test_uncovered_calls_take_the_full_path(what: str, make: Any) -> None:
    x, t = _inputs("float32", "plain", "int64", CrossEntropySpec())
    assert _numpy_tiny.direct(make(x, t)) is None


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((np.zeros((8, 10), np.float32), np.zeros(5, np.int64)), InvalidArgumentError),
        ((np.zeros((8, 10), np.float32), np.zeros(8, np.float32) + 0.5), InvalidArgumentError),
        ((np.zeros((8, 10), np.int64), np.zeros(8, np.int64)), InvalidTypeError),
        ((np.zeros((8, 10), np.float32), [0] * 8), InvalidTypeError),
    ],
    ids=["batch", "fractional-labels", "int-logits", "list-target"],
)
def test_invalid_calls_still_raise(args: tuple[Any, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        uce.cross_entropy(*args)


def test_kernel_variable_turns_the_path_off(monkeypatch: pytest.MonkeyPatch) -> None:
    x, t = _inputs("float32", "plain", "int64", CrossEntropySpec())
    call = Call(CrossEntropySpec(), x, t)
    assert _numpy_tiny.direct(call) is not None
    monkeypatch.setenv("UNIFIED_CE_KERNEL", "reference")
    assert _numpy_tiny.direct(call) is None
    monkeypatch.setenv("UNIFIED_CE_KERNEL", "auto")
    assert _numpy_tiny.direct(call) is not None


def test_cached_spec_of_keywords_is_typed() -> None:
    """``uce.cross_entropy(..., **fields)`` caches the spec per keyword values *and* their types."""
    from unified_ce import _api

    assert _api._spec(None, {"reduction": "sum"}) is _api._spec(None, {"reduction": "sum"})
    assert _api._spec(None, {}) == CrossEntropySpec()
    assert _api._spec(None, {"label_smoothing": 1}).label_smoothing == 1.0
    with pytest.raises(InvalidTypeError):  # True is not 1: the cached spec of 1 must not answer it
        _api._spec(None, {"label_smoothing": True})
    with pytest.raises(TypeError):
        _api._spec(None, {"no_such_field": 1})


def test_namespace_cache_still_checks_devices() -> None:
    """A cached namespace (a hit by the arrays' types) still compares the torch tensors' devices."""
    torch = pytest.importorskip("torch")
    from unified_ce._backend import namespace_of

    x, t = torch.zeros(4, 3), torch.zeros(4, dtype=torch.int64)
    namespace_of({"logits": x, "target": t})
    namespace_of({"logits": x, "target": t})  # now a cache hit
    with pytest.raises(InvalidArgumentError, match="one device"):
        namespace_of({"logits": x, "target": t.to("meta")})
    with pytest.raises(InvalidArgumentError, match="one device"):
        namespace_of({"logits": x, "target": None, "class_weight": torch.zeros(3, device="meta")})

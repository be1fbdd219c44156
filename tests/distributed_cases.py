"""The tables shared by the scaling-out tests (Dask, sharded JAX, torch.distributed).

* :data:`CORE_CASES`: specs covering every reduction and every denominator, with class weights,
  sample weights, label smoothing, probability targets and ignore labels spread unevenly along the
  batch (the first rows are all ignored, so a first shard holds no valid item at all).
* :data:`DIALECT_CALLS`: one call per dialect and reduction, written against each *framework's*
  own signature (``torch.nn.CrossEntropyLoss``, ``chainer.functions.softmax_cross_entropy``,
  ``mxnet.gluon.loss.SoftmaxCrossEntropyLoss``, ``paddle.nn.functional.softmax_with_cross_entropy``,
  ``brainpy.losses.CrossEntropyLoss``).  :func:`dialect_calls` keeps the calls of the dialects in
  :data:`unified_ce.adapters.DIALECTS` that import (the torch dialect must).

The expected result of a distributed evaluation is always the *single-process* result of the same
call on the whole NumPy arrays; the single-process results are checked against golden data and a
float64 loop reference elsewhere (``tests/test_golden.py``, ``tests/test_core.py``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from unified_ce import CrossEntropySpec
from unified_ce.adapters import DIALECTS

#: relative tolerance of every comparison with the single-process result (float64)
RTOL = 1e-12

IGNORED_ROWS = (0, 1, 2, 3, 9)  # uneven: the first shard of any split is (almost) all ignored


def assert_same(actual: Any, expected: Any, what: str = "") -> None:
    """``actual == expected`` to ``RTOL`` relative to the largest expected magnitude (NaN == NaN)."""
    a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    scale = float(np.nanmax(np.abs(e), initial=0.0)) if e.size else 0.0
    np.testing.assert_allclose(a, e, rtol=RTOL, atol=RTOL * max(scale, 1e-300), equal_nan=True, err_msg=what)


@dataclass(frozen=True)
class CoreCase:
    """A spec and the inputs it is evaluated on (logits of ``shape``, classes along ``spec.axis``)."""

    name: str
    spec: CrossEntropySpec
    shape: tuple[int, ...] = (12, 7)
    class_weight: bool = False
    sample_weight: bool = False
    all_ignored: bool = False

    @property
    def class_axis(self) -> int:
        return self.spec.axis % len(self.shape)

    def inputs(self, seed: int = 0) -> dict[str, np.ndarray]:
        """float64 logits, targets and weights; ignore labels in the rows :data:`IGNORED_ROWS`."""
        rng = np.random.default_rng(seed)
        s, ax = self.spec, self.class_axis
        C = self.shape[ax]
        x = rng.normal(size=self.shape) * 3.0
        if s.inputs == "log_probs":
            m = x.max(axis=ax, keepdims=True)
            x = x - m - np.log(np.exp(x - m).sum(axis=ax, keepdims=True))
        item_shape = self.shape[:ax] + self.shape[ax + 1 :]
        if s.target == "index":
            t = rng.integers(0, C, size=item_shape)
            if s.ignore_index is not None:
                rows = slice(None) if self.all_ignored else list(IGNORED_ROWS)
                t[rows] = s.ignore_index
        else:
            t = rng.random(self.shape)
            t = t / t.sum(axis=ax, keepdims=True)
        out = {"logits": x, "target": t}
        if self.class_weight:
            out["class_weight"] = rng.random(C) + 0.25
        if self.sample_weight:
            keep = (*self.shape[:ax], 1, *self.shape[ax + 1 :])
            out["sample_weight"] = rng.random(keep) + 0.5
        return out

    def item_output(self) -> bool:
        """Whether the loss has one value per item / per sample (sliced along the batch)."""
        return self.spec.reduction in ("none", "sample_mean")


S = CrossEntropySpec
CORE_CASES = [
    CoreCase("mean-valid", S(ignore_index=-100)),
    CoreCase("mean-label_weight", S(ignore_index=-100, denominator="label_weight"), class_weight=True),
    CoreCase(
        "mean-label_weight-smoothing",
        S(ignore_index=-1, denominator="label_weight", label_smoothing=0.2),
        class_weight=True,
    ),
    CoreCase(
        "mean-item_weight-per_item-smoothing",
        S(ignore_index=-100, weighting="per_item", denominator="item_weight", label_smoothing=0.1),
        class_weight=True,
    ),
    CoreCase("mean-items-sample_weight", S(ignore_index=-100, denominator="items"), sample_weight=True),
    CoreCase("mean-batch-scale", S(ignore_index=-100, denominator="batch", scale=0.5)),
    CoreCase("mean-zero_denominator", S(ignore_index=-100, zero_denominator="zero"), class_weight=True),
    CoreCase(
        "mean-all_ignored-nan", S(ignore_index=-100, denominator="label_weight"), class_weight=True, all_ignored=True
    ),
    CoreCase("mean-all_ignored-zero", S(ignore_index=-100, zero_denominator="zero"), all_ignored=True),
    CoreCase("sum", S(ignore_index=-100, reduction="sum"), class_weight=True),
    CoreCase("none", S(ignore_index=-100, reduction="none", label_smoothing=0.1), class_weight=True),
    CoreCase("none-keepdims-axis1-3d", S(axis=1, ignore_index=-100, reduction="none", keepdims=True), shape=(12, 5, 2)),
    CoreCase(
        "mean-axis1-3d", S(axis=1, ignore_index=-100, denominator="label_weight"), shape=(12, 5, 2), class_weight=True
    ),
    CoreCase("sample_mean-axis1-3d", S(axis=1, reduction="sample_mean"), shape=(12, 5, 2), sample_weight=True),
    CoreCase("probs-mean-items", S(target="probs", denominator="items", label_smoothing=0.1), class_weight=True),
    CoreCase(
        "probs-kl-per_item-item_weight",
        S(target="probs", soft_loss="kl", weighting="per_item", denominator="item_weight"),
        class_weight=True,
    ),
    CoreCase("log_probs-mean", S(inputs="log_probs", ignore_index=-100)),
]


def core_case_ids() -> list[str]:
    return [c.name for c in CORE_CASES]


# --------------------------------------------------------------------------- dialects


@dataclass(frozen=True)
class DialectCall:
    """One dialect API called with fixed options, in the framework's own argument names.

    ``init`` are the loss class's constructor arguments (``kind="class"``) or the function's keyword
    arguments (``kind="function"``).  ``weight`` names the class-weight argument (``None``: the
    dialect has none); ``ignore`` is ``(argument name, value)`` of the ignore label (``None``: none).
    ``label_column``: the label has shape ``(N, 1)`` (Paddle).  ``per_item``: the loss has one
    value per item or sample (the rest are scalars).
    """

    dialect: str
    api: str
    kind: str  # "class" | "function"
    init: dict[str, Any] = field(default_factory=dict)
    weight: str | None = None
    ignore: tuple[str, int] | None = None
    label_column: bool = False
    per_item: bool = False

    @property
    def id(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self.init.items())
        return f"{self.dialect}.{self.api}({opts})"

    def module(self) -> Any:
        return importlib.import_module(f"unified_ce.adapters.{self.dialect}")

    def bind(self, class_weight: Any = None) -> Any:
        """The loss as an object with ``__call__(x, t)``, ``value_and_grad(x, t, grad_output=)`` and
        ``distributed(...)`` (the dialect's loss object, or its function with the options bound)."""
        api = getattr(self.module(), self.api)
        kw = dict(self.init)
        if self.ignore is not None:
            kw[self.ignore[0]] = self.ignore[1]
        if class_weight is not None:
            assert self.weight is not None
            kw[self.weight] = class_weight
        if self.kind == "class":
            return api(**kw)
        return _BoundFunction(api, kw)

    def inputs(self, seed: int = 0, *, n: int = 12, c: int = 7, with_weight: bool = True) -> dict[str, np.ndarray]:
        """float64 ``(N, C)`` logits, labels (ignored in :data:`IGNORED_ROWS`), class weights."""
        rng = np.random.default_rng(seed)
        x = rng.normal(size=(n, c)) * 3.0
        t = rng.integers(0, c, size=(n,))
        if self.ignore is not None:
            t[list(IGNORED_ROWS)] = self.ignore[1]
        if self.label_column:
            t = t[:, None]
        out = {"logits": x, "target": t}
        if with_weight and self.weight is not None:
            out["class_weight"] = rng.random(c) + 0.25
        return out


@dataclass
class _BoundFunction:
    """A dialect function with its keyword options bound, shaped like a loss object."""

    fn: Any
    kwargs: dict[str, Any]

    def __call__(self, x: Any, t: Any) -> Any:
        return self.fn(x, t, **self.kwargs)

    def value_and_grad(self, x: Any, t: Any, grad_output: Any = None) -> Any:
        return self.fn.value_and_grad(x, t, grad_output=grad_output, **self.kwargs)

    def distributed(self, **options: Any) -> _BoundFunction:
        return _BoundFunction(self.fn.distributed(**options), self.kwargs)


DIALECT_CALLS = [
    *(
        DialectCall(
            "torch",
            "CrossEntropyLoss",
            "class",
            {"reduction": r},
            "weight",
            ("ignore_index", -100),
            per_item=r == "none",
        )
        for r in ("mean", "sum", "none")
    ),
    DialectCall("torch", "cross_entropy", "function", {"label_smoothing": 0.1}, "weight", ("ignore_index", 3)),
    DialectCall("chainer", "softmax_cross_entropy", "function", {}, "class_weight", ("ignore_label", -1)),
    DialectCall(
        "chainer", "softmax_cross_entropy", "function", {"normalize": False}, "class_weight", ("ignore_label", -1)
    ),
    DialectCall(
        "chainer",
        "softmax_cross_entropy",
        "function",
        {"reduce": "no"},
        "class_weight",
        ("ignore_label", -1),
        per_item=True,
    ),
    DialectCall("mxnet", "SoftmaxCrossEntropyLoss", "class", {}, per_item=True),
    DialectCall(
        "paddle",
        "softmax_with_cross_entropy",
        "function",
        {},
        None,
        ("ignore_index", -100),
        label_column=True,
        per_item=True,
    ),
    *(
        DialectCall(
            "brainpy",
            "CrossEntropyLoss",
            "class",
            {"reduction": r},
            "weight",
            ("ignore_index", -100),
            per_item=r == "none",
        )
        for r in ("mean", "sum", "none")
    ),
]


def dialect_calls(*, require: tuple[str, ...] = ("torch",)) -> list[DialectCall]:
    """The calls of every dialect of :data:`DIALECTS` whose adapter imports and has the API."""
    out = []
    for call in DIALECT_CALLS:
        assert call.dialect in DIALECTS, call.dialect
        try:
            module = call.module()
        except ImportError:
            if call.dialect in require:
                raise
            continue
        if hasattr(module, call.api):
            out.append(call)
        elif call.dialect in require:
            raise AssertionError(f"unified_ce.adapters.{call.dialect} has no {call.api}")
    return out


def dialect_ids(calls: list[DialectCall]) -> list[str]:
    return [c.id for c in calls]


def uneven_splits(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous, non-empty ranges covering ``range(n)``: sizes 1, 2, ... and the rest when
    that fits, else ones and the rest at the end."""
    sizes = [1 + i for i in range(parts - 1)]
    if sum(sizes) >= n:
        sizes = [1] * (parts - 1)
    assert sum(sizes) < n, (n, parts)
    sizes.append(n - sum(sizes))
    bounds, start = [], 0
    for s in sizes:
        bounds.append((start, start + s))
        start += s
    return bounds

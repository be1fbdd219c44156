"""The core against the float64 loop reference: a table of specs × every backend.

Each row is a spec and the inputs it is evaluated on; expected values come from
:func:`tests.reference.reference` and gradients from central differences of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from tests.conftest import Backend, BackendInfo, assert_close
from tests.reference import numeric_grad, reference
from unified_ce import CrossEntropySpec


@dataclass
class Case:
    name: str
    spec: CrossEntropySpec
    shape: tuple[int, ...]
    class_weight: bool = False
    sample_weight: tuple[int, ...] | None = None  # shape of the per-sample weight
    ignore_fraction: float = 0.0
    unnormalised: bool = False
    zeros_in_target: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def inputs(self, seed: int = 0) -> dict[str, Any]:
        rng = np.random.default_rng(seed)
        s = self.spec
        x = rng.normal(size=self.shape) * 2.0
        if s.inputs == "log_probs":
            ax = s.axis % len(self.shape)
            x = x - np.log(np.exp(x).sum(axis=ax, keepdims=True))
        if s.inputs == "probs":  # probabilities, a few inside the clip regions (exactly 0 and 1 only in goldens)
            x = rng.uniform(0.02, 0.98, size=self.shape)
            if s.activation == "softmax" and s.probs_normalize == "none":
                x = x / x.sum(axis=s.axis % len(self.shape), keepdims=True)
        if s.activation == "softmax":
            ax = s.axis % len(self.shape)
            C = self.shape[ax]
            ishape = self.shape[:ax] + self.shape[ax + 1 :]
        else:
            C, ishape = 2, self.shape
        if s.target == "index":
            t = rng.integers(0, C, size=ishape)
            if s.ignore_index is not None:
                t = np.where(rng.random(ishape) < self.ignore_fraction, s.ignore_index, t)
        else:
            t = rng.random(self.shape)
            if s.activation == "softmax" and not self.unnormalised:
                t = t / t.sum(axis=s.axis % len(self.shape), keepdims=True)
            if self.unnormalised:
                t = t * 3.0
            if self.zeros_in_target:
                t = np.where(rng.random(self.shape) < 0.3, 0.0, t)
        out = {"logits": x, "target": t}
        if self.class_weight:  # sigmoid: pos_weight, one per class of the last axis
            out["class_weight"] = rng.random(C if s.activation == "softmax" else self.shape[-1]) * 3 + 0.2
        if self.sample_weight is not None:
            out["sample_weight"] = rng.random(self.sample_weight) + 0.5
        return out


S = CrossEntropySpec
CASES = [
    Case("default", S(), (4, 5)),
    Case(
        "axis1-rank3-ignore-weights-smoothing",
        S(axis=1, ignore_index=1, label_smoothing=0.2, denominator="label_weight"),
        (3, 4, 2),
        class_weight=True,
        ignore_fraction=0.3,
    ),
    Case("axis0", S(axis=0, reduction="none", keepdims=True), (3, 4)),
    Case("probs-per_class-sum", S(target="probs", label_smoothing=0.1, reduction="sum"), (3, 4), class_weight=True),
    Case(
        "probs-unnormalised-per_item",
        S(target="probs", weighting="per_item", denominator="item_weight"),
        (3, 4),
        class_weight=True,
        unnormalised=True,
    ),
    Case(
        "index-per_item-smoothing",
        S(weighting="per_item", label_smoothing=0.3, ignore_index=-100, denominator="item_weight"),
        (5, 4),
        class_weight=True,
        ignore_fraction=0.3,
    ),
    Case(
        "index-per_label-smoothing",
        S(weighting="per_label", label_smoothing=0.3, ignore_index=-100, denominator="item_weight"),
        (5, 4),
        class_weight=True,
        ignore_fraction=0.3,
    ),
    Case("kl", S(target="probs", soft_loss="kl", kl_eps=0.0), (3, 4), zeros_in_target=True),
    Case("kl-eps-weights", S(target="probs", soft_loss="kl", kl_eps=1e-7, reduction="none"), (3, 4), class_weight=True),
    Case("log_probs", S(inputs="log_probs", reduction="sum"), (4, 3)),
    Case("probs-index-min_log", S(inputs="probs", min_log=-100.0, reduction="sum"), (4, 3)),
    Case(
        "probs-index-min_log-unclamped-ignore",
        S(inputs="probs", min_log=-1e20, min_log_grad="unclamped", ignore_index=-1, reduction="none"),
        (4, 3),
        ignore_fraction=0.3,
    ),
    Case(
        "probs-index-min_log-unclamped-smoothing",
        S(inputs="probs", min_log=-1e20, min_log_grad="unclamped", label_smoothing=0.2, denominator="items"),
        (4, 3),
    ),
    Case(
        "probs-soft-min_log-unclamped-weights",
        S(inputs="probs", target="probs", min_log=-1e20, min_log_grad="unclamped", weighting="per_item"),
        (2, 3, 4),
        class_weight=True,
    ),
    Case(
        "probs-soft-normalise-clip-weights",
        S(inputs="probs", target="probs", probs_normalize="before_clip", probs_clip=0.05, label_smoothing=0.1),
        (4, 3),
        class_weight=True,
    ),
    Case(
        "probs-after_clip-axis0-ignore",
        S(inputs="probs", axis=0, probs_normalize="after_clip", probs_clip=0.05, ignore_index=-1, reduction="none"),
        (3, 4),
        ignore_fraction=0.3,
    ),
    Case(
        "sigmoid-probs-input-torch",
        S(
            activation="sigmoid",
            target="probs",
            inputs="probs",
            min_log=-100.0,
            probs_grad_floor=1e-12,
            probs_in_range=True,
            denominator="items",
        ),
        (4, 3),
        sample_weight=(4, 3),
    ),
    Case(
        "sigmoid-probs-input-clip-eps-pos_weight",
        S(activation="sigmoid", target="probs", inputs="probs", probs_clip=0.05, log_eps=1e-3, reduction="none"),
        (2, 3, 4),
        class_weight=True,
    ),
    Case(
        "sample_mean", S(axis=-1, reduction="sample_mean", batch_axis=1, scale=0.5), (2, 3, 4), sample_weight=(1, 3, 1)
    ),
    Case(
        "sigmoid-axis_mean",
        S(activation="sigmoid", target="probs", axis=1, reduction="axis_mean", label_smoothing=0.2),
        (2, 3, 4),
        sample_weight=(2, 1, 4),
    ),
    Case("axis_mean-softmax", S(axis=1, reduction="axis_mean", ignore_index=0), (3, 4, 2), ignore_fraction=0.3),
    Case(
        "sample-weight-mean",
        S(axis=1, ignore_index=0, denominator="valid"),
        (4, 3, 2),
        sample_weight=(4, 1, 2),
        ignore_fraction=0.2,
    ),
    Case(
        "batch-denominator",
        S(axis=1, ignore_index=-1, denominator="batch", zero_denominator="zero"),
        (3, 4),
        ignore_fraction=0.5,
    ),
    Case("items-denominator-with-ignore", S(ignore_index=2, denominator="items"), (5, 3), ignore_fraction=0.4),
    Case(
        "all-ignored-nan",
        S(ignore_index=-1, denominator="label_weight"),
        (3, 4),
        class_weight=True,
        ignore_fraction=1.0,
    ),
    Case("all-ignored-zero", S(ignore_index=-1, zero_denominator="zero"), (3, 4), ignore_fraction=1.0),
    Case("empty-batch", S(), (0, 4)),
    Case("one-class", S(reduction="none"), (3, 1)),
    Case("sigmoid-index-ignore", S(activation="sigmoid", ignore_index=-1), (4, 3), ignore_fraction=0.3),
    Case(
        "sigmoid-probs-smoothing", S(activation="sigmoid", target="probs", label_smoothing=0.2, reduction="sum"), (3, 2)
    ),
    Case("sigmoid-none-batch", S(activation="sigmoid", reduction="none"), (2, 3, 2)),
    Case(
        "sigmoid-pos_weight-probs-sample_weight",
        S(activation="sigmoid", target="probs", denominator="items"),
        (4, 3),
        class_weight=True,
        sample_weight=(4, 1),
    ),
    Case(
        "sigmoid-pos_weight-index-ignore-smoothing",
        S(activation="sigmoid", ignore_index=-1, label_smoothing=0.1, reduction="none"),
        (2, 3, 4),
        class_weight=True,
        ignore_fraction=0.3,
    ),
]


def _uce_args(case: Case, be: BackendInfo, data: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    kw = {k: be.asarray(v) for k, v in data.items() if k in ("class_weight", "sample_weight")}
    return be.asarray(data["logits"]), be.asarray(data["target"]), kw


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_value_matches_reference(case: Case, backend: BackendInfo) -> None:
    data = case.inputs()
    expected = reference(case.spec, **data)
    x, t, kw = _uce_args(case, backend, data)
    out = backend.call(lambda x, t, *w: uce.cross_entropy(x, t, case.spec, **dict(zip(kw, w))), x, t, *kw.values())
    backend.check(out)
    got = backend.to_numpy(out)
    assert got.dtype == np.float64
    assert_close(got, expected, what=case.name)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_value_and_grad_matches_reference(case: Case, backend: BackendInfo) -> None:
    data = case.inputs()
    expected = reference(case.spec, **data)
    if not np.all(np.isfinite(expected)) or data["logits"].size == 0:
        pytest.skip("no gradient to compare (nan loss or no items)")
    rng = np.random.default_rng(1)
    go = rng.normal(size=expected.shape)
    weights = {k: v for k, v in data.items() if k in ("class_weight", "sample_weight")}
    g_expected = numeric_grad(case.spec, data["logits"], data["target"], go, **weights)
    x, t, kw = _uce_args(case, backend, data)
    value, grad = uce.value_and_grad(x, t, case.spec, grad_output=backend.asarray(go), **kw)
    backend.check(value)
    backend.check(grad)
    assert_close(backend.to_numpy(value), expected, what="value")
    np.testing.assert_allclose(backend.to_numpy(grad), g_expected, rtol=1e-6, atol=1e-7)
    if backend.autodiff:
        _, g_auto = backend.grad(lambda x: uce.cross_entropy(x, t, case.spec, **kw), x, backend.asarray(go))
        backend.check(g_auto)
        np.testing.assert_allclose(backend.to_numpy(g_auto), g_expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_low_precision_computed_in_float32(dtype: str, backend: BackendInfo) -> None:
    """Half precision is computed in float32 and returned in the input's dtype."""
    if backend.backend in (Backend.NUMPY, Backend.DASK, Backend.STRICT, Backend.STRICT_DEVICE1, Backend.CUPY) and (
        dtype == "bfloat16"
    ):
        pytest.skip(f"{backend.name} has no bfloat16")
    if backend.backend in (Backend.STRICT, Backend.STRICT_DEVICE1) and dtype == "float16":
        pytest.skip("the array API standard has no float16")
    rng = np.random.default_rng(0)
    x64 = rng.normal(size=(6, 50)) * 3
    t = rng.integers(0, 50, size=6)
    spec = CrossEntropySpec(label_smoothing=0.1, reduction="none")
    if dtype == "bfloat16":
        if backend.backend in (Backend.TORCH, Backend.TORCH_CUDA):
            import torch

            x = torch.from_numpy(x64).to(dtype=torch.bfloat16, device=backend.device)
            x_back = x.double().cpu().numpy()
        else:
            import jax.numpy as jnp

            x = jnp.asarray(x64, dtype=jnp.bfloat16)
            x_back = np.asarray(x.astype(jnp.float64))
    else:
        x_np = x64.astype(dtype)
        x = backend.asarray(x_np)
        x_back = x_np.astype(np.float64)
    out = backend.call(lambda x, t: uce.cross_entropy(x, t, spec), x, backend.asarray(t))
    backend.check(out)
    assert str(out.dtype).endswith(dtype)
    expected = reference(spec, x_back, t)
    got = backend.to_numpy(backend.xp.astype(out, backend.xp.float32)).astype(np.float64)
    # the only error is the final rounding to the half type (float32 accumulation inside)
    np.testing.assert_allclose(got, expected, rtol=1e-2 if dtype == "bfloat16" else 2e-3, atol=1e-3)


def test_result_is_on_the_input_device() -> None:
    """array-api-strict's second device proves every array the core creates is made on the input's device."""
    xps = pytest.importorskip("array_api_strict")
    dev = xps.Device("device1")
    x = xps.asarray(np.random.default_rng(0).normal(size=(3, 4)), device=dev)
    t = xps.asarray(np.array([0, 3, -1]), device=dev)
    w = xps.asarray(np.ones(4), device=dev)
    for spec in (
        CrossEntropySpec(ignore_index=-1, label_smoothing=0.1, denominator="label_weight"),
        CrossEntropySpec(ignore_index=-1, reduction="none"),
    ):
        out = uce.cross_entropy(x, t, spec, class_weight=w)
        assert out.device == dev
        value, grad = uce.value_and_grad(x, t, spec, class_weight=w)
        assert value.device == dev and grad.device == dev
    with pytest.raises(uce.InvalidArgumentError, match="device"):
        uce.cross_entropy(x, xps.asarray(np.array([0, 1, 2])), ignore_index=-1)


def test_dask_stays_lazy() -> None:
    """Nothing is computed until the user computes (a graph that raises when computed proves it)."""
    da = pytest.importorskip("dask.array")

    def boom(block: Any) -> Any:
        raise RuntimeError("computed too early")

    x = da.from_array(np.zeros((8, 6)), chunks=(4, 3)).map_blocks(boom, dtype=np.float64)
    t = da.from_array(np.zeros(8, dtype=np.int64), chunks=4)
    for spec in (CrossEntropySpec(ignore_index=-100), CrossEntropySpec(reduction="none", label_smoothing=0.1)):
        out = uce.cross_entropy(x, t, spec)
        assert isinstance(out, da.Array)
        loss, grad = uce.value_and_grad(x, t, spec)
        assert isinstance(loss, da.Array) and isinstance(grad, da.Array)
    # chunked along batch and classes, the computed result is right
    rng = np.random.default_rng(0)
    xn, tn = rng.normal(size=(8, 6)), rng.integers(0, 6, size=8)
    out = uce.cross_entropy(da.from_array(xn, chunks=(3, 2)), da.from_array(tn, chunks=3))
    assert_close(np.asarray(out.compute()), reference(CrossEntropySpec(), xn, tn))


def test_jit_under_invalid_labels_gives_nan() -> None:
    """Under jax.jit label values are unknown when tracing: an out-of-range label poisons the loss with NaN."""
    jax = pytest.importorskip("jax")
    x = jax.numpy.zeros((3, 4))
    t = jax.numpy.asarray([0, 7, 1])
    with pytest.raises(uce.LabelOutOfRangeError):
        uce.cross_entropy(x, t)
    out = jax.jit(lambda x, t: uce.cross_entropy(x, t, reduction="none"))(x, t)
    assert math.isnan(float(out[1])) and not math.isnan(float(out[0]))

"""Sharded JAX arrays: the same values and gradients under ``jit`` as unsharded inputs, outputs stay sharded.

Four host devices (``XLA_FLAGS=--xla_force_host_platform_device_count=4``, set by
``tests/conftest.py`` before JAX is imported; when JAX was initialised with fewer devices, this module
re-runs itself in a subprocess with the flag).  The logits are sharded along the batch, along the
classes, along both (a 2 x 2 mesh), or along the batch over all four devices; labels, class weights
and sample weights follow.  Nothing in unified_ce knows about the sharding: XLA's partitioner turns
the class-axis reductions into all-reduces (the compiled program never gathers the logits).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from tests.distributed_cases import (
    CORE_CASES,
    CoreCase,
    DialectCall,
    assert_same,
    core_case_ids,
    dialect_calls,
    dialect_ids,
)

jax = pytest.importorskip("jax")
jnp = jax.numpy
jax.config.update("jax_enable_x64", True)
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

N_DEVICES = 4
ENOUGH = jax.device_count() >= N_DEVICES
needs_devices = pytest.mark.skipif(not ENOUGH, reason="needs 4 devices: run by test_in_subprocess")

#: where the batch (axis 0) and the classes of the logits go, on a 2 x 2 mesh ("b", "c")
LAYOUTS = {
    "batch": ("b", None),
    "classes": (None, "c"),
    "both": ("b", "c"),
    "batch-4": (("b", "c"), None),
}


def _mesh() -> Mesh:
    return Mesh(np.array(jax.devices()[:N_DEVICES]).reshape(2, 2), ("b", "c"))


def _even(case: CoreCase) -> CoreCase:
    """The case with an even number of classes (a sharded axis must divide evenly)."""
    shape = list(case.shape)
    shape[case.class_axis] += shape[case.class_axis] % 2
    return dataclasses.replace(case, shape=tuple(shape))


def _spec_for(ndim: int, class_axis: int | None, layout: str) -> P:
    """The partition spec of an array whose axis 0 is the batch and ``class_axis`` the classes."""
    batch, classes = LAYOUTS[layout]
    parts: list[Any] = [None] * ndim
    if ndim:
        parts[0] = batch
    if class_axis is not None and class_axis != 0:
        parts[class_axis] = classes
    return P(*parts)


def _place(arrays: dict[str, np.ndarray], class_axis: int, layout: str) -> dict[str, Any]:
    mesh = _mesh()
    x = arrays["logits"]
    out = {}
    for name, a in arrays.items():
        if name == "class_weight":
            spec = P(LAYOUTS[layout][1])
        elif name == "target" and a.shape != x.shape:  # labels: no class axis (or one of size 1)
            spec = _spec_for(a.ndim, None, layout)
        elif name == "sample_weight":  # the class axis kept with size 1
            spec = _spec_for(a.ndim, None, layout)
        else:
            spec = _spec_for(a.ndim, class_axis, layout)
        out[name] = jax.device_put(jnp.asarray(a), NamedSharding(mesh, spec))
    return out


def _cotangent(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(7).random(shape) + 0.5


def _check_sharded_run(
    fn: Any,
    arrays: dict[str, np.ndarray],
    class_axis: int,
    layout: str,
    per_item: bool,
    what: str,
    log_probs: bool = False,
) -> None:
    """``fn(logits, target, weights)`` under jit on sharded inputs == ``fn`` on NumPy, value and gradient."""
    weights = {k: v for k, v in arrays.items() if k in ("class_weight", "sample_weight")}
    expected = fn(arrays["logits"], arrays["target"], weights)
    go = _cotangent(np.shape(expected))
    exp_value, exp_grad = fn.value_and_grad(arrays["logits"], arrays["target"], weights, go)

    placed = _place(arrays, class_axis, layout)
    pw = {k: v for k, v in placed.items() if k in weights}
    x, t = placed["logits"], placed["target"]

    def run(x: Any, t: Any, w: Any) -> Any:  # one compiled program: autodiff and the analytic gradient
        out, vjp = jax.vjp(lambda x: fn(x, t, w), x)
        (grad,) = vjp(jnp.asarray(go, dtype=out.dtype))
        return out, grad, *fn.value_and_grad(x, t, w, jnp.asarray(go))

    out, grad, value, grad2 = jax.jit(run)(x, t, pw)
    assert_same(np.asarray(out), expected, f"{what}: value")
    assert_same(np.asarray(grad), exp_grad, f"{what}: gradient (jax.vjp under jit)")
    assert_same(np.asarray(value), exp_value, f"{what}: value_and_grad value")
    assert_same(np.asarray(grad2), exp_grad, f"{what}: value_and_grad gradient")

    # the gradient is sharded like the logits (log-probability inputs: the gradient does not depend on
    # them at all, so XLA is free to place it; constrain it with out_shardings if it matters), and a
    # per-item loss like the logits' batch
    if not log_probs:
        assert grad.sharding.is_equivalent_to(x.sharding, x.ndim), f"{what}: gradient sharding {grad.sharding}"
    if per_item and out.ndim:
        want = NamedSharding(_mesh(), P(LAYOUTS[layout][0]))
        assert out.sharding.is_equivalent_to(want, out.ndim), f"{what}: output sharding {out.sharding}"


def _no_gather(fn: Any, arrays: dict[str, np.ndarray], class_axis: int, layout: str) -> None:
    """The compiled program (forward and gradient) moves only per-item statistics: no all-gather."""
    placed = _place(arrays, class_axis, layout)
    weights = {k: v for k, v in placed.items() if k in ("class_weight", "sample_weight")}

    def f(x: Any) -> Any:
        return jnp.sum(fn(x, placed["target"], weights))

    hlo = jax.jit(jax.value_and_grad(f)).lower(placed["logits"]).compile().as_text()
    assert hlo is not None
    bad = [line.strip()[:160] for line in hlo.splitlines() if "all-gather" in line or "all-to-all" in line]
    assert not bad, "\n".join(bad)


class _Core:
    def __init__(self, case: CoreCase) -> None:
        self.spec = case.spec

    def __call__(self, x: Any, t: Any, w: dict[str, Any]) -> Any:
        return uce.cross_entropy(x, t, self.spec, **w)

    def value_and_grad(self, x: Any, t: Any, w: dict[str, Any], go: Any) -> Any:
        return uce.value_and_grad(x, t, self.spec, grad_output=go, **w)


class _Dialect:
    def __init__(self, call: DialectCall) -> None:
        self.call = call

    def __call__(self, x: Any, t: Any, w: dict[str, Any]) -> Any:
        return self.call.bind(w.get("class_weight"))(x, t)

    def value_and_grad(self, x: Any, t: Any, w: dict[str, Any], go: Any) -> Any:
        return self.call.bind(w.get("class_weight")).value_and_grad(x, t, grad_output=go)


@needs_devices
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", CORE_CASES, ids=core_case_ids())
def test_core_sharded(case: CoreCase, layout: str) -> None:
    case = _even(case)
    log_probs = case.spec.inputs == "log_probs"
    _check_sharded_run(_Core(case), case.inputs(), case.class_axis, layout, case.item_output(), case.name, log_probs)


CALLS = dialect_calls()


@needs_devices
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("call", CALLS, ids=dialect_ids(CALLS))
def test_dialect_sharded(call: DialectCall, layout: str) -> None:
    _check_sharded_run(_Dialect(call), call.inputs(c=8), 1, layout, call.per_item, call.id)


@needs_devices
@pytest.mark.parametrize("layout", ["classes", "both"])
@pytest.mark.parametrize(
    "case",
    [c for c in CORE_CASES if c.name in ("mean-label_weight-smoothing", "probs-mean-items")],
    ids=lambda c: c.name,
)
def test_class_sharding_never_gathers_the_logits(case: CoreCase, layout: str) -> None:
    case = _even(case)
    _no_gather(_Core(case), case.inputs(), case.class_axis, layout)


def test_conftest_gives_four_host_devices() -> None:
    """tests/conftest.py sets XLA_FLAGS before JAX is imported: a fresh interpreter sees 4 CPU devices."""
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    code = "import tests.conftest, jax; print(jax.device_count(), jax.devices()[0].platform)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["4", "cpu"]


def test_in_subprocess() -> None:
    """When this process's JAX has fewer than 4 devices, run this module again where it has them."""
    if ENOUGH:
        pytest.skip("4 devices here: the tests ran in this process")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    out = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(__file__).relative_to(root)), "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stdout[-6000:]


@needs_devices
@pytest.mark.parametrize("layout", ["batch", "both"])
@pytest.mark.parametrize(
    "case",
    [c for c in CORE_CASES if c.name in ("mean-label_weight-smoothing", "none", "probs-mean-items")],
    ids=lambda c: c.name,
)
def test_eager_sharded_arrays(case: CoreCase, layout: str) -> None:
    """Without jit too: arrays sharded differently over the same devices may meet (labels over the
    batch, class weights over the classes); the loss and gradient are right and stay sharded."""
    case = _even(case)
    arrays = case.inputs()
    weights = {k: v for k, v in arrays.items() if k in ("class_weight", "sample_weight")}
    expected = uce.cross_entropy(arrays["logits"], arrays["target"], case.spec, **weights)
    _, exp_grad = uce.value_and_grad(arrays["logits"], arrays["target"], case.spec, **weights)
    placed = _place(arrays, case.class_axis, layout)
    pw = {k: v for k, v in placed.items() if k in weights}
    out = uce.cross_entropy(placed["logits"], placed["target"], case.spec, **pw)
    value, grad = uce.value_and_grad(placed["logits"], placed["target"], case.spec, **pw)
    assert_same(np.asarray(out), expected, "eager value")
    assert_same(np.asarray(value), expected, "eager value_and_grad value")
    assert_same(np.asarray(grad), exp_grad, "eager gradient")
    assert grad.sharding.is_equivalent_to(placed["logits"].sharding, grad.ndim)
    if case.item_output():
        assert out.sharding.is_equivalent_to(NamedSharding(_mesh(), P(LAYOUTS[layout][0])), out.ndim)

"""linear_cross_entropy on sharded and chunked inputs: JAX under ``jit`` with ``jax.sharding``, and Dask.

JAX: four host devices on a 2 x 2 mesh ("b", "c") (``XLA_FLAGS=--xla_force_host_platform_device_count=4``;
when this process's JAX has fewer devices, the module re-runs itself in a subprocess, as
``tests/test_distributed_jax.py`` does).  ``hidden`` is sharded along its batch axis, ``weight`` (and
``bias``, ``class_weight``) along the vocabulary, or both, or the batch over all four devices.  Dask:
``weight`` chunked along the vocabulary (uneven chunks), ``hidden`` along the batch.  Every result --
the loss and the gradients with respect to ``hidden``, ``weight`` and ``bias`` -- must equal the
float64 naive computation of ``tests/test_linear.py`` (logits held, autograd of the textbook formula).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from unified_ce import CrossEntropySpec, linear_cross_entropy
from unified_ce.linear import linear_value_and_grad

from .test_linear import CASES, make, naive, split

jax = pytest.importorskip("jax")
jnp = jax.numpy
jax.config.update("jax_enable_x64", True)
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

N_DEVICES = 4
ENOUGH = jax.device_count() >= N_DEVICES
needs_devices = pytest.mark.skipif(not ENOUGH, reason="needs 4 devices: run by test_in_subprocess")

#: where the batch axis of hidden / target and the vocabulary of weight / bias / class_weight go
LAYOUTS = {"batch": ("b", None), "vocabulary": (None, "c"), "both": ("b", "c"), "batch-4": (("b", "c"), None)}
SHARDED_CASES = ["ignore-sum-bias", "none", "all", "class-weight-smooth", "sample-weight-none", "shift"]
#: float64 budgets: the whole vocabulary per block, and blocks of 4 of the 12 classes
BUDGETS = {"fused": None, "vocab-blocks": 8 * 4 * 8 * 2}
SHAPE, V_EVEN = (4, 6), 12


def _mesh() -> Mesh:
    return Mesh(np.array(jax.devices()[:N_DEVICES]).reshape(2, 2), ("b", "c"))


def _close(got: Any, expected: Any, what: str) -> None:
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), rtol=1e-10, atol=1e-12, err_msg=what)


def _check(case: str, got: Any, grads: Any, expected: Any, exp_grads: Any) -> None:
    _close(got, expected, f"{case}: loss")
    for name, g, e in zip(("hidden", "weight", "bias"), grads, exp_grads):
        if e is None:
            assert g is None, name
        else:
            _close(g, e, f"{case}: d {name}")


@needs_devices
@pytest.mark.parametrize("budget", list(BUDGETS))
@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("case", SHARDED_CASES)
def test_jax_sharded_under_jit(case: str, layout: str, budget: str) -> None:
    opts = dict(CASES)[case]
    a = make(opts, seed=2, shape=SHAPE, v=V_EVEN)
    expected, exp_grads, _ = naive(opts, a)
    spec, llm = split(opts)
    batch, vocab = LAYOUTS[layout]
    mesh = _mesh()

    def put(x: Any, spec_: P) -> Any:
        return None if x is None else jax.device_put(jnp.asarray(x), NamedSharding(mesh, spec_))

    h = put(a["hidden"], P(batch, None, None))
    w = put(a["weight"], P(vocab, None))
    b = put(a["bias"], P(vocab))
    t = put(a["target"], P(batch, None))
    cw = put(a["class_weight"], P(vocab))
    sw = put(a["sample_weight"], P(batch, None))
    go = jnp.asarray(a["grad_output"])
    kw = dict(spec=CrossEntropySpec(**spec), memory_budget=BUDGETS[budget], **llm)

    def run(h: Any, w: Any, b: Any, t: Any, cw: Any, sw: Any) -> Any:
        def f(h: Any, w: Any, b: Any) -> Any:
            return linear_cross_entropy(h, w, t, b, class_weight=cw, sample_weight=sw, **kw)

        out, vjp = jax.vjp(f, h, w, b)
        return out, vjp(go)

    out, grads = jax.jit(run)(h, w, b, t, cw, sw)
    _check(case, out, grads, expected, exp_grads)
    if budget == "fused":  # one block of the whole vocabulary: XLA partitions it like weight
        assert grads[1].sharding.is_equivalent_to(w.sharding, 2), grads[1].sharding
    # (with vocabulary blocks, the loop's dynamic slices of a vocabulary-sharded weight make XLA
    # gather it: right values, weight replicated -- docs/scaling.md)


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


#: Dask chunks: (tokens per hidden chunk along the batch, classes per weight chunk)
DASK_CHUNKS = {"vocabulary": (None, (5, 4, 3)), "both": ((1, 3), (3, 3, 6))}


@pytest.mark.parametrize("budget", list(BUDGETS))
@pytest.mark.parametrize("chunks", list(DASK_CHUNKS))
@pytest.mark.parametrize("case", ["ignore-sum-bias", "all", "class-weight-smooth", "shift"])
def test_dask_weight_chunked_along_vocabulary(case: str, chunks: str, budget: str) -> None:
    da = pytest.importorskip("dask.array")
    opts = dict(CASES)[case]
    a = make(opts, seed=3, shape=SHAPE, v=V_EVEN)
    expected, exp_grads, _ = naive(opts, a)
    spec, llm = split(opts)
    rows, cols = DASK_CHUNKS[chunks]
    n, tt = SHAPE
    bchunks = (n,) if rows is None else rows

    def lazy(x: Any, ch: Any) -> Any:
        return None if x is None else da.from_array(x, chunks=ch)

    h = lazy(a["hidden"], (bchunks, (tt,), (a["hidden"].shape[-1],)))
    w = lazy(a["weight"], (cols, (a["weight"].shape[1],)))
    b = lazy(a["bias"], (cols,))
    t = lazy(a["target"], (bchunks, (tt,)))
    cw = lazy(a["class_weight"], (cols,))
    sw = lazy(a["sample_weight"], (bchunks, (tt,)))
    go = lazy(a["grad_output"], tuple((s,) for s in a["grad_output"].shape))
    loss, grads = linear_value_and_grad(
        h,
        w,
        t,
        b,
        spec=CrossEntropySpec(**spec),
        class_weight=cw,
        sample_weight=sw,
        grad_output=go,
        memory_budget=BUDGETS[budget],
        **llm,
    )
    assert isinstance(loss, da.Array) and isinstance(grads[1], da.Array)
    computed = da.compute(loss, *[g for g in grads if g is not None])
    got_grads = list(computed[1:]) + ([None] if grads[2] is None else [])
    _check(case, computed[0], got_grads, expected, exp_grads)

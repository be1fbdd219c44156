"""The backend matrix shared by every test table.

A test that takes the ``backend`` fixture runs once per array library (and device / execution
mode) below; backends whose library is missing are skipped with the reason.  Each
:class:`Backend` converts NumPy arrays to its library (``asarray``) and back (``to_numpy``),
knows its device, whether it has autodiff, and how to *call* a function on its arrays (``call``:
eagerly, or under ``jax.jit`` for ``jax:jit``).
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

#: not test modules (--doctest-modules would import them; the worker imports torch at the top)
collect_ignore = ["distributed_torch_worker.py"]
#: sample user scripts for port-file (they import chainer / mxnet / paddle): read as text by its tests
collect_ignore_glob = ["porting_samples/*.py"]


def _jaxlib_knows(flag: str) -> bool:
    """Whether the installed jaxlib has the XLA flag ``flag`` (XLA aborts on an unknown flag in
    ``XLA_FLAGS``; flags come and go between versions, so look for its name in jaxlib's binaries)."""
    spec = importlib.util.find_spec("jaxlib")
    if spec is None or spec.origin is None:
        return False
    folder = os.path.dirname(spec.origin)
    for name in sorted(os.listdir(folder)):
        if name.endswith((".so", ".pyd", ".dylib")):
            with open(os.path.join(folder, name), "rb") as fh:
                try:
                    with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
                        if m.find(flag.encode()) != -1:
                            return True
                except ValueError:  # an empty file
                    continue
    return False


# 4 host devices for the sharding tests; LLVM's cheaper optimisation level: the tests compile a few
# thousand small XLA programs once each, and at -O0 compiling them costs about a fifth less.  XLA's
# older elemental emitters instead of the MLIR fusion emitters (where jaxlib has both) compile each
# of those small programs in about two thirds of the CPU time (golden cases on jax and jax:jit).
if "XLA_FLAGS" not in os.environ:
    os.environ["XLA_FLAGS"] = (
        "--xla_force_host_platform_device_count=4 --xla_backend_optimization_level=0 "
        "--xla_llvm_disable_expensive_passes=true"
        + (" --xla_cpu_use_fusion_emitters=false" if _jaxlib_knows("xla_cpu_use_fusion_emitters") else "")
    )
os.environ.setdefault("JAX_PLATFORMS", "cpu")


class Backend(enum.Enum):
    NUMPY = "numpy"
    TORCH = "torch"
    TORCH_CUDA = "torch:cuda"
    JAX = "jax"
    JAX_JIT = "jax:jit"
    STRICT = "array_api_strict"
    STRICT_DEVICE1 = "array_api_strict:device1"
    DASK = "dask"
    CUPY = "cupy"

    @property
    def module_name(self) -> str:
        return {"array_api_strict": "array_api_strict", "dask": "dask.array"}.get(
            self.value.split(":")[0], self.value.split(":")[0]
        )


def _import(name: str) -> Any:
    return pytest.importorskip(name)


@dataclass
class BackendInfo:
    """How a test talks to one backend."""

    backend: Backend
    xp: Any
    device: Any = None

    @property
    def name(self) -> str:
        return self.backend.value

    @property
    def autodiff(self) -> bool:
        return self.backend in (Backend.TORCH, Backend.TORCH_CUDA, Backend.JAX, Backend.JAX_JIT)

    @property
    def jit(self) -> bool:
        return self.backend is Backend.JAX_JIT

    @property
    def lazy(self) -> bool:
        return self.backend in (Backend.DASK, Backend.JAX_JIT)

    def asarray(self, a: Any, *, chunks: Any = None) -> Any:
        """A NumPy array (or Python value) as an array of this backend, on its device."""
        a = np.asarray(a)
        b = self.backend
        if b is Backend.NUMPY:
            return a.copy()
        if b in (Backend.TORCH, Backend.TORCH_CUDA):
            import torch

            return torch.from_numpy(a.copy()).to(self.device)
        if b in (Backend.JAX, Backend.JAX_JIT):
            import jax.numpy as jnp

            return jnp.asarray(a)
        if b in (Backend.STRICT, Backend.STRICT_DEVICE1):
            return self.xp.asarray(a, device=self.device)
        if b is Backend.DASK:
            import dask.array as da

            if chunks is None:  # split the first axis (the batch) when there is one to split
                chunks = tuple(max(1, (s + 1) // 2) for s in a.shape) if a.ndim else ()
            return da.from_array(a, chunks=chunks)
        if b is Backend.CUPY:
            return self.xp.asarray(a)
        raise AssertionError(b)

    def to_numpy(self, a: Any) -> np.ndarray:
        b = self.backend
        if b in (Backend.TORCH, Backend.TORCH_CUDA):
            return a.detach().cpu().numpy()
        if b is Backend.DASK:
            return np.asarray(a.compute())
        if b in (Backend.STRICT, Backend.STRICT_DEVICE1):
            import array_api_strict as xps

            return np.asarray(xps.asarray(a, device=xps.Device("CPU_DEVICE")))
        if b is Backend.CUPY:
            return a.get()
        return np.asarray(a)

    def is_native(self, a: Any) -> bool:
        """``a`` is an array of this backend's library (and not computed, for Dask)."""
        b = self.backend
        if b is Backend.NUMPY:
            return isinstance(a, (np.ndarray, np.generic))
        if b in (Backend.TORCH, Backend.TORCH_CUDA):
            import torch

            return isinstance(a, torch.Tensor)
        if b in (Backend.JAX, Backend.JAX_JIT):
            import jax

            return isinstance(a, jax.Array)
        if b in (Backend.STRICT, Backend.STRICT_DEVICE1):
            return type(a).__module__.startswith("array_api_strict")
        if b is Backend.DASK:
            import dask.array as da

            return isinstance(a, da.Array)
        if b is Backend.CUPY:
            return isinstance(a, self.xp.ndarray)
        raise AssertionError(b)

    def device_of(self, a: Any) -> Any:
        from array_api_compat import device

        return device(a)

    def check(self, a: Any) -> None:
        """Assert that ``a`` is an array of this backend, on this backend's device."""
        assert self.is_native(a), f"expected an array of {self.name}, got {type(a)}"
        if self.device is not None:
            assert self.device_of(a) == self.device, f"expected device {self.device}, got {self.device_of(a)}"

    def call(self, fn: Callable[..., Any], *arrays: Any) -> Any:
        """``fn(*arrays)``, traced with ``jax.jit`` for the ``jax:jit`` backend."""
        if self.jit:
            import jax

            return jax.jit(fn)(*arrays)
        return fn(*arrays)

    def grad(self, fn: Callable[[Any], Any], x: Any, grad_output: Any = None) -> tuple[Any, Any]:
        """Value of ``fn(x)`` and ``d sum(fn(x) * grad_output) / dx`` by the library's autodiff."""
        b = self.backend
        if b in (Backend.TORCH, Backend.TORCH_CUDA):
            x = x.detach().clone().requires_grad_(True)
            out = fn(x)
            first = out[0] if isinstance(out, tuple) else out
            go = torch_ones_like(first) if grad_output is None else grad_output
            (g,) = __import__("torch").autograd.grad(first, x, go, allow_unused=True)
            return out, g
        if b in (Backend.JAX, Backend.JAX_JIT):
            import jax

            def f(x: Any) -> Any:
                out = fn(x)
                return (out[0] if isinstance(out, tuple) else out), out

            if self.jit:
                f = jax.jit(f)
            first, vjp, out = jax.vjp(f, x, has_aux=True)
            go = jax.numpy.ones_like(first) if grad_output is None else grad_output
            (g,) = vjp(go)
            return out, g
        raise AssertionError(f"{self.name} has no autodiff")

    def vjp(self, fn: Callable[[Any], Any], x: Any, grad_output: Any = None) -> tuple[Any, Any]:
        """JAX, traceable: ``fn(x)`` and ``d sum(fn(x)[0] * grad_output) / dx`` (no jit of its own,
        so that a caller's ``jax.jit`` compiles the value, the gradient and more as one program)."""
        import jax

        def f(x: Any) -> Any:
            out = fn(x)
            return (out[0] if isinstance(out, tuple) else out), out

        first, vjp, out = jax.vjp(f, x, has_aux=True)
        (g,) = vjp(jax.numpy.ones_like(first) if grad_output is None else grad_output)
        return out, g


def torch_ones_like(a: Any) -> Any:
    import torch

    return torch.ones_like(a)


def make_backend(backend: Backend) -> BackendInfo:
    b = backend
    if b is Backend.NUMPY:
        return BackendInfo(b, _import("array_api_compat.numpy"), None)
    if b in (Backend.TORCH, Backend.TORCH_CUDA):
        torch = _import("torch")
        torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
        if b is Backend.TORCH_CUDA:
            if not torch.cuda.is_available():
                pytest.skip("torch:cuda needs an NVIDIA GPU")
            return BackendInfo(b, _import("array_api_compat.torch"), torch.device("cuda:0"))
        return BackendInfo(b, _import("array_api_compat.torch"), torch.device("cpu"))
    if b in (Backend.JAX, Backend.JAX_JIT):
        jax = _import("jax")
        jax.config.update("jax_enable_x64", True)
        return BackendInfo(b, jax.numpy, None)
    if b in (Backend.STRICT, Backend.STRICT_DEVICE1):
        xps = _import("array_api_strict")
        dev = xps.Device("device1") if b is Backend.STRICT_DEVICE1 else xps.Device("CPU_DEVICE")
        return BackendInfo(b, xps, dev)
    if b is Backend.DASK:
        _import("dask.array")
        return BackendInfo(b, _import("array_api_compat.dask.array"), None)
    if b is Backend.CUPY:
        try:
            cp = importlib.import_module("cupy")
            cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # ImportError, or CUDA missing / no device
            pytest.skip(f"cupy needs CUDA and an NVIDIA GPU ({type(exc).__name__})")
        return BackendInfo(b, cp, None)
    raise AssertionError(b)


def _installed(backend: Backend) -> bool:
    """Whether the backend's library is installed (found, not imported: collection stays cheap)."""
    try:
        return importlib.util.find_spec(backend.module_name.split(".")[0]) is not None
    except (ImportError, ValueError):
        return False


#: Every backend of the matrix whose library is installed, in the order tests are reported.  The
#: rows of a library that is not installed are not collected (on the default install, NumPy and
#: array-api-strict only, that is two thirds of the golden table: some 15,000 tests that would all
#: be skipped, a fifth of the run's CPU time); installing the library adds them.  A backend that
#: also needs a device (torch:cuda, cupy) is collected with its library and skipped without one.
ALL_BACKENDS = [b for b in Backend if _installed(b)]
NOT_INSTALLED = [b for b in Backend if b not in ALL_BACKENDS]
#: The backends with an autodiff system.
AUTODIFF_BACKENDS = [Backend.TORCH, Backend.TORCH_CUDA, Backend.JAX, Backend.JAX_JIT]


def pytest_report_header() -> str:
    missing = ", ".join(b.value for b in NOT_INSTALLED)
    return f"unified_ce backends: {', '.join(b.value for b in ALL_BACKENDS)}" + (
        f" (not installed, rows not collected: {missing})" if missing else ""
    )


@pytest.fixture(params=ALL_BACKENDS, ids=lambda b: b.value)
def backend(request: pytest.FixtureRequest) -> BackendInfo:
    return make_backend(request.param)


@pytest.fixture(params=AUTODIFF_BACKENDS, ids=lambda b: b.value)
def autodiff_backend(request: pytest.FixtureRequest) -> BackendInfo:
    return make_backend(request.param)


def assert_close(actual: np.ndarray, expected: np.ndarray, *, dtype: Any = None, what: str = "") -> None:
    """Compare with a dtype-scaled tolerance; NaN must match NaN exactly; shape must match."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != expected {expected.shape}"
    dt = np.dtype(dtype or expected.dtype)
    if dt == np.float64:
        rtol, atol = 1e-9, 1e-11
    elif dt == np.float32:
        rtol, atol = 2e-5, 2e-6
    else:  # half precision
        rtol, atol = 1e-2, 1e-3
    scale = float(np.nanmax(np.abs(expected), initial=0.0)) if expected.size else 0.0
    np.testing.assert_allclose(
        actual.astype(np.float64),
        expected.astype(np.float64),
        rtol=rtol,
        atol=atol * max(1.0, scale),
        equal_nan=True,
        err_msg=what,
    )

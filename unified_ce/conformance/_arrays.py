"""Moving golden NumPy arrays into an array library and back (each library imported on demand)."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

__all__ = ["LIBRARIES", "available", "from_numpy", "to_numpy"]

#: The array libraries the conformance suite can feed, by name.
LIBRARIES = ("numpy", "torch", "jax", "cupy", "dask", "array_api_strict")

_MODULES = {
    "numpy": "numpy",
    "torch": "torch",
    "jax": "jax",
    "cupy": "cupy",
    "dask": "dask.array",
    "array_api_strict": "array_api_strict",
}


def available(name: str) -> bool:
    """Whether the library can be used here (CuPy also needs a CUDA device)."""
    try:
        mod = importlib.import_module(_MODULES[name])
    except Exception:  # ImportError, or a broken install
        return False
    if name == "cupy":
        try:
            return bool(mod.cuda.runtime.getDeviceCount())
        except Exception:
            return False
    return True


def _check(name: str) -> None:
    if name not in _MODULES:
        raise ValueError(f"array library must be one of {', '.join(LIBRARIES)}; got {name!r}")


def from_numpy(name: str, a: np.ndarray, *, requires_grad: bool = False) -> Any:
    """``a`` as an array of library ``name`` (float64 kept: JAX runs with x64 enabled)."""
    _check(name)
    if name == "numpy":
        return a.copy()
    if name == "torch":
        import torch

        t = torch.from_numpy(np.array(a, copy=True, order="C"))
        return t.requires_grad_(True) if requires_grad else t
    if name == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
        return jax.numpy.asarray(a)
    if name == "cupy":
        import cupy

        return cupy.asarray(a)
    if name == "dask":
        import dask.array as da

        return da.from_array(a, chunks=tuple(max(1, (s + 1) // 2) for s in a.shape) if a.ndim else ())
    import array_api_strict as xps

    return xps.asarray(a)


def to_numpy(a: Any) -> np.ndarray:
    """Any supported array (or Python number) as a NumPy array."""
    mod = type(a).__module__.split(".")[0]
    if mod == "torch":
        a = a.detach().cpu()
        return (a.float() if str(a.dtype) == "torch.bfloat16" else a).numpy()
    if mod == "dask":
        return np.asarray(a.compute())
    if mod == "cupy":
        return a.get()
    if mod == "array_api_strict":
        import array_api_strict as xps

        return np.asarray(xps.asarray(a, device=xps.Device("CPU_DEVICE")))
    if mod == "mxnet" or hasattr(a, "asnumpy"):
        return a.asnumpy()
    if hasattr(a, "numpy") and mod not in ("numpy", "jax", "jaxlib"):
        return np.asarray(a.numpy())
    return np.asarray(a)

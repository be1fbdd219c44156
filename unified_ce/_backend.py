"""Array-library plumbing: namespaces, devices, dtypes, laziness.

Nothing here imports a framework at module level; a framework is touched only once one of its
arrays is seen (``array_api_compat`` inspects ``type(x).__module__`` without importing).
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

import array_api_compat as compat

from ._errors import InvalidArgumentError, InvalidTypeError

__all__ = [
    "as_array_like",
    "compute_dtype",
    "creation_device",
    "is_dask",
    "is_jax",
    "is_lazy",
    "is_torch",
    "is_torch_traced",
    "keep_order",
    "namespace_of",
    "value_checks",
]

is_torch = compat.is_torch_array
is_jax = compat.is_jax_array
is_dask = compat.is_dask_array


def _library(x: Any) -> str:
    mod = type(x).__module__.split(".")[0]
    return {"jaxlib": "jax"}.get(mod, mod)


def namespace_of(named: dict[str, Any]) -> Any:
    """The array namespace of the named arrays (``None`` values skipped).

    Raises
    ------
    InvalidTypeError
        If an argument is not an array, or the arrays come from different array libraries.
    InvalidArgumentError
        If the arrays live on different devices.
    """
    # the namespace depends only on the arrays' types (None included: it is skipped): cached, so
    # that tiny calls stay cheap; the hit also says how to check the devices
    key = tuple(map(type, named.values()))
    hit = _NAMESPACES.get(key)
    if hit is not None:
        xp, devices = hit
        if devices == _TORCH_DEVICES:  # torch tensors: compare their devices directly
            first = None
            for v in named.values():
                if v is not None:
                    if first is None:
                        first = v.device
                    elif v.device != first:
                        _check_devices({k: v for k, v in named.items() if v is not None}, xp)
        elif devices == _OTHER_DEVICES:
            _check_devices({k: v for k, v in named.items() if v is not None}, xp)
        return xp
    arrays = {k: v for k, v in named.items() if v is not None}
    for name, value in arrays.items():
        if type(value).__module__ in ("numpy.ma", "numpy.ma.core"):  # a mask would silently drop out of the math
            raise InvalidTypeError(
                f"{name} must be an array without a mask; got a numpy.ma.MaskedArray (its mask would be "
                f"ignored): pass {name}.filled(...) or np.asarray, and mark ignored items with ignore_index "
                "or a zero sample_weight"
            )
        if not compat.is_array_api_obj(value):
            raise InvalidTypeError(
                f"{name} must be an array (NumPy, PyTorch, JAX, CuPy, Dask or array-api-strict); "
                f"got {type(value).__name__}"
            )
    libs = {name: _library(v) for name, v in arrays.items()}
    if len(set(libs.values())) > 1:
        desc = ", ".join(f"{k} is a {v} array" for k, v in libs.items())
        raise InvalidTypeError(f"all arrays must come from one array library; {desc}")
    xp = compat.array_namespace(*arrays.values())
    _check_devices(arrays, xp)
    if not any(getattr(getattr(v, "dtype", None), "kind", "") == "V" for v in arrays.values()):  # not JAX's float0
        if len(_NAMESPACES) > 256:
            _NAMESPACES.clear()
        if all(type(v).__module__ == "numpy" for v in arrays.values()):
            devices = _ONE_DEVICE
        elif all(is_torch(v) for v in arrays.values()):
            devices = _TORCH_DEVICES
        else:
            devices = _OTHER_DEVICES
        _NAMESPACES[key] = (xp, devices if len(arrays) > 1 else _ONE_DEVICE)
    return xp


#: how a cached namespace's arrays are checked for one device: not at all (NumPy, or one array),
#: torch's ``.device`` compared, or :func:`_check_devices`
_ONE_DEVICE, _TORCH_DEVICES, _OTHER_DEVICES = 0, 1, 2
_NAMESPACES: dict[tuple[type, ...], tuple[Any, int]] = {}


def _check_devices(arrays: dict[str, Any], xp: Any) -> None:
    if len(arrays) < 2 or all(type(v).__module__ == "numpy" for v in arrays.values()):
        return  # NumPy has one device
    if all(is_torch(v) for v in arrays.values()):
        devices = {name: v.device for name, v in arrays.items()}
    else:  # a traced JAX value has no concrete device (None): it cannot disagree with the others
        devices = {name: d for name, v in arrays.items() if (d := _device_key(v)) is not None}
    first = next(iter(devices.values()), None)
    if any(d != first for d in devices.values()):
        desc = ", ".join(f"{k} is on {d}" for k, d in devices.items())
        raise InvalidArgumentError(f"all arrays must be on one device; {desc}")


def _device_key(v: Any) -> Any:
    """Where ``v`` lives, for the one-device check: a concrete JAX array's set of devices (arrays sharded
    differently over the same devices may meet), ``None`` for a JAX tracer."""
    if is_jax(v):
        return None if is_lazy(v) else frozenset(v.devices())
    return compat.device(v)


def creation_device(x: Any) -> Any:
    """The ``device=`` for arrays made to combine with ``x``: its device; ``None`` (JAX's default,
    uncommitted placement) for a JAX array sharded over several devices, whose sharding fits only
    arrays of its rank."""
    if is_jax(x) and not is_lazy(x) and len(x.devices()) > 1:
        return None
    return compat.device(x)


def as_array_like(name: str, value: Any, xp: Any, like: Any) -> Any:
    """Convert a Python sequence / NumPy array for ``name`` to ``xp`` on ``like``'s device.

    Arrays of ``xp`` are returned as they are (and checked by :func:`namespace_of` later).
    """
    if value is None or (compat.is_array_api_obj(value) and _library(value) == _library(like)):
        return value
    if isinstance(value, (list, tuple, int, float)) or type(value).__module__ == "numpy":
        try:
            return xp.asarray(value, device=creation_device(like))
        except Exception as exc:  # pragma: no cover - depends on the library's message
            raise InvalidTypeError(f"{name} could not be converted to an array: {exc}") from exc
    return value


def keep_order(x: Any) -> Any:
    """``x``, as an operand XLA cannot look through (``jax.lax.optimization_barrier``), elsewhere unchanged.

    XLA's simplifier folds ``(1 - p) + 1e-12`` into ``(1 + 1e-12) - p``, which is ``1 - p`` in float32:
    a barrier around ``1 - p`` keeps the order of operations the formula (and MXNet) prescribes.
    """
    if is_jax(x):
        import jax

        return jax.lax.optimization_barrier(x)
    return x


def is_lazy(x: Any) -> bool:
    """Whether reading ``x``'s values would need a computation (Dask) or is impossible or would stall a
    traced program (a JAX tracer; a torch tensor inside a ``torch.func`` transform or being traced by
    ``torch.compile``; a torch tensor on the ``meta`` device: shapes only, e.g. for FLOP counting)."""
    if is_dask(x):
        return True
    if is_jax(x):
        jax = sys.modules["jax"]
        return isinstance(x, jax.core.Tracer)
    if is_torch(x):
        if x.device.type == "meta" or is_torch_traced(x):
            return True
        policy = value_checks()
        return policy == "off" or (policy == "device" and x.device.type != "cpu")
    if type(x).__module__.split(".")[0] == "cupy" and compat.is_cupy_array(x):
        return value_checks() != "eager"
    return False


#: ``UNIFIED_CE_CHECKS``: when label and target values are read on the host to validate them
CHECKS = ("eager", "device", "off")


def value_checks() -> str:
    """The value-check policy, from the environment variable ``UNIFIED_CE_CHECKS`` (read per call).

    ``"eager"`` (default): values are read on the host and bad ones raise, on every device (on CUDA
    this synchronises with the device).  ``"device"``: arrays on an accelerator (CUDA tensors, CuPy)
    are never read: a bad label or target gives a NaN loss instead, as under ``jax.jit`` (host
    arrays are still checked eagerly: reading them stalls nothing).  ``"off"``: no PyTorch or CuPy
    array's values are read on the host, on any device (NaN instead of an error).  Under ``jax.jit``,
    ``torch.compile``, ``torch.func`` transforms and on Dask, values are never read whatever the
    policy; eager JAX and NumPy arrays are always checked.
    """
    policy = os.environ.get("UNIFIED_CE_CHECKS", "eager")
    if policy not in CHECKS:
        raise InvalidArgumentError(f"UNIFIED_CE_CHECKS must be one of {', '.join(map(repr, CHECKS))}; got {policy!r}")
    return policy


def is_torch_traced(x: Any) -> bool:
    """A torch tensor wrapped by a ``torch.func`` transform (vmap, grad, jvp), or a fake tensor of
    ``torch.compile``: its values must not be read on the host."""
    torch = sys.modules["torch"]
    if torch.compiler.is_compiling() or torch._C._functorch.is_functorch_wrapped_tensor(x):
        return True
    return type(x) is not torch.Tensor and type(x).__name__ in ("FakeTensor", "FunctionalTensor")


@functools.lru_cache(maxsize=64)
def _compute_dtype_cached(xp: Any, dtype: Any) -> Any:
    name = getattr(dtype, "name", str(dtype)).replace("torch.", "")
    if name in ("float16", "bfloat16", "half"):
        return xp.float32
    return dtype


def compute_dtype(xp: Any, dtype: Any) -> Any:
    """The dtype arithmetic runs in: float32 for half precision, else the input's dtype."""
    try:
        return _compute_dtype_cached(xp, dtype)
    except TypeError:  # unhashable dtype object
        return _compute_dtype_cached.__wrapped__(xp, dtype)


def is_floating(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is a real floating dtype (half precision included)."""
    try:  # cached: a dtype's kind never changes, and array_api_compat's isdtype is Python code
        return _KINDS[(xp.__name__, dtype, "real floating")]
    except (KeyError, TypeError):
        pass
    name = getattr(dtype, "name", str(dtype)).replace("torch.", "")
    if name in ("bfloat16", "float16", "half"):
        return _kind(xp, dtype, "real floating", True)
    try:
        return _kind(xp, dtype, "real floating", bool(xp.isdtype(dtype, "real floating")))
    except Exception:
        return False


def is_integer(xp: Any, dtype: Any) -> bool:
    """Whether ``dtype`` is an integer dtype."""
    try:
        return _KINDS[(xp.__name__, dtype, "integral")]
    except (KeyError, TypeError):
        pass
    try:
        return _kind(xp, dtype, "integral", bool(xp.isdtype(dtype, "integral")))
    except Exception:
        return False


_KINDS: dict[tuple[str, Any, str], bool] = {}


def _kind(xp: Any, dtype: Any, kind: str, answer: bool) -> bool:
    try:
        if len(_KINDS) > 1024:
            _KINDS.clear()
        _KINDS[(xp.__name__, dtype, kind)] = answer  # by name: torch.compile cannot hash a module
    except TypeError:  # an unhashable dtype object: not cached
        pass
    return answer

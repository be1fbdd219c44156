# Math: none of its own -- the same formulas as the stages, made cheaper on eager libraries with
# mutable arrays (in-place updates of buffers the core owns, rows in blocks).  Gradient: the same.
"""Eager fast paths of the core, chosen in one place: in-place work and rows in blocks.

The core (:mod:`unified_ce.core`) is written once against the array API.  On eager libraries with
mutable arrays the same formulas get cheaper with a few backend-specific primitives, all here:

* :func:`mutable` -- whether the core may work in place on arrays *it created itself* (never on the
  caller's arrays).  True for NumPy, CuPy and PyTorch while autograd is not recording; False for
  JAX (immutable, and XLA fuses the plain expressions anyway), Dask (lazy), array-api-strict (the
  reference namespace keeps the plain path) and PyTorch when autograd records the core's operations
  (in-place updates would break double backward).
* :func:`subtract_into`, :func:`exp_`, :func:`scatter_sub_` -- ``out=`` / in-place versions of the
  three operations that would otherwise allocate an items × classes temporary.
* :func:`row_blocks`, :func:`block_inputs`, :func:`block_of` -- the bounded-memory path: items are
  processed in blocks of about :data:`BLOCK_BYTES` of logits along the first non-class axis, so
  every temporary is O(block) rather than O(items × classes) and stays in cache; only the
  gradient itself (and O(items) residuals) is allocated at full size.

Every path computes the same spec: ``tests/test_fastpaths.py`` compares it with the plain path
(:func:`disabled`) and with a float64 reference.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import sys
from collections.abc import Iterator
from typing import Any

import array_api_compat as compat

from .._backend import is_torch_traced

__all__ = [
    "BLOCK_BYTES",
    "block_inputs",
    "block_of",
    "block_scratch",
    "disabled",
    "exp_",
    "mutable",
    "one_block",
    "row_blocks",
    "scatter_sub_",
    "subtract_into",
    "take_along_axis",
]

#: Logits bytes per block of items on the blocked path (about 4 MiB: fits the L2/L3 caches, and
#: large enough that the per-block Python overhead is negligible).
BLOCK_BYTES = 4 << 20
#: Inputs at most this large are computed in one piece.
MIN_BLOCKED_BYTES = 16 << 20

_enabled = True


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Run the plain array-API path only (no in-place work, no blocks): the reference for the tests."""
    global _enabled
    old, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = old


def mutable(inp: Any) -> bool:
    """Whether the core may update arrays it created in place (see the module docstring)."""
    if not _enabled or getattr(inp, "classes", None) is not None or getattr(inp, "cm", None) is not None:
        # a class shard (unified_ce.distributed): labels are global class numbers, and every process
        # must run the same collectives (no per-process blocking); a class mask: the plain path
        return False
    x = inp.x
    lib = _lib(x)
    if lib in ("numpy", "cupy"):
        return True
    if lib == "torch":
        torch = sys.modules["torch"]
        if is_torch_traced(x):  # torch.func (vmap: no in-place writes of batched values), torch.compile
            return False
        if not torch.is_grad_enabled():
            return True
        return not any(a is not None and a.requires_grad for a in (x, inp.t, inp.cw, inp.sw))
    return False


_LIBS: dict[type, str] = {}


def _lib(a: Any) -> str:
    """``"numpy"``, ``"torch"``, ``"cupy"`` or ``""`` (another library), cached by type."""
    kind = _LIBS.get(type(a))
    if kind is None:
        if compat.is_numpy_array(a):
            kind = "numpy"
        elif compat.is_torch_array(a):
            kind = "torch"
        elif compat.is_cupy_array(a):
            kind = "cupy"
        else:
            kind = ""
        if getattr(getattr(a, "dtype", None), "kind", "") != "V":  # JAX's float0 NumPy arrays: not cached
            _LIBS[type(a)] = kind
    return kind


def subtract_into(xp: Any, a: Any, b: Any, out: Any = None) -> Any:
    """``a - b`` written into ``out`` when given (a buffer the core owns), else into a new array."""
    if out is None:
        return a - b
    lib = _lib(out)
    if lib == "torch":
        return sys.modules["torch"].sub(a, b, out=out)
    if lib in ("numpy", "cupy"):
        return sys.modules[lib].subtract(a, b, out=out)
    out[...] = a - b
    return out


def exp_(xp: Any, a: Any) -> Any:
    """``exp(a)`` computed in place in ``a`` (an array the core created)."""
    lib = _lib(a)
    if lib == "torch":
        return a.exp_()
    if lib in ("numpy", "cupy"):
        return sys.modules[lib].exp(a, out=a)
    return xp.exp(a)


def take_along_axis(a: Any, idx: Any, axis: int) -> Any:
    """``a`` gathered at ``idx`` along ``axis`` by NumPy or PyTorch directly (None for other libraries)."""
    if _enabled:
        lib = _lib(a)
        if lib == "torch":
            return a.gather(axis, idx)
        if lib == "numpy":
            return sys.modules["numpy"].take_along_axis(a, idx, axis=axis)
    return None


def scatter_sub_(xp: Any, a: Any, idx: Any, v: Any, axis: int) -> Any:
    """``a[..., idx, ...] -= v`` along ``axis`` in place; ``idx`` and ``v`` broadcast to the keep shape.

    Only O(items) work: one element per item is updated.
    """
    lib = _lib(a)
    v = xp.broadcast_to(xp.asarray(v, dtype=a.dtype, device=compat.device(a)), tuple(idx.shape))
    if lib == "torch":
        return a.scatter_add_(axis, idx, -v)
    if lib in ("numpy", "cupy"):
        mod = sys.modules[lib]
        cur = mod.take_along_axis(a, idx, axis=axis)
        mod.put_along_axis(a, idx, cur - v, axis=axis)
        return a
    iota = xp.reshape(
        xp.arange(a.shape[axis], device=compat.device(a)), [-1 if i == axis else 1 for i in range(a.ndim)]
    )
    return a - v * xp.astype(iota == idx, a.dtype)


# --------------------------------------------------------------------------- blocks of rows


@dataclasses.dataclass(frozen=True)
class Blocks:
    """How to cut the items into blocks: along ``axis`` of the logits, ``step`` at a time."""

    axis: int
    size: int
    step: int

    def __iter__(self) -> Iterator[slice]:
        return (slice(i, min(i + self.step, self.size)) for i in range(0, self.size, self.step))


def row_blocks(inp: Any) -> Blocks | None:
    """The blocks for the bounded-memory path, or ``None`` to compute in one piece."""
    x = inp.x
    if x.ndim < 2 or inp.spec.activation != "softmax":
        return None
    size = math.prod(x.shape) * _itemsize(x)
    if size <= MIN_BLOCKED_BYTES or not mutable(inp):
        return None
    if getattr(inp, "classes", None) is not None:  # a class shard: every process must reduce in step
        return None
    axis = 0 if inp.axis != 0 else 1
    n = x.shape[axis]
    per_row = size // max(n, 1)
    step = max(1, BLOCK_BYTES // max(per_row, 1))
    if step >= n:
        return None
    return Blocks(axis, n, step)


def one_block(inp: Any) -> Blocks:
    """All items as one block (along the first non-class axis)."""
    axis = 0 if inp.axis != 0 else 1
    n = inp.x.shape[axis]
    return Blocks(axis, n, max(n, 1))


def block_scratch(inp: Any, blocks: Blocks) -> Any:
    """A buffer of one block's shape (compute dtype) for the temporaries of every block in turn."""
    shape = list(inp.x.shape)
    shape[blocks.axis] = min(blocks.step, blocks.size)
    return inp.xp.empty(tuple(shape), dtype=inp.x.dtype, device=inp.device)


def _itemsize(x: Any) -> int:
    if hasattr(x, "itemsize"):
        return int(x.itemsize)
    if hasattr(x, "element_size"):
        return int(x.element_size())
    return int(getattr(x.dtype, "itemsize", 8))


def _take(a: Any, axis: int, sl: slice) -> Any:
    return a[(slice(None),) * axis + (sl,)]


def block_of(a: Any, blocks: Blocks, sl: slice, ndim: int) -> Any:
    """The part of ``a`` (broadcastable to an array of ``ndim`` dimensions) that belongs to block ``sl``.

    Python numbers, 0-d arrays and arrays of size 1 along the block axis are shared by every block.
    """
    if a is None or isinstance(a, (int, float)) or a.ndim == 0:
        return a
    ax = blocks.axis - (ndim - a.ndim)  # broadcasting aligns the trailing dimensions
    if ax < 0 or a.shape[ax] == 1:
        return a
    return _take(a, ax, sl)


def block_inputs(inp: Any, blocks: Blocks, sl: slice) -> Any:
    """The :class:`~unified_ce.core.Inputs` of the items in block ``sl``."""
    nd = inp.x.ndim
    x = _take(inp.x, blocks.axis, sl)
    if inp.spec.target == "index" and inp.spec.activation == "softmax":
        t_axis = blocks.axis if blocks.axis < inp.axis else blocks.axis - 1
        t = _take(inp.t, t_axis, sl)
    else:
        t = _take(inp.t, blocks.axis, sl)
    keep = list(inp.keep_shape)
    keep[blocks.axis] = sl.stop - sl.start
    return dataclasses.replace(inp, x=x, t=t, sw=block_of(inp.sw, blocks, sl, nd), keep_shape=tuple(keep))

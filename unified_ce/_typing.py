"""The array types of the public signatures (what users' type checkers see).

``Array`` is a type variable bound to :class:`ArrayLike`: a function or loss object annotated
``(logits: Array, ...) -> Array`` returns an array of the library it was given (``np.ndarray`` in,
``np.ndarray`` out; ``torch.Tensor`` in, ``torch.Tensor`` out).  Annotations only: nothing here
runs per call.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

__all__ = ["Array", "ArrayLike"]


class ArrayLike(Protocol):
    """What the public functions take as logits: an array of any array-API library (NumPy,
    PyTorch, JAX, CuPy, Dask, array-api-strict)."""

    @property
    def shape(self) -> Any: ...

    @property
    def dtype(self) -> Any: ...

    @property
    def ndim(self) -> int: ...


#: The logits' array type: results are arrays of the same library (``np.ndarray`` in, ``np.ndarray`` out).
Array = TypeVar("Array", bound=ArrayLike)

"""Python numbers from the scalars people pass: ``np.float32(0.1)``, ``np.int64(-100)``, 0-d arrays.

Options such as ``label_smoothing`` or ``ignore_index`` are often the result of NumPy arithmetic
(``np.float32``, ``np.int64``) or 0-d arrays.  These helpers turn every real / integral scalar into
a plain Python ``float`` / ``int`` and return ``None`` for anything else (booleans included), so
that each validator can name its argument in the error.  No framework is imported: an object is an
integral scalar when it has ``__index__`` (NumPy integers, 0-d integer arrays of any library), and
a real scalar when ``float()`` accepts it and it is not a string, a bool or a complex number.
"""

from __future__ import annotations

import math
import operator
from typing import Any

__all__ = ["as_int", "as_real"]


def _is_bool(value: Any) -> bool:
    return (
        isinstance(value, bool)
        or type(value).__name__ in ("bool_", "bool")
        or str(getattr(value, "dtype", ""))
        in (
            "bool",
            "torch.bool",
        )
    )


def as_int(value: Any) -> int | None:
    """``value`` as a Python int when it is an integral scalar (not a bool), else ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> as_int(np.int64(-100)), as_int(np.array(3)), as_int(2.0), as_int(True)
    (-100, 3, None, None)
    """
    if type(value) is int:
        return value
    if _is_bool(value) or getattr(value, "ndim", 0) != 0:
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def as_real(value: Any) -> float | None:
    """``value`` as a Python float when it is a real scalar (not a bool), else ``None``.

    Integers too large for a float become ``inf`` (a finiteness check then names the argument).

    Examples
    --------
    >>> import numpy as np
    >>> as_real(np.float32(0.5)), as_real(np.array(2)), as_real(10**400), as_real("0.1"), as_real([0.1])
    (0.5, 2.0, inf, None, None)
    """
    if type(value) is float:
        return value
    if _is_bool(value) or isinstance(value, (str, bytes, complex)) or getattr(value, "ndim", 0) != 0:
        return None
    if isinstance(value, int):  # a Python int (or subclass): may exceed float's range
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if getattr(getattr(value, "dtype", None), "kind", "f") == "c":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
    except OverflowError:
        return math.inf

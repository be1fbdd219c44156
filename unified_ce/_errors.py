"""Exceptions raised by unified_ce.

Every error names the argument at fault and the form that was expected.  They subclass the
built-in exception a caller would catch for the same mistake (``ValueError``, ``TypeError``),
so ``except ValueError`` keeps working when code moves from a framework to unified_ce.
"""

from __future__ import annotations

__all__ = ["InvalidArgumentError", "InvalidTypeError", "LabelOutOfRangeError"]


class InvalidArgumentError(ValueError):
    """An argument has the wrong value or shape."""


class InvalidTypeError(TypeError):
    """An argument has the wrong type or dtype, or arrays come from different libraries."""


class LabelOutOfRangeError(InvalidArgumentError, IndexError):
    """A class label is outside ``[0, C)`` and is not the ignore value.

    Subclasses both ``ValueError`` and ``IndexError`` (PyTorch raises ``IndexError`` here).
    """

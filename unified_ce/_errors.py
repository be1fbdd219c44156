"""Exceptions raised by unified_ce.

Every error names the argument at fault and the form that was expected.  They subclass the
built-in exception a caller would catch for the same mistake (``ValueError``, ``TypeError``),
so ``except ValueError`` keeps working when code moves from a framework to unified_ce.

A dialect goes further: an error raised by one of its functions or loss classes is also an
instance of the exception class the real framework raises for that input (PyTorch raises
``RuntimeError`` for a target of the wrong shape, ``NotImplementedError`` for integer logits, ...),
so ``except`` clauses written for the framework keep catching.  Each dialect states that
translation as a :class:`FrameworkErrors` table (``FRAMEWORK_ERRORS`` in its module); the error
then has a class deriving from both, e.g. ``InvalidArgumentError[RuntimeError]``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["FrameworkErrors", "InvalidArgumentError", "InvalidTypeError", "LabelOutOfRangeError", "with_framework_type"]


class InvalidArgumentError(ValueError):
    """An argument has the wrong value or shape."""


class InvalidTypeError(TypeError):
    """An argument has the wrong type or dtype, or arrays come from different libraries."""


class LabelOutOfRangeError(InvalidArgumentError, IndexError):
    """A class label is outside ``[0, C)`` and is not the ignore value.

    Subclasses both ``ValueError`` and ``IndexError`` (PyTorch raises ``IndexError`` here).
    """


def _rebuild(ours: type[BaseException], theirs: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    return with_framework_type(ours, theirs)(*args)


def _reduce(self: BaseException) -> Any:
    ours, theirs = type(self).__bases__
    return _rebuild, (ours, theirs, self.args)


_COMBINED: dict[tuple[type[BaseException], type[BaseException]], type[BaseException]] = {}


def with_framework_type(ours: type[BaseException], theirs: type[BaseException]) -> type[BaseException]:
    """The class deriving from unified_ce's exception class ``ours`` and a framework's ``theirs``.

    One class per pair (cached), named ``Ours[Theirs]``; its instances pickle (they cross into
    other processes like any exception).

    Examples
    --------
    >>> from unified_ce._errors import InvalidArgumentError, with_framework_type
    >>> cls = with_framework_type(InvalidArgumentError, RuntimeError)
    >>> cls.__qualname__, issubclass(cls, ValueError), issubclass(cls, RuntimeError)
    ('InvalidArgumentError[RuntimeError]', True, True)
    """
    if issubclass(ours, theirs):
        return ours
    cls = _COMBINED.get((ours, theirs))
    if cls is not None:
        return cls
    cls = type(ours.__name__, (ours, theirs), {"__module__": ours.__module__, "__reduce__": _reduce})
    cls.__qualname__ = f"{ours.__name__}[{theirs.__name__}]"
    cls.__doc__ = f"{ours.__doc__}\n\nAlso a ``{theirs.__name__}``, as the framework raises for this input."
    return _COMBINED.setdefault((ours, theirs), cls)


class FrameworkErrors:
    """A dialect's table: which exception class its framework raises for each of unified_ce's errors.

    ``rules`` are ``(our class, pattern, framework class)``, tried in order: the first whose class
    matches the error and whose regular expression ``pattern`` is found in the error's message
    (the dialect's argument names, as the user sees them) gives the framework's class.  Errors no
    rule matches keep their class.  Only built-in framework classes are named (a framework's own
    exception classes would need the framework imported); where the framework's class derives
    from a built-in one (MXNet's ``MXNetError`` is a ``RuntimeError``), the built-in one is named.

    Examples
    --------
    >>> from unified_ce._errors import FrameworkErrors, InvalidArgumentError
    >>> table = FrameworkErrors((InvalidArgumentError, r"^target\\b", RuntimeError))
    >>> err = table.retype(InvalidArgumentError("target must have shape (3,); got shape (2,)"))
    >>> isinstance(err, RuntimeError), isinstance(err, InvalidArgumentError)
    (True, True)
    """

    def __init__(self, *rules: tuple[type[BaseException], str, type[BaseException]]) -> None:
        self.rules = tuple((ours, re.compile(pattern), theirs) for ours, pattern, theirs in rules)

    def framework_type(self, exc: BaseException) -> type[BaseException] | None:
        """The framework's exception class for ``exc``, or None when it keeps its class."""
        msg = str(exc)
        for ours, pattern, theirs in self.rules:
            if isinstance(exc, ours) and pattern.search(msg):
                return theirs
        return None

    def retype(self, exc: BaseException) -> BaseException:
        """``exc`` itself, its class changed in place to derive from the framework's class too
        (message, traceback and cause are kept)."""
        theirs = self.framework_type(exc)
        if theirs is not None and not isinstance(exc, theirs) and type(exc) in _OURS:
            exc.__class__ = with_framework_type(type(exc), theirs)
        return exc


_OURS = (InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError)

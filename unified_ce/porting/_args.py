"""Strict parsing of a call's arguments, given as text (command line) or as Python values.

Text is read as a Python literal (``False``, ``0.1``, ``'none'``, ``None``) or a JSON literal
(``false``, ``true``, ``null``); a bare word is a string.  What a value means is then checked
against the parameter it is given to: a bool parameter takes only a bool (or 0 / 1), an array
parameter only the *name* of an array (``class_weight=w``), and so on.  Anything that could be
read two ways raises an error naming the argument; unknown names list the valid ones.
"""

from __future__ import annotations

import ast
import difflib
import functools
import importlib
import keyword
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._errors import InvalidArgumentError
from ._registry import Api

__all__ = ["Role", "parse_kwargs", "role", "suggest"]

_JSON = {"true": True, "false": False, "null": None}


def suggest(name: str, valid: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest valid name, or ``""``."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _literal(text: str) -> tuple[bool, Any]:
    """``(True, value)`` for a Python or JSON literal, ``(False, text)`` for a bare word."""
    if text in _JSON:
        return True, _JSON[text]
    try:
        return True, ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False, text


#: What a parameter takes: ``bool``, ``str``, ``int``, ``float``, ``class_weight`` / ``sample_weight``
#: (arrays, given by name), ``divisor`` (what a mean divides by, given at the call by name: Hugging
#: Face's ``num_items_in_batch``), ``ignore`` (an ignored label or None: Keras's ``ignore_class``),
#: ``number`` (a scalar factor or None), ``legacy`` (PyTorch's ``size_average`` / ``reduce``: bool or
#: None), ``other``.
Role = str


@functools.cache
def role(api: Api, name: str) -> Role:
    """What the parameter ``name`` of ``api`` takes (probed by translating placeholder calls)."""
    p = api.param(name)
    d = p.default
    if isinstance(d, bool):
        return "bool"
    if isinstance(d, str):
        return "str"
    if isinstance(d, int):
        return "int"
    if isinstance(d, float):
        return "float"
    if d is None:
        from ._engine import translate_placeholder

        x = np.zeros((2, 3))
        for kind, value in (("class_weight", np.ones(3)), ("sample_weight", np.ones((2, 1)))):
            call = translate_placeholder(api, {name: value}, x)
            if call is not None and getattr(call, kind) is value:
                return kind
        call = translate_placeholder(api, {name: 1}, x)
        if call is not None and call.spec.uses_ignore and call.spec.ignore_index == 1:
            base = translate_placeholder(api, {}, x)
            if base is None or base.spec.ignore_index != 1:
                return "ignore"
        call = translate_placeholder(api, {name: 0.5}, x)
        if call is not None and call.spec.scale == 0.5:
            return "number"
        if call is not None and call.divisor == 0.5:
            return "divisor"
        if translate_placeholder(api, {name: True}, x) is not None:
            return "legacy"
    return "other"


def _is_name(v: Any) -> bool:
    return isinstance(v, str) and v.isidentifier() and not keyword.iskeyword(v)


def parse_kwargs(api: Api, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Validate and convert ``kwargs`` of a call of ``api``; arrays stay names (strings)."""
    valid = [p.name for p in api.params]
    out: dict[str, Any] = {}
    for name, raw in kwargs.items():
        if name not in valid:
            raise InvalidArgumentError(
                f"{api.qualname} has no argument {name!r}{suggest(name, valid)}; its arguments are {', '.join(valid)}"
            )
        module = importlib.import_module(f"unified_ce.adapters.{api.dialect}")
        if name in getattr(module, "PORT_FROM_LOGITS", {}):
            raise InvalidArgumentError(
                f"{name} of {api.qualname} is the size of the logits' axis {module.PORT_FROM_LOGITS[name]}: "
                "the port reads it from the logits; leave it out"
            )
        if name in getattr(module, "PORT_NOT_WRITTEN", {}):
            raise InvalidArgumentError(f"{name} of {api.qualname} is not ported: {module.PORT_NOT_WRITTEN[name]}")
        r = role(api, name)
        was_text = isinstance(raw, str)
        literal, value = _literal(raw) if was_text else (True, raw)
        if r in ("class_weight", "sample_weight", "divisor"):
            if value is None:
                out[name] = None
                continue
            if not (was_text and not literal and _is_name(raw)):
                raise InvalidArgumentError(
                    f"{name} takes an array: give the name of the array variable (e.g. {name}=w); got {raw!r}"
                )
            out[name] = raw
            continue
        if not literal and r not in ("str", "other"):
            raise InvalidArgumentError(
                f"{name} of {api.qualname} takes a{'n' if r in ('int', 'ignore') else ''} {_WHAT[r]}; got the bare word {raw!r}"
            )
        if r == "bool" or (r == "legacy" and value is not None):
            if isinstance(value, (bool, np.bool_)) or (type(value) is int and value in (0, 1)):
                value = bool(value)
            else:
                raise InvalidArgumentError(
                    f"{name} of {api.qualname} takes a bool (True/False, true/false, 1/0); got {raw!r}"
                )
        elif r == "str" and not isinstance(value, str) and value is not None:
            raise InvalidArgumentError(f"{name} of {api.qualname} takes a string; got {raw!r}")
        elif r in ("int", "ignore") and (isinstance(value, bool) or not isinstance(value, int)) and value is not None:
            raise InvalidArgumentError(f"{name} of {api.qualname} takes an int; got {raw!r}")
        elif r in ("float", "number") and value is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InvalidArgumentError(f"{name} of {api.qualname} takes a number; got {raw!r}")
            value = float(value) if r == "float" else value
        out[name] = value
    # the dialect itself validates the values (choices, ranges) on a placeholder call
    from ._engine import check_call

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_call(api, out)
    return out


_WHAT = {
    "bool": "bool (True/False, true/false, 1/0)",
    "int": "int",
    "ignore": "int or None",
    "float": "number",
    "number": "number or None",
    "legacy": "bool or None",
}

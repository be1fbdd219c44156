"""The on-disk format of golden cases (pure NumPy + JSON, no other dependency).

This module is imported both by ``unified_ce`` and, by file path, by the recorders in
``tools/golden/`` that run inside the real frameworks' virtual environments, so it must
depend on nothing but the standard library and NumPy.

A golden file ``unified_ce/conformance/golden/<dialect>.json`` holds::

    {"dialect": "chainer", "framework": "chainer", "version": "7.8.1",
     "recorded_with": {"numpy": "1.23.5", ...},
     "cases": [CASE, ...]}

and each ``CASE`` is::

    {"id": "softmax_cross_entropy/basic-f32",      # unique within the file
     "api": "softmax_cross_entropy",               # attribute of unified_ce.adapters.<dialect>
     "init": null | {kwargs of the constructor},   # for loss classes (the api is a class)
     "method": "__call__" | "update",              # what is called on the instance
     "args": [ARRAY_OR_VALUE, ...],                # positional arguments of the call
     "kwargs": {name: ARRAY_OR_VALUE, ...},        # keyword arguments of the call
     "grad_output": null | ARRAY,                  # cotangent of the (first) output; null = ones
     "expect": {"output": ARRAY | [ARRAY, ...],    # what the framework returned (list: tuple output)
                "grad": null | ARRAY}              # d sum(output * grad_output) / d args[0]
            or {"error": {"type": "IndexError", "message": "..."}},
     "invalid": null | "why",                      # the framework returned a number for input that
                                                   # is invalid; unified_ce raises instead
     "tags": ["label_smoothing", "class_weight", ...],
     "note": "free text"}

Optional extras: ``"wrt": i`` names ``args[i]`` as the differentiated input (default 0; Keras and
``tf.nn`` take the target first); ``"tolerance_dtype": "float32"`` compares at that dtype's
tolerance where the framework is less precise than its inputs' dtype (MLX's float64 on the CPU);
``expect["grad_of_forward"]`` is the derivative of the framework's *forward*
taken by the framework's own autodiff, recorded where its hand-written backward is not that
derivative (the dialect lists those ids in ``GOLDEN_GRAD_DEVIATIONS``); a top-level
``"double_backward"`` list (``chainer.json``) holds second-derivative cases, read by the dialect's
own tests.

``ARRAY`` is ``{"__ndarray__": true, "dtype": "float32", "shape": [2, 4], "data": [...]}`` with
``data`` the C-order flat list of values; non-finite floats are the strings ``"nan"``, ``"inf"``
and ``"-inf"`` so that the file is strict JSON.  A tuple is ``{"__tuple__": [...]}`` (a list stays a list).  Plain JSON values (numbers, strings, booleans,
null, lists of them) stand for themselves.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["GOLDEN_DIR", "decode", "decode_array", "dump", "encode", "encode_array", "load"]

GOLDEN_DIR = Path(__file__).with_name("golden")

_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _encode_scalar(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    f = float(v)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f


def encode_array(a: Any) -> dict[str, Any]:
    """Encode a NumPy array (or anything ``np.asarray`` takes) as a JSON-able dict."""
    a = np.asarray(a)
    return {
        "__ndarray__": True,
        "dtype": a.dtype.name,
        "shape": list(a.shape),
        "data": [_encode_scalar(v) for v in a.reshape(-1).tolist()],
    }


def decode_array(d: dict[str, Any]) -> np.ndarray:
    """Decode :func:`encode_array`'s dict back to a NumPy array (exact for float32/64)."""
    dtype = np.dtype(d["dtype"])
    vals = [_NONFINITE.get(v, v) if isinstance(v, str) else v for v in d["data"]]
    return np.asarray(vals, dtype=dtype).reshape(d["shape"])


def encode(obj: Any) -> Any:
    """Encode arrays (at any depth in dicts, lists and tuples) and non-finite floats."""
    if isinstance(obj, np.ndarray) or (hasattr(obj, "__array__") and not isinstance(obj, (list, tuple))):
        return encode_array(obj)
    if isinstance(obj, dict):
        return {str(k): encode(v) for k, v in obj.items()}
    if isinstance(obj, tuple):  # kept a tuple (optax's axis=(1, 2) is not axis=[1, 2])
        return {"__tuple__": [encode(v) for v in obj]}
    if isinstance(obj, list):
        return [encode(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return _encode_scalar(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def decode(obj: Any) -> Any:
    """Inverse of :func:`encode`: arrays become NumPy arrays."""
    if isinstance(obj, dict):
        if obj.get("__ndarray__"):
            return decode_array(obj)
        if "__tuple__" in obj and len(obj) == 1:
            return tuple(decode(v) for v in obj["__tuple__"])
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj


def dump(payload: dict[str, Any], path: str | Path) -> None:
    """Write a golden file (strict JSON, one case per line for readable diffs)."""
    payload = encode(payload)
    cases = payload.pop("cases", [])
    head = json.dumps(payload, allow_nan=False, sort_keys=True)[:-1]
    lines = [json.dumps(c, allow_nan=False, sort_keys=True) for c in cases]
    text = head + (', "cases": [\n' if head.strip() != "{" else '"cases": [\n') + ",\n".join(lines) + "\n]}\n"
    Path(path).write_text(text)


def load(dialect_or_path: str | Path) -> dict[str, Any]:
    """Load a golden file by dialect name (shipped data) or by path; arrays decoded."""
    p = Path(dialect_or_path)
    if not p.suffix:
        p = GOLDEN_DIR / f"{dialect_or_path}.json"
    return decode(json.loads(p.read_text()))

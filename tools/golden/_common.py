"""Shared helpers of the golden recorders (stdlib + NumPy only).

Loaded by file path from ``record_<framework>.py`` scripts that run inside the real
frameworks' virtual environments (which do not have ``unified_ce`` installed).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_DIR = ROOT / "unified_ce" / "conformance" / "golden"


def load_format():
    spec = importlib.util.spec_from_file_location("_format", ROOT / "unified_ce" / "conformance" / "_format.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_format"] = mod
    spec.loader.exec_module(mod)
    return mod


_format = load_format()


def plain(v):
    """Turn NumPy scalars into plain Python values (arrays are kept)."""
    if isinstance(v, np.ndarray):
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, tuple):
        return tuple(plain(x) for x in v)
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


def err(exc: BaseException) -> dict:
    return {"error": {"type": type(exc).__name__, "message": str(exc)[:300]}}


class Recorder:
    def __init__(self, dialect: str, framework: str, version: str, recorded_with: dict):
        self.payload = {
            "dialect": dialect,
            "framework": framework,
            "version": version,
            "recorded_with": recorded_with,
            "cases": [],
        }
        self.ids: set[str] = set()

    def add(self, *, id, api, init, method, args, kwargs, grad_output, expect, invalid=None, tags=(), note="", wrt=0,
            tolerance_dtype=None):
        """``wrt``: index in ``args`` of the differentiated input (the logits); 0 unless the framework
        takes the target first (Keras ``(y_true, y_pred)``, ``tf.nn`` ``(labels, logits)``)."""
        base, k = id, 2
        while id in self.ids:
            id = f"{base}#{k}"
            k += 1
        self.ids.add(id)
        self.payload["cases"].append(
            {
                "id": id,
                "api": api,
                "init": plain(init) if init is not None else None,
                "method": method,
                "args": plain(list(args)),
                "kwargs": plain(dict(kwargs)),
                "grad_output": grad_output,
                "expect": expect,
                "invalid": invalid,
                "tags": list(tags),
                "note": note,
                **({"wrt": wrt} if wrt else {}),
                **({"tolerance_dtype": tolerance_dtype} if tolerance_dtype else {}),
            }
        )
        return id

    def write(self, dialect: str):
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        path = GOLDEN_DIR / f"{dialect}.json"
        _format.dump(self.payload, path)
        back = _format.load(path)
        assert len(back["cases"]) == len(self.payload["cases"])
        print(f"wrote {path} ({len(back['cases'])} cases, {path.stat().st_size} bytes)")
        return back

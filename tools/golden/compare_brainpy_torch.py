"""Replay BrainPy's golden cases through the real ``torch.nn.CrossEntropyLoss`` and list the differences.

Run from the repository root with the golden-a venv (it has torch)::

    /work/golden-venvs/golden-a/bin/python tools/golden/compare_brainpy_torch.py

BrainPy 2.8.2 says its ``CrossEntropyLoss`` is PyTorch's (same signature, PyTorch's docstring).  For
every golden case of ``unified_ce/conformance/golden/brainpy.json`` this calls PyTorch with the same
constructor arguments on the same arrays -- with BrainPy's class axis (the last) moved to PyTorch's
(axis 1) for inputs of rank >= 3, and integer labels cast to int64 as PyTorch requires -- and prints
one line per case where the outcome differs (value, nan-ness, shape, or one side raising).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import GOLDEN_DIR, _format  # noqa: E402


def _torch_call(case):
    x, t = case["args"]
    init = dict(case["init"] or {})
    if isinstance(init.get("weight"), np.ndarray):
        init["weight"] = torch.from_numpy(np.array(init["weight"], copy=True))
    xt = torch.from_numpy(np.array(x, copy=True))
    tt = torch.from_numpy(np.array(t, copy=True))
    if tt.dtype in (torch.int32, torch.int16, torch.int8):
        tt = tt.long()
    if xt.ndim >= 3:  # BrainPy: classes on the last axis; PyTorch: on axis 1
        xt = xt.movedim(-1, 1)
        if tt.ndim == xt.ndim:
            tt = tt.movedim(-1, 1)
    out = torch.nn.CrossEntropyLoss(**init)(xt, tt)
    return out.detach().numpy()


def main() -> None:
    cases = _format.load(GOLDEN_DIR / "brainpy.json")["cases"]
    n_same = 0
    for case in cases:
        if case["method"] != "__call__":
            continue
        bp = case["expect"]
        try:
            th = _torch_call(case)
            th_err = None
        except Exception as exc:  # noqa: BLE001
            th, th_err = None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:90]}"
        bp_err = bp.get("error")
        tag = "[invalid input] " if case["invalid"] else ""
        if bp_err and th_err:
            n_same += 1
            continue
        if bp_err:
            print(f"{case['id']}: {tag}BrainPy raises {bp_err['type']}, torch gives {np.array2string(th, precision=5)}")
            continue
        out = np.asarray(bp["output"])
        if th_err:
            print(f"{case['id']}: {tag}BrainPy gives {np.array2string(out, precision=5)}, torch raises {th_err}")
            continue
        same = out.shape == th.shape and np.allclose(out.astype(np.float64), th.astype(np.float64), rtol=2e-5,
                                                      atol=1e-5, equal_nan=True)
        if same:
            n_same += 1
        else:
            print(f"{case['id']}: {tag}BrainPy {np.array2string(out, precision=5)} vs torch "
                  f"{np.array2string(th, precision=5)}")
    print(f"# {n_same} cases agree (value, or both raise)")


if __name__ == "__main__":
    main()

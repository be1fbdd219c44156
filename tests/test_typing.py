"""What a user's type checker sees: results of the input's array type, option names and values checked.

Runs mypy (and pyright when installed) on a small user program; the public modules themselves are
checked strictly by pyright in CI (``[tool.pyright]`` in pyproject.toml).
"""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import unified_ce
from unified_ce.adapters import torch as torch_dialect

ROOT = Path(__file__).resolve().parents[1]

USER_PROGRAM = """
import numpy as np
import numpy.typing as npt

import unified_ce as uce

x: npt.NDArray[np.float32] = np.zeros((2, 3), np.float32)
t = np.array([0, 1])
reveal_type(uce.cross_entropy(x, t, reduction="sum", label_smoothing=0.1))
reveal_type(uce.value_and_grad(x, t)[1])
reveal_type(uce.softmax(x))
uce.cross_entropy(x, t, reduction=3)
uce.cross_entropy(x, t, target="prob")
uce.cross_entropy(x, t, reductoin="sum")
"""


def _lines(out: str, needle: str) -> list[str]:
    return [line for line in out.splitlines() if needle in line]


@pytest.mark.slow
def test_mypy_sees_array_types_and_literal_options(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    prog = tmp_path / "user.py"
    prog.write_text(USER_PROGRAM)
    out, err, _ = api.run(
        [str(prog), "--cache-dir", str(tmp_path / "cache"), "--ignore-missing-imports", "--no-error-summary"]
    )
    revealed = _lines(out, "Revealed type")
    assert len(revealed) == 3 and all("numpy.ndarray" in r and "32Bit" in r for r in revealed), out + err
    errors = _lines(out, "error:")
    assert any(":12:" in e and '"reduction"' in e for e in errors), out
    assert any(":13:" in e and '"target"' in e for e in errors), out
    assert any(":14:" in e and "reductoin" in e for e in errors), out


@pytest.mark.slow
def test_pyright_sees_array_types_and_literal_options(tmp_path: Path) -> None:
    if shutil.which("pyright") is None:
        pytest.skip("pyright is not installed")
    prog = tmp_path / "user.py"
    prog.write_text(USER_PROGRAM)
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"extraPaths": [str(ROOT)]}))  # this checkout
    out = subprocess.run(
        ["pyright", "--pythonpath", sys.executable, str(prog)], capture_output=True, text=True, cwd=tmp_path
    ).stdout
    revealed = _lines(out, "information: Type of")
    assert len(revealed) == 3 and all("ndarray" in r and "_32Bit" in r for r in revealed), out
    errors = _lines(out, "error:")
    assert any(":12:" in e for e in errors) and any(":13:" in e for e in errors) and any(":14:" in e for e in errors)


def test_signatures_name_what_calls_return() -> None:
    assert inspect.signature(unified_ce.cross_entropy).return_annotation == "Array"
    assert inspect.signature(torch_dialect.cross_entropy).return_annotation == "Array"  # not the internal Call
    ann = inspect.signature(unified_ce.cross_entropy).parameters["spec_fields"].annotation
    assert "SpecFields" in str(ann)

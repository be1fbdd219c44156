"""The conformance suite as a product: the API, the CLI, and that it catches wrong implementations."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from unified_ce.conformance import check


def test_real_torch_passes() -> None:
    pytest.importorskip("torch")
    for impl in ("torch.nn:CrossEntropyLoss", "torch.nn.functional:cross_entropy"):
        report = check("torch", impl, "torch")
        assert report.ok, report.format()
        c = report.counts()
        assert c["values"][1] > 50 and c["gradients"][1] > 50 and c["errors"][1] > 5


def _wrong_mean(
    input: Any,
    target: Any,
    weight: Any = None,
    size_average: Any = None,
    ignore_index: int = -100,
    reduce: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Any:
    """A classic bug: the weighted mean divided by the item count instead of the weights of the labels."""
    from unified_ce.adapters.torch import cross_entropy

    out = cross_entropy(input, target, weight, size_average, ignore_index, reduce, "none", label_smoothing)
    if reduction == "none":
        return out
    return out.sum() if reduction == "sum" else out.mean()


def test_wrong_implementation_fails_readably() -> None:
    report = check("torch", _wrong_mean, "numpy")
    assert not report.ok
    text = report.format()
    assert "FAIL" in text and "expected" in text and "got" in text and "tolerance" in text and "inputs:" in text
    ids = {f.case_id for f in report.failures}
    assert any("weight" in i or "ignore" in i for i in ids), ids


def test_nan_is_compared_exactly() -> None:
    """A number where the framework gave NaN fails (every label ignored: torch gives nan)."""

    def zero_when_empty(*args: Any, **kwargs: Any) -> Any:
        out = _wrong_mean(*args, **kwargs)
        return np.nan_to_num(out)

    report = check("torch", zero_when_empty, "numpy")
    assert any("NaN" in f.detail for f in report.failures)


def test_cli_report_and_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "unified_ce", "report", "--array", "numpy", "--dialect", "torch"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "torch" in out.stdout and "values" in out.stdout
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "unified_ce",
            "conformance",
            "--dialect",
            "torch",
            "--impl",
            "tests.test_conformance:_wrong_mean",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["ok"] is False and data["failures"]


def test_cli_explain_and_port() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "unified_ce", "port", "torch", "brainpy", "reduction=sum", "--ndim", "2"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "loss = bp.losses.CrossEntropyLoss(reduction='sum')(x, t)" in out.stdout.splitlines()
    out = subprocess.run(
        [sys.executable, "-m", "unified_ce", "explain", "torch.cross_entropy", "label_smoothing=0.2"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "label smoothing 0.2" in out.stdout


@pytest.mark.parametrize("dialect", ["torch", "chainer", "mxnet", "paddle", "brainpy"])
def test_unified_ce_passes_on_array_api_strict(dialect: str) -> None:
    """The report of unified_ce itself on array-api-strict: cases it cannot express (float16 inputs,
    which the standard lacks) are skipped, never counted as failures."""
    pytest.importorskip("array_api_strict")
    report = check(dialect, array="array_api_strict")
    assert report.ok, report.format()
    if dialect == "chainer":  # its golden data has float16 cases
        assert report.skipped >= 5

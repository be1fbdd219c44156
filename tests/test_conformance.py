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


# --- the pytest plugin ------------------------------------------------------------------------------

_PLUGIN = "unified_ce.conformance.pytest_plugin"


def _pytest(tmp_path: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """A separate pytest run in ``tmp_path`` with the plugin loaded explicitly (entry points off, so
    this works whether or not the installed unified_ce registers it)."""
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "JAX_PLATFORMS": "cpu"}
    cmd = [sys.executable, "-m", "pytest", "-p", _PLUGIN, "-p", "no:cacheprovider", "-q", "-rfEX", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)


def _counts(out: subprocess.CompletedProcess[str]) -> dict[str, int]:
    import re

    last = out.stdout.strip().splitlines()[-1]
    return {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|skipped|xfailed|xpassed|error)", last)}


def test_pytest_plugin_runs_torch_golden_cases_against_real_torch(tmp_path: Any) -> None:
    pytest.importorskip("torch")
    from unified_ce.conformance import load

    n_class = sum(1 for c in load("torch")["cases"] if c["api"] == "CrossEntropyLoss")
    out = _pytest(tmp_path, "--unified-ce-dialect", "torch", "--unified-ce-impl", "torch.nn:CrossEntropyLoss")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert _counts(out) == {"passed": n_class}, out.stdout[-500:]


def test_pytest_plugin_reports_failures_and_honours_the_xfail_manifest(tmp_path: Any) -> None:
    (tmp_path / "mylosses.py").write_text(
        "from unified_ce.adapters.torch import cross_entropy\n\n"
        "def no_weights(input, target, weight=None, **kw):\n"
        "    return cross_entropy(input, target, **kw)\n"
    )
    args = ["--unified-ce-dialect", "torch", "--unified-ce-impl", "mylosses:no_weights", "--unified-ce-array", "numpy"]
    args += ["--unified-ce-skip-tags", "int8_labels,int16_labels,int32_labels"]  # unified_ce's own deviations
    out = _pytest(tmp_path, *args)
    assert out.returncode == 1
    counts = _counts(out)
    assert counts["failed"] > 10 and counts["passed"] > 50
    assert "the framework gave" in out.stdout or "values differ" in out.stdout  # the checker's detail
    import re

    failed = re.findall(r"^FAILED \S+::(\S+)", out.stdout, flags=re.M)
    assert len(failed) == counts["failed"]
    manifest = "# no class weights in this library\n" + "".join(f"{i}  # no weights\n" for i in failed)
    (tmp_path / "xfails.txt").write_text(manifest)
    out = _pytest(tmp_path, *args, "--unified-ce-xfails", "xfails.txt")
    assert out.returncode == 0, out.stdout[-3000:]
    assert _counts(out)["xfailed"] == counts["failed"]


def test_pytest_plugin_helpers_in_a_users_test_file(tmp_path: Any) -> None:
    (tmp_path / "test_mine.py").write_text(
        "import pytest\n"
        "from unified_ce.adapters.torch import cross_entropy\n"
        "from unified_ce.conformance.pytest_plugin import assert_conforms, golden_params\n\n"
        "@pytest.mark.parametrize('case', golden_params('torch', impl=cross_entropy, tags=['label_smoothing'],\n"
        "                                               xfails={'*-f64': 'pretend'}))\n"
        "def test_case(case):\n"
        "    assert_conforms('torch', cross_entropy, case, 'numpy')\n"
    )
    out = _pytest(tmp_path)
    assert out.returncode == 1  # the pretend xfails pass: strict xfail reports them
    counts = _counts(out)
    assert (counts["passed"] > 3 and "XPASS(strict)" in out.stdout) or counts.get("failed", 0) > 0, out.stdout[-2000:]


def test_pytest_plugin_is_inert_without_its_options(tmp_path: Any) -> None:
    (tmp_path / "test_nothing.py").write_text("def test_one():\n    pass\n")
    out = _pytest(tmp_path)
    assert out.returncode == 0 and _counts(out) == {"passed": 1}, out.stdout
    out = _pytest(tmp_path, "--unified-ce-dialect", "torh")
    assert out.returncode == 4 and "did you mean 'torch'" in out.stderr, out.stdout + out.stderr
    help_text = _pytest(tmp_path, "--help").stdout
    assert "--unified-ce-dialect" in help_text and "--unified-ce-xfails" in help_text

"""The command line and the conformance checker as a tool for other people's CI.

Usage errors are one line with the valid choices (exit 2), failures exit 1, hostile
implementations (returning None or strings, raising ``__array__``, hanging) give a clean report,
and checking never changes process-wide state (JAX's x64 flag).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from unified_ce.__main__ import _parser, main
from unified_ce.adapters import DIALECTS
from unified_ce.conformance import UsageError, check, infer_array, load

ROOT = Path(__file__).resolve().parents[1]

MYLOSSES = textwrap.dedent(
    '''
    """A user's module next to where the command runs."""
    import numpy as np

    from unified_ce.adapters.torch import cross_entropy as good


    def returns_none(*args, **kwargs):
        return None


    def returns_text(*args, **kwargs):
        return "loss"


    class _Poison:
        def __array__(self, dtype=None, copy=None):
            raise RuntimeError("no conversion for you")


    def poisoned(*args, **kwargs):
        return _Poison()


    def always_nan(*args, **kwargs):
        return np.float32("nan")


    def hangs(*args, **kwargs):
        import time

        time.sleep(3600)
    '''
)


def _cli(tmp_path: Path, *argv: str, launcher: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the command line in ``tmp_path/work`` (which holds ``mylosses.py``): as ``python -m
    unified_ce``, or (``launcher``) as the ``unified-ce`` console script does, from a script in
    another directory, so that the current directory is not on ``sys.path`` by itself."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "mylosses.py").write_text(MYLOSSES)
    (work / "broken.py").write_text("raise ZeroDivisionError('broken on import')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    if launcher:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        script = bindir / "unified-ce"
        script.write_text("import sys\nfrom unified_ce.__main__ import main\nsys.exit(main())\n")
        cmd = [sys.executable, str(script), *argv]
    else:
        cmd = [sys.executable, "-m", "unified_ce", *argv]
    return subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """In-process runs of ``main()`` from a directory holding ``mylosses.py`` and ``broken.py``
    (the directory is not on ``sys.path``: ``main`` puts it there as the command line does)."""
    w = tmp_path / "work"
    w.mkdir()
    (w / "mylosses.py").write_text(MYLOSSES)
    (w / "broken.py").write_text("raise ZeroDivisionError('broken on import')\n")
    monkeypatch.chdir(w)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(w))])
    yield w
    for name in ("mylosses", "broken"):
        sys.modules.pop(name, None)


def _main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as exc:  # argparse's own errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line_usage_error(result: tuple[int, str, str], *needles: str) -> None:
    rc, out, err = result
    assert rc == 2, out + err
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]


# --- usage errors: one line, exit 2 -------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, needles",
    [
        (["--impl", "foo"], ["module:attribute", "'foo'"]),
        (["--impl", "nosuchmodule:loss"], ["no module named 'nosuchmodule'", "current directory"]),
        (["--impl", "broken:loss"], ["ZeroDivisionError", "broken on import"]),
        (["--impl", "mylosses:retruns_none"], ["did you mean 'returns_none'"]),
        (["--api", "crossentropy"], ["choose from", "CrossEntropyLoss", "did you mean 'cross_entropy'"]),
        (["--tags", "clas_weight"], ["did you mean 'class_weight'"]),
        (["--skip-tags", "label_smothing"], ["did you mean 'label_smoothing'"]),
        (["--array", "nump"], ["array_api_strict", "did you mean 'numpy'"]),
    ],
)
def test_conformance_usage_errors(
    work: Path, capsys: pytest.CaptureFixture[str], argv: list[str], needles: list[str]
) -> None:
    _one_line_usage_error(_main(capsys, "conformance", "--dialect", "torch", *argv), *needles)


def test_other_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    _one_line_usage_error(
        _main(capsys, "conformance", "--dialect", "torh"), "choose from brainpy", "did you mean 'torch'"
    )
    _one_line_usage_error(_main(capsys, "report", "--dialect", "chainr"), "did you mean 'chainer'")
    _one_line_usage_error(_main(capsys, "--bogus-option"), "unrecognized arguments")
    _one_line_usage_error(_main(capsys, "port", "torch", "brainpyy", "reduction=sum"), "brainpy")
    _one_line_usage_error(_main(capsys, "explain", "torch.cross_entrop"), "cross_entrop")


def test_usage_error_from_the_shell_is_one_line(tmp_path: Path) -> None:
    out = _cli(tmp_path, "conformance", "--dialect", "torch", "--impl", "broken:loss")
    _one_line_usage_error((out.returncode, out.stdout, out.stderr), "ZeroDivisionError", "broken on import")


def test_console_script_finds_impl_in_current_directory(tmp_path: Path) -> None:
    """``unified-ce`` (a script outside the current directory) resolves --impl like ``python -m``."""
    for launcher in (False, True):
        out = _cli(
            tmp_path,
            "conformance",
            "--dialect",
            "torch",
            "--impl",
            "mylosses:good",
            "--tags",
            "label_smoothing",
            launcher=launcher,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "values" in out.stdout and "ok" in out.stdout


# --- hostile implementations: a clean report, never a crash ----------------------------------------


@pytest.mark.parametrize("impl", ["returns_none", "returns_text", "poisoned"])
def test_hostile_results_fail_cleanly(work: Path, capsys: pytest.CaptureFixture[str], impl: str) -> None:
    rc, out, err = _main(capsys, "conformance", "--dialect", "torch", "--impl", f"mylosses:{impl}", "--array", "numpy")
    assert rc == 1, out + err
    assert "Traceback" not in err + out and "FAIL" in out
    what = {"returns_none": "returned NoneType", "returns_text": "returned str", "poisoned": "no conversion for you"}
    assert what[impl] in out


def test_hostile_implementation_from_the_shell(tmp_path: Path) -> None:
    out = _cli(tmp_path, "conformance", "--dialect", "torch", "--impl", "mylosses:poisoned", "--array", "numpy")
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr, out.stdout + out.stderr
    assert "no conversion for you" in out.stdout


def test_hanging_implementation_times_out(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _main(capsys, "conformance", "--dialect", "torch", "--impl", "mylosses:hangs", "--timeout", "0.2")
    assert rc == 1 and "timed out" in out and "STOPPED" in out
    report = check("torch", "mylosses:hangs", "numpy", api="cross_entropy", timeout=0.2)
    assert not report.ok
    assert len(report.results) == 3 and all("timed out" in r.detail for r in report.results)
    assert "timeout" in report.problem


def test_nan_is_not_a_refusal_on_eager_arrays() -> None:
    """An implementation that always returns NaN must fail the invalid-input cases on NumPy."""

    def always_nan(*args: Any, **kwargs: Any) -> Any:
        return np.float32("nan")

    report = check("torch", always_nan, "numpy", api="cross_entropy")
    invalid = [r for r in report.results if r.kind == "invalid"]
    assert invalid, "the torch golden data has invalid-input cases"
    assert all(r.error_ok is False for r in invalid), [r.case_id for r in invalid if r.error_ok]


def test_nan_stands_for_a_refusal_on_dask() -> None:
    pytest.importorskip("dask.array")
    cases = [c for c in load("torch")["cases"] if c.get("invalid") and c["api"] == "cross_entropy"]
    report = check("torch", None, "dask", cases=cases)
    assert report.ok, report.format()


def test_jax_x64_flag_is_restored() -> None:
    jax = pytest.importorskip("jax")
    before = jax.config.read("jax_enable_x64")
    try:
        for flag in (False, True):
            jax.config.update("jax_enable_x64", flag)
            cases = [c for c in load("torch")["cases"] if c["api"] == "cross_entropy"][:2]
            report = check("torch", array="jax", cases=cases)
            assert report.ok, report.format()
            assert jax.config.read("jax_enable_x64") is flag
    finally:
        jax.config.update("jax_enable_x64", before)


# --- array library inferred, or the run stops with the reason ---------------------------------------


def test_every_case_raised_stops_with_the_reason() -> None:
    def refuses(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("expected a Tensor")

    report = check("torch", refuses, "numpy")
    assert not report.ok
    assert "every case raised" in report.problem and "right library" in report.problem
    assert len(report.results) < 20  # stopped early
    assert "STOPPED" in report.summary_line() and "expected a Tensor" in report.format()


def test_array_library_follows_the_implementation(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    assert infer_array(torch.nn.CrossEntropyLoss) == "torch"
    assert infer_array(torch.nn.functional.cross_entropy) == "torch"
    assert infer_array(np.mean) == "numpy"
    report = check("torch", "torch.nn:CrossEntropyLoss")
    assert report.array == "torch" and report.ok, report.format()
    mod = tmp_path / "uses_torch.py"
    mod.write_text("import torch\n\ndef loss(x, t, **kw):\n    return torch.nn.functional.cross_entropy(x, t, **kw)\n")
    sys.path.insert(0, str(tmp_path))
    try:
        from uses_torch import loss  # type: ignore[import-not-found]

        assert infer_array(loss) == "torch"
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("uses_torch", None)


# --- choosing cases: tags, repeatable --array, the covering sample ---------------------------------


def test_tags_and_skip_tags() -> None:
    smooth = check("torch", tags=["label_smoothing"])
    assert smooth.results and all("tag label_smoothing" in r.features for r in smooth.results)
    rest = check("torch", skip_tags="class_weight,label_smoothing")
    assert rest.results and not any({"tag class_weight", "tag label_smoothing"} & set(r.features) for r in rest.results)
    with pytest.raises(UsageError, match="did you mean 'class_weight'"):
        check("torch", tags=["clas_weight"])


def test_array_is_repeatable(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("array_api_strict")
    rc, out, err = _main(
        capsys, "conformance", "--dialect", "torch", "--api", "cross_entropy", "--array", "numpy",
        "--array", "array_api_strict", "--json",
    )  # fmt: skip
    assert rc == 0, out + err
    data = json.loads(out)
    assert [r["array"] for r in data["reports"]] == ["numpy", "array_api_strict"]


def test_covering_sample_covers_every_tag_and_api() -> None:
    pytest.importorskip("dask.array")
    report = check("torch", None, "dask", full=False)
    assert report.ok, report.format()
    assert report.sampled and report.selected < report.total / 5
    from unified_ce.adapters import torch as torch_dialect
    from unified_ce.conformance._runner import pending_reason

    # every case the dialect runs (GOLDEN_PENDING cases are reported, not run)
    cases = [c for c in load("torch")["cases"] if pending_reason(torch_dialect.GOLDEN_PENDING, c["id"]) is None]
    ran = {r.case_id for r in report.results}
    chosen = [c for c in cases if c["id"] in ran]
    assert {t for c in chosen for t in c["tags"]} == {t for c in cases for t in c["tags"]}
    assert {c["api"] for c in chosen} == {c["api"] for c in cases}


# --- the failure report -----------------------------------------------------------------------------


def _ignores_weight(input: Any, target: Any, weight: Any = None, **kwargs: Any) -> Any:
    """A library without class weights: it drops ``weight``."""
    from unified_ce.adapters.torch import cross_entropy

    return cross_entropy(input, target, **kwargs)


#: unified_ce's torch dialect (which _ignores_weight calls) accepts these labels on purpose
_DEVIATIONS = ["int8_labels", "int16_labels", "int32_labels"]


def test_failure_summary_names_what_failures_share(tmp_path: Path) -> None:
    report = check("torch", _ignores_weight, "numpy", api="cross_entropy", skip_tags=_DEVIATIONS)
    groups = report.failure_groups()
    assert groups and groups[0]["feature"] in ("`weight`", "tag class_weight"), groups
    assert groups[0]["failures"] == len(report.failures)
    text = report.format()
    n = len(report.failures)
    assert f"{n} of {n} failures have" in text
    # with the weighted cases left out, the same library passes
    assert check("torch", _ignores_weight, "numpy", api="cross_entropy", skip_tags=[*_DEVIATIONS, "class_weight"]).ok


def test_verbose_and_json_carry_every_failure(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["conformance", "--dialect", "torch", "--impl", "tests.test_cli:_ignores_weight", "--array", "numpy"]
    argv += ["--api", "cross_entropy", "--skip-tags", ",".join(_DEVIATIONS)]
    assert main([*argv, "--max-failures", "2"]) == 1
    short = capsys.readouterr().out
    assert "more failures (-v or --json for all)" in short
    assert main([*argv, "-v"]) == 1
    assert "more failures" not in capsys.readouterr().out
    assert main([*argv, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["failures"] and data["shared_by_failures"][0]["failures"] == len(data["failures"])


# --- help -------------------------------------------------------------------------------------------


def _examples(text: str) -> list[list[str]]:
    """The example commands of a help text (``python -m unified_ce ...`` / ``unified-ce ...`` lines), as
    the argument lists ``main`` gets."""
    out = []
    for line in text.split("examples:", 1)[1].splitlines():
        words = shlex.split(line.partition("  # ")[0])
        if words[:3] == ["python", "-m", "unified_ce"]:
            out.append(words[3:])
        elif words[:1] == ["unified-ce"]:
            out.append(words[1:])
    return out


def test_help_has_examples_and_every_option_help() -> None:
    parser = _parser()
    assert "examples:" in parser.format_help() and "exit status" in parser.format_help()
    for action in parser._actions:
        assert action.help, f"{action.option_strings or action.dest} has no help text"
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert all(a.help for a in subs._choices_actions), "a subcommand without help in the command list"
    examples = _examples(parser.format_help())
    for name, sub in subs.choices.items():
        text = sub.format_help()
        assert "examples:" in text, f"{name} --help has no examples"
        mine = _examples(text)
        assert mine and all(e[:1] == [name] or name == "report" for e in mine), (name, mine)
        examples += mine
        for action in sub._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"
    assert {e[0] for e in examples if e and not e[0].startswith("-")} == set(subs.choices)
    for argv in examples:  # every example is a valid command line (parsed as main parses it)
        if not argv or argv[0].startswith("-"):
            argv = ["report", *argv]
        args = _parser().parse_args(argv)
        dialects = getattr(args, "dialect", None) or []
        for dialect in [dialects] if isinstance(dialects, str) else dialects:  # conformance: one; report: a list
            assert dialect in DIALECTS, argv
        if args.command in ("explain", "port"):
            dialect_of = [args.call] if args.command == "explain" else [args.source, args.dest]
            assert all(d.split(".")[0] in DIALECTS for d in dialect_of), argv


@pytest.mark.parametrize("command", [["unified-ce"], [sys.executable, "-m", "unified_ce"]], ids=["script", "module"])
def test_help_of_both_entry_points(command: list[str]) -> None:
    """``unified-ce --help`` and ``python -m unified_ce --help`` (this checkout's code) print the examples."""
    if command == ["unified-ce"]:
        script = Path(sys.executable).with_name("unified-ce")
        if not script.exists():
            pytest.skip("the unified-ce script is not installed next to this interpreter")
        command = [str(script)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for sub in ([], ["conformance"], ["port-file"]):
        proc = subprocess.run([*command, *sub, "--help"], capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.startswith("usage: unified-ce") and "examples:" in proc.stdout, proc.stdout
        assert "--help" in proc.stdout and not proc.stderr

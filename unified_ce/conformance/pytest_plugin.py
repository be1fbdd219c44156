"""pytest plugin: unified_ce's golden cases as ordinary tests of a third-party library.

Installed with unified_ce (entry point ``pytest11: unified_ce``) and inert unless its options
are given; it imports nothing but the standard library and pytest until then.

From the command line, the golden cases of a dialect run against your implementation, one test
per case::

    pytest --unified-ce-dialect torch --unified-ce-impl mypkg.losses:CrossEntropyLoss \\
           --unified-ce-skip-tags class_weight --unified-ce-xfails conformance-xfails.txt

In your own test files, parametrize over the cases and check each one (the array library follows
the implementation unless ``array=`` says otherwise)::

    import pytest
    from unified_ce.conformance.pytest_plugin import assert_conforms, golden_params

    @pytest.mark.parametrize("case", golden_params("torch", impl=MyLoss, xfails="conformance-xfails.txt"))
    def test_torch_conformance(case):
        assert_conforms("torch", MyLoss, case)

The xfail manifest (in the style of array-api-tests) lists deliberate deviations, one case id
(or ``fnmatch`` pattern) per line with an optional ``# reason``; those cases are marked
``xfail(strict=True)``, so an entry that starts passing is reported and can be removed::

    # our loss refuses int32 labels on purpose
    cross_entropy/labels-int32   # we accept them
    CrossEntropyLoss/weight-*    # no class weights yet
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

__all__ = ["assert_conforms", "golden_params", "read_xfails"]


class ConformanceFailure(AssertionError):
    """A golden case failed; the message is the checker's readable detail."""


def read_xfails(path: str | Path | None) -> dict[str, str]:
    """``{case id or pattern: reason}`` from an xfail manifest (``#`` starts a comment)."""
    if path is None:
        return {}
    out = {}
    for line in Path(path).read_text().splitlines():
        entry, _, reason = line.partition("#")
        entry = entry.strip()
        if entry:
            out[entry] = reason.strip() or "listed in the xfail manifest"
    return out


def _xfail_reason(case_id: str, xfails: dict[str, str]) -> str | None:
    for pattern, reason in xfails.items():
        if case_id == pattern or fnmatch.fnmatchcase(case_id, pattern):
            return reason
    return None


def golden_params(
    dialect: str,
    *,
    impl: Any = None,
    api: str | None = None,
    tags: Any = None,
    skip_tags: Any = None,
    xfails: str | Path | dict[str, str] | None = None,
) -> list[Any]:
    """The golden cases of ``dialect`` as ``pytest.param`` values (ids are the case ids).

    Parameters
    ----------
    dialect : str
        The dialect whose golden cases to use.
    impl : callable, class or str, optional
        Keep only the cases that apply to it (loss-class cases for a class, functional cases for
        a function; only an API's own cases for an implementation of that name).
    api, tags, skip_tags
        As in :func:`unified_ce.conformance.check`.
    xfails : path or dict, optional
        Deliberate deviations: a manifest file or ``{case id or pattern: reason}``; those cases are
        marked ``xfail(strict=True)``.
    """
    from ._runner import applies
    from ._select import load_cases, resolve, select

    every = load_cases(dialect)
    cases = select(every, dialect, api=api, tags=tags, skip_tags=skip_tags)
    if impl is not None:
        obj = resolve(impl)
        apis = {c["api"] for c in every}
        cases = [c for c in cases if applies(obj, c, apis)]
    manifest = xfails if isinstance(xfails, dict) else read_xfails(xfails)
    params = []
    for c in cases:
        reason = _xfail_reason(c["id"], manifest)
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(c, id=c["id"], marks=marks))
    return params


def assert_conforms(
    dialect: str, impl: Any, case: dict[str, Any], array: str | None = None, *, timeout: float | None = None
) -> None:
    """Run one golden case against ``impl``; raise an ``AssertionError`` with the readable
    difference if it fails, skip if the case does not apply."""
    from ._runner import run_case

    result = run_case(dialect, impl, case, array, timeout=timeout)
    if result is None:
        pytest.skip("this case does not apply to the implementation (or array library)")
    if not result.ok:
        raise ConformanceFailure(f"{case['id']} [{result.kind}]\n{result.detail}")


# --- command-line mode -------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("unified_ce", "unified_ce conformance (golden cases recorded from real frameworks)")
    group.addoption(
        "--unified-ce-dialect", metavar="DIALECT", help="run this dialect's golden cases (turns the plugin on)"
    )
    group.addoption(
        "--unified-ce-impl",
        metavar="MODULE:ATTR",
        help="the implementation under test (default: unified_ce's own dialect)",
    )
    group.addoption(
        "--unified-ce-array", metavar="LIB", help="array library fed to it (default: the implementation's own)"
    )
    group.addoption("--unified-ce-tags", action="append", metavar="T[,T]", help="only cases with any of these tags")
    group.addoption(
        "--unified-ce-skip-tags", action="append", metavar="T[,T]", help="leave out cases with any of these tags"
    )
    group.addoption("--unified-ce-xfails", metavar="FILE", help="xfail manifest: deliberate deviations, one id a line")
    group.addoption("--unified-ce-timeout", type=float, metavar="SECONDS", help="fail a case that takes longer")


class GoldenCase(pytest.Item):
    """One golden case against the implementation given on the command line."""

    def __init__(self, *, case: dict[str, Any], settings: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case, self.settings = case, settings

    def runtest(self) -> None:
        s = self.settings
        assert_conforms(s["dialect"], s["impl"], self.case, s["array"], timeout=s["timeout"])

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        if isinstance(excinfo.value, ConformanceFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"unified_ce golden case {self.case['id']}"


class GoldenCases(pytest.Collector):
    """The golden cases of one dialect (created when ``--unified-ce-dialect`` is given)."""

    def collect(self) -> list[Any]:
        return []


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[Any]) -> None:
    dialect = config.getoption("unified_ce_dialect", None)
    if not dialect:
        return
    from ._select import UsageError, infer_array, resolve

    impl = config.getoption("unified_ce_impl")
    try:
        obj = None if impl is None else resolve(impl)
        array = config.getoption("unified_ce_array") or ("numpy" if obj is None else infer_array(obj))
        params = golden_params(
            dialect,
            impl=obj,
            tags=config.getoption("unified_ce_tags"),
            skip_tags=config.getoption("unified_ce_skip_tags"),
            xfails=config.getoption("unified_ce_xfails"),
        )
    except (UsageError, OSError) as exc:
        raise pytest.UsageError(f"unified_ce: {exc}") from None
    settings = {"dialect": dialect, "impl": obj, "array": array, "timeout": config.getoption("unified_ce_timeout")}
    parent = GoldenCases.from_parent(session, name=f"unified_ce-golden-{dialect}-{array}")
    for p in params:
        (case,) = p.values
        item = GoldenCase.from_parent(parent, name=case["id"], case=case, settings=settings)
        for mark in p.marks:
            item.add_marker(mark)
        items.append(item)

"""The docs cannot drift: the semantic matrix comes from the adapters, and the examples run."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
from pathlib import Path

import pytest

from unified_ce.adapters import DIALECTS

ROOT = Path(__file__).resolve().parents[1]


def _module(d: str):  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module(f"unified_ce.adapters.{d}")
    except ModuleNotFoundError:
        pytest.skip(f"dialect {d} not available")


def test_every_dialect_answers_every_matrix_question() -> None:
    keys = {d: tuple(_module(d).SEMANTICS) for d in DIALECTS}
    reference = keys["torch"]
    for d, k in keys.items():
        assert set(k) == set(reference), f"{d}: {set(k) ^ set(reference)}"


def test_matrix_is_generated_from_the_adapters() -> None:
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs" / "hooks.py")
    assert spec and spec.loader
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    page = hooks.on_page_markdown("before\n<!-- semantic-matrix -->\nafter")
    for d in DIALECTS:
        assert d in page
    torch_row = _module("torch").SEMANTICS["mean divides by"]
    assert torch_row.replace("|", "\\|") in page


@pytest.mark.parametrize("page", ["concepts.md", "index.md", "scaling.md"])
def test_doc_examples_run(page: str) -> None:
    result = doctest.testfile(
        str(ROOT / "docs" / page), module_relative=False, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.failed == 0


def test_dialect_pages_exist() -> None:
    for d in DIALECTS:
        assert (ROOT / "docs" / "dialects" / f"{d}.md").exists(), d

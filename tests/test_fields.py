"""The spec-field table (:mod:`unified_ce._fields`) is complete and true.

A field cannot be half-wired: every dataclass field of CrossEntropySpec has a row; every row has a
default equal to the dataclass's, a validator that accepts its examples and rejects a wrong type,
the core stages that read it (and every stage that reads it is listed), its kernel coverage, and
example values that tests/test_properties.py draws specs from.  docs/concepts.md's five steps name
the same places.
"""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from unified_ce import CrossEntropySpec, InvalidArgumentError, InvalidTypeError
from unified_ce._fields import FIELDS, KERNELS, KernelCoverage, row

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "unified_ce" / "core"
SPEC_FIELDS = [f.name for f in dataclasses.fields(CrossEntropySpec)]


def test_every_dataclass_field_has_one_row() -> None:
    names = [f.name for f in FIELDS]
    assert sorted(names) == sorted(SPEC_FIELDS), set(names) ^ set(SPEC_FIELDS)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("name", SPEC_FIELDS)
def test_row_is_complete(name: str) -> None:
    r = row(name)
    dc = {f.name: f for f in dataclasses.fields(CrossEntropySpec)}[name]
    assert r.default == dc.default, "the row's default must be the dataclass default"
    assert callable(r.validate)
    assert r.stages, "name the core stages that read the field"
    assert isinstance(r.kernels, KernelCoverage) and set(r.kernels.kernels) <= set(KERNELS)
    assert len(r.examples) >= 2 and r.default in r.examples, "examples: the default and at least one other value"


@pytest.mark.parametrize("name", SPEC_FIELDS)
def test_validator_accepts_examples_and_names_the_field_in_its_errors(name: str) -> None:
    r = row(name)
    for value in r.examples:
        assert r.validate(value) == value
    with pytest.raises((InvalidArgumentError, InvalidTypeError), match=name):
        r.validate(object())
    with pytest.raises((InvalidArgumentError, InvalidTypeError), match=name):
        CrossEntropySpec(**{name: object()})


@pytest.mark.parametrize("name", SPEC_FIELDS)
def test_values_the_spec_accepts_without_its_validator_are_valid_as_they_are(name: str) -> None:
    """CrossEntropySpec skips the validator for values of ``exact_types`` or in ``choices`` (speed)."""
    r = row(name)
    for value in r.examples:
        if value.__class__ in r.exact_types or value in r.choices:
            canonical = r.validate(value)
            assert canonical == value and type(canonical) is type(value)
    for bad in (True, 1.5, "x", [0]) if int in r.exact_types else ():
        if bad.__class__ not in r.exact_types:
            with pytest.raises((InvalidArgumentError, InvalidTypeError), match=name):
                CrossEntropySpec(**{name: bad})


def _stage_reads() -> dict[str, set[str]]:
    """Which core modules read ``spec.<field>`` (found with ast)."""
    reads: dict[str, set[str]] = {n: set() for n in SPEC_FIELDS}
    for path in sorted(CORE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in reads:
                v = node.value
                if (isinstance(v, ast.Name) and v.id == "spec") or (isinstance(v, ast.Attribute) and v.attr == "spec"):
                    reads[node.attr].add(path.stem)
    return reads


@pytest.mark.parametrize("name", SPEC_FIELDS)
def test_stages_listed_are_the_stages_that_read_the_field(name: str) -> None:
    r = row(name)
    for stage in r.stages:
        assert (CORE / f"{stage}.py").exists(), f"{name}: no core module {stage}.py"
    reads = _stage_reads()[name]
    if name == "ignore_index":  # also read through spec.uses_ignore
        reads |= _stage_reads_property("uses_ignore")
    assert reads <= set(r.stages), f"{name} is read by {sorted(reads - set(r.stages))}, not listed in its row"
    assert reads, f"{name}: no core stage reads it"


def _stage_reads_property(prop: str) -> set[str]:
    return {p.stem for p in CORE.glob("*.py") if f"spec.{prop}" in p.read_text()}


def test_kernel_selection_follows_the_table() -> None:
    """A non-default value no kernel covers falls back to the reference core, named in explain()."""
    from unified_ce import kernels

    for r in FIELDS:
        for value in r.examples:
            if value == r.default or r.kernels.covers("triton", r.default, value):
                continue
            spec = CrossEntropySpec().replace(**{r.name: value})
            assert kernels._uncovered_field(spec, "triton") is not None, (r.name, value)


def test_concepts_doc_names_the_places_of_the_five_steps() -> None:
    text = (ROOT / "docs" / "concepts.md").read_text()
    section = text.split("## How to add a spec field", 1)[1]
    steps = [line for line in section.splitlines() if line[:3] in {f"{i}. " for i in range(1, 10)}]
    assert len(steps) == 5, steps
    for place in ("unified_ce/_spec.py", "unified_ce/_fields.py", "unified_ce/core/", "tests/test_fields.py"):
        assert place in section, place
        if "/" in place and not place.endswith("/"):
            assert (ROOT / place).exists(), place

"""The porting matrix: every source API x a grid of its arguments x every target dialect.

``python -m unified_ce.porting._matrix --write docs/porting.md`` regenerates the coverage table
of the docs (between ``<!-- porting-coverage -->`` markers); the tests compare the committed
table with a fresh one, so its numbers cannot drift from the code.
"""

from __future__ import annotations

import argparse
import functools
import sys
from dataclasses import dataclass
from typing import Any

from .._errors import InvalidArgumentError
from ._args import role
from ._engine import _OUTPUT_ONLY
from ._port import PortResult, port
from ._registry import Api, apis, dialects

__all__ = ["Row", "grid", "matrix", "rows_of", "table"]

MARK = "<!-- porting-coverage -->"
_REDUCTIONS = ("sum", "none", "no", "mean")
#: options that change no number: outputs, memory, a display name (Keras's ``name``)
_NOT_IN_GRID = ("cache_score", "enable_double_backprop", "return_softmax", "numeric_stable_mode", "name", *_OUTPUT_ONLY)


def _alternatives(api: Api) -> list[tuple[str, Any]]:
    """One non-default value per option of ``api`` worth porting."""
    out: list[tuple[str, Any]] = []
    for p in api.params:
        r = role(api, p.name)
        d = p.default
        if p.name in _NOT_IN_GRID:
            continue
        if r == "class_weight":
            out.append((p.name, "w"))
        elif r == "sample_weight":
            out.append((p.name, "sw"))
        elif r == "divisor":
            out.append((p.name, "n"))
        elif r == "ignore":
            out.append((p.name, 1))
        elif r == "bool":
            out.append((p.name, not d))
        elif r == "str":
            from ._engine import _STRINGS

            out += [(p.name, s) for s in _STRINGS if s != d]
        elif r == "int" and "axis" in p.name and "batch" not in p.name:
            out.append((p.name, 1 if d != 1 else -1))
        elif r == "int" and "axis" not in p.name:
            out.append((p.name, 1))
        elif r == "float" and "smooth" in p.name:
            out.append((p.name, 0.1))
        elif r == "number":
            out.append((p.name, 0.5))
    return out


def _valid(api: Api, kw: dict[str, Any]) -> bool:
    from ._args import parse_kwargs

    try:
        parse_kwargs(api, kw)
    except (InvalidArgumentError, TypeError, ValueError):
        return False
    return True


def _to_logits(api: Api, alts: list[tuple[str, Any]]) -> tuple[str, Any] | None:
    """The option that turns a call of probabilities (by default) into one of logits, if any."""
    import numpy as np

    from ._engine import translate_placeholder

    def inputs(kw: dict[str, Any]) -> str | None:
        call = translate_placeholder(api, kw, np.zeros((2, 3)))
        return None if call is None else str(call.spec.inputs)

    if inputs({}) != "probs":
        return None
    return next(((k, v) for k, v in alts if isinstance(v, bool) and inputs({k: v}) == "logits"), None)


@functools.cache
def grid(api: Api) -> tuple[tuple[tuple[str, Any], ...], ...]:
    """The argument combinations of ``api`` in the matrix: the defaults, each option alone, and the
    class weights with each other reduction."""
    alts = _alternatives(api)
    combos: list[dict[str, Any]] = [{}]
    combos += [{k: v} for k, v in alts]
    # the class weights with the reduction options (where weights change the denominator)
    for wk, wv in alts:
        if wv == "w":
            combos += [{wk: wv, k: v} for k, v in alts if k != wk and isinstance(v, str) and v in _REDUCTIONS]
    # a call taking probabilities by default (Keras: from_logits=False, clipped; no other dialect does
    # that): every option also with the switch to logits, which other dialects can express
    switch = _to_logits(api, alts)
    if switch is not None:
        combos += [{switch[0]: switch[1], k: v} for k, v in alts if k != switch[0]]
    out = []
    for c in combos:
        if _valid(api, c):
            out.append(tuple(c.items()))
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Row:
    """One port of the matrix."""

    source: Api
    kwargs: tuple[tuple[str, Any], ...]
    target_kind: str | None
    dest: str
    result: PortResult

    @property
    def exact_ranks(self) -> tuple[int, ...]:
        """The ranks at which an exact translation exists (0 in ``plans`` means every rank)."""
        if self.result.exact:
            return (0,)
        return tuple(sorted(self.result.plans)) if "depends on the rank" in " ".join(self.result.notes) else ()


def _call(source: Api, kwargs: tuple[tuple[str, Any], ...], kind: str | None, dest: str) -> PortResult | None:
    try:
        return port(source.qualname, dest, target=kind, **dict(kwargs))
    except InvalidArgumentError:  # this kind of target is not one the source takes with these arguments
        return None


@functools.cache
def matrix() -> tuple[Row, ...]:
    """Every row of the matrix (cached: computed once per process)."""
    return tuple(r for sd in _portable() for r in rows_of(sd))


@functools.cache
def rows_of(dialect: str) -> tuple[Row, ...]:
    """The rows of the matrix whose source API is one of ``dialect``'s, in :func:`matrix`'s order
    (each source dialect's part can be computed -- and cached -- on its own)."""
    rows = []
    for api in apis(dialect):
        for kw in grid(api):
            for kind in (None, "probs"):
                for dest in _portable():
                    if dest == dialect:
                        continue
                    r = _call(api, kw, kind, dest)
                    if r is not None and (kind is None or "probs" not in _kinds(api, kw)):
                        rows.append(Row(api, kw, kind, dest, r))
    return tuple(rows)


def _portable() -> tuple[str, ...]:
    """The dialects with a loss API of logits and a target (``cce`` takes embeddings and a classifier)."""
    return tuple(d for d in dialects() if apis(d))


@functools.cache
def _kinds(api: Api, kw: tuple[tuple[str, Any], ...]) -> frozenset[str]:
    """The target kinds the call takes without ``target=``."""
    from ._args import parse_kwargs
    from ._engine import source_info

    return frozenset({source_info(api, parse_kwargs(api, dict(kw)), None, None).kind})


def _args_text(kw: tuple[tuple[str, Any], ...]) -> str:
    return ", ".join(f"{k}={v}" if v in ("w", "sw", "n") else f"{k}={v!r}" for k, v in kw) or "(defaults)"


def table(rows: tuple[Row, ...] | None = None) -> str:
    """The coverage table in Markdown: per source API and target dialect, how many of the grid's
    calls port exactly at every rank, at some ranks only, or not at all."""
    rows = matrix() if rows is None else rows
    dests = list(_portable())
    sources = list(dict.fromkeys(r.source.qualname for r in rows))
    lines = [
        "| source API | calls | " + " | ".join(f"→ {d}" for d in dests) + " |",
        "|---|---:|" + "---|" * len(dests),
    ]
    for s in sources:
        mine = [r for r in rows if r.source.qualname == s]
        calls = {(r.kwargs, r.target_kind) for r in mine}
        cells = []
        for d in dests:
            rs = [r for r in mine if r.dest == d]
            if not rs:
                cells.append("—")
                continue
            every = sum(1 for r in rs if r.result.exact)
            some = sum(1 for r in rs if not r.result.exact and r.exact_ranks)
            cells.append(f"{every} / {some} / {len(rs) - every - some}")
        lines.append(f"| `{s}` | {len(calls)} | " + " | ".join(cells) + " |")
    total = len(rows)
    exact = sum(1 for r in rows if r.result.exact)
    some = sum(1 for r in rows if not r.result.exact and r.exact_ranks)
    lines.append("")
    lines.append(
        f"Each cell: exact at every rank the call takes / exact at some ranks only (the port says which) / "
        f"no exact equivalent. {total} ports in all: {exact} exact at every rank, {some} at some ranks, "
        f"{total - exact - some} with none."
    )
    lines.append("")
    lines.append("<details><summary>Every call of the grid</summary>")
    lines.append("")
    lines.append("| source call | target | → " + " | → ".join(dests) + " |")
    lines.append("|---|---|" + "---|" * len(dests))
    for s in sources:
        for kw, kind in dict.fromkeys((r.kwargs, r.target_kind) for r in rows if r.source.qualname == s):
            cells = []
            for d in dests:
                r = next(
                    (
                        r
                        for r in rows
                        if r.source.qualname == s and r.kwargs == kw and r.target_kind == kind and r.dest == d
                    ),
                    None,
                )
                if r is None:
                    cells.append("—")
                elif r.result.exact:
                    cells.append("exact")
                elif r.exact_ranks:
                    cells.append("ranks " + ",".join(map(str, r.exact_ranks)))
                else:
                    cells.append("no")
            lines.append(f"| `{s}({_args_text(kw)})` | {kind or 'inferred'} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("</details>")
    return "\n".join(lines)


def replace_table(text: str, new: str) -> str:
    """``text`` with the part between the two markers replaced by ``new``."""
    head, sep, rest = text.partition(MARK)
    _, sep2, tail = rest.partition(MARK)
    if not (sep and sep2):
        raise ValueError(f"the document needs two {MARK} markers")
    return f"{head}{MARK}\n{new}\n{MARK}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", metavar="MARKDOWN", help="replace the table in this file")
    args = parser.parse_args(argv)
    new = table()
    if args.write:
        with open(args.write, encoding="utf-8") as f:
            text = f.read()
        with open(args.write, "w", encoding="utf-8") as f:
            f.write(replace_table(text, new))
    else:
        print(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())

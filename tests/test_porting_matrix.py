"""The porting matrix: every source API x a grid of its arguments x both target kinds x every target
dialect, at every rank 1-4.  Every translation the port calls exact (at every rank, or at the
ranks it names) is *executed as emitted code* -- with real PyTorch tensors for torch, with the
dialect modules installed under the real framework names otherwise -- on inputs the search never
saw, and must give the source dialect's numbers; every other port must say why not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.porting_fakes import run_code
from tests.shared_cache import BUSY, shared
from unified_ce.porting import _matrix
from unified_ce.porting._engine import Source, _battery_cached
from unified_ce.porting._port import emit
from unified_ce.porting._registry import dialects

pytest.importorskip("torch")

DOCS = Path(__file__).resolve().parents[1] / "docs" / "porting.md"


def _rows(config: pytest.Config, dialect: str, *, wait: bool = True) -> tuple[_matrix.Row, ...]:
    """The matrix's rows from ``dialect``'s APIs: computed once per version of the source code by
    whichever xdist worker asks first (minutes of CPU for the whole matrix), then loaded."""
    return shared(config, f"porting-matrix-{dialect}", lambda: _matrix.rows_of(dialect), wait=wait)


def _fresh_cases(row: _matrix.Row, rank: int) -> list:
    from unified_ce.porting._args import parse_kwargs
    from unified_ce.porting._engine import source_info

    src = source_info(row.source, parse_kwargs(row.source, dict(row.kwargs)), rank, row.target_kind)
    return list(_battery_cached(Source(src.api, src.kwargs, src.kind, src.infos), 12345))


@pytest.mark.parametrize("dialect", dialects())
def test_every_exact_port_runs_as_code_and_reproduces_the_source(request: pytest.FixtureRequest, dialect: str) -> None:
    checked = 0
    problems = []
    for row in _rows(request.config, dialect):
        res = row.result
        if res.exact:
            by_rank = {r: res.plans[0] for r in (1, 2, 3, 4)}
        else:
            assert res.notes and ("no exact equivalent" in res.notes[0] or "depends on the rank" in res.notes[0]), res
            assert any(n.startswith(("reason:", "closest", "rank", "  ")) or "exact" in n for n in res.notes[1:]), res
            # the exact translations per rank, if the answer depends on the rank (else: the closest, not exact)
            by_rank = dict(res.plans) if "depends on the rank" in res.notes[0] else {}
        for rank, plan in by_rank.items():
            try:
                cases = _fresh_cases(row, rank)
            except Exception:
                continue
            code = emit(plan, res.names)
            for case in cases:
                got = run_code(code, row.dest, case.x, case.t, case.w, case.sw, res.names, case.n)
                want = np.asarray(case.expected)
                checked += 1
                # a source computing in float32 whatever its input (Keras's classes, Hugging Face): the
                # port must too, and the two may round the last bits of a sum differently.  The dtype
                # is checked in real PyTorch (the fake frameworks are NumPy, where float32 / int64 is
                # float64; the engine's own run keeps float32 as the frameworks do)
                rtol, atol = (1e-5, 1e-6) if want.dtype == np.float32 else (1e-9, 1e-12)
                if (
                    got.shape != want.shape
                    or (want.dtype == np.float32 and row.dest == "torch" and got.dtype != want.dtype)
                    or not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
                ):
                    problems.append(f"{res.source} -> {row.dest} ({case.name}): {got!r} != {want!r}\n{code}")
                    break
    assert not problems, "\n\n".join(problems[:5])
    assert checked > 0 or dialect not in ("chainer", "paddle", "mxnet")


def test_the_done_when_pairs_are_found() -> None:
    from unified_ce import port

    assert port("torch", "chainer", ndim=2, reduction="none").exact
    assert port("mxnet", "chainer", ndim=2).exact
    assert port("mxnet", "torch", ndim=4).exact
    assert port("paddle", "torch", ndim=2).exact
    assert port("chainer", "torch", ndim=4, normalize=False, class_weight="w").exact
    assert port("chainer", "torch", normalize=False, class_weight="w").exact  # every rank chainer takes
    sig = port("chainer.sigmoid_cross_entropy", "torch", ndim=2)
    from unified_ce.porting._registry import apis

    if any("binary_cross_entropy_with_logits" in a.name or a.name == "BCEWithLogitsLoss" for a in apis("torch")):
        assert sig.exact, sig  # torch's sigmoid family has landed
    else:
        assert not sig.exact and "no sigmoid" in str(sig)


def test_docs_coverage_table_is_current(request: pytest.FixtureRequest) -> None:
    # the parts no other worker is computing first, then wait for the others
    parts = {d: _rows(request.config, d, wait=False) for d in _matrix._portable()}
    parts = {d: _rows(request.config, d) if rows is BUSY else rows for d, rows in parts.items()}
    rows = tuple(r for d in _matrix._portable() for r in parts[d])
    text = DOCS.read_text(encoding="utf-8")
    fresh = _matrix.replace_table(text, _matrix.table(rows))
    assert text == fresh, "docs/porting.md is stale: run python -m unified_ce.porting._matrix --write docs/porting.md"

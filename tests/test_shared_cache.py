"""The cache that shares derived tables (the porting matrix) between xdist workers never serves a
value computed from other source code."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import shared_cache
from tests.shared_cache import BUSY, shared, source_key


class _Cache:
    def __init__(self, root: Path) -> None:
        self.root = root

    def mkdir(self, name: str) -> Path:
        (self.root / name).mkdir(exist_ok=True)
        return self.root / name


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(shared_cache, "_memo", {})
    return SimpleNamespace(cache=_Cache(tmp_path))


def _counter() -> tuple[list[int], Any]:
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        return {"n": len(calls)}

    return calls, compute


def test_a_value_is_computed_once_per_key_and_then_loaded_by_other_processes(config: Any) -> None:
    calls, compute = _counter()
    assert shared(config, "t", compute, key="k1") == {"n": 1}
    shared_cache._memo.clear()  # as a fresh worker process sees it
    assert shared(config, "t", compute, key="k1") == {"n": 1}
    assert len(calls) == 1


def test_a_new_key_computes_again_and_removes_the_old_file(config: Any) -> None:
    _calls, compute = _counter()
    shared(config, "t", compute, key="k1")
    shared(config, "t-other", compute, key="k1")  # another name that starts with this one: kept
    assert shared(config, "t", compute, key="k2") == {"n": 3}
    files = sorted(p.name for p in config.cache.mkdir(shared_cache.FOLDER).glob("*.pickle"))
    assert files == ["t-k2.pickle", "t-other-k1.pickle"]


def test_the_key_changes_with_any_file_of_the_package(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "sub" / "b.json").write_text("{}")
    before = source_key(tmp_path)
    assert source_key(tmp_path) == before
    (tmp_path / "sub" / "b.json").write_text("{ }")
    assert source_key(tmp_path) != before
    (tmp_path / "sub" / "b.json").write_text("{}")
    assert source_key(tmp_path) == before
    (tmp_path / "sub" / "b.json").rename(tmp_path / "sub" / "c.json")  # same bytes, another name
    assert source_key(tmp_path) != before


def test_the_key_covers_the_package_the_tests_import() -> None:
    import unified_ce

    assert shared_cache.PACKAGE == Path(unified_ce.__file__).resolve().parent


def test_a_loaded_value_holds_the_registrys_own_api_objects(config: Any) -> None:
    from unified_ce.porting._registry import apis

    api = apis("torch")[0]
    shared(config, "api", lambda: (api, 3), key="k")
    shared_cache._memo.clear()
    loaded = shared(config, "api", lambda: pytest.fail("computed again"), key="k")
    assert loaded[0] is api and loaded[1] == 3


@pytest.mark.skipif(sys.platform == "win32", reason="no fcntl lock on Windows")
def test_without_waiting_a_value_another_process_computes_is_busy(config: Any) -> None:
    folder = config.cache.mkdir(shared_cache.FOLDER)
    with shared_cache._locked(folder / "t.lock", wait=True):
        assert shared(config, "t", lambda: pytest.fail("computed while locked"), wait=False, key="k") is BUSY
    assert shared(config, "t", lambda: 5, wait=False, key="k") == 5


def test_without_a_cache_directory_every_process_computes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_cache, "_memo", {})
    calls, compute = _counter()
    assert shared(SimpleNamespace(cache=None), "t", compute, key="k") == {"n": 1}  # type: ignore[arg-type]
    assert len(calls) == 1

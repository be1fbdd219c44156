"""Derived data computed once per test session and shared by every pytest-xdist worker.

Some tables the tests check are expensive to derive (the porting matrix: minutes of CPU) and
identical in every worker.  :func:`shared` computes such a value once, pickles it under pytest's
cache directory (``.pytest_cache/d/unified_ce-shared``, which every worker of a session -- and
the next session -- sees) and loads it from there afterwards.

Never stale: the file name carries a hash of every file of the ``unified_ce`` package and of the
versions of Python, NumPy and array-api-compat (:func:`source_key`), so any change to the code
makes a new key and the value is computed again; the files of older keys are removed.  While
one process computes a value it holds a lock file (``fcntl.flock``; where that does not exist,
two processes may both compute it), and the value is written to a temporary file and renamed,
so a reader never sees half a file.  ``-p no:cacheprovider`` (no cache directory) computes in
every process, as before.

:class:`~unified_ce.porting._registry.Api` objects inside a value are stored by name and looked
up in the registry when loaded, so a loaded value holds the registry's own objects.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pickle
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

PACKAGE = Path(__file__).resolve().parents[1] / "unified_ce"
FOLDER = "unified_ce-shared"
#: a value being computed by another process (``shared(..., wait=False)``)
BUSY: Any = object()
_MISSING: Any = object()

_memo: dict[str, Any] = {}


def source_key(root: Path = PACKAGE) -> str:
    """A hash of every file under ``root`` (names and contents, ``__pycache__`` left out) and of the
    versions of Python, NumPy and array-api-compat."""
    import array_api_compat
    import numpy

    h = hashlib.sha256()
    h.update(f"{sys.version}|{numpy.__version__}|{array_api_compat.__version__}".encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:20]


@functools.cache
def _package_key() -> str:
    return source_key()


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        from unified_ce.porting._registry import Api

        return ("api", obj.qualname) if type(obj) is Api else None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        from unified_ce.porting._registry import find_api

        kind, name = pid
        if kind != "api":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return find_api(name)


def _dump(value: Any) -> bytes:
    buf = io.BytesIO()
    _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buf.getvalue()


def _load(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return _MISSING
    try:
        return _Unpickler(io.BytesIO(data)).load()
    except Exception:  # unreadable: compute it again
        return _MISSING


@contextlib.contextmanager
def _locked(path: Path, wait: bool) -> Iterator[bool]:
    """Hold an exclusive lock on ``path``; yields False (without the lock) when ``wait`` is false
    and another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, both processes compute
        yield True
        return
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def shared(
    config: pytest.Config, name: str, compute: Callable[[], T], *, wait: bool = True, key: str | None = None
) -> T:
    """``compute()``, computed once for the current source code by whichever process asks first.

    Returns :data:`BUSY` instead of waiting when ``wait`` is false and another process is
    computing the value.  ``key`` replaces :func:`source_key` (for the tests of this module).
    """
    key = _package_key() if key is None else key
    memo = f"{name}-{key}"
    if memo in _memo:
        return _memo[memo]  # type: ignore[no-any-return]
    cache = getattr(config, "cache", None)
    if cache is None:  # -p no:cacheprovider
        value = _memo[memo] = compute()
        return value
    folder = Path(cache.mkdir(FOLDER))
    path = folder / f"{memo}.pickle"
    value = _load(path)
    if value is _MISSING:
        with _locked(folder / f"{name}.lock", wait) as mine:
            if not mine:
                return BUSY  # type: ignore[no-any-return]
            value = _load(path)  # written by another process while this one waited
            if value is _MISSING:
                value = compute()
                tmp = folder / f"{memo}.{os.getpid()}.tmp"
                tmp.write_bytes(_dump(value))
                os.replace(tmp, path)
                for old in folder.glob(f"{name}-*.pickle"):
                    if old != path and old.stem.rpartition("-")[0] == name:
                        old.unlink(missing_ok=True)
    _memo[memo] = value
    return value  # type: ignore[no-any-return]

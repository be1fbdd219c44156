"""Choosing what to run: argument validation with suggestions, tag filters, the covering sample,
and the array library an implementation expects.  Pure Python; imports no array library."""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "SAMPLED_LIBRARIES",
    "UsageError",
    "case_features",
    "case_kind",
    "covering_sample",
    "infer_array",
    "load_cases",
    "resolve",
    "select",
    "suggest",
]

#: Libraries whose every new case costs a compilation (JAX) or a task graph (Dask): the default run
#: feeds them a sample of the cases that covers every API, tag and argument; ``full=True`` feeds all.
SAMPLED_LIBRARIES = ("jax", "dask")


class UsageError(ValueError):
    """A malformed argument (dialect, API, tag, array library or implementation): the command line
    prints its one-line message and exits with status 2."""


def suggest(name: str, what: str, choices: Iterable[str], *, listed: int = 30) -> str:
    """``"unknown <what> 'nme'; choose from a, b, c (did you mean 'name'?)"`` (at most ``listed``
    choices are named)."""
    choices = sorted(set(choices))
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if not close:  # a different case or a missing underscore is still a typo
        lowered = {c.lower().replace("_", ""): c for c in choices}
        key = name.lower().replace("_", "")
        close = [lowered[key]] if key in lowered else difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.5)
        close = [lowered.get(c, c) for c in close]
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if len(choices) > listed:
        return f"unknown {what} {name!r}{hint or ' (no close match)'}"
    return f"unknown {what} {name!r}; choose from {', '.join(choices)}{hint}"


def load_cases(dialect: str) -> list[dict[str, Any]]:
    """The golden cases of ``dialect``; :class:`UsageError` with the dialects that have golden data."""
    from ._format import GOLDEN_DIR, load

    path = GOLDEN_DIR / f"{dialect}.json"
    if not path.exists():
        raise UsageError(suggest(dialect, "dialect (no golden data)", [p.stem for p in GOLDEN_DIR.glob("*.json")]))
    return list(load(path)["cases"])


def recorded_apis(dialect: str) -> frozenset[str]:
    """The APIs the golden cases of ``dialect`` were recorded through (``UsageError`` as
    :func:`load_cases`); the file is read once per version of it (the pytest plugin asks per case)."""
    from ._format import GOLDEN_DIR

    path = GOLDEN_DIR / f"{dialect}.json"
    try:
        st = path.stat()
    except OSError:
        return frozenset(c["api"] for c in load_cases(dialect))  # the UsageError naming the dialects
    return _recorded_apis(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _recorded_apis(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    import json
    from pathlib import Path

    return frozenset(c["api"] for c in json.loads(Path(path).read_text(encoding="utf-8"))["cases"])


def case_kind(case: dict[str, Any]) -> str:
    """``"value"`` (valid input), ``"error"`` (the framework refused) or ``"invalid"`` (it returned a
    number for input that is invalid)."""
    if "error" in case["expect"]:
        return "error"
    return "invalid" if case.get("invalid") else "value"


def case_features(case: dict[str, Any]) -> list[str]:
    """What a case exercises, for grouping failures: its tags, the arguments it passes by name
    (``weight``), and short string or boolean values (``reduction='sum'``)."""
    feats = [f"tag {t}" for t in case.get("tags", [])]
    named = {**(case.get("init") or {}), **case["kwargs"]}
    for k, v in named.items():
        feats.append(f"`{k}`")
        if isinstance(v, (str, bool)) and len(str(v)) <= 20:
            feats.append(f"`{k}={v!r}`")
    return list(dict.fromkeys(feats))


def _apis_and_tags(cases: Sequence[dict[str, Any]]) -> tuple[set[str], set[str]]:
    return {c["api"] for c in cases}, {t for c in cases for t in c.get("tags", [])}


def _split(values: Iterable[str] | None) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (tags may be given comma-separated and repeated)."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def select(
    cases: Sequence[dict[str, Any]],
    dialect: str,
    *,
    api: str | None = None,
    tags: Iterable[str] | None = None,
    skip_tags: Iterable[str] | None = None,
) -> list[dict[str, Any]]:
    """The cases recorded through ``api`` that carry any of ``tags`` and none of ``skip_tags``.

    Raises :class:`UsageError` (with the valid choices and the closest name) for an API or tag
    that no case of the dialect has.
    """
    apis, known = _apis_and_tags(cases)
    if api is not None and api not in apis:
        raise UsageError(suggest(api, f"API of the {dialect} golden cases", apis))
    want, skip = _split(tags), _split(skip_tags)
    for t in want + skip:
        if t not in known:
            raise UsageError(suggest(t, f"tag of the {dialect} golden cases", known))
    out = []
    for c in cases:
        ctags = set(c.get("tags", []))
        if api is not None and c["api"] != api:
            continue
        if want and not ctags.intersection(want):
            continue
        if ctags.intersection(skip):
            continue
        out.append(c)
    return out


def covering_sample(cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A small subset of ``cases`` (in their order) that covers every API, kind (value, error,
    invalid), tag and named argument at least once: greedy set cover, deterministic."""

    def feats(c: dict[str, Any]) -> set[str]:
        return {f"api {c['api']}", f"kind {case_kind(c)}", *case_features(c)}

    fs = [feats(c) for c in cases]
    need = set().union(*fs) if fs else set()
    chosen: set[int] = set()
    while need:
        i = max(range(len(cases)), key=lambda i: (len(fs[i] & need), -i))
        chosen.add(i)
        need -= fs[i]
    return [c for i, c in enumerate(cases) if i in chosen]


def resolve(impl: Any) -> Any:
    """``"module:attr"`` (or ``"module.attr"``) to the object; anything else is returned unchanged.

    The current directory is searched first (as ``python -m`` does), so ``unified-ce`` and
    ``python -m unified_ce`` find the same modules.  A missing module, a module that raises while
    it is imported and a missing attribute raise :class:`UsageError` with a one-line message.
    """
    if not isinstance(impl, str):
        return impl
    example = "e.g. torch.nn:CrossEntropyLoss or mylosses:my_loss"
    mod, sep, attr = impl.partition(":")
    if not sep:
        mod, _, attr = impl.rpartition(".")
    if not mod or not attr or any(not p.isidentifier() for p in [*mod.split("."), *attr.split(".")]):
        raise UsageError(f"--impl must be module:attribute ({example}); got {impl!r}")
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    try:
        obj: Any = importlib.import_module(mod)
    except ModuleNotFoundError as exc:
        missing = exc.name or mod
        if mod == missing or mod.startswith(missing + "."):
            raise UsageError(
                f"--impl {impl}: no module named {missing!r} (searched the current directory {cwd} and sys.path)"
            ) from None
        raise UsageError(f"--impl {impl}: importing {mod!r} failed: {type(exc).__name__}: {exc}") from None
    except Exception as exc:  # the user's module raised while it was imported
        raise UsageError(f"--impl {impl}: importing {mod!r} raised {type(exc).__name__}: {exc}") from None
    where = mod
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = [n for n in dir(obj) if not n.startswith("_")]
            raise UsageError(f"--impl {impl}: " + suggest(part, f"attribute of {where}", names))
        obj = getattr(obj, part)
        where = f"{where}.{part}"
    if not callable(obj):
        raise UsageError(f"--impl {impl}: {where} is a {type(obj).__name__}, not a function or class")
    return obj


#: Top-level package -> the array library its functions take.
_PACKAGE_ARRAYS = {
    "torch": "torch",
    "jax": "jax",
    "jaxlib": "jax",
    "optax": "jax",
    "flax": "jax",
    "equinox": "jax",
    "haiku": "jax",
    "brainpy": "jax",
    "cupy": "cupy",
    "dask": "dask",
    "array_api_strict": "array_api_strict",
}


def _root(obj: Any) -> str:
    return (getattr(obj, "__module__", None) or getattr(obj, "__name__", "") or "").split(".")[0]


def infer_array(impl: Any) -> str:
    """The array library an implementation takes: from its own package (``torch.nn.CrossEntropyLoss``
    -> ``"torch"``, an optax function -> ``"jax"``, a Keras 3 loss -> Keras's backend), its base
    classes (a ``torch.nn.Module``), or the libraries its module imported; ``"numpy"`` otherwise."""
    if inspect.ismethod(impl):
        impl = impl.__func__
    candidates = [impl]
    if inspect.isclass(impl):
        candidates += list(impl.__mro__[1:])
    elif not inspect.isfunction(impl) and not inspect.isbuiltin(impl):
        candidates += list(type(impl).__mro__)  # a loss object
    for c in candidates:
        root = _root(c)
        if root == "keras":
            return _keras_backend()
        if root in _PACKAGE_ARRAYS:
            return _PACKAGE_ARRAYS[root]
    module = sys.modules.get(getattr(impl, "__module__", None) or "")
    if module is not None:  # a user's module: which array library did it import?
        found = []
        for v in vars(module).values():
            root = _root(v) if not inspect.ismodule(v) else v.__name__.split(".")[0]
            if root == "keras":
                found.append(_keras_backend())
            elif root in _PACKAGE_ARRAYS:
                found.append(_PACKAGE_ARRAYS[root])
        if found:
            return max(set(found), key=found.count)
    return "numpy"


def _keras_backend() -> str:
    try:
        backend = str(importlib.import_module("keras").backend.backend())
    except Exception:
        return "numpy"
    return {"jax": "jax", "torch": "torch"}.get(backend, "numpy")

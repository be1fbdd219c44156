"""``explain`` and ``port``: every pair of dialects; where a port claims an exact equivalent, both calls
compute the same numbers on random inputs."""

from __future__ import annotations

import importlib
import inspect
import itertools
import warnings
from typing import Any

import numpy as np
import pytest

from unified_ce import explain, port
from unified_ce.adapters import DIALECTS

SOURCES: dict[str, list[dict[str, Any]]] = {
    "torch": [
        {},
        {"reduction": "sum"},
        {"reduction": "none"},
        {"weight": "w"},
        {"label_smoothing": 0.1},
        {"ignore_index": 1},
        {"weight": "w", "reduction": "sum"},
    ],
    "chainer": [{}, {"normalize": False}, {"reduce": "no"}, {"class_weight": "w"}, {"ignore_label": 1}],
    "mxnet": [{}, {"from_logits": True}, {"weight": 0.5}],
    "paddle": [{}, {"ignore_index": 1}],
    "brainpy": [{}, {"weight": "w"}, {"reduction": "sum"}, {"label_smoothing": 0.1}, {"reduction": "none"}],
}
N, C = 6, 4


def _present(d: str) -> bool:
    try:
        importlib.import_module(f"unified_ce.adapters.{d}")
        return True
    except ModuleNotFoundError:
        return False


PAIRS = [(s, kw, d) for s in DIALECTS for kw in SOURCES[s] for d in DIALECTS if d != s]


def _evaluate(name: str, kwargs: dict[str, Any], x: np.ndarray, t: np.ndarray, w: np.ndarray) -> np.ndarray:
    dialect, _, api = name.partition(".")
    module = importlib.import_module(f"unified_ce.adapters.{dialect}")
    obj = getattr(
        module,
        api
        or {
            "torch": "cross_entropy",
            "chainer": "softmax_cross_entropy",
            "mxnet": "SoftmaxCrossEntropyLoss",
            "paddle": "softmax_with_cross_entropy",
            "brainpy": "CrossEntropyLoss",
        }[dialect],
    )
    kw = {k: (w if v == "w" else v) for k, v in kwargs.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if inspect.isclass(obj):
            init = set(inspect.signature(obj.__init__).parameters)
            return np.asarray(
                obj(**{k: v for k, v in kw.items() if k in init})(
                    x, t, **{k: v for k, v in kw.items() if k not in init}
                )
            )
        if dialect == "paddle":
            t = t[:, None]
        return np.asarray(obj(x, t, **kw))


@pytest.mark.parametrize("source,kwargs,dest", PAIRS, ids=[f"{s}{kw}->{d}" for s, kw, d in PAIRS])
def test_port_exact_claims_hold(source: str, kwargs: dict[str, Any], dest: str) -> None:
    if not (_present(source) and _present(dest)):
        pytest.skip("dialect not available")
    result = port(source, dest, **kwargs)
    assert result.call.startswith(dest + ".")
    assert str(result).splitlines()[0] == result.call
    if not result.exact:
        assert result.corrections, "an inexact port must say what to correct"
        return
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, C))
    t = rng.integers(0, C, size=N)
    w = rng.random(C) + 0.5
    a = _evaluate(source, kwargs, x, t, w)
    b = _evaluate(result.api, result.kwargs, x, t, w)
    np.testing.assert_allclose(b.reshape(-1), a.reshape(-1), rtol=1e-12, atol=1e-14)


def test_some_ports_are_exact() -> None:
    """The tool is not vacuous: known equivalences are found."""
    if not (_present("chainer") and _present("brainpy")):
        pytest.skip("dialects missing")
    assert port("brainpy", "torch", weight="w").exact
    assert port("torch", "brainpy", reduction="sum").exact
    assert port("chainer", "torch", reduce="no", ignore_label=-100).exact


def test_port_says_how_to_correct() -> None:
    if not _present("chainer"):
        pytest.skip("chainer dialect missing")
    r = port("chainer", "torch", normalize=False)
    assert not r.exact
    assert "reduction='sum'" in r.call
    assert any("divide the sum by the number of items" in c for c in r.corrections), r.corrections


@pytest.mark.parametrize("dialect", DIALECTS)
def test_explain_every_dialect(dialect: str) -> None:
    if not _present(dialect):
        pytest.skip("dialect not available")
    text = explain(dialect)
    assert text.startswith(dialect + ".") and "softmax cross-entropy" in text and "reduction" in text


def test_explain_mentions_what_changes() -> None:
    if not _present("chainer"):
        pytest.skip("chainer dialect missing")
    a = explain("chainer.softmax_cross_entropy")
    b = explain("chainer.softmax_cross_entropy", normalize=False)
    assert "non-ignored" in a and "batch" in b
    assert "class weights multiply" in explain("torch.cross_entropy", weight="w")
    assert "class weights" not in explain("torch.cross_entropy")


def test_pairs_cover_every_dialect_pair() -> None:
    assert {(s, d) for s, _, d in PAIRS} == {p for p in itertools.permutations(DIALECTS, 2)}

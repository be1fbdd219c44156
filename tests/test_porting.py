"""``port`` and ``explain``: regression tests for issue 15 (and item 9 of issue 12), strict argument
parsing, the CLI's exit codes and one-line errors.  Expected numbers come from the source dialect
itself (tested against golden data from the real frameworks), run on inputs the search never saw."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tests.porting_fakes import run_code
from unified_ce import InvalidArgumentError, explain, port
from unified_ce.adapters import chainer, mxnet, paddle

rng = np.random.default_rng(7)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "unified_ce", *args], capture_output=True, text=True, check=False)


# -- 1. per-item losses exist in chainer (reduce='no') and torch (reduction='none')


def test_torch_none_to_chainer_is_exact_with_reduce_no() -> None:
    r = port("torch", "chainer", ndim=2, reduction="none")
    assert r.exact and "reduce='no'" in r.code and "ignore_label=-100" in r.code
    x, t = rng.normal(size=(5, 4)), np.array([0, 3, -100, 1, 2])
    from unified_ce.adapters.torch import cross_entropy

    np.testing.assert_allclose(r.evaluate(x, t), cross_entropy(x, t, reduction="none"), rtol=1e-12)
    np.testing.assert_allclose(run_code(r.code, "chainer", x, t), cross_entropy(x, t, reduction="none"), rtol=1e-12)


def test_mxnet_default_to_chainer_is_exact() -> None:
    r = port("mxnet", "chainer", ndim=2)
    assert r.exact and "reduce='no'" in r.code
    x, t = rng.normal(size=(3, 5)), np.array([4, 0, 2])
    np.testing.assert_allclose(r.evaluate(x, t), mxnet.SoftmaxCrossEntropyLoss()(x, t), rtol=1e-12)


def test_paddle_to_torch_is_exact_with_reduction_none_and_unsqueeze() -> None:
    r = port("paddle", "torch", ndim=2)
    assert r.exact and "reduction='none'" in r.code and "unsqueeze(-1)" in r.code
    x, t = rng.normal(size=(3, 5)), np.array([[4], [0], [2]])
    want = paddle.softmax_with_cross_entropy(x, t)
    np.testing.assert_allclose(run_code(r.code, "torch", x, t), want, rtol=1e-12)


# -- 2. "false" is False, and what cannot be read is an error naming the argument


@pytest.mark.parametrize("value", ["false", "False", "0", False, 0])
def test_false_in_every_spelling(value: object) -> None:
    assert "batch" in explain("chainer.softmax_cross_entropy", normalize=value)
    r = port("chainer", "torch", ndim=2, normalize=value, class_weight="w")
    assert r.exact and "x.shape[0]" in r.code


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"normalize": "no"}, "normalize .* takes a bool"),
        ({"normalize": "2"}, "normalize .* takes a bool"),
        ({"normalise": "1"}, "no argument 'normalise'; did you mean 'normalize'"),
        ({"class_weight": "0.5"}, "class_weight takes an array"),
        ({"ignore_label": "minus_one"}, "ignore_label .* takes an int"),
        ({"reduce": "avg"}, "reduce"),
    ],
)
def test_strict_arguments(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        port("chainer", "torch", **kwargs)  # type: ignore[arg-type]


def test_unknown_dialects_and_apis_suggest_the_closest() -> None:
    with pytest.raises(InvalidArgumentError, match="did you mean 'chainer'"):
        port("chainr", "torch")
    with pytest.raises(InvalidArgumentError, match="did you mean 'torch'"):
        port("chainer", "torhc")
    with pytest.raises(InvalidArgumentError, match="did you mean 'softmax_cross_entropy'"):
        explain("chainer.softmax_crossentropy")


# -- 3. the emitted code names real APIs with their real import paths


@pytest.mark.parametrize(
    ("dest", "imp", "call"),
    [
        ("torch", "import torch.nn.functional as F", "F.cross_entropy("),
        ("chainer", "import chainer.functions as F", "F.softmax_cross_entropy("),
        ("mxnet", "from mxnet.gluon import loss as gloss", "gloss.SoftmaxCrossEntropyLoss("),
        ("brainpy", "import brainpy as bp", "bp.losses.CrossEntropyLoss("),
    ],
)
def test_emitted_names_exist(dest: str, imp: str, call: str) -> None:
    src = "paddle" if dest != "paddle" else "torch"
    r = port(src, dest, ndim=2)
    assert imp in r.code.splitlines() and call in r.code, r.code


# -- 4. targets already declared by the arguments


def test_mxnet_dense_labels_to_torch() -> None:
    r = port("mxnet.SoftmaxCrossEntropyLoss", "torch", ndim=2, axis=1, sparse_label=False)
    assert r.exact
    q = rng.dirichlet(np.ones(4), size=3)
    x = rng.normal(size=(3, 4))
    want = mxnet.SoftmaxCrossEntropyLoss(axis=1, sparse_label=False)(x, q)
    np.testing.assert_allclose(run_code(r.code, "torch", x, q), want, rtol=1e-12)


def test_paddle_soft_labels_to_torch() -> None:
    r = port("paddle", "torch", ndim=3, soft_label=True)
    assert r.exact, r
    x = rng.normal(size=(2, 3, 4))
    q = rng.dirichlet(np.ones(4), size=(2, 3))
    want = paddle.softmax_with_cross_entropy(x, q, soft_label=True)
    np.testing.assert_allclose(run_code(r.code, "torch", x, q), want, rtol=1e-12)


# -- 5. corrections are code, right at every rank, and no softmax for a sigmoid


def test_mxnet_4d_to_torch_averages_per_sample_in_code() -> None:
    r = port("mxnet", "torch", ndim=4)
    assert r.exact and "movedim" in r.code and ".mean(dim=1)" in r.code
    x = rng.normal(size=(2, 3, 2, 5))
    t = rng.integers(0, 5, size=(2, 3, 2))
    np.testing.assert_allclose(run_code(r.code, "torch", x, t), mxnet.SoftmaxCrossEntropyLoss()(x, t), rtol=1e-12)


def test_chainer_normalize_false_divides_by_the_batch_at_every_rank() -> None:
    r = port("chainer", "torch", normalize=False, class_weight="cw")
    assert r.exact and "x.shape[0]" in r.code and "weight=cw" in r.code
    x = rng.normal(size=(2, 3, 4, 5))
    t = rng.integers(-1, 3, size=(2, 4, 5))
    cw = rng.uniform(0.5, 2, size=3)
    want = chainer.softmax_cross_entropy(x, t, normalize=False, class_weight=cw)
    got = run_code(r.code, "torch", x, t, cw, names={"w": "cw"})
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert float(want) > 3 * float(chainer.softmax_cross_entropy(x, t, class_weight=cw))  # not a per-item mean


def test_sigmoid_is_never_ported_to_a_softmax() -> None:
    r = port("chainer.sigmoid_cross_entropy", "torch", ndim=2)
    if not r.exact:
        assert "softmax" not in r.code and "cross_entropy(" not in r.code
        assert "sigmoid" in str(r)
    done = _cli("port", "chainer.sigmoid_cross_entropy", "mxnet")
    assert done.returncode == 1 and "no exact equivalent" in done.stdout


# -- rank: "any rank" is verified at every rank, or the answer says which ranks need which code


def test_any_rank_states_the_rank_dependence() -> None:
    r = port("mxnet", "torch")
    assert not r.exact and "depends on the rank" in str(r)
    assert "rank 1: exact" in str(r) and "ranks 2-4: exact" in str(r)
    x = rng.normal(size=(2, 3, 5))
    t = rng.integers(0, 5, size=(2, 3))
    np.testing.assert_allclose(r.evaluate(x, t), mxnet.SoftmaxCrossEntropyLoss()(x, t), rtol=1e-12)


def test_explain_states_the_ranks() -> None:
    assert "(ranks 2-4)" in explain("chainer")
    assert "(rank 3)" in explain("torch", ndim=3)


# -- issue 12 item 9: ndim is bounded and validated


@pytest.mark.parametrize("ndim", [0, -1, 9, 40, True, 2.0, "3"])
def test_ndim_is_validated(ndim: object) -> None:
    with pytest.raises(InvalidArgumentError, match="ndim must be an int in \\[1, 8\\]"):
        explain("torch", ndim=ndim)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="ndim"):
        port("torch", "chainer", ndim=ndim)  # type: ignore[arg-type]


def test_ndim_8_is_cheap() -> None:
    assert "rank 8" in explain("torch", ndim=8)


@pytest.mark.parametrize(
    "args",
    [
        ("explain", "chainer", "--ndim", "40"),
        ("explain", "chainer", "--ndim", "-1"),
        ("explain", "chainer", "normalize=maybe"),
        ("port", "chainer", "torch", "normalise=0"),
        ("port", "chainer", "torhc"),
        ("port", "chainr", "torch"),
        ("port", "chainer", "torch", "notakeyvalue"),
        ("explain", "mxnet", "weight=w"),
    ],
)
def test_cli_argument_errors_are_one_line(args: tuple[str, ...]) -> None:
    done = _cli(*args)
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "error" in done.stderr


def test_cli_exit_codes() -> None:
    ok = _cli("port", "chainer", "torch", "normalize=false", "class_weight=w", "--ndim", "4")
    assert ok.returncode == 0 and "F.cross_entropy(" in ok.stdout and "# exact" in ok.stdout
    assert _cli("port", "mxnet", "torch").returncode == 1  # rank-dependent: give --ndim

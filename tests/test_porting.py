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
    done = _cli("port", "chainer.sigmoid_cross_entropy", "brainpy")  # BrainPy has no sigmoid loss
    assert done.returncode == 1 and "no exact equivalent" in done.stdout and "no sigmoid" in done.stdout
    done = _cli("port", "chainer.sigmoid_cross_entropy", "mxnet")  # MXNet's sigmoid loss, per-sample means summed
    assert done.returncode == 0 and "SigmoidBinaryCrossEntropyLoss" in done.stdout and "Softmax" not in done.stdout


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


# -- 3. issue 16: Hugging Face's causal-LM loss and Keras's ignore_class, with the fix-ups as code


def _hf_for_causal_lm_loss(torch, logits, labels, vocab_size, num_items_in_batch=None, ignore_index=-100):  # type: ignore[no-untyped-def]
    """transformers 5.x ``loss_utils.ForCausalLMLoss`` (and ``fixed_cross_entropy``), transcribed
    from its source: the expected value, independent of unified_ce."""
    F = torch.nn.functional
    logits = logits.float()
    labels = F.pad(labels, (0, 1), value=ignore_index)
    shift_labels = labels[..., 1:].contiguous()
    logits = logits.view(-1, vocab_size)
    shift_labels = shift_labels.view(-1).to(logits.device)
    reduction = "sum" if num_items_in_batch is not None else "mean"
    loss = F.cross_entropy(logits, shift_labels, ignore_index=ignore_index, reduction=reduction)
    if reduction == "sum":
        loss = loss / num_items_in_batch
    return loss


@pytest.mark.parametrize("n", [None, 37])
@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_hf_causal_lm_loss_to_torch_shifts_upcasts_and_divides_in_code(n: int | None, dtype: str) -> None:
    torch = pytest.importorskip("torch")
    kw = {} if n is None else {"num_items_in_batch": "n"}
    r = port("transformers", "torch", **kw)
    assert r.exact, r
    assert "F.pad(t, (0, 1), value=-100)[..., 1:]" in r.code and "x.float()" in r.code
    assert ("loss / n" in r.code) == (n is not None)
    for shape in [(2, 5, 7), (6, 4), (2, 3, 4, 5)]:
        x = torch.from_numpy(rng.normal(scale=3.0, size=shape)).to(getattr(torch, dtype))
        t = torch.from_numpy(rng.integers(0, shape[-1], size=shape[:-1]))
        t[..., 0] = -100
        for labels in (t, torch.full_like(t, -100)):  # some ignored; every one ignored (nan / 0)
            want = _hf_for_causal_lm_loss(torch, x, labels, shape[-1], n)
            ns = {"x": x, "t": labels, "n": n}
            exec(r.code, ns)
            got = ns["loss"]
            assert got.dtype == torch.float32 and got.shape == want.shape
            torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_hf_causal_lm_loss_to_optax_writes_the_mask_and_the_divisor() -> None:
    r = port("transformers", "optax", num_items_in_batch="n")
    assert r.exact, r
    assert "jnp.pad(" in r.code and "x.astype(jnp.float32)" in r.code and "loss / n" in r.code
    assert "m = y != -100" in r.code  # optax has no ignore label: the port masks
    # the emitted code on real JAX arrays, optax's function played by the optax dialect
    jnp = pytest.importorskip("jax.numpy")
    torch = pytest.importorskip("torch")
    import types

    from unified_ce.adapters import optax as optax_dialect

    fake = types.ModuleType("optax")
    fake.softmax_cross_entropy_with_integer_labels = optax_dialect.softmax_cross_entropy_with_integer_labels  # type: ignore[attr-defined]
    x = rng.normal(size=(2, 6, 5)).astype(np.float32)
    t = rng.integers(0, 5, size=(2, 6))
    t[1, 2:] = -100
    want = _hf_for_causal_lm_loss(torch, torch.from_numpy(x), torch.from_numpy(t), 5, 9)
    saved = sys.modules.get("optax")
    sys.modules["optax"] = fake
    try:
        ns = {"x": jnp.asarray(x), "t": jnp.asarray(t), "n": 9}
        exec(r.code, ns)
    finally:
        if saved is None:
            sys.modules.pop("optax", None)
        else:
            sys.modules["optax"] = saved
    assert ns["loss"].dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(ns["loss"]), want.numpy(), rtol=1e-6)


def test_hf_explain_names_the_shift_and_float32() -> None:
    text = explain("transformers", num_items_in_batch="n")
    assert "ranks 2-4" in text and "shifted one token left" in text and "float32" in text
    assert "divisor given at call time" in text


def test_nothing_is_ported_to_the_shifting_dialect() -> None:
    r = port("torch", "transformers", ndim=2)
    assert not r.exact and "shifts its labels" in str(r)


@pytest.mark.parametrize("api", ["SparseCategoricalCrossentropy", "sparse_categorical_crossentropy"])
def test_keras_ignore_class_to_torch_keeps_float32_and_zero_when_all_ignored(api: str) -> None:
    pytest.importorskip("torch")
    from unified_ce.adapters import keras

    r = port(f"keras.{api}", "torch", ndim=2, from_logits=True, ignore_class=-1)
    assert r.exact, r
    is_class = api[0].isupper()
    if is_class:  # Keras's classes compute in float32 and divide_no_nan: 0 when every label is ignored
        assert "x.float()" in r.code and "max((t != -1).sum(), 1)" in r.code
        assert "except an empty batch (N=0)" in str(r)  # Keras returns its losses unreduced there
    x = rng.normal(size=(6, 4))
    loss = getattr(keras, api)(from_logits=True, ignore_class=-1) if is_class else None
    for t in (np.array([0, -1, 3, 2, -1, 1]), np.full(6, -1)):
        want = loss(t, x) if loss else keras.sparse_categorical_crossentropy(t, x, from_logits=True, ignore_class=-1)
        got = run_code(r.code, "torch", x, t)
        assert got.dtype == np.asarray(want).dtype == (np.float32 if is_class else np.float64)
        np.testing.assert_allclose(got, want, rtol=1e-6 if is_class else 1e-12)
    if is_class:
        assert float(run_code(r.code, "torch", x, np.full(6, -1))) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"vocab_size": 5}, "reads it from the logits"), ({"shift_labels": "s"}, "shift_labels .* is not ported")],
)
def test_hf_arguments_the_port_does_not_take(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        port("transformers", "torch", **kwargs)


def test_keras_binary_per_row_mean_ports_at_ranks_1_and_2() -> None:
    pytest.importorskip("torch")
    from unified_ce.adapters import keras

    r = port("keras.binary_crossentropy", "torch", from_logits=True)
    assert r.exact and "mean(dim=(-1,))" in r.code
    for shape in [(7,), (3, 5)]:
        x, t = rng.normal(size=shape), rng.integers(0, 2, size=shape)
        want = keras.binary_crossentropy(t, x, from_logits=True)
        np.testing.assert_allclose(run_code(r.code, "torch", x, t), want, rtol=1e-12)


def test_sigmoid_mean_to_mxnet_sums_the_per_sample_means_in_code() -> None:
    from unified_ce.adapters.torch import binary_cross_entropy_with_logits

    r = port("torch.binary_cross_entropy_with_logits", "mxnet")
    assert r.exact and "SigmoidBinaryCrossEntropyLoss" in r.code and "loss / x.size" in r.code
    for shape in [(5,), (4, 3), (2, 3, 4), (0, 3)]:
        x, t = rng.normal(size=shape), rng.uniform(size=shape)
        want = binary_cross_entropy_with_logits(x, t)
        np.testing.assert_allclose(run_code(r.code, "mxnet", x, t), want, rtol=1e-12, equal_nan=True)

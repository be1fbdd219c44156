"""What a user's type checker sees: results of the input's array type, option names and values checked.

Runs mypy (and pyright when installed) on a small user program; the public modules themselves are
checked strictly by pyright in CI (``[tool.pyright]`` in pyproject.toml).  Each ``reveal_type`` line
must show the float32 logits' type (``y_true`` / ``labels`` are float64 where they come first, so the
logits argument is what decides); each line marked ``# error`` must be rejected.
"""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
import sys
import types
import typing
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import unified_ce
from unified_ce.adapters import brainpy, cce, chainer, flash_attn, keras, liger, mlx, mxnet, paddle, tensorflow
from unified_ce.adapters import torch as torch_dialect

ROOT = Path(__file__).resolve().parents[1]

USER_PROGRAM = """
import numpy as np
import numpy.typing as npt

import unified_ce as uce
from unified_ce import linear
from unified_ce.adapters import (
    brainpy, cce, chainer, flash_attn, keras, liger, mlx, mxnet, optax, paddle, tensorflow, torch, transformers,
)

x: npt.NDArray[np.float32] = np.zeros((2, 3), np.float32)
t = np.array([0, 1])
p: npt.NDArray[np.float64] = np.zeros((2, 3), np.float64)
flag: bool = bool(np.random.rand() > 0.5)
reveal_type(uce.cross_entropy(x, t, reduction="sum", label_smoothing=0.1))
reveal_type(uce.value_and_grad(x, t)[1])
reveal_type(uce.softmax(x))
reveal_type(torch.cross_entropy(x, t, label_smoothing=0.1))
reveal_type(torch.nll_loss(x, t))
reveal_type(torch.binary_cross_entropy_with_logits(x, p))
reveal_type(torch.CrossEntropyLoss(label_smoothing=0.1)(x, t))
reveal_type(torch.NLLLoss()(x, t))
reveal_type(torch.BCEWithLogitsLoss()(x, p))
reveal_type(torch.CrossEntropyLoss().forward(x, t))
reveal_type(keras.categorical_crossentropy(p, x, from_logits=True))
reveal_type(keras.sparse_categorical_crossentropy(t, x, from_logits=True))
reveal_type(keras.binary_crossentropy(p, x, from_logits=True))
reveal_type(keras.CategoricalCrossentropy(from_logits=True)(p, x))
reveal_type(keras.SparseCategoricalCrossentropy(from_logits=True)(t, x, sample_weight=None))
reveal_type(keras.BinaryCrossentropy(from_logits=True)(p, x))
reveal_type(tensorflow.softmax_cross_entropy_with_logits(p, x))
reveal_type(tensorflow.sparse_softmax_cross_entropy_with_logits(t, x))
reveal_type(tensorflow.sigmoid_cross_entropy_with_logits(labels=p, logits=x))
reveal_type(tensorflow.weighted_cross_entropy_with_logits(p, x, 2.0))
reveal_type(optax.softmax_cross_entropy(x, p))
reveal_type(optax.softmax_cross_entropy_with_integer_labels(x, t))
reveal_type(optax.safe_softmax_cross_entropy(x, p))
reveal_type(optax.sigmoid_binary_cross_entropy(x, p))
reveal_type(mlx.cross_entropy(x, t))
reveal_type(mlx.binary_cross_entropy(x, p))
reveal_type(chainer.softmax_cross_entropy(x, t))
reveal_type(chainer.sigmoid_cross_entropy(x, t))
reveal_type(paddle.cross_entropy(x, t))
reveal_type(paddle.binary_cross_entropy_with_logits(x, p))
reveal_type(paddle.CrossEntropyLoss()(x, t))
reveal_type(paddle.BCEWithLogitsLoss()(x, p))
reveal_type(mxnet.SoftmaxCrossEntropyLoss()(x, t))
reveal_type(mxnet.SigmoidBinaryCrossEntropyLoss()(x, p))
reveal_type(brainpy.CrossEntropyLoss()(x, t))
reveal_type(uce.value_and_grad(x, t, reduction="none")[0])
reveal_type(torch.cross_entropy.value_and_grad(x, t)[0])
reveal_type(torch.cross_entropy.value_and_grad(x, t, reduction="sum")[1])
reveal_type(torch.CrossEntropyLoss().value_and_grad(x, t)[1])
reveal_type(torch.BCELoss(reduction="none").value_and_grad(x, p)[0])
reveal_type(keras.SparseCategoricalCrossentropy(from_logits=True).value_and_grad(t, x)[1])
reveal_type(keras.CategoricalCrossentropy(reduction=None)(p, x))
reveal_type(paddle.CrossEntropyLoss(reduction="sum").value_and_grad(x, t)[0])
reveal_type(mxnet.SoftmaxCrossEntropyLoss().value_and_grad(x, t)[1])
reveal_type(brainpy.CrossEntropyLoss().value_and_grad(x, t)[1])
reveal_type(chainer.softmax_cross_entropy.value_and_grad(x, t, reduce="no")[1])
reveal_type(mlx.cross_entropy(x, t, reduction="mean"))
reveal_type(paddle.softmax_with_cross_entropy(x, t))
reveal_type(paddle.softmax_with_cross_entropy(x, t, return_softmax=False))
reveal_type(paddle.softmax_with_cross_entropy(x, t, return_softmax=True)[1])
reveal_type(paddle.softmax_with_cross_entropy(x, t, return_softmax=flag))
reveal_type(paddle.softmax_with_cross_entropy.value_and_grad(x, t)[1])
reveal_type(paddle.softmax_with_cross_entropy.value_and_grad(x, t, return_softmax=True)[0][1])
reveal_type(paddle.softmax_with_cross_entropy.value_and_grad(x, t, grad_output=x)[1])
reveal_type(liger.LigerCrossEntropyLoss()(x, t))
reveal_type(liger.LigerCrossEntropyLoss(return_z_loss=True)(x, t))
reveal_type(liger.LigerCrossEntropyLoss(return_z_loss=True)(x, t).loss)
reveal_type(liger.LigerCrossEntropyLoss(return_z_loss=flag)(x, t))
reveal_type(liger.LigerCrossEntropyLoss(return_z_loss=True).value_and_grad(x, t)[1])
reveal_type(liger.liger_cross_entropy(x, t, reduction="sum"))
reveal_type(liger.liger_cross_entropy(x, t, return_z_loss=True).loss)
reveal_type(liger.liger_fused_linear_cross_entropy(x, p, t))
reveal_type(liger.liger_fused_linear_cross_entropy(x, p, t, return_z_loss=True))
reveal_type(liger.LigerFusedLinearCrossEntropyLoss()(p, x, t))
reveal_type(liger.LigerFusedLinearCrossEntropyLoss(return_z_loss=True).forward(p, x, t).loss)
reveal_type(flash_attn.CrossEntropyLoss()(x, t))
reveal_type(flash_attn.CrossEntropyLoss(return_z_loss=False)(x, t))
reveal_type(flash_attn.CrossEntropyLoss(lse_square_scale=0.1, return_z_loss=True)(x, t))
reveal_type(flash_attn.CrossEntropyLoss(return_z_loss=flag)(x, t))
reveal_type(flash_attn.CrossEntropyLoss(return_z_loss=True).value_and_grad(x, t)[1])
reveal_type(cce.linear_cross_entropy(x, p, t, reduction="none"))
reveal_type(cce.LinearCrossEntropy(impl="torch_compile")(x, p, t))
reveal_type(uce.linear_cross_entropy(x, p, t))
reveal_type(uce.linear_cross_entropy(x, p, t, return_aux=True)[0])
reveal_type(uce.linear_cross_entropy(x, p, t, return_aux=flag))
reveal_type(linear.linear_value_and_grad(x, p, t)[1][0])
reveal_type(transformers.ForCausalLMLoss(x, t, 3))
reveal_type(torch.cross_entropy.distributed()(x, t))
reveal_type(torch.CrossEntropyLoss().distributed().value_and_grad(x, t)[1])
reveal_type(flash_attn.CrossEntropyLoss(return_z_loss=True).distributed()(x, t)[1])
reveal_type(paddle.softmax_with_cross_entropy.distributed()(x, t, return_softmax=True)[1])
uce.cross_entropy(x, t, reduction=3)  # error: reduction
uce.cross_entropy(x, t, target="prob")  # error: target
uce.cross_entropy(x, t, reductoin="sum")  # error: reductoin
torch.cross_entropy(x, t, reduction=3)  # error: reduction
torch.CrossEntropyLoss(reduction=3)  # error: reduction
torch.CrossEntropyLoss()(x, t, reduction="sum")  # error: reduction
torch.CrossEntropyLoss()(x)  # error
keras.CategoricalCrossentropy()(p, x, sample_weight=None, axis=1)  # error: axis
tensorflow.softmax_cross_entropy_with_logits(p, x, axis="last")  # error: axis
optax.softmax_cross_entropy_with_integer_labels(x, t, reduction="mean")  # error: reduction
mxnet.SoftmaxCrossEntropyLoss()(x, t, None, 1.0)  # error
uce.cross_entropy(x, t, reduction="avg")  # error: reduction
torch.cross_entropy(x, t, reduction="avg")  # error: reduction
torch.nll_loss(x, t, reduction="elementwise_mean")  # error: reduction
torch.CrossEntropyLoss(reduction="avg")  # error: reduction
torch.BCEWithLogitsLoss(reduction="avg")  # error: reduction
torch.cross_entropy.value_and_grad(x, t, reduction="avg")  # error
torch.CrossEntropyLoss().value_and_grad(x, t, reduction="sum")  # error
torch.NLLLoss().value_and_grad(x)  # error
keras.CategoricalCrossentropy(reduction="avg")  # error: reduction
keras.SparseCategoricalCrossentropy(reduction=3)  # error: reduction
paddle.cross_entropy(x, t, reduction="avg")  # error: reduction
paddle.CrossEntropyLoss(reduction="avg")  # error: reduction
paddle.binary_cross_entropy_with_logits(x, p, reduction=3)  # error: reduction
mlx.cross_entropy(x, t, reduction="avg")  # error: reduction
mlx.binary_cross_entropy(x, p, reduction="avg")  # error: reduction
brainpy.CrossEntropyLoss(reduction="avg")  # error: reduction
chainer.softmax_cross_entropy(x, t, reduce="none")  # error: reduce
chainer.softmax_cross_entropy(x, p, soft_target_loss="kl")  # error: soft_target_loss
chainer.sigmoid_cross_entropy(x, t, reduce=3)  # error: reduce
paddle.softmax_with_cross_entropy(x, t, return_softmax=1)  # error
paddle.softmax_with_cross_entropy(x, t, return_softmax=True).shape  # error
liger.LigerCrossEntropyLoss(reduction="avg")  # error
liger.LigerCrossEntropyLoss(return_z_loss=True)(x, t).shape  # error
liger.liger_cross_entropy(x, t, reduction="avg")  # error
liger.liger_fused_linear_cross_entropy(x, p, t, return_z_loss=True).shape  # error
flash_attn.CrossEntropyLoss(reduction=3)  # error
flash_attn.CrossEntropyLoss(return_z_loss=True)(x, t).shape  # error
cce.linear_cross_entropy(x, p, t, reduction="avg")  # error: reduction
cce.LinearCrossEntropy(impl="triton")  # error: impl
uce.linear_cross_entropy(x, p, t, return_aux=True).shape  # error
"""

REVEALS = [n for n, line in enumerate(USER_PROGRAM.splitlines(), 1) if line.startswith("reveal_type(")]
ERRORS = [n for n, line in enumerate(USER_PROGRAM.splitlines(), 1) if "# error" in line]


def _lines(out: str, needle: str) -> list[str]:
    return [line for line in out.splitlines() if needle in line]


def _at(lines: list[str], n: int) -> list[str]:
    return [line for line in lines if f"user.py:{n}:" in line]


@pytest.mark.slow
def test_mypy_sees_array_types_and_literal_options(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    prog = tmp_path / "user.py"
    prog.write_text(USER_PROGRAM)
    config = tmp_path / "mypy.ini"  # this checkout's unified_ce (not an installed copy), not our own config
    config.write_text(f"[mypy]\nmypy_path = {ROOT}\nignore_missing_imports = True\n")
    out, err, _ = api.run(
        [str(prog), "--config-file", str(config), "--cache-dir", str(tmp_path / "cache"), "--no-error-summary"]
    )
    revealed = _lines(out, "Revealed type")
    assert len(revealed) == len(REVEALS), out + err
    for n in REVEALS:
        (line,) = _at(revealed, n)
        assert "numpy.ndarray" in line and "32Bit" in line and "64Bit" not in line, line
    errors = _lines(out, "error:")
    assert sorted({n for n in ERRORS if _at(errors, n)}) == ERRORS, out
    assert all(n in ERRORS for n in range(1, 200) if _at(errors, n)), out  # nothing else rejected
    for n in ERRORS:
        name = USER_PROGRAM.splitlines()[n - 1].partition("# error")[2].strip(": ")
        assert not name or any(name in e for e in _at(errors, n)), (name, _at(errors, n))


@pytest.mark.slow
def test_pyright_sees_array_types_and_literal_options(tmp_path: Path) -> None:
    if shutil.which("pyright") is None:
        pytest.skip("pyright is not installed")
    prog = tmp_path / "user.py"
    prog.write_text(USER_PROGRAM)
    (tmp_path / "pyrightconfig.json").write_text(json.dumps({"extraPaths": [str(ROOT)]}))  # this checkout
    out = subprocess.run(
        ["pyright", "--pythonpath", sys.executable, str(prog)], capture_output=True, text=True, cwd=tmp_path
    ).stdout
    revealed = _lines(out, "information: Type of")
    assert len(revealed) == len(REVEALS), out
    for n in REVEALS:
        (line,) = _at(revealed, n)
        assert "ndarray" in line and "_32Bit" in line and "_64Bit" not in line, line
    errors = _lines(out, "error:")
    assert sorted({n for n in ERRORS if _at(errors, n)}) == ERRORS, out
    assert all(n in ERRORS for n in range(1, 200) if _at(errors, n)), out


def test_signatures_name_what_calls_return() -> None:
    assert inspect.signature(unified_ce.cross_entropy).return_annotation == "Array"
    assert inspect.signature(torch_dialect.cross_entropy).return_annotation == "Array"  # not the internal Call
    ann = inspect.signature(unified_ce.cross_entropy).parameters["spec_fields"].annotation
    assert "SpecFields" in str(ann)


@pytest.mark.parametrize(
    ("loss", "array_arg"),
    [
        (torch_dialect.CrossEntropyLoss(), "input"),
        (torch_dialect.NLLLoss(), "input"),
        (torch_dialect.BCEWithLogitsLoss(), "input"),
        (keras.CategoricalCrossentropy(from_logits=True), "y_pred"),
        (keras.SparseCategoricalCrossentropy(from_logits=True), "y_pred"),
        (keras.BinaryCrossentropy(from_logits=True), "y_pred"),
        (paddle.CrossEntropyLoss(), "input"),
        (paddle.BCEWithLogitsLoss(), "logit"),
        (mxnet.SoftmaxCrossEntropyLoss(), "pred"),
        (mxnet.SigmoidBinaryCrossEntropyLoss(), "pred"),
        (brainpy.CrossEntropyLoss(), "input"),
        (tensorflow.softmax_cross_entropy_with_logits, "logits"),
        (keras.categorical_crossentropy, "y_pred"),
    ],
    ids=lambda v: (
        v
        if isinstance(v, str)
        else f"{type(v).__module__.rsplit('.', 1)[-1]}.{getattr(v, '__name__', type(v).__name__)}"
    ),
)
def test_loss_objects_signatures_show_the_array_type(loss: object, array_arg: str) -> None:
    """``inspect.signature(loss)`` is the dialect's call (not ``*args, **kwargs``), returning the array type."""
    sig = inspect.signature(loss)  # type: ignore[arg-type]
    assert sig.return_annotation == "Array"
    assert sig.parameters[array_arg].annotation == "Array"
    assert not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in sig.parameters.values())
    # the class's own signature stays the constructor's
    assert "Array" not in str(inspect.signature(type(loss))) or isinstance(loss, type)


def test_every_loss_class_declares_its_typed_call() -> None:
    """Type checkers see a loss object's ``__call__`` and ``value_and_grad`` only where its class declares
    them (``__call__ = loss_call(_translate)``, ``value_and_grad = loss_value_and_grad(_translate)``);
    ``DialectLoss``'s own are hidden from them."""
    import importlib

    from unified_ce.adapters import DIALECTS
    from unified_ce.adapters._base import DialectLoss

    missing = []
    for dialect in DIALECTS:
        module = importlib.import_module(f"unified_ce.adapters.{dialect}")
        for obj in vars(module).values():
            public = isinstance(obj, type) and not obj.__name__.startswith("_")  # not a shared private base
            if public and issubclass(obj, DialectLoss) and obj.__module__ == module.__name__:
                below = obj.__mro__[: obj.__mro__.index(DialectLoss)]
                for name in ("__call__", "value_and_grad"):
                    if not any(name in vars(c) for c in below):
                        missing.append(f"{dialect}.{obj.__qualname__}.{name}")
    assert not missing, (
        f"add `__call__ = loss_call(_translate)`, `value_and_grad = loss_value_and_grad(_translate)`: {missing}"
    )


def test_value_and_grad_signatures_are_the_loss_calls() -> None:
    """``inspect.signature(loss.value_and_grad)`` is the loss's call plus ``grad_output``, returning two arrays."""
    for fn in (torch_dialect.CrossEntropyLoss().value_and_grad, keras.CategoricalCrossentropy().value_and_grad):
        sig = inspect.signature(fn)
        assert sig.return_annotation == "tuple[Array, Array]"
        *params, grad_output = sig.parameters.values()
        assert grad_output.name == "grad_output" and grad_output.kind is grad_output.KEYWORD_ONLY
        assert [p.name for p in params] == list(inspect.signature(fn.__self__).parameters)


def test_framework_module_losses_keep_their_signatures() -> None:
    """With torch imported the torch-dialect losses are ``nn.Module`` subclasses, whose ``__call__`` is
    ``(*args, **kwargs)``: ``inspect.signature`` still shows the loss's typed call and, on the class,
    the dialect's constructor."""
    pytest.importorskip("torch")
    from unified_ce.adapters._modules import framework_class

    for cls in (torch_dialect.CrossEntropyLoss, torch_dialect.NLLLoss, torch_dialect.BCEWithLogitsLoss):
        loss = cls()
        assert getattr(type(loss), "_is_framework_class", False), "torch is imported: a module class"
        sig = inspect.signature(loss)
        assert sig.return_annotation == "Array"
        assert sig.parameters["input"].annotation == "Array"
        assert list(inspect.signature(framework_class(cls)).parameters) == list(inspect.signature(cls).parameters)


def _x() -> Any:
    return np.array([[2.0, 0.0, -1.0], [0.5, 1.0, 0.0]])


def _t() -> Any:
    return np.array([0, 2])


def _p() -> Any:
    return np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])


#: (the typed callable, the parameter, a call with the parameter set to the value): every value of the
#: parameter's ``Literal`` annotation runs, and a value outside it raises our error naming the parameter
#: (untyped callers are checked at run time, whatever the annotation says)
CHOICES: list[tuple[Any, str, Callable[[Any], object]]] = [
    (torch_dialect.cross_entropy, "reduction", lambda v: torch_dialect.cross_entropy(_x(), _t(), reduction=v)),
    (torch_dialect.nll_loss, "reduction", lambda v: torch_dialect.nll_loss(_x(), _t(), reduction=v)),
    (
        torch_dialect.binary_cross_entropy_with_logits,
        "reduction",
        lambda v: torch_dialect.binary_cross_entropy_with_logits(_x(), _p(), reduction=v),
    ),
    (
        torch_dialect.binary_cross_entropy,
        "reduction",
        lambda v: torch_dialect.binary_cross_entropy(_p(), _p(), reduction=v),
    ),
    (torch_dialect.CrossEntropyLoss, "reduction", lambda v: torch_dialect.CrossEntropyLoss(reduction=v)(_x(), _t())),
    (torch_dialect.NLLLoss, "reduction", lambda v: torch_dialect.NLLLoss(reduction=v)(_x(), _t())),
    (torch_dialect.BCEWithLogitsLoss, "reduction", lambda v: torch_dialect.BCEWithLogitsLoss(reduction=v)(_x(), _p())),
    (torch_dialect.BCELoss, "reduction", lambda v: torch_dialect.BCELoss(reduction=v)(_p(), _p())),
    (
        keras.CategoricalCrossentropy,
        "reduction",
        lambda v: keras.CategoricalCrossentropy(from_logits=True, reduction=v)(_p(), _x()),
    ),
    (
        keras.SparseCategoricalCrossentropy,
        "reduction",
        lambda v: keras.SparseCategoricalCrossentropy(from_logits=True, reduction=v)(_t(), _x()),
    ),
    (
        keras.BinaryCrossentropy,
        "reduction",
        lambda v: keras.BinaryCrossentropy(from_logits=True, reduction=v)(_p(), _x()),
    ),
    (paddle.cross_entropy, "reduction", lambda v: paddle.cross_entropy(_x(), _t(), reduction=v)),
    (paddle.CrossEntropyLoss, "reduction", lambda v: paddle.CrossEntropyLoss(reduction=v)(_x(), _t())),
    (
        paddle.binary_cross_entropy_with_logits,
        "reduction",
        lambda v: paddle.binary_cross_entropy_with_logits(_x(), _p(), reduction=v),
    ),
    (paddle.BCEWithLogitsLoss, "reduction", lambda v: paddle.BCEWithLogitsLoss(reduction=v)(_x(), _p())),
    (mlx.cross_entropy, "reduction", lambda v: mlx.cross_entropy(_x(), _t(), reduction=v)),
    (mlx.binary_cross_entropy, "reduction", lambda v: mlx.binary_cross_entropy(_x(), _p(), reduction=v)),
    (brainpy.CrossEntropyLoss, "reduction", lambda v: brainpy.CrossEntropyLoss(reduction=v)(_x(), _t())),
    (chainer.softmax_cross_entropy, "reduce", lambda v: chainer.softmax_cross_entropy(_x(), _t(), reduce=v)),
    (
        chainer.softmax_cross_entropy,
        "soft_target_loss",
        lambda v: chainer.softmax_cross_entropy(_x(), _p(), soft_target_loss=v),
    ),
    (
        chainer.sigmoid_cross_entropy,
        "reduce",
        lambda v: chainer.sigmoid_cross_entropy(_x(), (_p() > 0.4).astype(int), reduce=v),
    ),
    (liger.LigerCrossEntropyLoss, "reduction", lambda v: liger.LigerCrossEntropyLoss(reduction=v)(_x(), _t())),
    (liger.liger_cross_entropy, "reduction", lambda v: liger.liger_cross_entropy(_x(), _t(), reduction=v)),
    (
        liger.LigerFusedLinearCrossEntropyLoss,
        "reduction",
        lambda v: liger.LigerFusedLinearCrossEntropyLoss(reduction=v)(np.eye(3), _x(), _t()),
    ),
    (flash_attn.CrossEntropyLoss, "reduction", lambda v: flash_attn.CrossEntropyLoss(reduction=v)(_x(), _t())),
    (cce.linear_cross_entropy, "reduction", lambda v: cce.linear_cross_entropy(_x(), np.eye(3), _t(), reduction=v)),
    (cce.linear_cross_entropy, "filter_eps", lambda v: cce.linear_cross_entropy(_x(), np.eye(3), _t(), filter_eps=v)),
    (cce.linear_cross_entropy, "impl", lambda v: cce.linear_cross_entropy(_x(), np.eye(3), _t(), impl=v)),
    (cce.LinearCrossEntropy, "reduction", lambda v: cce.LinearCrossEntropy(reduction=v)(_x(), np.eye(3), _t())),
]


def _literal_values(annotation: Any) -> set[Any]:
    if typing.get_origin(annotation) is typing.Literal:
        return set(typing.get_args(annotation))
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return set().union(*(_literal_values(a) for a in typing.get_args(annotation)))
    return {None} if annotation is type(None) else set()


def _hints(obj: Any) -> dict[str, Any]:
    fn = obj.__init__ if isinstance(obj, type) else getattr(obj, "translate", obj)
    return typing.get_type_hints(fn)


@pytest.mark.parametrize(
    ("obj", "param", "call"),
    CHOICES,
    ids=[f"{o.__module__.rsplit('.', 1)[-1]}.{o.__name__}-{p}" for o, p, _ in CHOICES],
)
def test_literal_options_match_the_run_time_checks(obj: Any, param: str, call: Callable[[Any], object]) -> None:
    values = _literal_values(_hints(obj)[param])
    assert len(values) >= 2, (param, _hints(obj)[param])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for value in values:  # every value a type checker accepts runs
            call(value)
        for bad in ("avg", 3, "Mean"):  # untyped callers: our error, naming the argument
            with pytest.raises(unified_ce.InvalidArgumentError, match=param):
                call(bad)

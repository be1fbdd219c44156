"""Red-team suite: a generated battery of hostile inputs for every dialect x backend, with the
expected outcome of each (a named exception class, or a number equal to a float64 reference), plus
one regression test per defect found by the red-team pass (issue "Reliability").

The battery is a table: :data:`DIALECT_CALLS` says how each dialect is called on ``(N, C)`` logits
with class-index labels and what it returns (a mean, or one loss per item); :func:`_battery` lists
the cases.  The reference is an independent float64 computation (``lse(x) - x[label]``) on the
inputs as the backend holds them (half-precision logits rounded first).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from tests.conftest import Backend, BackendInfo, assert_close
from unified_ce.adapters import brainpy as bp_dialect
from unified_ce.adapters import chainer as chainer_dialect
from unified_ce.adapters import mxnet as mxnet_dialect
from unified_ce.adapters import paddle as paddle_dialect
from unified_ce.adapters import torch as torch_dialect

RNG = np.random.default_rng(20261129)
N, C = 5, 4
X = RNG.normal(size=(N, C)) * 3
T = np.array([0, 3, 1, 2, 3])


@dataclass(frozen=True)
class DialectCall:
    """How one dialect is called on ``(N, C)`` logits with index labels."""

    call: Callable[[Any, Any], Any]  # (logits, labels of shape (N,)) -> loss
    label_shape: Callable[[np.ndarray], np.ndarray]  # the labels as the dialect wants them
    per_item: bool  # returns one loss per item (else the mean)
    unsigned_labels: bool = True  # unsigned integer labels are class indices (Chainer: signed only)
    clip: float = -np.inf  # Paddle clips the shifted logits at -64 (its CPU softmax)


DIALECT_CALLS: dict[str, DialectCall] = {
    "core": DialectCall(lambda x, t: uce.cross_entropy(x, t), lambda t: t, False),
    "torch": DialectCall(lambda x, t: torch_dialect.cross_entropy(x, t), lambda t: t, False),
    "torch.CrossEntropyLoss": DialectCall(lambda x, t: torch_dialect.CrossEntropyLoss()(x, t), lambda t: t, False),
    "chainer": DialectCall(lambda x, t: chainer_dialect.softmax_cross_entropy(x, t), lambda t: t, False, False),
    "mxnet": DialectCall(lambda x, t: mxnet_dialect.SoftmaxCrossEntropyLoss()(x, t), lambda t: t, True),
    "paddle": DialectCall(
        lambda x, t: paddle_dialect.softmax_with_cross_entropy(x, t), lambda t: t[:, None], True, clip=-64.0
    ),
    "brainpy": DialectCall(lambda x, t: bp_dialect.CrossEntropyLoss()(x, t), lambda t: t, False),
}


def reference(x: np.ndarray, t: np.ndarray, per_item: bool, clip: float = -np.inf) -> np.ndarray:
    """float64 ``lse(x) - x[label]`` per item, by rows (independent of the core); ``clip``: the
    shifted label logit ``x[label] - max(x)`` counts as at least ``clip`` (Paddle)."""
    x = np.asarray(x, dtype=np.float64)
    items = []
    for row, label in zip(x, np.asarray(t).reshape(-1)):
        m = row.max()
        with np.errstate(invalid="ignore", over="ignore"):
            ls = np.log(np.sum(np.exp(row - m)))  # +inf anywhere: inf - inf = nan, as in PyTorch
            items.append(ls - max(row[int(label)] - m, clip))
    out = np.array(items)
    return out if per_item else np.array(out.mean())


# ---------------------------------------------------------------- dtypes of each library

FLOATS = {
    Backend.NUMPY: ("float16", "float32", "float64"),
    Backend.TORCH: ("float16", "bfloat16", "float32", "float64"),
    Backend.JAX: ("float16", "bfloat16", "float32", "float64"),
    Backend.JAX_JIT: ("float32",),
    Backend.STRICT: ("float32", "float64"),
    Backend.STRICT_DEVICE1: ("float64",),
    Backend.DASK: ("float16", "float32", "float64"),
}
INTS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
LABEL_INTS = {
    Backend.JAX_JIT: ("int32",),
    Backend.STRICT_DEVICE1: ("int64",),
}


def _cast(backend: BackendInfo, a: Any, dtype: str) -> Any:
    return backend.xp.astype(a, getattr(backend.xp, dtype, None) or np.dtype(dtype))


def _as_float64(backend: BackendInfo, a: Any) -> np.ndarray:
    return backend.to_numpy(_cast(backend, a, "float64"))


def _tolerance_dtype(dtype: str) -> Any:
    return {"float64": np.float64, "float32": np.float32}.get(dtype, np.float16)


def _dialect_ids() -> list[str]:
    return list(DIALECT_CALLS)


@pytest.fixture(params=_dialect_ids())
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _eval(backend: BackendInfo, d: DialectCall, x: Any, t: Any) -> np.ndarray:
    out = backend.call(d.call, x, t)
    backend.check(out)
    return _as_float64(backend, out).reshape(-1 if d.per_item else ())


# ---------------------------------------------------------------- the battery


def test_every_float_dtype_gives_the_reference(dialect: str, backend: BackendInfo) -> None:
    """Logits of every floating dtype of the library: the float64 reference of the rounded logits."""
    d = DIALECT_CALLS[dialect]
    for dtype in FLOATS.get(backend.backend, ("float32",)):
        x = _cast(backend, backend.asarray(X), dtype)
        t = backend.asarray(d.label_shape(T))
        got = _eval(backend, d, x, t)
        assert_close(got, reference(_as_float64(backend, x), T, d.per_item), dtype=_tolerance_dtype(dtype), what=dtype)


def test_every_integer_label_dtype_gives_the_reference(dialect: str, backend: BackendInfo) -> None:
    """Labels of every integer dtype, signed and unsigned, are class indices."""
    d = DIALECT_CALLS[dialect]
    x = backend.asarray(X)
    for dtype in LABEL_INTS.get(backend.backend, INTS):
        if (
            backend.backend in (Backend.STRICT, Backend.STRICT_DEVICE1)
            and dtype.startswith("uint")
            and dialect == "paddle"
        ):
            continue  # paddle labels are cast to int64, which array-api-strict refuses from uint64 (no common type)
        t = _cast(backend, backend.asarray(d.label_shape(T)), dtype)
        if dtype.startswith("uint") and not d.unsigned_labels:
            with pytest.raises(uce.InvalidTypeError, match=r"(?i)signed"):
                _eval(backend, d, x, t)
            continue
        assert_close(_eval(backend, d, x, t), reference(X, T, d.per_item), what=dtype)


@pytest.mark.parametrize("dtype", [*INTS, "bool"])
def test_integer_logits_are_refused(dialect: str, dtype: str) -> None:
    """Integer or boolean logits: a TypeError naming the logits (NumPy; the check is dtype-only)."""
    d = DIALECT_CALLS[dialect]
    x = (X > 0) if dtype == "bool" else X.astype(dtype)
    with pytest.raises(TypeError, match=r"(?i)(logits|input|x|pred).*(float|floating)"):
        d.call(x, d.label_shape(T))


BAD_LABELS = [C, C + 1, -2, 2**31 - 1, -(2**31), 2**62]


@pytest.mark.parametrize("bad", BAD_LABELS, ids=str)
def test_out_of_range_labels_raise_eagerly_and_poison_lazily(dialect: str, backend: BackendInfo, bad: int) -> None:
    """A label outside ``[0, C)`` (and not the ignore value): LabelOutOfRangeError on eager arrays,
    a NaN loss where label values are unknown at call time (Dask, jax.jit)."""
    d = DIALECT_CALLS[dialect]
    if dialect == "chainer" and bad == -1:
        pytest.skip("-1 is Chainer's ignore_label")
    t_np = T.copy().astype(np.int64)
    t_np[1] = bad
    if backend.backend is Backend.JAX_JIT and not -(2**31) <= bad < 2**31:
        pytest.skip("jax:jit labels are int32 here")
    x = backend.asarray(X)
    t = backend.asarray(d.label_shape(t_np))
    if backend.lazy:
        got = _eval(backend, d, x, t)
        assert np.isnan(got).any(), f"an invalid label must poison the loss lazily; got {got}"
        return
    with pytest.raises(uce.LabelOutOfRangeError, match=r"(?i)(target|label|t)"):
        _eval(backend, d, x, t)


@pytest.mark.parametrize("where", ["nan-label", "nan-other", "+inf-other", "-inf-other", "-inf-label"])
def test_non_finite_logits_propagate_like_the_reference(dialect: str, backend: BackendInfo, where: str) -> None:
    """NaN / +-Inf in the logits give exactly what the float64 math gives (nan, inf or a finite number)."""
    d = DIALECT_CALLS[dialect]
    x_np = X.copy()
    value = {"nan": np.nan, "+inf": np.inf, "-inf": -np.inf}[where.rsplit("-", 1)[0]]
    x_np[0, T[0] if where.endswith("label") else (T[0] + 1) % C] = value
    x = backend.asarray(x_np)
    got = _eval(backend, d, x, backend.asarray(d.label_shape(T)))
    assert_close(got, reference(x_np, T, d.per_item, d.clip), what=where)


def test_arrays_of_two_libraries_are_refused(dialect: str) -> None:
    torch = pytest.importorskip("torch")
    d = DIALECT_CALLS[dialect]
    with pytest.raises(TypeError, match="one array library"):
        d.call(torch.from_numpy(X), d.label_shape(T))


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "read-only": lambda a: _read_only(a),
    "fortran": lambda a: np.asfortranarray(a),
    "strided": lambda a: np.repeat(a, 2, axis=0)[::2],
    "reversed": lambda a: a[::-1][::-1],
    "broadcast": lambda a: np.broadcast_to(a[:1], a.shape),
}


def _read_only(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.flags.writeable = False
    return b


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_numpy_layouts_give_the_reference_and_are_not_mutated(dialect: str, layout: str) -> None:
    """Read-only, Fortran-ordered, strided, zero-stride (broadcast) NumPy inputs: same number, untouched."""
    d = DIALECT_CALLS[dialect]
    x = LAYOUTS[layout](X)
    t = LAYOUTS[layout](T) if layout != "fortran" else T
    t = d.label_shape(t)
    before = (x.copy(), t.copy())
    got = np.asarray(d.call(x, t)).reshape(-1 if d.per_item else ())
    assert_close(got, reference(np.asarray(x), np.asarray(t).reshape(-1), d.per_item), what=layout)
    np.testing.assert_array_equal(x, before[0])
    np.testing.assert_array_equal(t, before[1])


@pytest.mark.parametrize("kind", ["masked-logits", "masked-target", "matrix-logits"])
def test_masked_and_matrix_arrays_are_refused(dialect: str, kind: str) -> None:
    """A NumPy mask would silently drop out of the softmax (issue item 11): refused, naming the argument."""
    d = DIALECT_CALLS[dialect]
    x, t = X, d.label_shape(T)
    if kind == "masked-logits":
        x = np.ma.masked_array(X, mask=np.zeros(X.shape, bool))
    elif kind == "masked-target":
        t = np.ma.masked_array(t)
    else:
        x = np.matrix(X)
    with pytest.raises(uce.InvalidTypeError, match=r"(?i)(mask|must be an array)"):
        d.call(x, t)


# ---------------------------------------------------------------- regression tests (issue items)


def _public_callables() -> list[tuple[str, Any]]:
    import importlib

    from unified_ce.adapters import DIALECTS

    out: list[tuple[str, Any]] = [(name, getattr(uce, name)) for name in uce.__all__ if callable(getattr(uce, name))]
    for dialect in DIALECTS:
        mod = importlib.import_module(f"unified_ce.adapters.{dialect}")
        for name in getattr(mod, "__all__", ()):
            obj = getattr(mod, name)
            if callable(obj):
                out.append((f"{dialect}.{name}", obj))
    return out


@pytest.mark.parametrize(("name", "fn"), _public_callables(), ids=[n for n, _ in _public_callables()])
def test_every_public_callable_pickles_by_reference(name: str, fn: Any) -> None:
    """Item 7: dialect functions cross into workers, spawned processes and torch.save."""
    assert pickle.loads(pickle.dumps(fn)) is fn


def test_distributed_dialect_function_pickles() -> None:
    f = torch_dialect.cross_entropy.distributed()
    g = pickle.loads(pickle.dumps(f))
    assert_close(np.asarray(g(X, T)), reference(X, T, False))


def test_loss_objects_pickle_and_keep_their_options() -> None:
    loss = torch_dialect.CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0, 4.0]), ignore_index=3)
    back = pickle.loads(pickle.dumps(loss))
    assert float(back(X, T)) == pytest.approx(float(loss(X, T)), rel=1e-12)
    assert back.ignore_index == 3


def test_softmax_refuses_a_sigmoid_spec() -> None:
    """Item 13: softmax(x, activation='sigmoid') returned a softmax along axis 0."""
    with pytest.raises(uce.InvalidArgumentError, match="activation"):
        uce.softmax(X, activation="sigmoid")
    np.testing.assert_allclose(uce.softmax(X), np.exp(X) / np.exp(X).sum(axis=-1, keepdims=True), rtol=1e-12)


def test_masked_array_message_names_the_way_out() -> None:
    with pytest.raises(uce.InvalidTypeError, match=r"logits.*MaskedArray.*filled"):
        uce.cross_entropy(np.ma.masked_array(X), T)


# ---------------------------------------------------------------- torch.nn.Module behaviour (item 15)


class TestTorchModule:
    """With torch in use, the torch dialect's loss objects are real ``torch.nn.Module``s."""

    torch: Any = None

    @pytest.fixture(autouse=True)
    def _torch(self) -> None:
        type(self).torch = pytest.importorskip("torch")

    def test_is_a_module_with_weight_as_buffer(self) -> None:
        torch = self.torch
        w = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
        loss = torch_dialect.CrossEntropyLoss(weight=w, ignore_index=3)
        assert isinstance(loss, torch.nn.Module) and isinstance(loss, torch_dialect.CrossEntropyLoss)
        assert type(loss).__name__ == "CrossEntropyLoss"
        real = torch.nn.CrossEntropyLoss(weight=w, ignore_index=3)
        assert list(loss.state_dict()) == list(real.state_dict()) == ["weight"]
        x, t = torch.from_numpy(X), torch.from_numpy(T)
        assert float(loss(x, t)) == pytest.approx(float(real(x, t)), rel=1e-12)

    def test_strict_load_of_a_real_checkpoint_and_to(self) -> None:
        torch = self.torch
        real = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0, 4.0]))
        loss = torch_dialect.CrossEntropyLoss(weight=torch.zeros(4))
        loss.load_state_dict(real.state_dict(), strict=True)
        torch.testing.assert_close(loss.weight, real.weight)
        loss = loss.to(torch.float64)
        assert loss.weight.dtype == torch.float64

    def test_train_eval_hooks_and_containers(self) -> None:
        torch = self.torch
        loss = torch_dialect.CrossEntropyLoss()
        seen: list[Any] = []
        handle = loss.register_forward_hook(lambda mod, args, out: seen.append(out))
        x = torch.from_numpy(X).requires_grad_(True)
        out = loss(x, torch.from_numpy(T))
        out.backward()
        handle.remove()
        assert len(seen) == 1 and seen[0] is out and x.grad is not None
        assert loss.eval().training is False and loss.train().training is True
        assert "CrossEntropyLoss" in repr(torch.nn.ModuleDict({"ce": loss}))

    def test_torch_save_round_trip(self, tmp_path: Any) -> None:
        torch = self.torch
        loss = torch_dialect.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0, 4.0]), label_smoothing=0.1)
        torch.save(loss, tmp_path / "loss.pt")
        back = torch.load(tmp_path / "loss.pt", weights_only=False)
        x, t = torch.from_numpy(X).float(), torch.from_numpy(T)
        torch.testing.assert_close(back(x, t), loss(x, t))

    def test_numpy_weight_stays_a_plain_attribute(self) -> None:
        loss = torch_dialect.CrossEntropyLoss(weight=np.array([1.0, 2.0, 3.0, 4.0]))
        assert dict(loss.state_dict()) == {}
        w = np.array([1.0, 2.0, 3.0, 4.0])
        per_item = reference(X, T, True) * w[T]
        assert float(loss(X, T)) == pytest.approx(per_item.sum() / w[T].sum(), rel=1e-12)


# ---------------------------------------------------------------- options given as NumPy scalars (item 20)


def _numpy_twins(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [np.bool_(value)]
    if isinstance(value, int):
        return [np.int64(value), np.int32(value), np.array(value)]
    if isinstance(value, float):
        return [np.float64(value), np.array(value)] + ([np.float32(value)] if float(np.float32(value)) == value else [])
    return []


def _numeric_examples() -> list[tuple[str, Any]]:
    from unified_ce._fields import FIELDS

    return [(f.name, v) for f in FIELDS for v in f.examples if _numpy_twins(v)]


@pytest.mark.parametrize(("field", "value"), _numeric_examples(), ids=[f"{f}={v}" for f, v in _numeric_examples()])
def test_numpy_scalars_are_accepted_for_every_numeric_option(field: str, value: Any) -> None:
    """Every numeric spec field takes NumPy scalars and 0-d arrays, giving an equal (and equally hashed) spec."""
    base = uce.CrossEntropySpec(**{field: value})
    for twin in _numpy_twins(value):
        spec = uce.CrossEntropySpec(**{field: twin})
        assert spec == base and hash(spec) == hash(base), (field, twin)
        assert type(getattr(spec, field)) is type(getattr(base, field))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"label_smoothing": np.float32(0.25)},
        {"ignore_index": np.int64(3)},
        {"label_smoothing": np.array(0.25), "ignore_index": np.array(3)},
    ],
    ids=["float32-smoothing", "int64-ignore", "0d-arrays"],
)
def test_dialects_take_numpy_scalar_options(kwargs: dict[str, Any]) -> None:
    plain = {k: v.item() for k, v in kwargs.items()}
    assert float(torch_dialect.cross_entropy(X, T, **kwargs)) == float(torch_dialect.cross_entropy(X, T, **plain))
    assert float(uce.cross_entropy(X, T, **kwargs)) == float(uce.cross_entropy(X, T, **plain))


@pytest.mark.parametrize("bad", [[0.1], "0.1", True, None, 1 + 2j], ids=["list", "str", "bool", "None", "complex"])
def test_unhashable_or_wrong_type_options_are_named(bad: Any) -> None:
    """Item 16: label_smoothing=[0.1] gave 'unhashable type: list' from the dialect's spec cache."""
    with pytest.raises((uce.InvalidTypeError, uce.InvalidArgumentError), match="label_smoothing"):
        torch_dialect.cross_entropy(X, T, label_smoothing=bad)
    with pytest.raises((uce.InvalidTypeError, uce.InvalidArgumentError), match="label_smoothing"):
        uce.cross_entropy(X, T, label_smoothing=bad)


@pytest.mark.parametrize(
    "scale", [10**400, -(10**400), float("nan"), float("inf")], ids=["1e400", "-1e400", "nan", "inf"]
)
def test_overflowing_scale_is_a_named_error(scale: Any) -> None:
    """Item 21: CrossEntropySpec(scale=10**400) raised a bare OverflowError."""
    with pytest.raises(uce.InvalidTypeError, match="scale must be a finite float"):
        uce.CrossEntropySpec(scale=scale)


# ---------------------------------------------------------------- labels and ignore values (items 5, 6, 18)


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64"])
def test_torch_unsigned_labels(dtype: str) -> None:
    """Item 6: torch uint16/32/64 labels raised NotImplementedError from aminmax."""
    torch = pytest.importorskip("torch")
    t = torch.from_numpy(T).to(getattr(torch, dtype))
    got = float(uce.cross_entropy(torch.from_numpy(X), t))
    assert got == pytest.approx(float(reference(X, T, False)), rel=1e-12)
    bad = torch.tensor([0, 3, 1, 2, 7]).to(getattr(torch, dtype))
    with pytest.raises(uce.LabelOutOfRangeError, match="labels range from 0 to 7"):
        uce.cross_entropy(torch.from_numpy(X), bad)


def test_uint64_label_range_is_reported_in_its_own_dtype() -> None:
    """Item 18: a uint64 label of 2**64-1 was reported as 'labels range from -1 to 3'."""
    t = T.astype(np.uint64)
    t[0] = np.uint64(2**64 - 1)
    with pytest.raises(uce.LabelOutOfRangeError, match=f"labels range from 1 to {2**64 - 1}"):
        uce.cross_entropy(X, t, ignore_index=-1)
    torch = pytest.importorskip("torch")
    with pytest.raises(uce.LabelOutOfRangeError, match=f"labels range from 1 to {2**64 - 1}"):
        uce.cross_entropy(torch.from_numpy(X), torch.from_numpy(t.astype(np.int64)).to(torch.uint64), ignore_index=-1)


@pytest.mark.parametrize("ignore", [2**31, 2**63, 2**70, -(2**70)], ids=str)
def test_unrepresentable_ignore_index_ignores_nothing(backend: BackendInfo, ignore: int) -> None:
    """Items 5 and 18: an ignore value no label can hold ignores nothing (it raised OverflowError on
    JAX without x64, torch and array-api-strict); out-of-range labels still raise."""
    x, t = backend.asarray(X), backend.asarray(T)
    got = backend.to_numpy(backend.call(lambda a, b: uce.cross_entropy(a, b, ignore_index=ignore), x, t))
    assert_close(got, reference(X, T, False))
    if not backend.lazy:
        with pytest.raises(uce.LabelOutOfRangeError):
            uce.cross_entropy(x, backend.asarray(np.array([0, 3, 1, 2, 9])), ignore_index=ignore)


def test_jax_without_x64_and_a_large_ignore_index() -> None:
    """Item 5 exactly as reported: x64 off, int32 labels, ignore_index=2**31."""
    import subprocess
    import sys

    pytest.importorskip("jax")
    code = (
        "import jax, jax.numpy as jnp, numpy as np, unified_ce as uce\n"
        "assert not jax.config.jax_enable_x64\n"
        "x = jnp.asarray(np.random.default_rng(0).normal(size=(4, 5)), dtype=jnp.float32)\n"
        "print(float(uce.cross_entropy(x, jnp.asarray([0, 3, 1, 4]), ignore_index=2**31)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    assert float(out.stdout) == pytest.approx(float(reference(x, np.array([0, 3, 1, 4]), False)), rel=1e-6)


# ---------------------------------------------------------------- NaN weights of unused classes (item 10)


def test_nan_weight_of_an_unused_class(backend: BackendInfo) -> None:
    """Item 10: Dask turned 0 x NaN into NaN (one-hot times weight); an unused class's weight must not matter."""
    w = np.array([1.0, 1.0, np.nan, 1.0])
    t = np.array([0, 3, 1, 0, 3])  # class 2 unused
    got = backend.call(lambda a, b, c: uce.cross_entropy(a, b, class_weight=c), *map(backend.asarray, (X, t, w)))
    assert_close(backend.to_numpy(got), reference(X, t, False))


# ---------------------------------------------------------------- grad_output (item 17)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda torch: np.float64(2.0), 2.0),
        (lambda torch: 2.0, 2.0),
        (lambda torch: [2.0], uce.InvalidArgumentError),
        (lambda torch: "2", uce.InvalidTypeError),
        (lambda torch: np.ones(3), uce.InvalidArgumentError),
    ],
    ids=["numpy-scalar", "python-float", "wrong-shape-list", "string", "wrong-shape"],
)
def test_grad_output_is_checked_and_converted(make: Callable[[Any], Any], expected: Any) -> None:
    """Item 17: grad_output was never checked (AttributeError 'to' / 'shape')."""
    torch = pytest.importorskip("torch")
    x, t = torch.from_numpy(X), torch.from_numpy(T)
    if isinstance(expected, type):
        with pytest.raises(expected, match="grad_output"):
            uce.value_and_grad(x, t, grad_output=make(torch))
        return
    _, grad = uce.value_and_grad(x, t, grad_output=make(torch))
    _, unit = uce.value_and_grad(x, t)
    assert grad.dtype == x.dtype
    torch.testing.assert_close(grad, unit * expected)


def test_grad_output_of_another_library_or_device() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(uce.InvalidTypeError, match="grad_output is a torch array"):
        uce.value_and_grad(X, T, grad_output=torch.tensor(1.0))
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(uce.InvalidArgumentError, match="grad_output is on"):
        uce.value_and_grad(xps.asarray(X), xps.asarray(T), grad_output=xps.asarray(1.0, device=xps.Device("device1")))


# ---------------------------------------------------------------- shapes known only later (items 19, 21)


def test_dask_unknown_chunk_sizes_say_what_to_do() -> None:
    """Item 19: unknown Dask chunk sizes (nan) gave 'must have shape (nan,); got shape (nan,)'."""
    da = pytest.importorskip("dask.array")
    x = da.from_array(X, chunks=2)
    x = x[x[:, 0] > -100]
    with pytest.raises(uce.InvalidArgumentError, match=r"compute_chunk_sizes\(\)"):
        uce.cross_entropy(x, da.from_array(T, chunks=2))
    t = da.from_array(T, chunks=2)
    t = t[t >= 0]
    with pytest.raises(uce.InvalidArgumentError, match=r"target must have a known shape.*compute_chunk_sizes"):
        uce.cross_entropy(da.from_array(X, chunks=2), t)


def test_meta_tensors_trace_shapes_like_torch() -> None:
    """Item 21: meta tensors (shape-only tracing, FLOP counting) raised 'Tensor.item() cannot be called'."""
    torch = pytest.importorskip("torch")
    x = torch.empty(4, 5, device="meta", requires_grad=True)
    t = torch.empty(4, dtype=torch.long, device="meta")
    for kwargs in ({}, {"reduction": "none", "label_smoothing": 0.1}, {"weight": torch.empty(5, device="meta")}):
        ours = torch_dialect.cross_entropy(x, t, **kwargs)
        theirs = torch.nn.functional.cross_entropy(x, t, **kwargs)
        assert (ours.shape, ours.dtype, ours.device) == (theirs.shape, theirs.dtype, theirs.device)
        ours.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape


def test_every_torch_dialect_loss_class_is_a_module() -> None:
    """Item 15 for the whole torch dialect: each loss class is an nn.Module with its tensors as buffers."""
    torch = pytest.importorskip("torch")
    import inspect

    for name, cls in inspect.getmembers(torch_dialect, inspect.isclass):
        if not issubclass(cls, torch_dialect.DialectLoss) or cls.__module__ != torch_dialect.__name__:
            continue
        params = inspect.signature(cls).parameters
        kwargs = {"weight": torch.ones(C)} if "weight" in params else {}
        loss = cls(**kwargs)
        assert isinstance(loss, torch.nn.Module), name
        assert list(loss.state_dict()) == list(getattr(torch.nn, name)(**kwargs).state_dict()), name


# --------------------------------------------------------------------------- issue 13: small core fixes


def _bce_ref(x: np.ndarray, q: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Float64 binary cross-entropy with a positive-term weight: -w q log s(x) - (1 - q) log(1 - s(x))."""
    s = 1.0 / (1.0 + np.exp(-x))
    return -w * q * np.log(s) - (1.0 - q) * np.log1p(-s)


def test_sigmoid_pos_weight_on_0d_logits(backend: BackendInfo) -> None:
    """A 0-d pos_weight on 0-d logits (TensorFlow's WeightedCrossEntropyTest feeds it)."""
    x, q, w = np.asarray(0.4), np.asarray(1.0), np.asarray(4.0)

    def f(a: Any, b: Any, c: Any) -> Any:
        return uce.cross_entropy(a, b, activation="sigmoid", target="probs", class_weight=c, reduction="none")

    out = backend.call(f, backend.asarray(x), backend.asarray(q), backend.asarray(w))
    assert_close(backend.to_numpy(out), _bce_ref(x, q, w), dtype=np.float64)
    _, g = uce.value_and_grad(
        backend.asarray(x), backend.asarray(q), activation="sigmoid", target="probs", class_weight=backend.asarray(w)
    )
    s = 1.0 / (1.0 + np.exp(-x))
    assert_close(backend.to_numpy(g), (1.0 + (w - 1.0) * q) * s - w * q, dtype=np.float64)  # d/dx of _bce_ref


@pytest.mark.parametrize("activation", ["sigmoid", "softmax"])
def test_negative_probability_target_raises_eagerly_and_poisons_lazily(activation: str, backend: BackendInfo) -> None:
    """The lazy policy (docs/reliability.md): where an eager call raises, the item's loss and gradient are NaN."""
    x = np.array([[0.3, -1.0, 0.5], [2.0, 0.1, -0.2]])
    q = np.array([[0.7, -0.5, 0.8], [0.2, 0.5, 0.3]])
    kw: dict[str, Any] = {"activation": activation, "target": "probs", "reduction": "none"}
    if not backend.lazy:
        with pytest.raises(uce.InvalidArgumentError, match="non-negative"):
            uce.cross_entropy(backend.asarray(x), backend.asarray(q), **kw)
        return
    out = backend.to_numpy(
        backend.call(lambda a, b: uce.cross_entropy(a, b, **kw), backend.asarray(x), backend.asarray(q))
    )
    _, g = backend.call(lambda a, b: uce.value_and_grad(a, b, **kw), backend.asarray(x), backend.asarray(q))
    g = backend.to_numpy(g)
    bad = q < 0 if activation == "sigmoid" else np.broadcast_to((q < 0).any(axis=1, keepdims=True), q.shape)
    if activation == "sigmoid":
        np.testing.assert_array_equal(np.isnan(out), bad)
        assert_close(out[~bad], _bce_ref(x, q, np.ones_like(x))[~bad], dtype=np.float64)
    else:
        np.testing.assert_array_equal(np.isnan(out), bad[:, 0])
    np.testing.assert_array_equal(np.isnan(g), bad)


@pytest.mark.parametrize("target_dtype", ["bfloat16"])
def test_probability_sum_tolerance_is_the_targets_own_dtype(target_dtype: str) -> None:
    """A distribution given in bfloat16 / float16 sums to 1 only within its own rounding (eps/2 = 3.9e-3
    in bfloat16), also with float32 logits: the sum is checked within sqrt(eps) of the target's dtype."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 30000)) * 3
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    x = torch.tensor(z, dtype=torch.float32)
    q = torch.tensor(p).to(getattr(torch, target_dtype))
    assert float((q.double().sum(1) - 1).abs().max()) > 3.5e-4  # beyond float32's sqrt(eps)
    kw: dict[str, Any] = {"target": "probs", "probs_sum_to_one": True, "reduction": "none"}
    want = -(torch.log_softmax(x.double(), 1) * q.double()).sum(1).numpy()
    assert_close(uce.cross_entropy(x, q, **kw).numpy(), want, dtype=np.float32)
    off = q.clone()
    off[0, 0] += 0.25  # a real error is still one
    with pytest.raises(uce.InvalidArgumentError, match="sum to 1"):
        uce.cross_entropy(x, off, **kw)
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    f = jax.jit(lambda a, b: uce.cross_entropy(a, b, **kw))
    xj = jnp.asarray(z, dtype=jnp.float32)
    got = np.asarray(f(xj, jnp.asarray(p, dtype=getattr(jnp, target_dtype))))
    assert not np.isnan(got).any()  # lazily: the same tolerance, no NaN
    got_off = np.asarray(f(xj, jnp.asarray(off.float().numpy()).astype(getattr(jnp, target_dtype))))
    np.testing.assert_array_equal(np.isnan(got_off), [True, False, False, False])

"""Bad input: a clear exception naming the argument and the expected form; inputs never modified.

A table of (call, exception type, words the message must contain), run on every eager backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import unified_ce as uce
from tests.conftest import Backend, BackendInfo
from unified_ce.adapters.torch import CrossEntropyLoss, cross_entropy

X = np.random.default_rng(0).normal(size=(3, 4))
T = np.array([0, 3, 1])

#: (id, function of a backend's ``asarray``, exception, fragments the message must contain)
BAD: list[tuple[str, Callable[[Any], Any], type[Exception], tuple[str, ...]]] = [
    (
        "label-too-large",
        lambda a: cross_entropy(a(X), a(np.array([0, 4, 1]))),
        uce.LabelOutOfRangeError,
        ("target", "[0, 4)", "ignore_index=-100"),
    ),
    (
        "label-negative",
        lambda a: cross_entropy(a(X), a(np.array([0, -1, 1]))),
        uce.LabelOutOfRangeError,
        ("target", "-1"),
    ),
    (
        "label-out-of-range-is-IndexError-too",
        lambda a: cross_entropy(a(X), a(np.array([9, 0, 0]))),
        IndexError,
        ("target",),
    ),
    (
        "target-shape",
        lambda a: cross_entropy(a(X), a(np.array([0, 1]))),
        uce.InvalidArgumentError,
        ("target", "(3,)", "(2,)"),
    ),
    (
        "target-float-indices",
        lambda a: cross_entropy(a(X), a(np.array([0.0, 1.0, 2.0]))),
        uce.InvalidTypeError,
        ("target", "integer"),
    ),
    (
        "target-int-probs",
        lambda a: cross_entropy(a(X), a(np.ones((3, 4), dtype=np.int64))),
        uce.InvalidTypeError,
        ("target", "floating"),
    ),
    (
        "weight-length",
        lambda a: cross_entropy(a(X), a(T), weight=a(np.ones(3))),
        uce.InvalidArgumentError,
        ("weight", "C=4", "(3,)"),
    ),
    (
        "logits-int",
        lambda a: cross_entropy(a(np.zeros((3, 4), dtype=np.int64)), a(T)),
        uce.InvalidTypeError,
        ("input", "floating"),
    ),
    (
        "reduction",
        lambda a: cross_entropy(a(X), a(T), reduction="avg"),
        uce.InvalidArgumentError,
        ("reduction", "'avg'", "'mean'"),
    ),
    (
        "reduction-loss-class",
        lambda a: CrossEntropyLoss(reduction="elementwise")(a(X), a(T)),  # at forward, like PyTorch
        uce.InvalidArgumentError,
        ("reduction",),
    ),
    (
        "label_smoothing-range",
        lambda a: cross_entropy(a(X), a(T), label_smoothing=1.5),
        uce.InvalidArgumentError,
        ("label_smoothing", "[0, 1]"),
    ),
    (
        "label_smoothing-negative-loss-class",
        lambda a: CrossEntropyLoss(label_smoothing=-0.1)(a(X), a(T)),
        uce.InvalidArgumentError,
        ("label_smoothing",),
    ),
    ("unknown-keyword", lambda a: cross_entropy(a(X), a(T), smoothing=0.1), TypeError, ("smoothing",)),
    ("unknown-keyword-loss-class", lambda a: CrossEntropyLoss(ignore_label=1), TypeError, ("ignore_label",)),
    (
        "ignore_index-with-probs",
        lambda a: cross_entropy(a(X), a(np.full((3, 4), 0.25)), ignore_index=1),
        uce.InvalidArgumentError,
        ("ignore_index", "probability"),
    ),
    (
        "negative-probabilities",
        lambda a: uce.cross_entropy(a(X), a(np.full((3, 4), -0.25)), target="probs"),
        uce.InvalidArgumentError,
        ("target", "non-negative"),
    ),
    ("spec-unknown-field", lambda a: uce.cross_entropy(a(X), a(T), normalise=True), TypeError, ("normalise",)),
    (
        "spec-bad-denominator",
        lambda a: uce.cross_entropy(a(X), a(T), denominator="tokens"),
        uce.InvalidArgumentError,
        ("denominator", "'tokens'"),
    ),
    (
        "sample_weight-shape",
        lambda a: uce.cross_entropy(a(X), a(T), sample_weight=a(np.ones(2))),
        uce.InvalidArgumentError,
        ("sample_weight", "(3, 1)"),
    ),
]


@pytest.mark.parametrize("make,exc,fragments", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_raises_clearly(
    make: Callable[[Any], Any], exc: type[Exception], fragments: tuple[str, ...], backend: BackendInfo
) -> None:
    if backend.lazy:
        pytest.skip("value checks need concrete values (see test_core.test_jit_under_invalid_labels_gives_nan)")
    with pytest.raises(exc) as info:
        make(backend.asarray)
    for f in fragments:
        assert f in str(info.value), f"{f!r} not in {str(info.value)!r}"


def test_mixed_array_libraries() -> None:
    torch = pytest.importorskip("torch")
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(uce.InvalidTypeError, match="input is a numpy array, target is a torch array"):
        cross_entropy(X, torch.from_numpy(T))
    with pytest.raises(uce.InvalidTypeError, match="weight"):
        cross_entropy(torch.from_numpy(X), torch.from_numpy(T), weight=jnp.ones(4))
    # NumPy arrays and Python lists as constant weights are converted to the input's library and device
    out = cross_entropy(torch.from_numpy(X), torch.from_numpy(T), weight=[1.0, 2.0, 1.0, 1.0])
    assert isinstance(out, torch.Tensor)


def test_dask_label_check_is_deferred() -> None:
    """With Dask, a bad label cannot be seen at call time: the computed loss is NaN (documented)."""
    be_da = pytest.importorskip("dask.array")
    out = cross_entropy(be_da.from_array(X, chunks=2), be_da.from_array(np.array([0, 7, 1]), chunks=2))
    assert np.isnan(out.compute())


def test_inputs_are_never_modified(backend: BackendInfo) -> None:
    if backend.backend is Backend.DASK:
        pytest.skip("dask arrays are immutable")
    rng = np.random.default_rng(0)
    x_np, t_np, w_np = rng.normal(size=(5, 4)), np.array([0, 3, -100, 1, 2]), rng.random(4)
    x, t, w = backend.asarray(x_np), backend.asarray(t_np), backend.asarray(w_np)
    loss = CrossEntropyLoss(weight=w, label_smoothing=0.2)
    backend.call(lambda x, t: loss(x, t), x, t)
    if not backend.jit:
        loss.value_and_grad(x, t)
    for a, b in ((x, x_np), (t, t_np), (w, w_np)):
        np.testing.assert_array_equal(backend.to_numpy(a), b)


#: PyTorch's own error inputs for ``nn.CrossEntropyLoss`` (``common_modules.
#: module_error_inputs_torch_nn_CrossEntropyLoss``) and ``F.cross_entropy`` calls PyTorch rejects:
#: the torch dialect's error must be an instance of the class PyTorch raises, so that ``except``
#: clauses written for PyTorch keep catching; and of unified_ce's own class.
TORCH_RAISES: list[tuple[str, Callable[[Any], Any], type[Exception], type[Exception]]] = [
    ("probs-int", lambda a: cross_entropy(a(X), a(np.zeros((3, 4), np.int64))), RuntimeError, uce.InvalidTypeError),
    ("float-indices", lambda a: cross_entropy(a(X), a(np.zeros(3))), RuntimeError, uce.InvalidTypeError),
    ("batch-size", lambda a: cross_entropy(a(X), a(np.array([0, 1]))), ValueError, uce.InvalidArgumentError),
    (
        "batch-size-3d",
        lambda a: cross_entropy(a(np.zeros((2, 3, 5))), a(np.zeros((3, 5), np.int64))),
        ValueError,
        uce.InvalidArgumentError,
    ),
    (
        "spatial-size",
        lambda a: cross_entropy(a(np.zeros((2, 3, 5))), a(np.zeros((2, 4), np.int64))),
        RuntimeError,
        uce.InvalidArgumentError,
    ),
    (
        "unbatched-target-size",
        lambda a: cross_entropy(a(np.zeros(3)), a(np.zeros(2, np.int64))),
        ValueError,
        uce.InvalidArgumentError,
    ),
    (
        "weight-size",
        lambda a: CrossEntropyLoss(weight=a(np.ones(2)))(a(X), a(T)),
        RuntimeError,
        uce.InvalidArgumentError,
    ),
    (
        "probs-ignore_index",
        lambda a: CrossEntropyLoss(ignore_index=1)(a(X), a(np.full((3, 4), 0.25))),
        RuntimeError,
        uce.InvalidArgumentError,
    ),
    (
        "label_smoothing",
        lambda a: CrossEntropyLoss(label_smoothing=1.5)(a(X), a(T)),
        RuntimeError,
        uce.InvalidArgumentError,
    ),
    ("label-out-of-range", lambda a: cross_entropy(a(X), a(np.array([0, 4, 1]))), IndexError, uce.LabelOutOfRangeError),
    (
        "int-input",
        lambda a: cross_entropy(a(np.zeros((3, 4), np.int64)), a(T)),
        NotImplementedError,
        uce.InvalidTypeError,
    ),
    ("reduction", lambda a: CrossEntropyLoss(reduction="avg")(a(X), a(T)), ValueError, uce.InvalidArgumentError),
    ("ignore_index-type", lambda a: cross_entropy(a(X), a(T), ignore_index=1.5), TypeError, uce.InvalidTypeError),
]


@pytest.mark.parametrize("make,theirs,ours", [b[1:] for b in TORCH_RAISES], ids=[b[0] for b in TORCH_RAISES])
def test_torch_dialect_raises_torch_exception_classes(
    make: Callable[[Any], Any], theirs: type[Exception], ours: type[Exception], backend: BackendInfo
) -> None:
    if backend.lazy:
        pytest.skip("value checks need concrete values")
    with pytest.raises(ours) as info:
        make(backend.asarray)
    assert isinstance(info.value, theirs), type(info.value).__mro__
    if backend.backend is Backend.TORCH:  # and PyTorch itself raises that class for the same input
        torch = pytest.importorskip("torch")
        import torch.nn.functional as F

        def as_torch(a: Any) -> Any:
            return torch.from_numpy(np.asarray(a))

        real = {"cross_entropy": F.cross_entropy, "CrossEntropyLoss": torch.nn.CrossEntropyLoss}
        with pytest.raises(theirs):
            _with_real_torch(make, as_torch, real)


def _with_real_torch(make: Callable[[Any], Any], as_torch: Callable[[Any], Any], real: dict[str, Any]) -> None:
    """Run a table row with PyTorch's own function and class in place of the dialect's."""
    g = make.__globals__
    saved = {k: g[k] for k in real}
    g.update(real)
    try:
        make(as_torch)
    finally:
        g.update(saved)


def test_framework_errors_pickle_and_name() -> None:
    """Retyped errors cross process boundaries (pickle) and say both classes in a traceback."""
    import pickle

    with pytest.raises(RuntimeError) as info:
        cross_entropy(X, np.zeros((3, 4), np.int64))
    err = info.value
    assert type(err).__qualname__ == "InvalidTypeError[RuntimeError]"
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err) and str(back) == str(err)
    assert isinstance(back, uce.InvalidTypeError) and isinstance(back, RuntimeError)

"""The dialect modules installed under the real frameworks' module names, to run emitted code.

``with frameworks():`` makes ``import chainer.functions as F``, ``from mxnet.gluon import loss as
gloss``, ``import paddle.nn.functional as F``, ``import brainpy as bp`` ... import the unified_ce
dialects (whose APIs the code calls) plus NumPy versions of the few array operations the emitted
code uses around them, under the names those frameworks give them.  PyTorch is the real one.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator
from typing import Any

import numpy as np


def _module(name: str, **attrs: Any) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


def _dialect(d: str) -> dict[str, Any]:
    mod = importlib.import_module(f"unified_ce.adapters.{d}")
    return {n: getattr(mod, n) for n in getattr(mod, "__all__", ())}


def _log_softmax(a: Any, axis: int = -1) -> Any:
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


class _Proxy(types.ModuleType):
    """A framework module whose array operations are NumPy's, everything else the real module's
    (``jax.Array`` etc.: array-api-compat looks them up whenever ``jax`` is in ``sys.modules``)."""

    def __init__(self, name: str, **attrs: Any) -> None:
        super().__init__(name)
        self.__dict__.update(attrs)
        try:
            self._real: Any = importlib.import_module(name)
        except ImportError:
            self._real = None

    def __getattr__(self, name: str) -> Any:
        if self._real is None:
            if name == "Array":
                return type("Array", (), {})
            raise AttributeError(name)
        return getattr(self._real, name)


def _chainer_sum(a: Any, axis: Any = None) -> Any:
    """``chainer.functions.sum``: like Chainer, refuses a non-floating array (``F.sum(t != k)`` fails there)."""
    if np.asarray(a).dtype.kind != "f":
        raise TypeError(f"Invalid operation is performed in: Sum (Forward): Expect: x.dtype.kind == f, got {a.dtype}")
    return np.sum(a, axis=axis)


def _fakes() -> dict[str, types.ModuleType]:
    ops = {
        "log_softmax": _log_softmax,
        "moveaxis": np.moveaxis,
        "expand_dims": np.expand_dims,
        "squeeze": np.squeeze,
        "eye": np.eye,
        "pad": np.pad,
        "float32": np.float32,
    }
    chainer_f = _module(
        "chainer.functions",
        **_dialect("chainer"),
        **ops,
        sum=_chainer_sum,
        mean=np.mean,
        reshape=np.reshape,
        cast=lambda a, dtype: np.asarray(a).astype(dtype),
    )
    chainer_backend = _module("chainer.backend", get_array_module=lambda *a: np)

    class Classifier:
        """chainer.links.Classifier (loss part): ``lossfun(predictor(x), t)``."""

        def __init__(self, predictor: Any, lossfun: Any = chainer_f.softmax_cross_entropy) -> None:
            self.predictor, self.lossfun = predictor, lossfun

        def __call__(self, x: Any, t: Any) -> Any:
            self.loss = self.lossfun(self.predictor(x), t)
            return self.loss

    chainer_l = _module("chainer.links", Classifier=Classifier)
    chainer = _module("chainer", functions=chainer_f, backend=chainer_backend, links=chainer_l)
    gloss = _module("mxnet.gluon.loss", **_dialect("mxnet"))
    gluon = _module("mxnet.gluon", loss=gloss)

    def one_hot(a: Any, n: int, dtype: Any = None) -> Any:
        return np.eye(n, dtype=dtype)[a]

    nd = _module("mxnet.nd", **ops, one_hot=one_hot)
    mxnet = _module("mxnet", gluon=gluon, nd=nd)
    paddle_f = _module("paddle.nn.functional", **_dialect("paddle"), log_softmax=_log_softmax)
    paddle_nn = _module("paddle.nn", functional=paddle_f)
    paddle = _module(
        "paddle",
        nn=paddle_nn,
        moveaxis=np.moveaxis,
        unsqueeze=np.expand_dims,
        squeeze=np.squeeze,
        eye=np.eye,
        concat=lambda arrays, axis=0: np.concatenate(arrays, axis=axis),
        full=lambda shape, fill_value, dtype=None: np.full(shape, fill_value, dtype=dtype),
    )
    bp_losses = _module("brainpy.losses", **_dialect("brainpy"))
    bm = _module("brainpy.math", **ops)
    brainpy = _module("brainpy", losses=bp_losses, math=bm)

    def logsumexp(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return (a - _log_softmax(a, axis)).max(axis=axis, keepdims=keepdims)

    mlx_core = _module("mlx.core", **ops, logsumexp=logsumexp)
    mlx_losses = _module("mlx.nn.losses", **_dialect("mlx"))
    mlx_nn = _module("mlx.nn", losses=mlx_losses)
    mlx = _module("mlx", core=mlx_core, nn=mlx_nn)
    optax = _module("optax", **_dialect("optax"))

    def one_hot(a: Any, n: int, dtype: Any = None) -> Any:
        return np.eye(n, dtype=dtype)[a]

    jax_nn = _module("jax.nn", one_hot=one_hot, log_softmax=_log_softmax)
    jnp = _module("jax.numpy", **ops)
    jax = _Proxy("jax", nn=jax_nn, numpy=jnp)
    return {
        "optax": optax,
        "jax": jax,
        "jax.nn": jax_nn,
        "jax.numpy": jnp,
        "mlx": mlx,
        "mlx.core": mlx_core,
        "mlx.nn": mlx_nn,
        "mlx.nn.losses": mlx_losses,
        "chainer": chainer,
        "chainer.functions": chainer_f,
        "chainer.backend": chainer_backend,
        "chainer.links": chainer_l,
        "mxnet": mxnet,
        "mxnet.gluon": gluon,
        "mxnet.gluon.loss": gloss,
        "mxnet.nd": nd,
        "paddle": paddle,
        "paddle.nn": paddle_nn,
        "paddle.nn.functional": paddle_f,
        "brainpy": brainpy,
        "brainpy.losses": bp_losses,
        "brainpy.math": bm,
    }


@contextlib.contextmanager
def frameworks() -> Iterator[None]:
    """Install the fake framework modules (restoring whatever was there before)."""
    fakes = _fakes()
    saved = {k: sys.modules.get(k) for k in fakes}
    sys.modules.update(fakes)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def run_code(
    code: str,
    dest: str,
    x: np.ndarray,
    t: np.ndarray,
    w: Any = None,
    sw: Any = None,
    names: dict[str, str] | None = None,
    n: Any = None,
) -> np.ndarray:
    """Execute emitted code with the arrays bound to ``x``, ``t``, the weights' names and the name of
    the divisor given at the call (``n``: a Python int, as ``num_items_in_batch`` usually is)."""
    names = names or {}
    arrays = {"x": x, "t": t, names.get("w", "w"): w, names.get("sw", "sw"): sw}
    if dest == "torch":
        import pytest

        torch = pytest.importorskip("torch")  # emitted torch code runs in real torch
        ns = {k: (None if v is None else torch.from_numpy(np.array(v, copy=True))) for k, v in arrays.items()}
        ns[names.get("n", "n")] = n
        exec(code, ns)
        return np.asarray(ns["loss"].detach().numpy())
    with frameworks():
        ns = {**arrays, names.get("n", "n"): n}
        exec(code, ns)
    return np.asarray(ns["loss"])

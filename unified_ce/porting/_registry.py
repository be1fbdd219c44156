"""Which loss APIs each dialect offers, and how each is written in its framework's own idiom.

The APIs are *discovered*: every public name of ``unified_ce.adapters.<dialect>`` (its ``__all__``)
that is a dialect function or a dialect loss class is a loss API a port can call.  A dialect
added to :data:`unified_ce.adapters.DIALECTS` joins the porting matrix without any change here.

How the emitted code spells the call and the array operations around it is an :class:`Idiom`:
declared here for the known frameworks, or by the adapter module itself as ``PORT_IDIOM`` (a
dict of :class:`Idiom` fields).  A dialect without one gets :data:`FALLBACK` (NumPy operations
and the unified_ce dialect function, clearly marked as such in the emitted code).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from ..adapters import DIALECTS
from ..adapters._base import DialectFunction, DialectLoss

__all__ = ["FALLBACK", "IDIOMS", "Api", "Idiom", "apis", "dialects", "find_api", "idiom"]


@dataclass(frozen=True)
class Idiom:
    """How code in one framework spells the loss APIs and the pre-/post-operations of a port.

    Every template is a ``str.format`` pattern; ``{a}`` is an array expression, ``{x}`` the logits.
    ``apis`` maps an API name of the dialect module to ``(import line, expression of the callable)``.
    """

    framework: str
    imports: tuple[str, ...]
    apis: dict[str, tuple[str, str]] = field(default_factory=dict)
    moveaxis: str = "np.moveaxis({a}, {s}, {d})"
    expand: str = "np.expand_dims({a}, {axis})"
    squeeze: str = "np.squeeze({a}, {axis})"
    where0: str = "{a} * {m}"  # ``a`` where ``m`` else 0 (integer labels)
    onehot: str = "np.eye({n}, dtype={x}.dtype)[{a}]"
    tofloat: str = "{a}.astype({x}.dtype)"
    log_softmax: str = (
        "{a} - np.log(np.exp({a} - {a}.max(axis={axis}, keepdims=True)).sum(axis={axis}, keepdims=True))"
        " - {a}.max(axis={axis}, keepdims=True)"
    )
    toindex: str = "{a}"  # the label dtype the framework's loss wants
    sum: str = "{a}.sum()"
    mean_axes: str = "{a}.mean(axis={axes})"
    #: the mean over every axis but the first (``math`` is imported when used)
    mean_rest: str = "{a}.reshape(({a}.shape[0], math.prod({a}.shape[1:]))).mean(axis=1)"
    numel: str = "{a}.size"
    clamp1: str = "max({a}, 1)"
    float32: str = "{a}.astype(np.float32)"
    #: the labels of the next token, ``{v}`` (the ignore label) after the last one: Hugging Face's
    #: ``F.pad(labels, (0, 1), value=ignore_index)[..., 1:]``; None: not written for this framework
    shift: str | None = "np.pad({a}, [(0, 0)] * ({a}.ndim - 1) + [(0, 1)], constant_values={v})[..., 1:]"


_NP = ("import numpy as np",)

IDIOMS: dict[str, Idiom] = {
    "torch": Idiom(
        framework="PyTorch",
        imports=("import torch", "import torch.nn.functional as F"),
        apis={
            "cross_entropy": ("import torch.nn.functional as F", "F.cross_entropy"),
            "CrossEntropyLoss": ("import torch", "torch.nn.CrossEntropyLoss"),
            "nll_loss": ("import torch.nn.functional as F", "F.nll_loss"),
            "NLLLoss": ("import torch", "torch.nn.NLLLoss"),
            "binary_cross_entropy_with_logits": (
                "import torch.nn.functional as F",
                "F.binary_cross_entropy_with_logits",
            ),
            "BCEWithLogitsLoss": ("import torch", "torch.nn.BCEWithLogitsLoss"),
            "binary_cross_entropy": ("import torch.nn.functional as F", "F.binary_cross_entropy"),
            "BCELoss": ("import torch", "torch.nn.BCELoss"),
        },
        moveaxis="torch.movedim({a}, {s}, {d})",
        expand="{a}.unsqueeze({axis})",
        squeeze="{a}.squeeze({axis})",
        onehot="F.one_hot({a}, {n}).to({x}.dtype)",
        tofloat="{a}.to({x}.dtype)",
        log_softmax="F.log_softmax({a}, dim={axis})",
        toindex="{a}.long()",
        mean_axes="{a}.mean(dim={axes})",
        mean_rest="{a}.reshape({a}.shape[0], math.prod({a}.shape[1:])).mean(dim=1)",
        numel="{a}.numel()",
        float32="{a}.float()",
        shift="F.pad({a}, (0, 1), value={v})[..., 1:]",
    ),
    "chainer": Idiom(
        framework="Chainer",
        imports=("import chainer", "import chainer.functions as F"),
        apis={
            "softmax_cross_entropy": ("import chainer.functions as F", "F.softmax_cross_entropy"),
            "sigmoid_cross_entropy": ("import chainer.functions as F", "F.sigmoid_cross_entropy"),
        },
        moveaxis="F.moveaxis({a}, {s}, {d})",
        expand="F.expand_dims({a}, {axis})",
        squeeze="F.squeeze({a}, {axis})",
        log_softmax="F.log_softmax({a}, axis={axis})",
        onehot="chainer.backend.get_array_module({x}).eye({n}, dtype={x}.dtype)[{a}]",
        toindex="{a}.astype('i')",
        sum="F.sum({a})",
        mean_axes="F.mean({a}, axis={axes})",
        mean_rest="F.mean(F.reshape({a}, ({a}.shape[0], math.prod({a}.shape[1:]))), axis=1)",
        numel="{a}.size",
        float32="F.cast({a}, 'float32')",
        shift="chainer.backend.get_array_module({a}).pad({a}, [(0, 0)] * ({a}.ndim - 1) + [(0, 1)], "
        "constant_values={v})[..., 1:]",
    ),
    "mxnet": Idiom(
        framework="MXNet Gluon",
        imports=("import mxnet as mx",),
        apis={
            "SoftmaxCrossEntropyLoss": ("from mxnet.gluon import loss as gloss", "gloss.SoftmaxCrossEntropyLoss"),
            "SoftmaxCELoss": ("from mxnet.gluon import loss as gloss", "gloss.SoftmaxCELoss"),
            "SigmoidBinaryCrossEntropyLoss": (
                "from mxnet.gluon import loss as gloss",
                "gloss.SigmoidBinaryCrossEntropyLoss",
            ),
            "SigmoidBCELoss": ("from mxnet.gluon import loss as gloss", "gloss.SigmoidBCELoss"),
        },
        moveaxis="mx.nd.moveaxis({a}, {s}, {d})",
        expand="mx.nd.expand_dims({a}, axis={axis})",
        squeeze="mx.nd.squeeze({a}, axis={axis})",
        log_softmax="mx.nd.log_softmax({a}, axis={axis})",
        onehot="mx.nd.one_hot({a}, {n}, dtype={x}.dtype)",
        mean_axes="{a}.mean(axis={axes})",
        float32="{a}.astype('float32')",
        shift=None,  # not written for MXNet (retired): shift the labels by hand
    ),
    "paddle": Idiom(
        framework="PaddlePaddle",
        imports=("import paddle",),
        apis={
            "softmax_with_cross_entropy": ("import paddle.nn.functional as F", "F.softmax_with_cross_entropy"),
            "cross_entropy": ("import paddle.nn.functional as F", "F.cross_entropy"),
            "CrossEntropyLoss": ("import paddle", "paddle.nn.CrossEntropyLoss"),
            "binary_cross_entropy_with_logits": (
                "import paddle.nn.functional as F",
                "F.binary_cross_entropy_with_logits",
            ),
        },
        moveaxis="paddle.moveaxis({a}, {s}, {d})",
        expand="paddle.unsqueeze({a}, {axis})",
        squeeze="paddle.squeeze({a}, {axis})",
        log_softmax="paddle.nn.functional.log_softmax({a}, axis={axis})",
        where0="{a} * {m}.astype({a}.dtype)",
        mean_rest="{a}.reshape([{a}.shape[0], math.prod({a}.shape[1:])]).mean(axis=1)",
        onehot="paddle.eye({n}, dtype={x}.dtype)[{a}]",
        mean_axes="{a}.mean(axis={axes})",
        numel="{a}.size",
        float32="{a}.astype('float32')",
        shift="paddle.concat([{a}, paddle.full([*{a}.shape[:-1], 1], {v}, dtype={a}.dtype)], axis=-1)[..., 1:]",
    ),
    "brainpy": Idiom(
        framework="BrainPy",
        imports=("import brainpy.math as bm",),
        apis={"CrossEntropyLoss": ("import brainpy as bp", "bp.losses.CrossEntropyLoss")},
        moveaxis="bm.moveaxis({a}, {s}, {d})",
        expand="bm.expand_dims({a}, {axis})",
        squeeze="bm.squeeze({a}, {axis})",
        log_softmax="bm.log_softmax({a}, axis={axis})",
        onehot="bm.eye({n}, dtype={x}.dtype)[{a}]",
        float32="{a}.astype(bm.float32)",
        shift=None,  # not written for BrainPy: shift the labels by hand
    ),
    "optax": Idiom(
        framework="Optax (JAX)",
        imports=("import jax", "import jax.numpy as jnp"),
        apis={
            n: ("import optax", f"optax.{n}")
            for n in (
                "softmax_cross_entropy_with_integer_labels",
                "softmax_cross_entropy",
                "safe_softmax_cross_entropy",
                "sigmoid_binary_cross_entropy",
            )
        },
        moveaxis="jnp.moveaxis({a}, {s}, {d})",
        expand="jnp.expand_dims({a}, {axis})",
        squeeze="jnp.squeeze({a}, {axis})",
        onehot="jax.nn.one_hot({a}, {n}, dtype={x}.dtype)",
        log_softmax="jax.nn.log_softmax({a}, axis={axis})",
        float32="{a}.astype(jnp.float32)",
        shift="jnp.pad({a}, [(0, 0)] * ({a}.ndim - 1) + [(0, 1)], constant_values={v})[..., 1:]",
    ),
    "mlx": Idiom(
        framework="MLX",
        imports=("import mlx.core as mx",),
        apis={
            "cross_entropy": ("import mlx.nn as nn", "nn.losses.cross_entropy"),
            "binary_cross_entropy": ("import mlx.nn as nn", "nn.losses.binary_cross_entropy"),
        },
        moveaxis="mx.moveaxis({a}, {s}, {d})",
        expand="mx.expand_dims({a}, {axis})",
        squeeze="mx.squeeze({a}, {axis})",
        onehot="mx.eye({n}, dtype={x}.dtype)[{a}]",
        log_softmax="{a} - mx.logsumexp({a}, axis={axis}, keepdims=True)",
        float32="{a}.astype(mx.float32)",
        shift="mx.pad({a}, [(0, 0)] * ({a}.ndim - 1) + [(0, 1)], constant_values={v})[..., 1:]",
    ),
}

#: A dialect without a declared idiom: NumPy operations around the unified_ce dialect itself.
FALLBACK = Idiom(framework="unified_ce (no idiom declared for this framework)", imports=_NP)


@functools.cache
def idiom(dialect: str) -> Idiom:
    """The :class:`Idiom` of a dialect (the module's ``PORT_IDIOM`` wins over :data:`IDIOMS`)."""
    own = getattr(_module(dialect), "PORT_IDIOM", None)
    if isinstance(own, Idiom):
        return own
    if isinstance(own, dict):
        return Idiom(**own)
    return IDIOMS.get(dialect, FALLBACK)


def _module(dialect: str) -> Any:
    return importlib.import_module(f"unified_ce.adapters.{dialect}")


@functools.cache
def _target_first(dialect: str) -> bool:
    return bool(getattr(importlib.import_module(f"unified_ce.adapters.{dialect}"), "TARGET_FIRST", False))


@dataclass(frozen=True)
class Api:
    """One loss API of a dialect: a function ``f(x, t, **kw)`` or a class ``C(**init)(x, t, **call)``."""

    dialect: str
    name: str
    obj: Any = field(repr=False, compare=False)
    is_class: bool = field(compare=False)
    init_params: tuple[inspect.Parameter, ...] = field(repr=False, compare=False)
    call_params: tuple[inspect.Parameter, ...] = field(repr=False, compare=False)

    @property
    def qualname(self) -> str:
        return f"{self.dialect}.{self.name}"

    @property
    def params(self) -> tuple[inspect.Parameter, ...]:
        return self.init_params + self.call_params

    @property
    def target_first(self) -> bool:
        """Whether the framework takes the target first (``tf.nn``: ``labels, logits``; Keras:
        ``y_true, y_pred``): the adapter module sets ``TARGET_FIRST = True``."""
        return _target_first(self.dialect)

    def pair(self, x: Any, t: Any) -> tuple[Any, Any]:
        """The logits and the target in the order the API takes them."""
        return (t, x) if self.target_first else (x, t)

    def param(self, name: str) -> inspect.Parameter:
        return next(p for p in self.params if p.name == name)

    def code_name(self) -> tuple[str, str, bool]:
        """``(import line, callable expression, declared)`` in the framework's idiom."""
        idm = idiom(self.dialect)
        if self.name in idm.apis:
            imp, expr = idm.apis[self.name]
            return imp, expr, True
        return f"from unified_ce.adapters import {self.dialect}", f"{self.dialect}.{self.name}", False


def _named(params: list[inspect.Parameter]) -> tuple[inspect.Parameter, ...]:
    return tuple(p for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))


@functools.cache
def apis(dialect: str) -> tuple[Api, ...]:
    """Every loss API of a dialect module, in ``__all__`` order, aliases left out (none where the module
    says ``PORTABLE = False``: its calls are more than logits and a target, e.g. a label shift)."""
    module = _module(dialect)
    if not getattr(module, "PORTABLE", True):
        return ()
    out: list[Api] = []
    seen: set[int] = set()
    names = list(getattr(module, "__all__", ()))
    # an alias (``SoftmaxCELoss = SoftmaxCrossEntropyLoss``) counts once, under the object's own name
    names.sort(key=lambda n: getattr(getattr(module, n), "__name__", n) != n)
    for name in names:
        obj = getattr(module, name)
        if id(obj) in seen:
            continue
        if isinstance(obj, DialectFunction):
            params = list(inspect.signature(obj.translate).parameters.values())[2:]
            out.append(Api(dialect, name, obj, False, (), _named(params)))
        elif inspect.isclass(obj) and issubclass(obj, DialectLoss):
            init = list(inspect.signature(obj.__init__).parameters.values())[1:]
            call = list(inspect.signature(obj._translate).parameters.values())[3:]
            out.append(Api(dialect, name, obj, True, _named(init), _named(call)))
        else:
            continue
        seen.add(id(obj))
    # the idiom's order first (its first API is the dialect's main one), then ``__all__``'s
    declared = list(idiom(dialect).apis)
    order = {n: i for i, n in enumerate(module.__all__)}
    return tuple(
        sorted(out, key=lambda a: (declared.index(a.name) if a.name in declared else len(declared), order[a.name]))
    )


@functools.cache
def dialects() -> tuple[str, ...]:
    """The dialects whose module imports (all of :data:`~unified_ce.adapters.DIALECTS`)."""
    out = []
    for d in DIALECTS:
        try:
            _module(d)
        except ImportError:  # pragma: no cover - a dialect module being added
            continue
        out.append(d)
    return tuple(out)


def find_api(name: str) -> Api:
    """``"dialect"`` (its first API) or ``"dialect.api"``; unknown names suggest the closest."""
    from .._errors import InvalidArgumentError
    from ._args import suggest

    dialect, _, api = name.partition(".")
    if dialect not in dialects():
        raise InvalidArgumentError(f"unknown dialect {dialect!r}{suggest(dialect, dialects())}")
    found = apis(dialect)
    if not found:  # e.g. cce: its loss takes embeddings and a classifier, not logits and a target
        why = getattr(_module(dialect), "PORTABLE_REASON", "")
        raise InvalidArgumentError(
            f"dialect {dialect!r} has no loss API of logits and a target to explain or port{why and ': ' + why}"
        )
    if not api:
        return found[0]
    for a in found:
        if a.name == api:
            return a
    obj = getattr(_module(dialect), api, None)  # an alias
    for a in found:
        if obj is not None and a.obj is obj:
            return a
    raise InvalidArgumentError(
        f"unknown {dialect} API {api!r}{suggest(api, [a.name for a in found])}; "
        f"the {dialect} dialect offers {', '.join(a.name for a in found)}"
    )

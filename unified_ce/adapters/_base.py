"""What every dialect shares: a translated call, and running it with or without the gradient.

A dialect's public function or loss class only *translates* its arguments into a :class:`Call`
(a :class:`~unified_ce.CrossEntropySpec` plus the arrays); this module runs it through the core.
No array math happens in a dialect.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib
import inspect
import re
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, Generic, ParamSpec, TypeVar, overload

from .. import _dispatch, core, distributed
from .._backend import as_array_like, namespace_of
from .._errors import FrameworkErrors, InvalidArgumentError, InvalidTypeError
from .._spec import CrossEntropySpec
from .._typing import Array, ArrayLike
from . import _modules

__all__ = [
    "Array",
    "ArrayLike",
    "Call",
    "DialectFunction",
    "DialectLoss",
    "ValueAndGrad",
    "check_choice",
    "dialect_function",
    "loss_call",
    "loss_value_and_grad",
]

#: what evaluating a :class:`Call` returns: ``Call[Array]`` is a call whose result is an array of
#: the logits' library (a translation annotated ``(input: Array, ...) -> Call[Array]``)
R = TypeVar("R")


@dataclass(slots=True)
class Call(Generic[R]):
    """A dialect call translated to the canonical form; ``Call[R]``: evaluating it returns an ``R``.

    ``with_softmax`` asks for ``(loss, softmax(logits))`` (Paddle's ``return_softmax``).  The type
    parameter is for type checkers only (``Call[Array]``: an array of the logits' library).

    Treat it as immutable.  It is not a frozen dataclass because every call of every dialect
    builds one: a frozen dataclass's ``__init__`` sets each field through ``object.__setattr__``
    (1.1 us for these eight fields, a quarter of a tiny ``F.cross_entropy``; slots: 0.4 us).
    """

    spec: CrossEntropySpec
    logits: Any
    target: Any
    class_weight: Any = None
    sample_weight: Any = None
    with_softmax: bool = False
    #: the dialect's names of the canonical arguments, e.g. ``(("logits", "input"), ("class_weight", "weight"))``,
    #: so that error messages name the argument the user passed
    names: tuple[tuple[str, str], ...] = ()
    #: ``False``: the gradient that torch autograd / JAX get cannot be differentiated again (a second
    #: differentiation raises ``RuntimeError``), as Chainer's ``enable_double_backprop=False``
    double_backprop: bool = True
    #: ``spec.denominator == "given"``: what the mean divides by (a number or a 0-d array)
    divisor: Any = None
    #: ``spec.class_mask``: the boolean class mask (optax's ``where``)
    class_mask: Any = None


_NAME_RE = re.compile(r"\b(logits|target|class_weight|sample_weight|divisor|class_mask)\b('s?)?")


def _renamed(call: Call[Any], exc: Exception) -> Exception:
    names = dict(call.names)

    def sub(m: re.Match[str]) -> str:
        new = names.get(m.group(1), m.group(1))
        return new + ("'s" if m.group(2) and not new.endswith("s") else (m.group(2) or ""))

    out = type(exc)(_NAME_RE.sub(sub, str(exc)))
    return out


@contextlib.contextmanager
def _dialect_names(call: Call[Any]) -> Iterator[None]:
    """Re-raise the core's argument errors with the dialect's argument names."""
    try:
        yield
    except (InvalidArgumentError, InvalidTypeError) as exc:
        if not call.names:
            raise
        raise _renamed(call, exc) from None


def _prepared(
    call: Call[Any], process_group: Any, class_shard: Any
) -> tuple[core.Inputs, core.Plan, Any, Callable[..., Any], Any]:
    """Validate a call: ``(inputs, plan, data-parallel group or None, local evaluation of inputs,
    layout)`` (the layout of several class axes, :mod:`unified_ce.core.layout`, or None)."""
    with _dialect_names(call):
        mask = call.class_mask
        if mask is not None:  # a NumPy mask (or a list) with another library's logits: a constant
            mask = as_array_like("class_mask", mask, namespace_of({"logits": call.logits}), call.logits)
        spec, logits, target, mask, layout = core.lay_out(call.spec, call.logits, call.target, mask)
        if mask is not None and (process_group is not None or class_shard is not None):
            raise InvalidArgumentError("a class mask (class_mask) is not evaluated over several processes")
        items, classes = distributed.hooks(spec, logits, process_group, class_shard)
        cw, sw = call.class_weight, call.sample_weight
        if cw is not None or sw is not None:  # NumPy arrays / lists given as weights: constants
            xp = namespace_of({"logits": logits})
            cw = as_array_like("class_weight", cw, xp, logits)
            sw = as_array_like("sample_weight", sw, xp, logits)
        inp, plan = _dispatch.prepare(spec, logits, target, cw, sw, call.divisor, classes=classes, class_mask=mask)

    def local(i: core.Inputs) -> Any:
        return _dispatch.evaluate(i, plan, logits, target, cw, sw, double_backprop=call.double_backprop)

    return inp, plan, items, local, layout


def run(call: Call[R], *, process_group: Any = None, class_shard: Any = None) -> R:
    """Evaluate a translated call (differentiable where the array library is).

    ``process_group`` / ``class_shard``: over several processes (:mod:`unified_ce.distributed`).
    """
    if process_group is None and class_shard is None and not call.with_softmax and call.divisor is None:
        out = _dispatch.direct(call)  # tiny calls: the framework's own op, when it computes the spec
        if out is not None:
            return out
    inp, plan, items, local, _ = _prepared(call, process_group, class_shard)
    out = local(inp) if items is None else distributed.evaluate(inp, plan, items, local)
    if call.with_softmax:  # a Call[tuple[Array, Array]]
        return out, _dispatch.softmax(inp, plan)  # type: ignore[return-value]
    return out


def run_with_grad(
    call: Call[R], grad_output: Any = None, *, process_group: Any = None, class_shard: Any = None
) -> tuple[R, Any]:
    """Evaluate a translated call and its analytic gradient with respect to the logits."""
    grad_output = _grad_output(call, grad_output)
    inp, plan, items, _, layout = _prepared(call, process_group, class_shard)
    if items is None:
        out, grad = _dispatch.evaluate_with_grad(inp, plan, grad_output)
    else:
        out, grad = distributed.evaluate_with_grad(inp, plan, items, grad_output, _dispatch.evaluate_with_grad)
    grad = core.grad_back(inp.xp, layout, grad)
    if call.with_softmax:
        return (out, _dispatch.softmax(inp, plan)), grad  # type: ignore[return-value]
    return out, grad


def _grad_output(call: Call[Any], grad_output: Any) -> Any:
    """``grad_output`` as an array of the logits' library and device: Python numbers, lists and NumPy
    arrays are converted (in the logits' dtype); an array of another library or device is refused,
    naming ``grad_output``.  Its shape is checked against the loss's once that is known."""
    if grad_output is None:
        return None
    xp = namespace_of({"logits": call.logits})
    converted = as_array_like("grad_output", grad_output, xp, call.logits)
    if converted is not grad_output and getattr(converted, "dtype", None) != call.logits.dtype:
        converted = xp.astype(converted, call.logits.dtype)
    namespace_of({"logits": call.logits, "grad_output": converted})
    if not hasattr(converted, "shape"):
        raise InvalidTypeError(f"grad_output must be an array or a number; got {type(grad_output).__name__}")
    return converted


def run_sum_and_denominator(call: Call[Any], *, process_group: Any = None, class_shard: Any = None) -> tuple[Any, Any]:
    """``(sum of the item losses, the mean's denominator)`` of a translated call whose reduction is
    a mean (see :func:`unified_ce.loss_sum_and_denominator`)."""
    inp, plan, items, local, _ = _prepared(call, process_group, class_shard)
    return distributed.sum_and_denominator(inp, plan, items, local)


C = TypeVar("C", bound=Callable[..., Any])


def spec_cache(maxsize: int) -> Callable[[C], C]:
    """``functools.lru_cache`` for a dialect's pure spec builder.

    Arguments that cannot be hashed (a list given where a number belongs) skip the cache, so that the
    builder's validation names the argument instead of failing with "unhashable type".
    """

    def decorate(build: C) -> C:
        cached = functools.lru_cache(maxsize=maxsize, typed=True)(build)  # True and 1 are different options

        @functools.wraps(build)
        def spec(*args: Any, **kwargs: Any) -> Any:
            try:  # one hash on the hot path (lru_cache's own); unhashable arguments raise TypeError
                return cached(*args, **kwargs)
            except TypeError:  # also a TypeError of the builder's validation: raised again, uncached
                return build(*args, **kwargs)

        spec.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
        spec.cache_info = cached.cache_info  # type: ignore[attr-defined]
        return spec  # type: ignore[return-value]

    return decorate


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise a clear error unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


P = ParamSpec("P")

#: the errors a dialect call may raise that its framework would raise with another class
_RETYPED = (InvalidArgumentError, InvalidTypeError)


def _framework_errors(module: str) -> FrameworkErrors | None:
    """The dialect module's ``FRAMEWORK_ERRORS`` table (see :class:`unified_ce._errors.FrameworkErrors`)."""
    return getattr(sys.modules.get(module), "FRAMEWORK_ERRORS", None)


def _result_annotation(translate: Callable[..., Any]) -> Any:
    """The annotation of what a translation's call evaluates to: ``"Array"`` for ``-> Call[Array]``."""
    ann = inspect.signature(translate).return_annotation
    if isinstance(ann, str) and ann.startswith("Call[") and ann.endswith("]"):
        return ann[len("Call[") : -1]
    return "Array" if ann in ("Call", Call) else ann


F = TypeVar("F", bound="DialectFunction[Any, Any]")


class DialectFunction(Generic[P, R]):
    """A dialect's public function: calling it computes the loss; ``.value_and_grad`` adds the gradient.

    Wraps a *translation* with the framework's exact signature that returns a :class:`Call`; a
    translation annotated ``(input: Array, ...) -> Call[Array]`` makes a function that type checkers
    see returning the input's array type (``inspect.signature`` shows ``-> Array``).
    ``fn.distributed(process_group=..., class_shard=...)`` is the same function evaluated over several
    processes (:mod:`unified_ce.distributed`); the framework's signature stays untouched.
    """

    __name__: str  # set by functools.update_wrapper
    __qualname__: str

    def __init__(self, translate: Callable[P, Call[R]], *, process_group: Any = None, class_shard: Any = None) -> None:
        self.translate = translate
        self.process_group = process_group
        self.class_shard = class_shard
        functools.update_wrapper(self, translate)
        # the framework's signature, returning an array of the input's library (not the translation's Call)
        self.__signature__ = inspect.signature(translate).replace(return_annotation=_result_annotation(translate))
        #: errors are also instances of the framework's exception class (the dialect's table)
        self.framework_errors = _framework_errors(translate.__module__)

    def _options(self) -> dict[str, Any]:
        return {"process_group": self.process_group, "class_shard": self.class_shard}

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            call = self.translate(*args, **kwargs)
            if self.process_group is None and self.class_shard is None:
                return run(call)
            return run(call, **self._options())
        except _RETYPED as exc:
            if self.framework_errors is not None:
                self.framework_errors.retype(exc)
            raise

    @overload
    def value_and_grad(self, *args: P.args, **kwargs: P.kwargs) -> tuple[R, R]: ...
    @overload
    def value_and_grad(self, *args: Any, grad_output: Any, **kwargs: Any) -> tuple[Any, Any]: ...
    def value_and_grad(self, *args: Any, grad_output: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` (``grad_output`` defaults to ones).

        Type checkers see the function's own arguments and ``(loss, gradient)`` of the logits' array
        type; a call that passes ``grad_output`` is typed ``tuple[Any, Any]`` (a typed signature cannot
        add a keyword to another function's parameters, PEP 612).
        """
        try:
            return run_with_grad(self.translate(*args, **kwargs), grad_output, **self._options())
        except _RETYPED as exc:
            if self.framework_errors is not None:
                self.framework_errors.retype(exc)
            raise

    def sum_and_denominator(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``(sum of the item losses, the denominator of the mean)`` for a call whose reduction is a
        mean, to add up over micro-batches (:func:`unified_ce.loss_sum_and_denominator`)."""
        try:
            return run_sum_and_denominator(self.translate(*args, **kwargs), **self._options())
        except _RETYPED as exc:
            if self.framework_errors is not None:
                self.framework_errors.retype(exc)
            raise

    def distributed(self: F, *, process_group: Any = None, class_shard: Any = None) -> F:
        """This function over several processes: ``process_group`` (data parallel: global sums and
        means) and / or ``class_shard`` (vocabulary parallel); see :mod:`unified_ce.distributed`."""
        return type(self)(self.translate, process_group=process_group, class_shard=class_shard)

    def __repr__(self) -> str:
        return f"<unified_ce dialect function {self.__module__}.{self.__name__}>"

    def __reduce__(self) -> tuple[Any, ...]:
        # by reference (module + name), so that a dialect function crosses into multiprocessing
        # workers, spawned processes and torch.save like the framework's own functions
        return (_load_dialect_function, (self.__module__, self.__qualname__, self.process_group, self.class_shard))


def _load_dialect_function(
    module: str, qualname: str, process_group: Any, class_shard: Any
) -> DialectFunction[..., Any]:
    fn: Any = importlib.import_module(module)
    for part in qualname.split("."):
        fn = getattr(fn, part)
    if process_group is None and class_shard is None:
        return fn  # type: ignore[no-any-return]
    return fn.distributed(process_group=process_group, class_shard=class_shard)  # type: ignore[no-any-return]


def dialect_function(translate: Callable[P, Call[R]]) -> DialectFunction[P, R]:
    """Decorator turning a translation into a :class:`DialectFunction`."""
    return DialectFunction(translate)


S = TypeVar("S", bound="DialectLoss")


def loss_call(translate: Callable[Concatenate[S, P], Call[R]]) -> Callable[Concatenate[S, P], R]:
    """A loss class's ``__call__`` with the signature of its translation: ``__call__ = loss_call(_translate)``.

    A copy of :meth:`DialectLoss._evaluate`'s code (it calls ``self._translate``, so subclasses may
    override the translation; no extra call per evaluation); what changes is what type checkers
    and ``inspect.signature`` see: ``_translate(self, input: Array, target) -> Call[Array]`` makes
    ``loss(x, t)`` an array of ``x``'s type.
    """

    ev = DialectLoss._evaluate
    __call__ = types.FunctionType(ev.__code__, ev.__globals__, "__call__", ev.__defaults__, ev.__closure__)
    __call__.__qualname__ = translate.__qualname__.rpartition(".")[0] + ".__call__"
    __call__.__module__ = translate.__module__
    __call__.__doc__ = ev.__doc__
    __call__.__signature__ = inspect.signature(translate).replace(  # type: ignore[attr-defined]
        return_annotation=_result_annotation(translate)
    )
    return __call__  # type: ignore[return-value]


class ValueAndGrad(Generic[P, R]):
    """What type checkers see as a loss object's ``value_and_grad``: the loss's own arguments, and
    ``(loss, gradient)`` of the logits' array type (``tuple[Any, Any]`` when ``grad_output`` is passed:
    a typed signature cannot add a keyword to another function's parameters, PEP 612)."""

    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> tuple[R, R]: ...
    @overload
    def __call__(self, *args: Any, grad_output: Any, **kwargs: Any) -> tuple[Any, Any]: ...
    def __call__(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:  # pragma: no cover - typing only
        raise NotImplementedError


class _ValueAndGradMethod(Generic[P, R]):
    """Type checkers only: the method ``loss_value_and_grad`` returns, bound on access."""

    def __get__(self, obj: object, owner: Any = None) -> ValueAndGrad[P, R]:  # pragma: no cover - typing only
        raise NotImplementedError


def loss_value_and_grad(translate: Callable[Concatenate[S, P], Call[R]]) -> _ValueAndGradMethod[P, R]:
    """A loss class's ``value_and_grad`` with the signature of its translation (plus ``grad_output``):
    ``value_and_grad = loss_value_and_grad(_translate)``, next to ``__call__ = loss_call(_translate)``.

    At run time it calls ``self._value_and_grad`` (:meth:`DialectLoss._value_and_grad`, or a
    subclass's) and shows the translation's signature; type checkers see ``loss.value_and_grad(x, t)``
    returning ``(loss, gradient)`` of ``x``'s array type.
    """

    def fn(self: DialectLoss, *args: Any, grad_output: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        return self._value_and_grad(*args, grad_output=grad_output, **kwargs)

    fn.__name__ = "value_and_grad"
    fn.__qualname__ = translate.__qualname__.rpartition(".")[0] + ".value_and_grad"
    fn.__module__ = translate.__module__
    fn.__doc__ = DialectLoss._value_and_grad.__doc__
    sig = inspect.signature(translate)
    grad_output = inspect.Parameter("grad_output", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="Any")
    params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [grad_output, *(p for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD)]
    result = _result_annotation(translate)
    fn.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=params, return_annotation=f"tuple[{result}, {result}]"
    )
    return fn  # type: ignore[return-value]


L = TypeVar("L", bound="DialectLoss")


class DialectLoss:
    """Base of a dialect's loss class: subclasses implement ``_translate(*args, **kwargs) -> Call``.

    ``process_group`` and ``class_shard`` (settable attributes, ``None`` by default) evaluate the loss
    over several processes (:mod:`unified_ce.distributed`); ``loss.distributed(...)`` returns a copy
    with them set.
    """

    #: the framework whose module class (``torch.nn.Module``) this loss also is while that framework
    #: is imported, and the attributes that are then registered buffers (see ``_modules``)
    _framework: ClassVar[str | None] = None
    _buffers: ClassVar[tuple[str, ...]] = ()
    _is_framework_class: ClassVar[bool] = False

    #: data parallelism: a torch.distributed process group whose processes hold the other items
    process_group: Any = None
    #: vocabulary parallelism: a :class:`unified_ce.distributed.ClassShard`
    class_shard: Any = None
    #: errors are also instances of the framework's exception class (the dialect module's table)
    framework_errors: FrameworkErrors | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        module = sys.modules.get(cls.__module__)
        if "_framework" not in cls.__dict__ and getattr(module, "MODULE_CLASS", None) is not None:
            # the dialect module names its framework's module class (torch: every loss is an nn.Module)
            cls._framework = module.MODULE_CLASS  # type: ignore[union-attr]
            cls._buffers = tuple(getattr(module, "MODULE_BUFFERS", ()))
        table = _framework_errors(cls.__module__)
        init = cls.__dict__.get("__init__")
        if table is None:
            return
        cls.framework_errors = table
        if init is not None:  # construction errors too (a bad reduction name, ...)

            @functools.wraps(init)
            def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
                try:
                    init(self, *args, **kwargs)
                except _RETYPED as exc:
                    table.retype(exc)
                    raise

            cls.__init__ = __init__  # type: ignore[method-assign]

    def __new__(cls: type[L], *args: Any, **kwargs: Any) -> L:  # an instance of cls (or of its framework class)
        if not cls._is_framework_class and _modules.framework_in_use(cls._framework):
            cls = _modules.framework_class(cls)
        return object.__new__(cls)

    def _translate(self, *args: Any, **kwargs: Any) -> Call[Any]:  # pragma: no cover - abstract
        """The dialect's call translated; ``__call__ = loss_call(_translate)`` below it in a subclass."""
        raise NotImplementedError

    def _options(self) -> dict[str, Any]:
        return {"process_group": self.process_group, "class_shard": self.class_shard}

    def _evaluate(self, *args: Any, **kwargs: Any) -> Any:
        """Evaluate the loss on the arrays (the arguments of the dialect's call)."""
        try:
            call = self._translate(*args, **kwargs)
            if self.process_group is None and self.class_shard is None:
                return run(call)
            return run(call, **self._options())
        except _RETYPED as exc:
            if self.framework_errors is not None:
                self.framework_errors.retype(exc)
            raise

    if not TYPE_CHECKING:  # a subclass's own ``__call__ = loss_call(_translate)`` is what type checkers see
        __call__ = _evaluate

    def _value_and_grad(self, *args: Any, grad_output: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` (``grad_output`` defaults to ones)."""
        try:
            return run_with_grad(self._translate(*args, **kwargs), grad_output, **self._options())
        except _RETYPED as exc:
            if self.framework_errors is not None:
                self.framework_errors.retype(exc)
            raise

    if not TYPE_CHECKING:  # type checkers see a subclass's ``value_and_grad = loss_value_and_grad(_translate)``
        value_and_grad = _value_and_grad

    def sum_and_denominator(self, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``(sum of the item losses, the denominator of the mean)`` for a loss whose reduction is a
        mean, to add up over micro-batches (:func:`unified_ce.loss_sum_and_denominator`)."""
        try:
            return run_sum_and_denominator(self._translate(*args, **kwargs), **self._options())
        except _RETYPED as exc:
            if self.framework_errors is not None:
                self.framework_errors.retype(exc)
            raise

    def distributed(self: L, *, process_group: Any = None, class_shard: Any = None) -> L:
        """A copy of this loss evaluated over several processes (see the class docstring)."""
        new = copy.copy(self)
        new.process_group = process_group
        new.class_shard = class_shard
        return new

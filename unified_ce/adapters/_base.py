"""What every dialect shares: a translated call, and running it with or without the gradient.

A dialect's public function or loss class only *translates* its arguments into a :class:`Call`
(a :class:`~unified_ce.CrossEntropySpec` plus the arrays); this module runs it through the core.
No array math happens in a dialect.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .. import _core
from .._autodiff import evaluate, evaluate_with_grad
from .._backend import as_array_like, namespace_of
from .._errors import InvalidArgumentError, InvalidTypeError
from .._spec import CrossEntropySpec

__all__ = ["Call", "DialectFunction", "DialectLoss", "check_choice", "dialect_function"]


@dataclass(frozen=True)
class Call:
    """A dialect call translated to the canonical form.

    ``with_softmax`` asks for ``(loss, softmax(logits))`` (Paddle's ``return_softmax``).
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


_NAME_RE = re.compile(r"\b(logits|target|class_weight|sample_weight)\b('s?)?")


def _renamed(call: Call, exc: Exception) -> Exception:
    names = dict(call.names)

    def sub(m: re.Match[str]) -> str:
        new = names.get(m.group(1), m.group(1))
        return new + ("'s" if m.group(2) and not new.endswith("s") else (m.group(2) or ""))

    out = type(exc)(_NAME_RE.sub(sub, str(exc)))
    return out


@contextlib.contextmanager
def _dialect_names(call: Call) -> Iterator[None]:
    """Re-raise the core's argument errors with the dialect's argument names."""
    try:
        yield
    except (InvalidArgumentError, InvalidTypeError) as exc:
        if not call.names:
            raise
        raise _renamed(call, exc) from None


def _inputs(call: Call) -> tuple[_core.Inputs, Any, Any]:
    cw, sw = call.class_weight, call.sample_weight
    if cw is not None or sw is not None:
        xp = namespace_of({"logits": call.logits})
        cw = as_array_like("class_weight", cw, xp, call.logits)
        sw = as_array_like("sample_weight", sw, xp, call.logits)
    return _core.prepare(call.spec, call.logits, call.target, cw, sw), cw, sw


def run(call: Call) -> Any:
    """Evaluate a translated call (differentiable where the array library is)."""
    with _dialect_names(call):
        inp, cw, sw = _inputs(call)
    out = evaluate(inp, call.logits, call.target, cw, sw, double_backprop=call.double_backprop)
    if call.with_softmax:
        return out, _core.softmax(inp)
    return out


def run_with_grad(call: Call, grad_output: Any = None) -> tuple[Any, Any]:
    """Evaluate a translated call and its analytic gradient with respect to the logits."""
    with _dialect_names(call):
        inp, _, _ = _inputs(call)
    out, grad = evaluate_with_grad(inp, grad_output)
    if call.with_softmax:
        return (out, _core.softmax(inp)), grad
    return out, grad


def check_choice(name: str, value: Any, choices: tuple[Any, ...]) -> None:
    """Raise a clear error unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise InvalidArgumentError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


F = TypeVar("F", bound=Callable[..., Call])


class DialectFunction(Generic[F]):
    """A dialect's public function: calling it computes the loss; ``.value_and_grad`` adds the gradient.

    Wraps a *translation* with the framework's exact signature that returns a :class:`Call`.
    """

    def __init__(self, translate: F) -> None:
        self.translate = translate
        functools.update_wrapper(self, translate)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return run(self.translate(*args, **kwargs))

    def value_and_grad(self, *args: Any, grad_output: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` (``grad_output`` defaults to ones)."""
        return run_with_grad(self.translate(*args, **kwargs), grad_output)

    def __repr__(self) -> str:
        return f"<unified_ce dialect function {self.__module__}.{self.__name__}>"


def dialect_function(translate: F) -> DialectFunction[F]:
    """Decorator turning a translation into a :class:`DialectFunction`."""
    return DialectFunction(translate)


class DialectLoss:
    """Base of a dialect's loss class: subclasses implement ``_translate(*args, **kwargs) -> Call``."""

    def _translate(self, *args: Any, **kwargs: Any) -> Call:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return run(self._translate(*args, **kwargs))

    def value_and_grad(self, *args: Any, grad_output: Any = None, **kwargs: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` (``grad_output`` defaults to ones)."""
        return run_with_grad(self._translate(*args, **kwargs), grad_output)

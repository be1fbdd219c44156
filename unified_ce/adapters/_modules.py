"""Dialect loss objects that also are the framework's own module class, when that framework is in use.

A PyTorch user expects ``CrossEntropyLoss(weight=w)`` to be a ``torch.nn.Module``: ``weight`` a
registered buffer (in ``state_dict``, moved by ``.to()`` / ``.cuda()``), ``train()`` / ``eval()``,
forward hooks.  A NumPy user must not pay for importing torch.  So a dialect loss class that names
its framework (``_framework = "torch"``) is created as a subclass that mixes in ``torch.nn.Module``
when -- and only when -- that framework is already imported (it is, whenever its arrays exist);
otherwise it stays a plain Python object.  Either way ``isinstance(loss, <dialect class>)`` holds
and the loss works on every array library.

The mixed classes are reachable by name from this module (``_modules.torch_CrossEntropyLoss``), so
pickling (``torch.save``, multiprocessing) works.  Which dialects do this, and why the others do
not, is documented in ``docs/reliability.md``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

__all__ = ["framework_class", "framework_in_use"]

#: framework -> (module, attribute) of its module base class
_BASES = {"torch": ("torch.nn", "Module")}
_CLASSES: dict[type, type] = {}


def framework_in_use(framework: str | None) -> bool:
    """Whether ``framework`` is imported (never imports it)."""
    return framework is not None and framework in sys.modules


def _name(base: type) -> str:
    return f"{base.__module__.rsplit('.', 1)[-1]}_{base.__qualname__}"


def framework_class(base: type) -> type:
    """``base`` with the framework's module class mixed in (cached; the framework must be imported)."""
    cls = _CLASSES.get(base)
    if cls is not None:
        return cls
    module, attr = _BASES[base._framework]  # type: ignore[attr-defined]
    module_base = getattr(importlib.import_module(module), attr)
    buffers: tuple[str, ...] = base._buffers  # type: ignore[attr-defined]

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        module_base.__init__(self)
        base.__init__(self, *args, **kwargs)  # type: ignore[misc]
        for name in buffers:  # tensors (and None) become registered buffers, as in the framework
            value = self.__dict__.get(name)
            if value is None or _is_tensor(value):
                self.__dict__.pop(name, None)
                self.register_buffer(name, value)

    __init__.__signature__ = inspect.signature(base.__init__)  # type: ignore[attr-defined,misc]  # the dialect's constructor
    name = _name(base)
    cls = type(
        name,
        (base, module_base),
        {
            "__init__": __init__,
            "forward": base.__call__,  # the loss's own evaluation (one frame less per call than a wrapper)
            "__call__": module_base.__call__,  # hooks, then forward
            "__repr__": base.__repr__,
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": base.__doc__,
            "_is_framework_class": True,
            "__signature__": _CallSignature(base.__call__),
            **{b: _Buffer(b, module_base) for b in buffers},
        },
    )
    cls.__name__ = base.__name__  # type(loss).__name__ as in the framework; __qualname__ finds it for pickle
    _CLASSES[base] = cls
    return cls


class _CallSignature:
    """``inspect.signature(loss)`` of a framework-module loss: the loss's own typed call (the module
    class's ``__call__`` is ``(*args, **kwargs)``); on the class itself ``None``, so
    ``inspect.signature(type(loss))`` stays the constructor's."""

    def __init__(self, call: Any) -> None:
        self.call = call

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return None
        return inspect.signature(self.call.__get__(obj))


class _Buffer:
    """Reads the registered buffer ``name`` without ``torch.nn.Module.__getattr__`` (a non-data
    descriptor: the loss reads its ``weight`` at every call, and the module's fallback lookup costs
    about a tenth of a tiny native call).  Assignments are ``Module.__setattr__``'s as before (a
    buffer's new value goes to ``_buffers``); a name that is not a buffer any more -- deleted, or
    made a parameter -- is looked up as the module would."""

    def __init__(self, name: str, module_base: type) -> None:
        self.name = name
        self.fallback = module_base.__getattr__  # type: ignore[attr-defined]

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        try:
            return obj.__dict__["_buffers"][self.name]
        except KeyError:
            return self.fallback(obj, self.name)


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def __getattr__(name: str) -> type:  # unpickling: rebuild a mixed class from its name
    dialect, _, qualname = name.partition("_")
    if not dialect.isidentifier() or not dialect.islower() or not qualname[:1].isupper():
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        base = getattr(importlib.import_module(f"{__package__}.{dialect}"), qualname)
    except (ImportError, AttributeError) as exc:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from exc
    return framework_class(base)

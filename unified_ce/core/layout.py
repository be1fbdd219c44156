# Math: none -- the arrays' layout before the stages.  With several class axes (spec.class_axes) the
# classes are the elements of those axes: the logits (and a probability target, a class mask) are
# moved to (other axes..., class axes in the order listed) and the class axes flattened in C order,
# so that every later stage sees one class axis, the last.  A class mask of the per-item shape is
# expanded along the class axes; a broadcastable probability target (spec.broadcast_target) is
# broadcast to the logits' shape.  Gradient: the inverse of a permutation and a reshape -- the
# gradient of the flattened logits reshaped and moved back (grad_back); torch autograd and JAX
# differentiate the library's own permute / reshape / broadcast operations.
"""Layout: several class axes flattened into one, class masks expanded, targets broadcast."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from .._backend import namespace_of
from .._errors import InvalidArgumentError, InvalidTypeError
from .._spec import CrossEntropySpec

__all__ = ["Layout", "grad_back", "lay_out"]


@dataclass(frozen=True)
class Layout:
    """A cached recipe: how the logits are moved and flattened (and how their gradient goes back)."""

    perm: tuple[int, ...]  # (other axes..., class axes as listed)
    moved_shape: tuple[int, ...]  # the logits' shape after the permutation
    flat_shape: tuple[int, ...]  # (other axes..., number of classes)
    inverse: tuple[int, ...]  # the permutation back
    class_axes: tuple[int, ...]  # non-negative


@functools.lru_cache(maxsize=256)
def recipe(class_axes: tuple[int, ...], shape: tuple[int, ...]) -> Layout:
    """The layout of logits of ``shape`` with the classes along ``class_axes`` (checked here)."""
    nd = len(shape)
    axes = []
    for a in class_axes:
        if not -nd <= a < nd:
            raise InvalidArgumentError(
                f"class_axes={class_axes}: axis {a} is out of bounds for logits of {nd} dimensions"
            )
        axes.append(a % nd)
    if len(set(axes)) != len(axes):
        raise InvalidArgumentError(f"class_axes={class_axes}: repeated axis")
    rest = tuple(i for i in range(nd) if i not in axes)
    perm = rest + tuple(axes)
    moved = tuple(shape[i] for i in perm)
    flat = (*tuple(shape[i] for i in rest), math.prod(shape[i] for i in axes))
    inverse = tuple(perm.index(i) for i in range(nd))
    return Layout(perm, moved, flat, inverse, tuple(axes))


def _fits(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether ``shape`` broadcasts to ``target`` without enlarging it."""
    return len(shape) <= len(target) and all(s in (1, t) for s, t in zip(shape[::-1], target[::-1]))


def lay_out(
    spec: CrossEntropySpec, logits: Any, target: Any, class_mask: Any
) -> tuple[CrossEntropySpec, Any, Any, Any, Layout | None]:
    """``(spec, logits, target, class_mask, layout)`` as the later stages read them.

    The spec returned has one class axis (``class_axes=None``) and no ``broadcast_target``; ``layout``
    is None when the logits keep their layout.  Arrays are only viewed, moved, reshaped and broadcast
    with their own library's operations (differentiable where the library is).
    """
    if not (spec.mask_classes or spec.class_axes is not None or spec.broadcast_target):
        if class_mask is not None:
            raise InvalidArgumentError("class_mask was given, but the spec has mask_classes=False")
        return spec, logits, target, None, None
    shape = tuple(logits.shape)
    xp = namespace_of({"logits": logits, "target": target, "class_mask": class_mask})
    if spec.broadcast_target and (spec.target == "probs" or spec.activation == "sigmoid") and hasattr(target, "shape"):
        tshape = tuple(target.shape)
        if tshape != shape and _fits(tshape, shape):
            target = xp.broadcast_to(target, shape)
    axes = (spec.axis,) if spec.class_axes is None else spec.class_axes
    layout = recipe(axes, shape) if spec.class_axes is not None and len(shape) else None
    if spec.mask_classes:
        class_mask = _mask(xp, class_mask, shape, axes if layout is None else layout.class_axes)
    elif class_mask is not None:
        raise InvalidArgumentError("class_mask was given, but the spec has mask_classes=False")
    new = spec.replace(class_axes=None, broadcast_target=False, **({"axis": -1} if layout is not None else {}))
    if layout is None:
        return new, logits, target, class_mask, None
    logits = _flatten(xp, logits, layout)
    if spec.target == "probs" and tuple(getattr(target, "shape", ())) == shape:
        target = _flatten(xp, target, layout)
    if class_mask is not None:
        class_mask = _flatten(xp, class_mask, layout)
    return new, logits, target, class_mask, layout


def _mask(xp: Any, mask: Any, shape: tuple[int, ...], axes: tuple[int, ...]) -> Any:
    """The class mask at the logits' shape: one of the per-item shape is expanded along the class axes."""
    if mask is None:
        raise InvalidArgumentError("class_mask must be given (a boolean array): the spec has mask_classes=True")
    if not hasattr(mask, "dtype") or mask.dtype != xp.bool:
        raise InvalidTypeError(f"class_mask must be a boolean array; got {getattr(mask, 'dtype', type(mask))}")
    mshape = tuple(mask.shape)
    if len(mshape) != len(shape) and len(shape):
        nd = len(shape)
        keep = [i for i in range(nd) if i not in {a % nd for a in axes}]
        if len(mshape) == len(keep):  # one flag per item: expanded along the class axes
            full = [1] * nd
            for i, s in zip(keep, mshape):
                full[i] = s
            mask = xp.reshape(mask, tuple(full))
            mshape = tuple(full)
    if not (len(mshape) == len(shape) and _fits(mshape, shape)):
        raise InvalidArgumentError(
            f"class_mask of shape {tuple(mask.shape)} must broadcast to the logits' shape {shape} or have "
            "the logits' shape without the class axes (one flag per item)"
        )
    return mask if mshape == shape else xp.broadcast_to(mask, shape)


def _flatten(xp: Any, a: Any, layout: Layout) -> Any:
    if layout.perm != tuple(range(len(layout.perm))):
        a = xp.permute_dims(a, layout.perm)
    return xp.reshape(a, layout.flat_shape)


def grad_back(xp: Any, layout: Layout | None, grad: Any) -> Any:
    """The gradient of the flattened logits, in the logits' own layout."""
    if layout is None:
        return grad
    grad = xp.reshape(grad, layout.moved_shape)
    if layout.inverse != tuple(range(len(layout.inverse))):
        grad = xp.permute_dims(grad, layout.inverse)
    return grad

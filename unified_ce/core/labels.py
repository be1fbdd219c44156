# Math: none -- the value checks of CrossEntropySpec's domain that read the arrays: every label y
# in [0, C) or equal to ignore_index, every probability distribution summing to 1 when the spec
# asks for it.  Run eagerly on concrete arrays only (validate.py decides when).
"""Value checks of the targets (eager arrays): labels in range, distributions that sum to one; the divisor."""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from .._backend import is_floating, is_integer, is_jax, is_lazy, is_torch, namespace_of
from .._errors import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from .._spec import CrossEntropySpec
from .inputs import holds_ignore, index_dtype, sum_tol

__all__ = ["check_class_mask", "check_divisor", "check_labels", "check_probs_sum", "effective_spec"]


def check_class_mask(h: Any, class_mask: Any) -> None:
    """``spec.mask_classes``: the boolean class mask, checked and brought to the logits' shape by :mod:`.layout`."""
    if h.spec.mask_classes != (class_mask is not None):
        raise InvalidArgumentError("class_mask must be given exactly when the spec has mask_classes=True")
    h.cm = class_mask


def check_divisor(h: Any, divisor: Any) -> None:
    """``denominator="given"``: the divisor as a 0-d array of the compute dtype (``h.den``; validate's Head).

    A real number or a 0-d real array of the logits' library; 0 only when there is nothing to count
    (0/0 = nan), checked on eager arrays (lazily the mean is NaN instead, see ``reduce.denominator_total``).
    """
    h.den = _divisor(h.xp, h.spec, divisor, h.logits, h.t, h.cdtype, h.device, h.check_values and not h.lazy)


def _divisor(xp: Any, spec: CrossEntropySpec, divisor: Any, logits: Any, t: Any, cdtype: Any, device: Any,
             read: bool) -> Any:  # fmt: skip
    if (divisor is None) == (spec.denominator == "given" and spec.reduction == "mean"):
        raise InvalidArgumentError(
            "divisor (a number or a 0-d array) is given exactly when reduction='mean' and denominator='given'; "
            f"got divisor={'None' if divisor is None else 'given'}, reduction={spec.reduction!r}, "
            f"denominator={spec.denominator!r}"
        )
    if divisor is None:
        return None
    if hasattr(divisor, "shape") and not isinstance(divisor, np.generic):
        namespace_of({"logits": logits, "divisor": divisor})  # one array library and device
        if tuple(divisor.shape) != () or not (is_integer(xp, divisor.dtype) or is_floating(xp, divisor.dtype)):
            raise InvalidArgumentError(
                f"divisor must be a real number or a 0-d real array; got shape {tuple(divisor.shape)}, {divisor.dtype}"
            )
        den = divisor if divisor.dtype == cdtype else xp.astype(divisor, cdtype)
    elif isinstance(divisor, (bool, np.bool_)) or not isinstance(divisor, (int, float, np.integer, np.floating)):
        raise InvalidTypeError(f"divisor must be a real number or a 0-d real array; got {divisor!r}")
    else:
        den = xp.asarray(float(divisor), dtype=cdtype, device=device)
    if read and not is_lazy(den) and float(den) == 0:
        counted = math.prod(t.shape)
        if spec.uses_ignore and counted:
            counted = int(xp.sum(xp.astype(t != spec.ignore_index, xp.int64)))
        if counted:
            raise InvalidArgumentError(
                f"divisor is 0 but {counted} items are not ignored (their mean would be inf); "
                "0 is valid only when every item is ignored (0/0 = nan)"
            )
    return den


def check_labels(xp: Any, spec: CrossEntropySpec, t: Any, n_classes: int) -> bool:
    """Raise unless every label is in ``[0, n_classes)`` or ``ignore_index``.

    Returns whether it is known that no label equals ``ignore_index`` (then no mask is needed).
    ``spec.ignore_index`` must be representable in ``t``'s dtype (see :func:`effective_spec`).
    """
    if math.prod(t.shape) == 0:  # no labels (callers' ``target.size`` is a method on torch tensors)
        return False
    given = t
    if is_jax(t):  # on the host (labels are O(items)): eager JAX would compile min / max per new shape
        t = np.asarray(t)
        xp = array_api_compat.array_namespace(t)
    if is_torch(t) and t.dtype in _torch_wide_unsigned(t):  # torch has no min / compare for these
        t = t.to(xp.int64)  # uint64 labels >= 2**63 wrap to negative values: out of range below
    if is_torch(t) and t.dtype != xp.bool:  # the common case in one reduction: every label in range
        lo, hi = (float(v) for v in t.aminmax())
    else:
        lo, hi = float(xp.min(t)), float(xp.max(t))
    if 0 <= lo and hi < n_classes:
        ig = spec.ignore_index
        return not (spec.uses_ignore and ig is not None and lo <= ig <= hi)
    if not holds_ignore(xp, spec, t):  # no label can equal ignore_index; compare in a wider dtype
        t = xp.astype(t, xp.int64)
    bad = (t < 0) | (t >= n_classes)
    if spec.uses_ignore:
        bad = bad & (t != spec.ignore_index)
    if bool(xp.any(bad)):
        lo_, hi_ = _label_range(given)
        ign = f" (other than ignore_index={spec.ignore_index})" if spec.uses_ignore else ""
        what = "class labels" if spec.activation == "softmax" else "binary labels"
        raise LabelOutOfRangeError(
            f"target holds {what} outside [0, {n_classes}){ign} (labels range from {lo_} to {hi_})"
        )
    return False


def effective_spec(xp: Any, spec: CrossEntropySpec, t: Any) -> CrossEntropySpec:
    """``spec`` without its ignore value when no label of ``t``'s integer dtype can equal it.

    ``ignore_index=2**70`` (or -100 with uint8 labels, or 2**31 with JAX's int32 labels) ignores
    nothing; dropping it is exact and keeps the value out of comparisons that would overflow.
    """
    if not spec.uses_ignore or not is_integer(xp, t.dtype):
        return spec
    ig = spec.ignore_index
    fits = holds_ignore(xp, spec, t)
    if fits and is_jax(t):  # JAX compares in int32 without x64 (index_dtype)
        info = xp.iinfo(index_dtype(xp, t))
        fits = info.min <= ig <= info.max  # type: ignore[operator]
    return spec if fits else spec.replace(ignore_index=None)


def _torch_wide_unsigned(t: Any) -> tuple[Any, ...]:
    import torch  # only reached with a torch tensor in hand

    return tuple(getattr(torch, n) for n in ("uint16", "uint32", "uint64") if hasattr(torch, n))


def _label_range(t: Any) -> tuple[Any, Any]:
    """The smallest and largest label as Python numbers, in the labels' own dtype (error messages only)."""
    a = np.asarray(t.detach().cpu()) if is_torch(t) else np.asarray(t) if is_jax(t) else t
    xp = array_api_compat.array_namespace(a)
    lo, hi = xp.min(a), xp.max(a)
    return (int(lo), int(hi)) if is_integer(xp, a.dtype) else (float(lo), float(hi))


def check_probs_sum(xp: Any, spec: CrossEntropySpec, t: Any, axis: int, dtype: Any, classes: Any) -> None:
    """Raise unless every distribution of ``t`` along ``axis`` sums to 1 within sqrt(eps) of ``dtype``."""
    sums = xp.sum(t, axis=axis)
    sums = sums if classes is None else classes.sum(sums)
    tol = sum_tol(xp, dtype)
    if bool(xp.any(xp.abs(sums - 1.0) > tol)):
        raise InvalidArgumentError(
            f"target of probabilities must sum to 1 along axis {spec.axis} (within {tol:.1e}); got sums "
            f"from {float(xp.min(sums))} to {float(xp.max(sums))}"
        )

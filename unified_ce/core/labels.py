# Math: none -- the value checks of CrossEntropySpec's domain that read the arrays: every label y
# in [0, C) or equal to ignore_index, every probability distribution summing to 1 when the spec
# asks for it.  Run eagerly on concrete arrays only (validate.py decides when).
"""Value checks of the targets (eager arrays): labels in range, distributions that sum to one."""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from .._backend import is_integer, is_jax, is_torch
from .._errors import InvalidArgumentError, LabelOutOfRangeError
from .._spec import CrossEntropySpec
from .inputs import holds_ignore, sum_tol

__all__ = ["check_labels", "check_probs_sum"]


def check_labels(xp: Any, spec: CrossEntropySpec, t: Any, n_classes: int) -> bool:
    """Raise unless every label is in ``[0, n_classes)`` or ``ignore_index``.

    Returns whether it is known that no label equals ``ignore_index`` (then no mask is needed).
    """
    if math.prod(t.shape) == 0:  # no labels (callers' ``target.size`` is a method on torch tensors)
        return False
    if is_jax(t):  # on the host (labels are O(items)): eager JAX would compile min / max per new shape
        t = np.asarray(t)
        xp = array_api_compat.array_namespace(t)
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
        lo, hi = xp.min(t), xp.max(t)
        lo, hi = (int(lo), int(hi)) if is_integer(xp, t.dtype) else (float(lo), float(hi))
        ign = f" (other than ignore_index={spec.ignore_index})" if spec.uses_ignore else ""
        what = "class labels" if spec.activation == "softmax" else "binary labels"
        raise LabelOutOfRangeError(
            f"target holds {what} outside [0, {n_classes}){ign} (labels range from {lo} to {hi})"
        )
    return False


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

"""Tiny NumPy calls in a handful of ufunc calls: the reference core's arithmetic without its machinery.

On an 8 x 10 input the loss itself is a few microseconds of NumPy; the general path (namespace and
dtype resolution, the :class:`~unified_ce.core.Inputs` record, the plan, the target parts, the
reductions' bookkeeping) costs several times that in Python.  For the common tiny call -- a 2-D
float32 / float64 ``ndarray`` of logits with the classes on the last axis, integer class indices,
no weights -- :func:`direct` computes the same numbers with the same operations in the same order
as the reference core (``m = max x``, ``ls = log sum exp(x - m)``, item loss ``ls + (m - x_t)``,
ignored items 0, ``sum / denominator``), after the same checks:

* the label range in one reduction: the labels viewed as unsigned integers (a negative label is a
  huge one), their maximum over the items that are not ``ignore_index`` must be below ``C``;
* anything else -- another dtype or shape, weights, a spec field this path does not evaluate, a
  label out of range, every item ignored -- returns ``None``, and the full path validates the call
  and raises its error (naming the argument) or computes it.

So the path changes the cost of a call, never its outcome.  ``tests/test_numpy_tiny.py`` compares
it with the reference core (``UNIFIED_CE_KERNEL=reference``) and with the float64 reference of
``tests/reference.py`` across a table of specs, and checks that every invalid input still raises.
It is chosen by :func:`unified_ce._dispatch.direct` before any validation, as the torch dialect's
tiny calls are handed to ``F.cross_entropy`` (:func:`unified_ce.kernels._torch_cpu.direct`);
larger inputs take the core's eager fast path (:mod:`unified_ce.core.fastpath`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .._spec import CrossEntropySpec
from . import auto_requested

__all__ = ["MAX_LOGITS", "direct"]

#: Calls with at most this many logits take the direct path; above, the per-call Python work the
#: path saves is small next to the arithmetic, and the core's blocked fast path reads less memory.
MAX_LOGITS = 1 << 14

#: the spec fields this path evaluates (beyond their defaults); every other field must keep its default
_EVALUATED = frozenset(
    {
        "axis",
        "ignore_index",
        "reduction",
        "denominator",
        "zero_denominator",
        "keepdims",
        # probability-target options: no effect on class-index targets
        "probs_nonnegative",
        "probs_sum_to_one",
        "soft_loss",
        "kl_eps",
    }
)
_OTHER_FIELDS = tuple(f for f in dataclasses.fields(CrossEntropySpec) if f.name not in _EVALUATED)
#: denominators that are the number of non-ignored items when there are no class weights
_COUNT_DENOMINATORS = ("valid", "items", "label_weight", "item_weight")


def _plan(spec: CrossEntropySpec) -> tuple[Any, str, bool, bool, bool] | None:
    """``(ignore_index, reduction, keepdims, the mean divides by all items, zero_denominator ==
    "zero")`` for a spec this path evaluates on 2-D logits with the classes last, else None."""
    if (
        any(getattr(spec, f.name) != f.default for f in _OTHER_FIELDS)
        or spec.target != "index"
        or spec.axis not in (-1, 1)
        or spec.reduction not in ("none", "sum", "mean")
        or (spec.reduction == "mean" and spec.denominator not in _COUNT_DENOMINATORS)
    ):
        return None
    all_items = spec.denominator == "items"  # ignored items count too
    return spec.ignore_index, spec.reduction, spec.keepdims, all_items, spec.zero_denominator == "zero"


#: ``id(spec) -> (spec, plan)`` (an identity cache: a spec's hash costs more than this whole
#: lookup; the entry keeps its spec alive, so an id is not reused while cached)
_PLANS: dict[int, tuple[CrossEntropySpec, Any]] = {}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: signed label dtype -> (the unsigned dtype of its size, its smallest and largest value)
_SIGNED: dict[Any, tuple[Any, int, int]] = {
    np.dtype(t): (np.dtype(u), int(np.iinfo(t).min), int(np.iinfo(t).max))
    for t, u in ((np.int64, np.uint64), (np.int32, np.uint32), (np.int16, np.uint16), (np.int8, np.uint8))
}
_ROWS: dict[int, Any] = {}


def _rows(n: int) -> Any:
    rows = _ROWS.get(n)
    if rows is None:
        if len(_ROWS) > 64:
            _ROWS.clear()
        rows = _ROWS[n] = np.arange(n)
        rows.flags.writeable = False
    return rows


def direct(call: Any) -> Any:
    """The loss of a tiny NumPy call, or None to take the full path (see the module docstring)."""
    x, t = call.logits, call.target
    if (
        type(t) is not np.ndarray
        or call.class_weight is not None
        or call.sample_weight is not None
        or x.ndim != 2
        or t.ndim != 1
        or x.dtype not in _FLOATS
    ):
        return None
    n, c = x.shape
    signed = _SIGNED.get(t.dtype)
    if signed is None or t.shape[0] != n or not 0 < n * c <= MAX_LOGITS:
        return None
    spec = call.spec
    entry = _PLANS.get(id(spec))
    if entry is None or entry[0] is not spec:
        if len(_PLANS) > 256:
            _PLANS.clear()
        entry = _PLANS[id(spec)] = (spec, _plan(spec))
    plan = entry[1]
    if plan is None or not auto_requested():
        return None
    ignore, reduction, keepdims, all_items, zero_fix = plan
    unsigned, lo, hi = signed
    if ignore is not None and not lo <= ignore <= hi:  # no label of this dtype can equal it
        ignore = None
    # labels in range, in one reduction: negative labels are huge as unsigned integers
    if ignore is None:
        valid = None
        if np.maximum.reduce(t.view(unsigned)) >= c:
            return None
        idx = t
    else:
        valid = t != ignore
        if np.maximum.reduce(t.view(unsigned), where=valid, initial=0) >= c:
            return None
        idx = np.where(valid, t, 0)
    m = np.maximum.reduce(x, axis=1, keepdims=True)
    e = np.subtract(x, m)
    np.exp(e, out=e)
    ls = np.log(np.add.reduce(e, axis=1, keepdims=True))
    loss = ls + (m - x[_rows(n), idx][:, None])
    if valid is not None:
        loss = np.where(valid[:, None], loss, x.dtype.type(0))
    if reduction == "none":
        return loss if keepdims else loss[:, 0]
    total = np.add.reduce(loss, axis=None)
    if reduction == "sum":
        return np.asarray(total)
    count = n if valid is None or all_items else int(np.count_nonzero(valid))
    if count == 0 and not zero_fix:
        return None  # 0 / 0: the full path gives the nan (and its warning)
    return np.asarray(total / np.asarray(float(count or 1), dtype=x.dtype))

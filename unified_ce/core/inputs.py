# Math: none -- the data every stage reads.  ``Inputs`` are the validated arrays of one call (the
# x, q / y, w and per-sample weights of CrossEntropySpec's docstring, in the compute dtype) and facts
# about their shapes; ``Plan`` is what the evaluation path decided for this call (fused kernel or
# not, whether ignored items need a mask, where exp(x - m) may be written); ``Residuals`` is what a
# forward leaves for the backward.  Plus the small class-axis helpers every stage shares.
"""Validated inputs, the evaluation plan, residuals and class-axis helpers shared by the stages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._backend import is_dask, is_integer, is_jax
from .._errors import InvalidArgumentError
from .._spec import CrossEntropySpec

__all__ = ["Inputs", "Plan", "Residuals"]


@dataclass(frozen=True)
class Inputs:
    """Validated inputs of one evaluation (internal); never changed after :func:`~unified_ce.core.prepare`."""

    spec: CrossEntropySpec
    xp: Any
    x: Any  # logits in the compute dtype (as given when the plan has a fused kernel)
    t: Any  # index target (integer, class axis absent) or probs target (compute dtype)
    cw: Any  # class weights (compute dtype) or None
    sw: Any  # per-sample weights (compute dtype) or None
    axis: int  # class axis (softmax) -- for sigmoid, unused
    n_classes: int
    out_dtype: Any
    in_dtype: Any
    device: Any
    lazy: bool
    keep_shape: tuple[int, ...]  # per-item loss shape with the class axis kept (size 1)
    #: vocabulary parallelism: this process holds classes [classes.start, classes.start + C_local) of
    #: classes.n_classes; classes.sum / classes.max all-reduce over the processes holding the others
    #: (see :mod:`unified_ce.distributed`).  None: all classes are here.
    classes: Any = None
    #: the probability target's dtype as given (before the cast to the compute dtype): the precision
    #: its distributions sum to 1 in (``probs_sum_to_one``).  None: ``out_dtype``.
    t_dtype: Any = None
    #: ``denominator="given"``: the divisor of the call (0-d, compute dtype); else None
    den: Any = None
    #: ``spec.class_mask``: the boolean class mask at the logits' shape (True: the class takes part); else None
    cm: Any = None

    @classmethod
    def of(cls, **fields: Any) -> Inputs:
        """Frozen inputs from every field by name, built at once (a frozen dataclass's ``__init__``
        sets its fields one ``object.__setattr__`` at a time: about 1 us on every call)."""
        inp = object.__new__(cls)
        inp.__dict__.update(fields)
        return inp


@dataclass(frozen=True)
class Plan:
    """What the evaluation path decided for one call (built once per call, never changed).

    ``kernel``: the fused kernel chosen by the dispatcher (None: the reference core);
    ``mask_ignored``: whether items equal to ``ignore_index`` need a mask (False when validation
    read the labels and found none);  ``exp_out``: a buffer the core owns (the fast path's block
    scratch, or a block of the gradient) where the row statistics leave ``exp(x - max)``.
    """

    kernel: Any = None
    mask_ignored: bool = True
    exp_out: Any = None


#: the plan of the reference core with no facts known about the labels
REFERENCE = Plan()
#: the plan of the reference core when validation found no label equal to ``ignore_index``
NO_MASK = Plan(mask_ignored=False)


@dataclass
class Residuals:
    """What the backward pass needs besides the inputs: O(items), never O(items x classes)."""

    m: Any  # max over the class axis (keep shape) or 0 for log-prob inputs
    ls: Any  # log-sum-exp of x - m (keep shape) or 0
    denom: Any  # the mean's denominator (0-d) or None
    parts: Any = None  # the index target's parts from the forward (O(items)), reused by the backward


def axis_index(axis: int, ndim: int, name: str) -> int:
    """``axis`` as a non-negative index, or an error naming the spec field."""
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError(f"{name}={axis} is out of range for logits with {ndim} dimensions")
    return axis % ndim


def mean_axis(inp: Inputs) -> int:
    """``reduction="axis_mean"``: the axis of the keep shape the mean runs over (softmax: the class axis)."""
    return inp.axis if inp.spec.activation == "softmax" else axis_index(inp.spec.axis, inp.x.ndim, "axis")


def masked(inp: Inputs, x: Any) -> Any:
    """``x`` with the classes the class mask leaves out at ``-inf`` (``x`` itself without a mask)."""
    if inp.cm is None:
        return x
    return inp.xp.where(inp.cm, x, inp.xp.asarray(-math.inf, dtype=x.dtype, device=inp.device))


def mask_valid(inp: Inputs) -> Any:
    """The items (keep shape) with at least one class the class mask keeps, or None without a mask."""
    if inp.cm is None:
        return None
    return inp.xp.any(inp.cm, axis=inp.axis, keepdims=True)


def zero(inp: Inputs) -> Any:
    """0-d zero in the compute dtype."""
    return inp.xp.asarray(0.0, dtype=inp.x.dtype, device=inp.device)


def nan(inp: Inputs) -> Any:
    """0-d NaN in the compute dtype."""
    return inp.xp.asarray(math.nan, dtype=inp.x.dtype, device=inp.device)


def times(a: Any, b: Any) -> Any:
    """``a * b``, without an operation when ``a`` is the Python number 1 (the common unweighted case)."""
    return b if isinstance(a, (int, float)) and a == 1 else a * b


def class_iota(inp: Inputs) -> Any:
    """0, 1, ..., C-1 along the class axis, broadcastable against the logits.

    The class numbers of this process's slice with a class shard; chunked like the logits on Dask.
    """
    xp = inp.xp
    n = inp.x.shape[inp.axis]
    start = 0 if inp.classes is None else inp.classes.start
    iota = xp.arange(start, start + n, device=inp.device)
    if is_dask(inp.x):
        iota = iota.rechunk((inp.x.chunks[inp.axis],))
    shape = [1] * inp.x.ndim
    shape[inp.axis] = n
    return xp.reshape(iota, tuple(shape))


def along_axis(inp: Inputs, v: Any) -> Any:
    """A length-C vector (this process's slice of it with a class shard) reshaped to broadcast along the class axis."""
    shape = [1] * inp.x.ndim
    shape[inp.axis] = inp.x.shape[inp.axis]
    return inp.xp.reshape(v, tuple(shape))


def csum(inp: Inputs, v: Any) -> Any:
    """Sum over the class axis (kept, size 1): over every process's classes with a class shard."""
    s = inp.xp.sum(v, axis=inp.axis, keepdims=True)
    return s if inp.classes is None else inp.classes.sum(s)


def cw_total(inp: Inputs) -> Any:
    """The sum of the class weights (of every process's classes with a class shard)."""
    s = inp.xp.sum(inp.cw)
    return s if inp.classes is None else inp.classes.sum(s)


def holds_ignore(xp: Any, spec: CrossEntropySpec, t: Any) -> bool:
    """Whether ``t``'s integer dtype can represent ``ignore_index`` (uint8 labels cannot hold -100)."""
    if not spec.uses_ignore or not is_integer(xp, t.dtype):
        return True
    info = xp.iinfo(t.dtype)
    return bool(info.min <= spec.ignore_index <= info.max)


def index_dtype(xp: Any, t: Any) -> Any:
    """The integer dtype labels are compared and gathered in."""
    if is_jax(t):
        # a signed type of >= 32 bits is kept; narrower or unsigned labels widen to int32, so that they
        # compare with a negative ignore_index by value (JAX would cast -1 to uint8 255)
        if is_integer(xp, t.dtype) and xp.iinfo(t.dtype).min < 0 and xp.iinfo(t.dtype).bits >= 32:
            return t.dtype
        return xp.int32
    return xp.int64


def sum_tol(xp: Any, dtype: Any) -> float:
    """How far from 1 a probability target may sum under ``probs_sum_to_one``: sqrt(eps) of the dtype
    the target was given in (a bfloat16 distribution rounds its sum by up to eps/2 = 2e-3, whatever
    dtype the logits or the computation have)."""
    return math.sqrt(float(xp.finfo(dtype).eps))

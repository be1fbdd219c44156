r"""Cross-entropy over several processes with ``torch.distributed``: global means and vocabulary parallelism.

Two call arguments, accepted by :func:`unified_ce.cross_entropy`, :func:`unified_ce.value_and_grad`,
:func:`unified_ce.loss_sum_and_denominator`, every dialect's loss object (settable attributes, or
``loss.distributed(...)``) and every dialect function (``fn.distributed(...)``).  The
:class:`~unified_ce.CrossEntropySpec` stays static and hashable; the group is never part of it.

``process_group=group`` -- **data parallelism**: each process holds different items (its part of
    the batch).  ``reduction="sum"`` gives the sum over every process's items and ``"mean"`` the
    global mean: the local sum and the local denominator (item count, non-ignored count, or sum of
    label / item weights, per ``spec.denominator``) are all-reduced together (one ``all_reduce`` of
    two numbers) and divided, so every process gets the value a single process would compute on the
    whole batch.  The gradient with respect to this process's logits is that of the global value:
    ``d(global mean)/d(local logits) = (local gradient of the sum) / (global denominator)``.
    ``"none"``, ``"sample_mean"`` and ``"axis_mean"`` are per item / per sample and need nothing global.
    The mean of per-process means is *not* the global mean when processes hold different numbers of
    non-ignored items (or different weight sums): see ``docs/scaling.md``.

``class_shard=ClassShard(...)`` -- **vocabulary (class) parallelism**: each process holds a slice of
    the classes of every item (logits ``(..., C_local, ...)``, the matching slice of the class
    weights and of a probability target; class-index labels and sample weights whole).  The
    max over the classes (``MAX``), the sum of exponentials, the target logit and the other class
    sums are all-reduced over the shard's group, so every process gets the full loss; the gradient
    is the slice of the full gradient that belongs to this process's logits.

Both may be combined (2-D parallelism: ``process_group`` across data-parallel replicas,
``class_shard.group`` inside one replica).

All-reduces run in the forward pass (and, for class shards, again in the backward pass: every
process of the group must evaluate the loss, and differentiate it, the same number of times).
Under torch autograd an all-reduced sum passes gradients through unchanged: each process's gradient
is the derivative of the (identical) global loss with respect to *its* inputs.  With
``DistributedDataParallel``, which *averages* parameter gradients over processes, multiply the loss
by the world size (or use ``reduction="sum"`` of :func:`unified_ce.loss_sum_and_denominator` and
scale by hand) -- see ``docs/scaling.md``.

JAX needs none of this: shard the arrays (``jax.sharding``) and ``jit``; Dask needs none either.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import core
from ._backend import is_torch
from ._errors import InvalidArgumentError, InvalidTypeError
from ._spec import CrossEntropySpec

__all__ = ["ClassShard"]


@dataclass(frozen=True)
class ClassShard:
    """This process's slice of the classes: classes ``[start, start + size)`` of ``n_classes``.

    Parameters
    ----------
    start : int
        The first class this process holds.
    size : int
        How many classes it holds (the class axis of its logits, class weights and probability
        targets); every process holds at least one.
    n_classes : int
        The number of classes over all processes of ``group``.
    group : torch.distributed.ProcessGroup, optional
        The processes sharing the classes; ``None``: the default (world) group.

    Examples
    --------
    Build it from the local size (one ``all_gather`` of the sizes, once), or for an even split::

        shard = ClassShard.gather(local_logits.shape[1], group)
        shard = ClassShard.even(50_000, group)  # torch.tensor_split's split, rank by rank
        loss = unified_ce.cross_entropy(local_logits, labels, class_shard=shard)
        local_logits = full_logits[:, shard.classes]  # the slice, when the full array is at hand

    >>> ClassShard(start=4, size=3, n_classes=10).classes
    slice(4, 7, None)
    """

    start: int
    size: int
    n_classes: int
    group: Any = None

    def __post_init__(self) -> None:
        for name in ("start", "size", "n_classes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise InvalidTypeError(f"ClassShard.{name} must be an int; got {v!r}")
        if not (0 <= self.start and 1 <= self.size and self.start + self.size <= self.n_classes):
            raise InvalidArgumentError(
                f"ClassShard needs 0 <= start, 1 <= size and start + size <= n_classes; got start={self.start}, "
                f"size={self.size}, n_classes={self.n_classes}"
            )

    @property
    def classes(self) -> slice:
        """The slice of the class axis this process holds."""
        return slice(self.start, self.start + self.size)

    @classmethod
    def even(cls, n_classes: int, group: Any = None) -> ClassShard:
        """The shard of this process for ``n_classes`` split as ``torch.tensor_split`` does (the
        first ``n_classes % world`` ranks hold one class more).  No communication."""
        dist = _dist()
        rank, world = dist.get_rank(group), dist.get_world_size(group)
        base, extra = divmod(n_classes, world)
        size = base + (rank < extra)
        return cls(rank * base + min(rank, extra), size, n_classes, group)

    @classmethod
    def gather(cls, size: int, group: Any = None) -> ClassShard:
        """The shard of this process from every process's local class count (one ``all_gather_object``;
        rank r holds the classes after those of ranks 0..r-1)."""
        dist = _dist()
        sizes: list[Any] = [None] * dist.get_world_size(group)
        dist.all_gather_object(sizes, int(size), group=group)
        rank = dist.get_rank(group)
        return cls(sum(sizes[:rank]), int(size), sum(sizes), group)


# --------------------------------------------------------------------------- collectives


def _dist() -> Any:
    try:
        import torch.distributed as dist
    except ImportError as exc:  # pragma: no cover - torch without distributed support
        raise InvalidArgumentError("process_group / class_shard need torch.distributed") from exc
    if not dist.is_available() or not dist.is_initialized():
        raise InvalidArgumentError(
            "process_group / class_shard need an initialised torch.distributed (torch.distributed.init_process_group)"
        )
    return dist


@functools.lru_cache(maxsize=1)
def _all_reduce_function() -> Any:
    import torch
    import torch.distributed as dist

    class AllReduceSum(torch.autograd.Function):
        """Forward: the sum over the group.  Backward: the incoming gradient, unchanged.

        Every process computes the same global value; the derivative of that value with respect to
        this process's contribution is 1, so the gradient passes through (an all-reduced backward
        would count it once per process).
        """

        @staticmethod
        def forward(ctx: Any, x: Any, group: Any) -> Any:  # type: ignore[override]
            y = x.clone()
            dist.all_reduce(y, op=dist.ReduceOp.SUM, group=group)
            return y

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:  # type: ignore[override]
            return g, None

    return AllReduceSum


def _all_reduce_sum(x: Any, group: Any) -> Any:
    torch = sys.modules["torch"]
    if torch.is_grad_enabled() and x.requires_grad:
        return _all_reduce_function().apply(x, group)
    y = x.detach().clone()
    _dist().all_reduce(y, op=_dist().ReduceOp.SUM, group=group)
    return y


def _all_reduce_max(x: Any, group: Any) -> Any:
    """The max over the group, without a gradient: the loss does not depend on the shift it is used
    for (``d loss / d max = 0``)."""
    y = x.detach().clone()
    dist = _dist()
    dist.all_reduce(y, op=dist.ReduceOp.MAX, group=group)
    return y


@dataclass(frozen=True)
class _Items:
    """The data-parallel group: sums of several arrays over the processes, in one all-reduce."""

    group: Any

    def sum(self, *arrays: Any) -> tuple[Any, ...]:
        torch = sys.modules["torch"]
        flat = torch.cat([a.reshape(-1) for a in arrays])
        flat = _all_reduce_sum(flat, self.group)
        out, i = [], 0
        for a in arrays:
            out.append(flat[i : i + a.numel()].reshape(a.shape))
            i += a.numel()
        return tuple(out)


@dataclass(frozen=True)
class _Classes:
    """What the core needs of a class shard (``Inputs.classes``): where the slice starts, the number
    of classes, and sum / max over the processes holding the other classes."""

    start: int
    n_classes: int
    group: Any

    def sum(self, a: Any) -> Any:
        return _all_reduce_sum(a, self.group)

    def max(self, a: Any) -> Any:
        return _all_reduce_max(a, self.group)


def hooks(spec: CrossEntropySpec, logits: Any, process_group: Any, class_shard: Any) -> tuple[Any, Any]:
    """Check the distributed options and turn them into ``(items, classes)`` for the evaluation.

    ``(None, None)`` when neither is given (nothing is imported then).
    """
    if process_group is None and class_shard is None:
        return None, None
    if not is_torch(logits):
        lib = type(logits).__module__.split(".")[0]
        raise InvalidTypeError(
            f"process_group / class_shard work on torch tensors (torch.distributed); got a {lib} array.  "
            "JAX: shard the arrays with jax.sharding and jit instead; Dask: use a dask.distributed cluster "
            "(docs/scaling.md)"
        )
    _dist()
    items = classes = None
    if process_group is not None:
        if isinstance(process_group, ClassShard):
            raise InvalidTypeError(
                "process_group must be a torch.distributed process group; pass a ClassShard as class_shard="
            )
        if spec.denominator == "given" and spec.reduction == "mean":
            raise InvalidArgumentError(
                "process_group with denominator='given' (a divisor given at call time, e.g. num_items_in_batch) "
                "is not supported: it is unclear whether the divisor counts this process's items or everyone's; "
                "use reduction='sum' over the group and divide by the global count"
            )
        items = _Items(process_group)
    if class_shard is not None:
        if not isinstance(class_shard, ClassShard):
            raise InvalidTypeError(
                f"class_shard must be a unified_ce.distributed.ClassShard; got {type(class_shard).__name__}"
            )
        if spec.activation != "softmax":
            raise InvalidArgumentError("class_shard needs softmax cross-entropy (sigmoid has no class axis to share)")
        ndim = logits.ndim
        if not -ndim <= spec.axis < ndim:
            raise InvalidArgumentError(f"axis={spec.axis} is out of range for logits with {ndim} dimensions")
        local = logits.shape[spec.axis]
        if local != class_shard.size:
            raise InvalidArgumentError(
                f"the logits hold {local} classes along axis {spec.axis}, but class_shard.size is {class_shard.size}"
            )
        classes = _Classes(class_shard.start, class_shard.n_classes, class_shard.group)
    return items, classes


# --------------------------------------------------------------------------- global sums and means


def _as_sum(inp: core.Inputs) -> core.Inputs:
    return dataclasses.replace(inp, spec=inp.spec.replace(reduction="sum"))


def _global_sum_and_denominator(inp: core.Inputs, plan: core.Plan, items: Any, local_sum: Any) -> tuple[Any, Any]:
    """All-reduce (this process's sum, its denominator) in one collective, in the compute dtype."""
    xp = inp.xp
    den = core.denominator(inp, plan)
    s = local_sum if local_sum.dtype == den.dtype else xp.astype(local_sum, den.dtype)
    if items is None:
        return s, den
    return items.sum(s, den)


def evaluate(inp: core.Inputs, plan: core.Plan, items: Any, evaluate_local: Callable[[core.Inputs], Any]) -> Any:
    """The loss with ``reduction`` sum / mean over every process's items (others: this process's)."""
    spec = inp.spec
    if items is None or spec.reduction in ("none", "sample_mean", "axis_mean"):
        return evaluate_local(inp)
    local = evaluate_local(_as_sum(inp))
    if spec.reduction == "sum":
        (total,) = items.sum(local)
        return total
    num, den = _global_sum_and_denominator(inp, plan, items, local)
    out = num / core.nonzero_denominator(inp, den)
    return out if out.dtype == local.dtype else inp.xp.astype(out, local.dtype)


def evaluate_with_grad(
    inp: core.Inputs,
    plan: core.Plan,
    items: Any,
    grad_output: Any,
    evaluate_with_grad_local: Callable[[core.Inputs, core.Plan, Any], tuple[Any, Any]],
) -> tuple[Any, Any]:
    """The loss of :func:`evaluate` and the gradient of ``sum(loss * grad_output)`` with respect to
    this process's logits (the analytic gradient of the local sum, scaled by the global factor)."""
    spec = inp.spec
    if items is None or spec.reduction in ("none", "sample_mean", "axis_mean"):
        return evaluate_with_grad_local(inp, plan, grad_output)
    core.check_grad_output(inp, grad_output, ())
    if spec.reduction == "sum":
        local, grad = evaluate_with_grad_local(_as_sum(inp), plan, grad_output)
        (out,) = items.sum(local)
        return out, grad
    # the global denominator first (it depends on the targets only), so that the core scales the
    # gradient itself -- and masks ignored items before, as a single process does (0, not 0 * inf)
    (den,) = items.sum(core.denominator(inp, plan))
    den = core.nonzero_denominator(inp, den)
    scale = 1.0 / den if grad_output is None else grad_output / den
    local, grad = evaluate_with_grad_local(_as_sum(inp), plan, scale)
    num = local if local.dtype == den.dtype else inp.xp.astype(local, den.dtype)
    (num,) = items.sum(num)
    out = num / den
    return (out if out.dtype == local.dtype else inp.xp.astype(out, local.dtype)), grad


def sum_and_denominator(
    inp: core.Inputs, plan: core.Plan, items: Any, evaluate_local: Callable[[core.Inputs], Any]
) -> tuple[Any, Any]:
    """``(sum of the item losses, the mean's denominator)`` -- over every process's items with a
    ``process_group``.  The sum is differentiable; see :func:`unified_ce.loss_sum_and_denominator`."""
    if inp.spec.reduction != "mean":
        raise InvalidArgumentError(
            f"a (sum, denominator) pair is defined for reduction='mean' (whose denominator it is); "
            f"the spec has reduction={inp.spec.reduction!r}"
        )
    local = evaluate_local(_as_sum(inp))
    return _global_sum_and_denominator(inp, plan, items, local)

"""The public, dialect-free entry points: evaluate a :class:`CrossEntropySpec` on arrays."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import _dispatch
from ._backend import namespace_of
from ._errors import InvalidArgumentError
from ._spec import CrossEntropySpec, SpecFields
from ._typing import Array, ArrayLike
from .adapters._base import Call, run, run_sum_and_denominator, run_with_grad

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Array", "ArrayLike", "cross_entropy", "loss_sum_and_denominator", "softmax", "value_and_grad"]


def _spec(spec: CrossEntropySpec | None, fields: Mapping[str, Any]) -> CrossEntropySpec:
    if spec is None:
        if not fields:
            return _DEFAULT_SPEC
        try:  # a tiny call's cost is its Python work: the same keywords give the same (cached) spec
            return _spec_of((*fields.items(), *map(type, fields.values())))  # type: ignore[arg-type]
        except TypeError:  # an unhashable value (the spec's validation names it), or a bad keyword
            return CrossEntropySpec(**fields)
    if not isinstance(spec, CrossEntropySpec):
        raise TypeError(f"spec must be a CrossEntropySpec; got {type(spec).__name__}")
    return spec.replace(**fields) if fields else spec


_DEFAULT_SPEC = CrossEntropySpec()


@functools.lru_cache(maxsize=256)
def _spec_of(key: tuple[Any, ...]) -> CrossEntropySpec:
    """The spec of keyword fields, keyed by the ``(name, value)`` pairs and the values' types (a
    cached ``label_smoothing=True`` must not answer ``label_smoothing=1``)."""
    n = len(key) // 2
    return CrossEntropySpec(**dict(key[:n]))


def cross_entropy(
    logits: Array,
    target: Any,
    /,
    spec: CrossEntropySpec | None = None,
    *,
    class_weight: Any = None,
    sample_weight: Any = None,
    class_mask: Any = None,
    process_group: Any = None,
    class_shard: Any = None,
    **spec_fields: Unpack[SpecFields],
) -> Array:
    """Evaluate a cross-entropy :class:`CrossEntropySpec` on arrays of any array-API library.

    Parameters
    ----------
    logits : array
        Scores (or log-probabilities, per ``spec.inputs``); floating dtype.  Half precision is
        computed in float32 and returned in the input dtype.
    target : array
        Class indices (the logits' shape without the class axis; integer, or integral floats) or
        probabilities (the logits' shape).
    spec : CrossEntropySpec, optional
        The computation; fields given as keywords override it (or build it when it is omitted).
    class_weight : array, optional
        One weight per class (length ``C``).
    sample_weight : array, optional
        Per-item weights, broadcast against the per-item loss with the class axis kept (size 1).
    class_mask : array of bool, optional
        With ``spec.class_mask``: the classes that take part (the logits' shape, or the per-item
        shape: one flag per item).
    process_group : torch.distributed.ProcessGroup, optional
        Data parallelism (torch tensors): the items are split over the group's processes, and
        ``reduction`` "sum" / "mean" give the sum / mean over all of them (numerator and denominator
        all-reduced), with the gradient of that global value (:mod:`unified_ce.distributed`).
    class_shard : unified_ce.distributed.ClassShard, optional
        Vocabulary parallelism (torch tensors): the logits (and class weights, probability targets)
        hold this process's slice of the classes; the loss is that of all classes.

    Returns
    -------
    array
        The loss, an array of the logits' library, on the logits' device, in the logits' dtype.
        Differentiable by torch autograd and JAX transformations; see :func:`value_and_grad` for
        the other libraries.

    Examples
    --------
    >>> import numpy as np
    >>> import unified_ce as uce
    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]], dtype=np.float32)
    >>> t = np.array([3, 0])
    >>> print(uce.cross_entropy(x, t))
    0.44018...
    >>> uce.cross_entropy(x, t, reduction="none").shape
    (2,)
    """
    call: Call[Array] = Call(
        _spec(spec, spec_fields), logits, target, class_weight, sample_weight, class_mask=class_mask
    )
    return run(call, process_group=process_group, class_shard=class_shard)


def value_and_grad(
    logits: Array,
    target: Any,
    /,
    spec: CrossEntropySpec | None = None,
    *,
    class_weight: Any = None,
    sample_weight: Any = None,
    class_mask: Any = None,
    grad_output: Any = None,
    process_group: Any = None,
    class_shard: Any = None,
    **spec_fields: Unpack[SpecFields],
) -> tuple[Array, Array]:
    """The loss and ``d sum(loss * grad_output) / d logits``, for every array library.

    The gradient is the core's analytic gradient (no autodiff needed), so this works on NumPy,
    CuPy, Dask and array-api-strict as well as PyTorch and JAX.  ``grad_output`` defaults to ones
    of the loss's shape.  ``process_group`` and ``class_shard`` as in :func:`cross_entropy` (the
    gradient is then the one of this process's logits).

    Examples
    --------
    >>> import numpy as np
    >>> import unified_ce as uce
    >>> x = np.zeros((2, 3)); t = np.array([0, 2])
    >>> loss, grad = uce.value_and_grad(x, t)
    >>> grad.round(4)
    array([[-0.3333,  0.1667,  0.1667],
           [ 0.1667,  0.1667, -0.3333]])
    """
    call: Call[Array] = Call(
        _spec(spec, spec_fields), logits, target, class_weight, sample_weight, class_mask=class_mask
    )
    return run_with_grad(call, grad_output, process_group=process_group, class_shard=class_shard)


def loss_sum_and_denominator(
    logits: Array,
    target: Any,
    /,
    spec: CrossEntropySpec | None = None,
    *,
    class_weight: Any = None,
    sample_weight: Any = None,
    class_mask: Any = None,
    process_group: Any = None,
    class_shard: Any = None,
    **spec_fields: Unpack[SpecFields],
) -> tuple[Array, Array]:
    """The summed loss and the denominator of its mean, to add up over micro-batches (or processes).

    For a spec with ``reduction="mean"``: ``cross_entropy(...) == sum / denominator`` (with
    ``zero_denominator="zero"``, a denominator of 0 counts as 1).  Sums and denominators of parts of
    a batch add up, so the mean over several micro-batches is ``sum(sums) / sum(denominators)``
    -- not the mean of their means, which weighs a micro-batch with few non-ignored items (or a
    small weight sum) as much as a full one.  The denominator is the item count, the non-ignored
    count or a weight sum, per ``spec.denominator``; it depends on the targets (and class weights)
    only.  ``sum`` is differentiable like :func:`cross_entropy`; both are 0-d arrays in the compute
    dtype (float32 for half-precision logits).  With ``process_group`` both are already summed over
    the group's processes.

    Examples
    --------
    Gradient accumulation: count the denominator of the whole step first (it needs only the
    labels), then back-propagate each micro-batch's share of the global mean::

        total = sum(uce.loss_sum_and_denominator(x, t)[1] for x, t in micro_batches)  # or from labels
        for x, t in micro_batches:
            s, _ = uce.loss_sum_and_denominator(model(x), t)
            (s / total).backward()

    >>> import numpy as np
    >>> import unified_ce as uce
    >>> x = np.zeros((4, 3)); t = np.array([0, -100, -100, 2])
    >>> s1, d1 = uce.loss_sum_and_denominator(x[:1], t[:1], ignore_index=-100)
    >>> s2, d2 = uce.loss_sum_and_denominator(x[1:], t[1:], ignore_index=-100)
    >>> float(d1), float(d2)
    (1.0, 1.0)
    >>> bool(np.isclose((s1 + s2) / (d1 + d2), uce.cross_entropy(x, t, ignore_index=-100)))
    True
    """
    call: Call[Array] = Call(
        _spec(spec, spec_fields), logits, target, class_weight, sample_weight, class_mask=class_mask
    )
    return run_sum_and_denominator(call, process_group=process_group, class_shard=class_shard)


def softmax(logits: Array, /, spec: CrossEntropySpec | None = None, **spec_fields: Unpack[SpecFields]) -> Array:
    """``softmax`` of the logits along ``spec.axis`` (for dialects that also return it).

    Only ``activation="softmax"`` specs have a softmax; any other activation raises.

    Examples
    --------
    >>> import numpy as np
    >>> import unified_ce as uce
    >>> uce.softmax(np.zeros((1, 4)))
    array([[0.25, 0.25, 0.25, 0.25]])
    """
    spec = _spec(spec, spec_fields)
    if spec.activation != "softmax":
        raise InvalidArgumentError(
            f"softmax needs activation='softmax'; got activation={spec.activation!r} (a sigmoid has no softmax)"
        )
    namespace_of({"logits": logits})
    inp, plan = _dispatch.prepare(spec.replace(target="probs"), logits, logits, None, None, check_values=False)
    return _dispatch.softmax(inp, plan)

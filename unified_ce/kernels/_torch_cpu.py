"""Eager CPU torch tensors in a few, large parallel regions: the same spec through aten's fused row ops.

The reference core's eager fast path (:mod:`unified_ce.core.fastpath`) cuts the logits into row
blocks of a few MiB and runs a dozen elementwise operations per block.  With one thread that is fast (every
block stays in cache), but each PyTorch operation on a block is an OpenMP parallel region whose
barrier waits for every thread: a call runs hundreds of them, so it barely speeds up with a second
thread and collapses when another process holds a core (a descheduled thread stalls every barrier).

This evaluator computes the same numbers with a small number of parallel regions that does not
depend on the size of the input: aten's row-fused ``softmax`` / ``log_softmax`` (one pass over each
row in cache, parallel over rows) and whole-array reductions.

Loss and gradient (autograd, ``value_and_grad``), per call:

* ``m = amax(x)``; ``p = softmax(x)`` into the buffer that becomes the gradient; ``ls = -log(amax(p))``
  (the largest probability is exactly ``exp(0) / sum_c exp(x_c - m)``), so the log-sum-exp comes
  without a second ``exp`` pass; the target logit is gathered from the raw logits;
* label smoothing: one more reduction (``sum_c x_c``, or ``x @ class_weight`` with class weights);
* backward: ``p *= c alpha`` in place, an O(items) scatter of ``-c beta_t`` at the labels, and for
  label smoothing one ``addcmul_`` / ``sub_`` of the uniform part.

That is 4-6 passes over the logits-sized arrays whatever N and C, memory: the gradient (the only
items x classes array) is allocated in the forward and handed to autograd in the backward, as
``F.cross_entropy`` keeps its ``log_softmax``.  The forward alone (no gradient) runs ``log_softmax``
into a scratch buffer of at most :data:`FORWARD_CHUNK_BYTES` per chunk of rows (one region per
chunk), so its extra memory stays bounded.

The O(items) parts -- label masks, ``alpha`` / ``beta`` of the target distribution, weights,
reductions and denominators -- are the reference core's own functions; only the items x classes
passes are written here.  ``tests/test_torch_cpu.py`` compares this evaluator with the reference
core across the fast-path spec table (values, autograd and ``value_and_grad`` gradients, double
backward) and checks that the number of logits-sized passes per call does not grow with the input.

Tiny calls whose spec ``F.cross_entropy`` computes exactly (the torch dialect's) are handed to it
after validation: below :data:`NATIVE_MAX_LOGITS` the cost of a call is the number of operations
dispatched, and aten's own op is one.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import Any

from .._spec import CrossEntropySpec
from ..core import fastpath
from ..core.inputs import Inputs, Residuals
from ..core.reduce import apply_item_weights, coefficient, denominator_part, denominator_total
from ..core.targets import index_parts
from ..core.validate import check_grad_output
from . import auto_requested

__all__ = ["FORWARD_CHUNK_BYTES", "NATIVE_MAX_LOGITS", "TorchCPUKernel", "unsupported"]

#: Largest scratch buffer (bytes) of the forward-only pass; the logits are read in chunks of rows
#: of at most this size, one ``log_softmax`` region per chunk.
FORWARD_CHUNK_BYTES = 64 << 20


def unsupported(spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any, sample_weight: Any) -> str | None:
    """Why this evaluator does not cover the call (None: it does)."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(logits, torch.Tensor) or logits.device.type != "cpu":
        return "not a CPU torch tensor"
    from . import _uncovered_field  # the spec-field table's coverage (unified_ce._fields)

    why = _uncovered_field(spec, "torch_cpu")
    if why:
        return why
    if logits.dtype not in (torch.float32, torch.float64):
        return f"logits of dtype {logits.dtype}"
    if logits.ndim < 2 or logits.numel() == 0:
        return "fewer than two dimensions, or empty logits"
    if not isinstance(target, torch.Tensor) or target.dtype.is_complex or target.dtype == torch.bool:
        return "targets that are not a torch tensor of class indices"
    if torch.compiler.is_compiling() or torch._C._are_functorch_transforms_active():
        return "torch.compile / torch.func (the reference core's autograd function is traced instead)"
    if _forward_ad_active(torch):
        return "forward-mode AD"
    if torch.is_grad_enabled() and any(
        a is not None and a.requires_grad for a in (target, class_weight, sample_weight)
    ):
        return "a gradient with respect to the target or a weight"
    return None


def _forward_ad_active(torch: Any) -> bool:
    fa = getattr(getattr(torch, "autograd", None), "forward_ad", None)
    return fa is not None and getattr(fa, "_current_level", -1) >= 0


# --------------------------------------------------------------------------- the passes


def _times(a: Any, b: Any) -> Any:
    return b if isinstance(a, (int, float)) and a == 1 else a * b


def _smoothing_vector(inp: Inputs) -> bool:
    """Whether the uniform part ``beta_u`` is a class-axis vector (per-class weights) rather than per item."""
    return inp.spec.weighting == "per_class" and inp.cw is not None


def _class_dot(x: Any, v: Any, axis: int) -> Any:
    """``sum_c x_c v_c`` along ``axis``, kept (one BLAS call)."""
    torch = sys.modules["torch"]
    return torch.tensordot(x, v, dims=([axis], [0])).unsqueeze(axis)


def _uniform_term(inp: Inputs, parts: Any, x: Any, m: Any) -> Any:
    """``sum_c beta_u,c (m - x_c)``: the label-smoothing part of the item loss (keep shape)."""
    C, axis = x.shape[inp.axis], inp.axis
    if _smoothing_vector(inp):  # beta_u = w (eps / C)
        eps = inp.spec.label_smoothing
        return (eps / inp.n_classes) * (m * inp.cw.sum() - _class_dot(x, inp.cw, axis))
    return parts.beta_u * (C * m - x.sum(dim=axis, keepdim=True))


def _reduce(inp: Inputs, loss: Any, valid: Any, parts: Any) -> tuple[Any, Any]:
    """Weights, scale and reduction of the item losses (the reference core's); returns (out, denominator)."""
    spec = inp.spec
    loss = apply_item_weights(inp, loss, valid)
    if spec.reduction == "none":
        return (loss if spec.keepdims else loss.squeeze(inp.axis)), None
    if spec.reduction == "sum":
        return loss.sum(), None
    denom = denominator_total(inp, denominator_part(inp, valid, parts))
    return loss.sum() / denom, denom


def _forward_with_softmax(inp: Inputs) -> tuple[Any, Any, Any, Any]:
    """The reduced loss, ``softmax(x)`` (a new buffer), the target parts and the denominator."""
    torch = sys.modules["torch"]
    x, axis = inp.x, inp.axis
    parts = index_parts(inp)
    m = torch.amax(x, dim=axis, keepdim=True)
    p = torch.softmax(x, axis)
    ls = torch.amax(p, dim=axis, keepdim=True).log_().neg_()
    x_t = x.gather(axis, parts.idx)
    loss = _times(parts.alpha, ls) + _times(parts.beta_t, m - x_t)
    if inp.spec.label_smoothing:
        loss = loss + _uniform_term(inp, parts, x, m)
    out, denom = _reduce(inp, loss, parts.valid, parts)
    return out, p, parts, denom


def _gradient_into(inp: Inputs, p: Any, parts: Any, c: Any) -> Any:
    """``c (alpha p - beta)`` written over ``p`` (= softmax(x), a buffer this evaluator owns)."""
    torch = sys.modules["torch"]
    axis = inp.axis
    if parts.valid is not None:  # where, not a product: c is inf or nan when every item is ignored
        c = torch.where(parts.valid, c, 0.0)
    p.mul_(_times(parts.alpha, c))
    src = _times(parts.beta_t, c)
    src = src.expand(parts.idx.shape) if hasattr(src, "expand") else p.new_full(parts.idx.shape, src)
    p.scatter_add_(axis, parts.idx, -src)
    if inp.spec.label_smoothing:
        if _smoothing_vector(inp):
            eps = inp.spec.label_smoothing
            shape = [1] * p.ndim
            shape[axis] = p.shape[axis]
            p.addcmul_(c.expand(parts.idx.shape), inp.cw.reshape(shape), value=-eps / inp.n_classes)
        else:
            p.sub_(c * parts.beta_u)
    return p


def _gradient_differentiable(inp: Inputs, x: Any, parts: Any, c: Any) -> Any:
    """The same gradient from differentiable torch operations on ``x`` (for ``create_graph=True``)."""
    torch = sys.modules["torch"]
    axis = inp.axis
    if parts.valid is not None:
        c = torch.where(parts.valid, c, 0.0)
    g = torch.softmax(x, axis) * _times(parts.alpha, c)
    src = _times(parts.beta_t, c)
    src = src.expand(parts.idx.shape) if hasattr(src, "expand") else g.new_full(parts.idx.shape, src)
    g = g.scatter_add(axis, parts.idx, -src)
    if inp.spec.label_smoothing:
        if _smoothing_vector(inp):
            shape = [1] * g.ndim
            shape[axis] = g.shape[axis]
            g = g - c * inp.cw.reshape(shape) * (inp.spec.label_smoothing / inp.n_classes)
        else:
            g = g - c * parts.beta_u
    return g


def _coefficient(inp: Inputs, denom: Any, g: Any) -> Any:
    return coefficient(inp, Residuals(None, None, denom), g)


def _logp_loss(inp: Inputs, parts: Any, logp: Any) -> Any:
    """Item losses ``-sum_c beta_c logp_c`` from ``log_softmax`` (``alpha = sum_c beta_c``), keep shape."""
    axis = inp.axis
    loss = -_times(parts.beta_t, logp.gather(axis, parts.idx))
    if inp.spec.label_smoothing:
        if _smoothing_vector(inp):
            loss = loss - (inp.spec.label_smoothing / inp.n_classes) * _class_dot(logp, inp.cw, axis)
        else:
            loss = loss - parts.beta_u * logp.sum(dim=axis, keepdim=True)
    return loss


def _forward_only(inp: Inputs) -> Any:
    """The reduced loss without a gradient: ``log_softmax`` of chunks of rows into one scratch buffer."""
    torch = sys.modules["torch"]
    x, axis = inp.x, inp.axis
    if x.numel() * x.element_size() <= FORWARD_CHUNK_BYTES:  # one piece: no scratch, no blocks
        parts = index_parts(inp)
        return _reduce(inp, _logp_loss(inp, parts, torch.log_softmax(x, axis)), parts.valid, parts)[0]
    blocks = fastpath.one_block(inp)
    per_row = x.numel() // max(blocks.size, 1) * x.element_size()
    step = max(1, FORWARD_CHUNK_BYTES // max(per_row, 1))
    blocks = fastpath.Blocks(blocks.axis, blocks.size, min(step, blocks.size))
    # one flat scratch buffer, viewed contiguously for each block (aten's out= kernels write a
    # contiguous result: a strided view of a larger buffer would be filled wrongly)
    scratch = torch.empty(per_row * blocks.step // x.element_size(), dtype=x.dtype)
    losses, dparts = [], []
    for sl in blocks:
        sub = fastpath.block_inputs(inp, blocks, sl)
        parts = index_parts(sub)
        buf = scratch[: sub.x.numel()].view(sub.x.shape)
        loss = _logp_loss(sub, parts, torch._log_softmax(sub.x, axis, False, out=buf))
        losses.append(apply_item_weights(sub, loss, parts.valid))
        if inp.spec.reduction == "mean":
            dparts.append(denominator_part(sub, parts.valid, parts))
    loss = losses[0] if len(losses) == 1 else torch.cat(losses, dim=blocks.axis)
    spec = inp.spec
    if spec.reduction == "none":
        return loss if spec.keepdims else loss.squeeze(axis)
    if spec.reduction == "sum":
        return loss.sum()
    dpart = None if dparts[0] is None else sum(dparts[1:], dparts[0])
    return loss.sum() / denominator_total(inp, dpart)


@functools.lru_cache(maxsize=1)
def _function() -> Any:
    import torch

    class NoDoubleBackward(torch.autograd.Function):
        """Identity on the gradient whose own backward raises (``double_backprop=False``)."""

        @staticmethod
        def forward(ctx: Any, gx: Any, *tracked: Any) -> Any:  # type: ignore[override]
            return gx.clone()

        @staticmethod
        def backward(ctx: Any, *grads: Any) -> Any:  # type: ignore[override]
            from .._autodiff import _NO_DOUBLE_BACKPROP

            raise RuntimeError(_NO_DOUBLE_BACKPROP)

    class FusedCrossEntropy(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, inp: Any, double_backprop: bool) -> Any:  # type: ignore[override]
            out, p, parts, denom = _forward_with_softmax(inp)
            ctx.save_for_backward(x)
            # no reference to the logits outside save_for_backward: backward releases them
            ctx.stash = (dataclasses.replace(inp, x=None), p, parts, denom, double_backprop)
            return out

        @staticmethod
        def backward(ctx: Any, g: Any) -> Any:  # type: ignore[override]
            (x,) = ctx.saved_tensors
            inp, p, parts, denom, double_backprop = ctx.stash
            inp = dataclasses.replace(inp, x=x)
            c = _coefficient(inp, denom, g)
            if torch.is_grad_enabled():  # create_graph=True: a gradient autograd can differentiate
                grad = _gradient_differentiable(inp, x, parts, c)
                return (grad if double_backprop else NoDoubleBackward.apply(grad, x, g)), None, None
            if p is None:  # a second backward (retain_graph=True): the first one used the buffer
                p = torch.softmax(x.detach(), inp.axis)
            ctx.stash = (dataclasses.replace(inp, x=None), None, parts, denom, double_backprop)
            return _gradient_into(inp, p, parts, c), None, None

    return FusedCrossEntropy


#: Calls with at most this many logits whose spec ``F.cross_entropy`` computes exactly go to it: for
#: tiny inputs the cost is the number of operations dispatched, and aten's own op is one.
NATIVE_MAX_LOGITS = 1 << 15


#: the spec fields F.cross_entropy has no argument for: they must keep their defaults
_OTHER_FIELDS = tuple(
    f
    for f in dataclasses.fields(CrossEntropySpec)
    if f.name
    not in (
        "axis",
        "weighting",
        "reduction",
        "denominator",
        "zero_denominator",
        "keepdims",
        "scale",
        "label_smoothing",
        "ignore_index",
        "batch_axis",
        # probability-target options: no effect on the class-index targets this path takes
        "probs_nonnegative",
        "probs_sum_to_one",
        "soft_loss",
        "kl_eps",
    )
)


@functools.lru_cache(maxsize=64)
def _native_spec(spec: CrossEntropySpec) -> tuple[str, int, float] | None:
    """``(reduction, ignore_index, label_smoothing)`` of ``F.cross_entropy`` computing ``spec``, or None.

    PyTorch's semantics: class axis 1, per-class weights, a mean divided by the summed weights of the
    labels that are not ignored (0/0 = nan), no sample weights, no scale.
    """
    if (
        any(getattr(spec, f.name) != f.default for f in _OTHER_FIELDS)  # log-prob inputs (nll_loss), sigmoid, ...
        or spec.axis != 1
        or spec.weighting != "per_class"
        or (spec.reduction == "mean" and spec.denominator not in ("label_weight",))
        or spec.zero_denominator != "nan"
        or spec.keepdims
        or spec.scale != 1.0
        or not 0.0 <= spec.label_smoothing <= 1.0
    ):
        return None
    ignore = spec.ignore_index if spec.uses_ignore and spec.ignore_index is not None else -100
    return spec.reduction, int(ignore), float(spec.label_smoothing)


def _native(inp: Inputs) -> tuple[str, int, float] | None:
    """The ``F.cross_entropy`` arguments for this (validated) call when it is tiny and torch's own op computes it."""
    x = inp.x
    if x.numel() > NATIVE_MAX_LOGITS or inp.sw is not None or inp.t.dtype != sys.modules["torch"].int64:
        return None
    if inp.spec.axis != 1 and not (inp.axis == 1 and x.ndim >= 2):
        return None
    return _native_spec(inp.spec)


class _Direct:
    """What the direct path needs of torch, looked up once (module attributes cost per call)."""

    def __init__(self, torch: Any) -> None:
        self.floats = (torch.float32, torch.float64)
        self.int64 = torch.int64
        self.cross_entropy = torch.nn.functional.cross_entropy
        self.functorch_active = torch._C._are_functorch_transforms_active
        self.forward_ad = torch.autograd.forward_ad
        # ``F.cross_entropy`` is this op after its ``__torch_function__`` check (for Tensor
        # subclasses and modes) and the reduction name's enum: called directly for plain tensors
        # when no torch-function mode is active, the same op with the same arguments
        self.tensor = torch.Tensor
        self.op = torch._C._nn.cross_entropy_loss
        self.mode_active = torch._C._is_torch_function_mode_enabled
        self.reduction_enum = {r: torch.nn._reduction.get_enum(r) for r in ("none", "mean", "sum")}


_TORCH: _Direct | None = None

#: ``id(spec) -> (spec, F.cross_entropy arguments or None)``: an identity cache (a spec's hash costs
#: more than the rest of the lookup; the specs of repeated calls are the same objects, from the
#: dialects' spec caches); the entry keeps its spec alive, so an id is not reused while cached.
_ARGS: dict[int, tuple[CrossEntropySpec, tuple[str, int, float] | None]] = {}


def _args_of(spec: CrossEntropySpec) -> tuple[str, int, float] | None:
    entry = _ARGS.get(id(spec))
    if entry is None or entry[0] is not spec:
        if len(_ARGS) > 256:
            _ARGS.clear()
        entry = _ARGS[id(spec)] = (spec, _native_spec(spec))
    return entry[1]


def direct(call: Any) -> Any:
    """The loss of a tiny translated call by ``F.cross_entropy`` alone, or None to take the full path.

    Taken when the spec is PyTorch's own (:func:`_native_spec`), the arrays are CPU tensors torch's
    op accepts as they are (float32 / float64 logits with at most :data:`NATIVE_MAX_LOGITS`
    entries, int64 labels, a class-weight tensor of the logits' dtype, no sample weights) and no
    transform traces the call.  No validation of ours runs: PyTorch checks shapes, dtypes and the
    label range itself on the CPU, and when it raises, the full path runs instead and raises our
    error (or gives the value).  The same op runs after our validation for these specs anyway
    (:meth:`TorchCPUKernel.evaluate`), so the numbers are the same.

    A repeated call costs a few attribute reads, one identity-cache lookup and the op: this is what
    a tiny call in a training loop pays (``benchmarks/overhead.py``).
    """
    global _TORCH
    torch = sys.modules["torch"]
    if torch.compiler.is_compiling():  # first, before anything dynamo cannot trace (id())
        return None
    tc = _TORCH = _TORCH or _Direct(torch)
    x, t, cw = call.logits, call.target, call.class_weight
    if (
        type(t) is not type(x)
        or call.sample_weight is not None
        or not call.double_backprop
        or t.dtype is not tc.int64
        or x.dtype not in tc.floats
        or not x.is_cpu
        or not 0 < x.numel() <= NATIVE_MAX_LOGITS
        or (cw is not None and (type(cw) is not type(x) or cw.dtype != x.dtype or cw.requires_grad))
    ):
        return None
    args = _args_of(call.spec)
    if args is None or not auto_requested() or tc.functorch_active():
        return None
    if tc.forward_ad._current_level >= 0:  # forward-mode AD: the full path's autograd function
        return None
    reduction, ignore, eps = args
    try:
        if type(x) is tc.tensor and not tc.mode_active():
            return tc.op(x, t, cw, tc.reduction_enum[reduction], ignore, eps)
        return tc.cross_entropy(x, t, cw, None, ignore, None, reduction, eps)
    except Exception:  # invalid input: the full path raises the error (ours and the framework's class)
        return None


class TorchCPUKernel:
    """Eager CPU torch tensors, float32 / float64: a few row-fused aten passes per call.

    Tiny calls whose spec ``F.cross_entropy`` computes exactly (the torch dialect's) call it after
    our validation (:func:`_native`): same values, same autograd (double backward, ``torch.func``).
    """

    name = "torch_cpu"

    def evaluate(self, inp: Inputs, double_backprop: bool = True) -> Any:
        """The loss, differentiable by torch autograd with respect to the logits."""
        torch = sys.modules["torch"]
        native = _native(inp) if double_backprop else None
        if native is not None:
            reduction, ignore, eps = native
            f = torch.nn.functional.cross_entropy
            return f(inp.x, inp.t, inp.cw, ignore_index=ignore, reduction=reduction, label_smoothing=eps)
        if torch.is_grad_enabled() and inp.x.requires_grad:
            return _function().apply(inp.x, inp, double_backprop)
        with torch.no_grad():
            return _forward_only(inp)

    def evaluate_with_grad(self, inp: Inputs, grad_output: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` (no autograd graph)."""
        torch = sys.modules["torch"]
        shape = check_grad_output(inp, grad_output)
        with torch.no_grad():
            out, p, parts, denom = _forward_with_softmax(inp)
            g = torch.ones(shape, dtype=inp.x.dtype) if grad_output is None else grad_output
            return out, _gradient_into(inp, p, parts, _coefficient(inp, denom, g))

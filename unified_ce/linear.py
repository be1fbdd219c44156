r"""Linear cross-entropy: the loss of ``hidden @ weight.T (+ bias)`` without the logits.

At the end of a language model the logits (tokens :math:`N` × vocabulary :math:`V`) are the
largest array of the step.  :func:`linear_cross_entropy` computes the cross-entropy of
:math:`z = s\,(h W^\top + b)` (optionally soft-capped, :math:`y = \kappa \tanh(z/\kappa)`) in blocks
of tokens × vocabulary that fit a memory budget, with an online log-sum-exp across the vocabulary
blocks, so that no :math:`N \times V` array is ever held:

* **forward**: per block of tokens, the blocks of the vocabulary give the row maximum, the sum of
  exponentials, the target logit and (for label smoothing) the weighted sum of the logits; the
  residual kept for the backward pass is the per-token log-sum-exp (:math:`O(N)`).
* **backward**: each block's logits are recomputed and turned into
  :math:`G = c_i\,((\alpha_i + 2\zeta\,\mathrm{lse}_i)\,\mathrm{softmax}(y_i) - \beta_i)\odot y'`,
  then :math:`\partial h \mathrel{+}= G W_v`, :math:`\partial W_v \mathrel{+}= G^\top h`,
  :math:`\partial b_v \mathrel{+}= \sum_i G_i`.
* **fused**: when the whole vocabulary of a block of tokens fits the budget and the gradient is
  wanted for a ``"sum"`` / ``"mean"`` loss (a 0-d cotangent, known up to a factor), the gradient is
  computed during the forward pass from the same logits block (three matrix products in all, as many
  as the naive computation) and the backward pass only scales it.

The per-block math (:func:`block_logits`, :func:`block_stats`, :func:`item_terms`,
:func:`block_grad`) is the cross-entropy of the core with the LLM options (z-loss, soft-capping,
logit scale); it is written once against the array API (``xp``) and runs on NumPy, PyTorch, JAX,
CuPy, Dask and array-api-strict.  Autodiff glue: a ``torch.autograd.Function`` and a
``jax.custom_vjp``; :func:`linear_value_and_grad` for libraries without autodiff.  The driver that
walks the blocks is :func:`_run` (a Python loop; torch: in place on one logits buffer); JAX uses its
loop form, :func:`unified_ce._linear_jax.jax_run` (``lax.fori_loop`` with the gradients as carries),
so that XLA keeps one block alive.  ``class_shard`` (torch.distributed) splits the vocabulary over
processes: the row statistics are all-reduced per block of tokens.

Notation (one token :math:`i`, label :math:`t`, class weights :math:`w`, smoothing
:math:`\epsilon`, :math:`C = V`): :math:`\beta_c = w_c((1-\epsilon)[c=t] + \epsilon/C)`,
:math:`\alpha = \sum_c \beta_c`, and

.. math:: L_i = \alpha\,\mathrm{lse}(y) - \sum_c \beta_c y_c + \zeta\,\mathrm{lse}(y)^2

(:math:`\zeta` = ``z_loss``, PaLM's auxiliary loss), masked for ignored labels, multiplied by the
sample weight and ``spec.scale``, and reduced like every other loss of the library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, overload

import numpy as np

from ._backend import compute_dtype, creation_device, is_floating, is_integer, is_jax, is_lazy, is_torch, namespace_of
from ._errors import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from ._spec import CrossEntropySpec
from ._typing import Array

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "LinearAux",
    "LinearOptions",
    "linear_cross_entropy",
    "linear_value_and_grad",
    "plan_blocks",
]

#: Bytes of temporaries per block (logits block and the arrays derived from it) when no
#: ``memory_budget`` is given: 128 MiB (256 tokens of a 65,536 vocabulary in float32, two live arrays).
#: Larger blocks mean fewer passes over ``d weight`` (one read-modify-write per block of tokens).
DEFAULT_MEMORY_BUDGET = 128 << 20
#: How many arrays of a block's shape may be alive at once (the logits buffer, and the tanh of the soft-cap).
_LIVE_BLOCKS = 2
#: Fewest tokens per block before the vocabulary is split into blocks instead.
_MIN_ROWS = 64


class LinearAux(NamedTuple):
    r"""Auxiliary outputs of :func:`linear_cross_entropy` (``return_aux=True``); they carry no gradient.

    Attributes
    ----------
    lse : array
        The per-token log-sum-exp of the (scaled, soft-capped) logits, the target's shape (after
        ``shift``); 0 for ignored tokens.
    z_loss : array
        The z-loss part of the returned loss, reduced like it (``z_loss * lse**2`` per token).
    entropy : array
        The per-token entropy of the softmax, :math:`\mathrm{lse} - \sum_c p_c y_c`; 0 for ignored tokens.
    """

    lse: Any
    z_loss: Any
    entropy: Any


@dataclass(frozen=True)
class LinearOptions:
    r"""The static options of one linear cross-entropy: a :class:`CrossEntropySpec` and ``shift``.

    Parameters
    ----------
    spec : CrossEntropySpec
        Softmax over class-index targets of logits; ``reduction`` "none", "sum" or "mean"; every
        ``denominator`` but "batch"; ``ignore_index``, ``label_smoothing``, ``weighting="per_class"``,
        ``zero_denominator``, ``scale``, ``z_loss``, ``logit_softcap``, ``logit_scale``.
    shift : bool
        Causal-LM shift: token ``j`` predicts ``target[..., j + 1]`` (the last position has no target).
    class_shard : ClassShard, optional
        Vocabulary parallelism (torch.distributed): ``weight`` (and ``bias``, ``class_weight``) hold
        the classes ``class_shard.classes`` of ``class_shard.n_classes``; ``hidden`` and ``target`` whole.
    """

    spec: CrossEntropySpec
    shift: bool = False
    class_shard: Any = None

    @property
    def z_loss(self) -> float:
        return self.spec.z_loss

    @property
    def logit_softcap(self) -> float | None:
        return self.spec.logit_softcap

    @property
    def logit_scale(self) -> float:
        return self.spec.logit_scale

    def __post_init__(self) -> None:
        spec = self.spec
        if not isinstance(spec, CrossEntropySpec):
            raise InvalidTypeError(f"spec must be a CrossEntropySpec; got {type(spec).__name__}")
        unsupported = {
            "activation": ("softmax",),
            "target": ("index",),
            "inputs": ("logits",),
            "reduction": ("none", "sum", "mean"),
            "denominator": ("items", "valid", "label_weight", "item_weight"),
            "weighting": ("per_class",),
        }
        for name, ok in unsupported.items():
            if getattr(spec, name) not in ok:
                raise InvalidArgumentError(
                    f"linear_cross_entropy supports spec.{name} in {ok}; got {getattr(spec, name)!r}"
                )
        if spec.min_shifted_logit is not None or spec.keepdims or spec.soft_loss != "cross_entropy":
            raise InvalidArgumentError(
                "linear_cross_entropy does not support min_shifted_logit, keepdims or soft_loss='kl'"
            )
        if not isinstance(self.shift, bool):
            raise InvalidTypeError(f"shift must be a bool; got {self.shift!r}")
        if self.class_shard is not None:
            from .distributed import ClassShard

            if not isinstance(self.class_shard, ClassShard):
                raise InvalidTypeError(
                    f"class_shard must be a unified_ce.distributed.ClassShard; got {type(self.class_shard).__name__}"
                )


@dataclass(frozen=True)
class BlockPlan:
    """Tokens per block (``rows``) and classes per block (``cols``; ``cols == V``: one vocabulary block)."""

    rows: int
    cols: int


def plan_blocks(n_tokens: int, n_classes: int, itemsize: int, memory_budget: int | None = None) -> BlockPlan:
    """Block sizes whose temporaries fit ``memory_budget`` bytes (default :data:`DEFAULT_MEMORY_BUDGET`).

    The whole vocabulary of a block of tokens when at least ``min(n_tokens, 64)`` tokens fit (one
    pass, the gradient fused into the forward); else 64 tokens and as many classes as fit.

    Examples
    --------
    >>> from unified_ce.linear import plan_blocks
    >>> plan_blocks(4096, 65536, 4)
    BlockPlan(rows=256, cols=65536)
    >>> plan_blocks(4096, 1_000_000, 4, memory_budget=16 << 20)
    BlockPlan(rows=64, cols=32768)
    """
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget
    if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
        raise InvalidArgumentError(f"memory_budget must be a positive number of bytes; got {memory_budget!r}")
    elements = max(1, budget // (itemsize * _LIVE_BLOCKS))
    n = max(1, n_tokens)
    v = max(1, n_classes)
    rows = elements // v
    if rows >= min(n, _MIN_ROWS):
        return BlockPlan(min(n, rows), v)
    rows = min(n, _MIN_ROWS)
    return BlockPlan(rows, max(1, min(v, elements // rows)))


# --------------------------------------------------------------------------- per-block math


def block_logits(xp: Any, h: Any, w: Any, b: Any, opts: LinearOptions) -> tuple[Any, Any]:
    """The transformed logits ``y`` of a block (tokens × classes) and ``tanh(z / cap)`` (or None)."""
    z = xp.matmul(h, xp.matrix_transpose(w))
    if b is not None:
        z = z + b
    if opts.logit_scale != 1.0:
        z = z * opts.logit_scale
    if opts.logit_softcap is None:
        return z, None
    th = xp.tanh(z / opts.logit_softcap)
    return th * opts.logit_softcap, th


class Stats(NamedTuple):
    """Running row statistics over vocabulary blocks (each ``(rows, 1)``)."""

    m: Any  # max
    s: Any  # sum exp(y - m)
    sy: Any  # sum exp(y - m) * y (for the entropy), or None
    yt: Any  # target logit
    wy: Any  # sum_c w_c y_c (label smoothing), or None
    wsum: Any  # sum_c w_c over the classes seen (class weights with smoothing), or None


def block_stats(xp: Any, y: Any, onehot: Any, wrow: Any, want: tuple[bool, bool], yt: Any = None) -> Stats:
    """The row statistics of one block; ``onehot`` marks each token's label, ``wrow`` the class weights.

    ``yt``: the target logits of the block (0 where the label is not in it) when the caller has
    gathered them (a backend with ``take_along_axis``); else they are picked with ``onehot``.
    """
    want_entropy, want_smooth = want
    m = xp.max(y, axis=1, keepdims=True)
    e = xp.exp(y - m)
    s = xp.sum(e, axis=1, keepdims=True)
    sy = xp.sum(e * y, axis=1, keepdims=True) if want_entropy else None
    if yt is None:
        yt = xp.sum(xp.where(onehot, y, xp.zeros_like(y)), axis=1, keepdims=True)
    wy = None
    if want_smooth:
        wy = xp.sum(y if wrow is None else y * wrow, axis=1, keepdims=True)
    return Stats(m, s, sy, yt, wy, None)


def combine_stats(xp: Any, a: Stats | None, b: Stats) -> Stats:
    """The statistics of two vocabulary blocks together (online log-sum-exp)."""
    if a is None:
        return b
    m = xp.maximum(a.m, b.m)
    fa, fb = xp.exp(a.m - m), xp.exp(b.m - m)
    s = a.s * fa + b.s * fb
    sy = None if a.sy is None else a.sy * fa + b.sy * fb
    wy = None if a.wy is None else a.wy + b.wy
    return Stats(m, s, sy, a.yt + b.yt, wy, None)


def item_terms(
    xp: Any, st: Stats, alpha: Any, beta_t: Any, eps_w: float, opts: LinearOptions
) -> tuple[Any, Any, Any, Any]:
    """Per-token loss, log-sum-exp, z-loss term and entropy (or None) from the statistics.

    ``loss = alpha * lse - beta_t * y_t - eps_w * sum_c w_c y_c + z_loss * lse**2`` where
    ``beta_t = (1 - eps) w_t`` and ``eps_w = eps / C``.
    """
    lse = st.m + xp.log(st.s)
    loss = alpha * lse - beta_t * st.yt
    if st.wy is not None:
        loss = loss - eps_w * st.wy
    z = None
    if opts.z_loss:
        z = opts.z_loss * lse * lse
        loss = loss + z
    ent = None if st.sy is None else lse - st.sy / st.s
    return loss, lse, z, ent


def block_grad(
    xp: Any,
    y: Any,
    th: Any,
    onehot: Any,
    wrow: Any,
    m: Any,
    s: Any,
    lse: Any,
    c: Any,
    alpha: Any,
    beta_t: Any,
    eps_w: float,
    opts: LinearOptions,
) -> Any:
    """``G = dL/dz`` of a block (before the matrix products): ``c`` is d(output)/d(token loss), 0 if ignored."""
    coef = c * (alpha + 2.0 * opts.z_loss * lse) if opts.z_loss else c * alpha
    g = xp.exp(y - m) * (coef / s)
    g = g - xp.where(onehot, c * beta_t, xp.zeros_like(g))
    if eps_w:
        g = g - (c * eps_w) * (wrow if wrow is not None else 1.0)
    if th is not None:
        g = g * (1.0 - th * th)
    if opts.logit_scale != 1.0:
        g = g * opts.logit_scale
    return g


# --------------------------------------------------------------------------- driver


@dataclass
class _Prepared:
    xp: Any
    h: Any  # (N, D) compute dtype
    w: Any  # (V, D)
    b: Any  # (V,) or None
    t: Any  # (N,) integer labels
    cw: Any  # (V,) or None
    sw: Any  # (N,) or None
    out_shape: tuple[int, ...]
    opts: LinearOptions
    plan: BlockPlan
    device: Any
    in_dtypes: tuple[Any, Any, Any]
    out_dtype: Any
    lazy: bool
    shard: Any = None  # distributed._Classes: this process's classes and the group's sum / max


def _prepare(
    hidden: Any,
    weight: Any,
    target: Any,
    bias: Any,
    class_weight: Any,
    sample_weight: Any,
    opts: LinearOptions,
    memory_budget: int | None,
) -> _Prepared:
    xp = namespace_of(
        {
            "hidden": hidden,
            "weight": weight,
            "target": target,
            "bias": bias,
            "class_weight": class_weight,
            "sample_weight": sample_weight,
        }
    )
    for name, a in (("hidden", hidden), ("weight", weight), ("bias", bias)):
        if a is not None and not is_floating(xp, a.dtype):
            raise InvalidTypeError(f"{name} must be a floating-point array; got dtype {a.dtype}")
    if hidden.ndim < 1 or (opts.shift and hidden.ndim < 2):
        need = "(..., T, D) with a time axis for shift=True" if opts.shift else "(..., D)"
        raise InvalidArgumentError(f"hidden must have shape {need}; got shape {tuple(hidden.shape)}")
    if weight.ndim != 2 or weight.shape[1] != hidden.shape[-1]:
        raise InvalidArgumentError(
            f"weight must have shape (V, D) with D = hidden.shape[-1] = {hidden.shape[-1]}; "
            f"got shape {tuple(weight.shape)}"
        )
    v, d = int(weight.shape[0]), int(weight.shape[1])
    if v < 1:
        raise InvalidArgumentError("weight must have at least one row (class)")
    shard, v_total, v_plan = _shard_hooks(opts, hidden, v), v, v
    if shard is not None:
        v_total = shard.n_classes
        v_plan = int(shard.max(xp.asarray([v], device=creation_device(hidden)))[0])  # the same plan everywhere
    if bias is not None and tuple(bias.shape) != (v,):
        raise InvalidArgumentError(f"bias must have shape (V,) = ({v},); got shape {tuple(bias.shape)}")
    if tuple(target.shape) != tuple(hidden.shape[:-1]):
        raise InvalidArgumentError(
            f"target must have hidden's shape without the last axis, {tuple(hidden.shape[:-1])}; "
            f"got shape {tuple(target.shape)}"
        )
    if not is_integer(xp, target.dtype):
        raise InvalidTypeError(f"target must hold integer class indices; got dtype {target.dtype}")
    if class_weight is not None and tuple(class_weight.shape) != (v,):
        raise InvalidArgumentError(
            f"class_weight must be a 1-D array of length V={v}; got shape {tuple(class_weight.shape)}"
        )
    if sample_weight is not None and tuple(sample_weight.shape) != tuple(target.shape):
        raise InvalidArgumentError(
            f"sample_weight must have the target's shape {tuple(target.shape)}; got shape {tuple(sample_weight.shape)}"
        )
    dtypes = [hidden.dtype, weight.dtype] + ([bias.dtype] if bias is not None else [])
    out_dtype = xp.result_type(*dtypes)
    cdtype = compute_dtype(xp, out_dtype)
    h, t, sw = hidden, target, sample_weight
    if opts.shift:
        h = h[..., :-1, :]
        t = t[..., 1:]
        sw = None if sw is None else sw[..., 1:]
    out_shape = tuple(int(k) for k in t.shape)
    n = math.prod(out_shape)
    h = xp.reshape(h, (n, d))
    t = xp.reshape(t, (n,))
    sw = None if sw is None else xp.reshape(sw, (n,))

    def cast(a: Any) -> Any:
        return a if a is None or a.dtype == cdtype else xp.astype(a, cdtype)

    lazy = any(is_lazy(a) for a in (hidden, weight, target))
    if not lazy and n:
        _check_labels(xp, t, v_total, opts.spec.ignore_index)
    plan = plan_blocks(n, v_plan, int(xp.finfo(cdtype).bits) // 8, memory_budget)
    if plan.cols >= v_plan:
        plan = BlockPlan(plan.rows, v)
    return _Prepared(
        xp,
        cast(h),
        cast(weight),
        cast(bias),
        t,
        cast(class_weight),
        cast(sw),
        out_shape,
        opts,
        plan,
        creation_device(hidden),
        (hidden.dtype, weight.dtype, None if bias is None else bias.dtype),
        out_dtype,
        lazy,
        shard,
    )


def _shard_hooks(opts: LinearOptions, hidden: Any, v: int) -> Any:
    """The class shard's collectives (``distributed._Classes``), after checking it fits the call."""
    shard = opts.class_shard
    if shard is None:
        return None
    from .distributed import _Classes, _dist

    if not is_torch(hidden):
        lib = type(hidden).__module__.split(".")[0]
        raise InvalidTypeError(
            f"class_shard works on torch tensors (torch.distributed); got a {lib} array.  "
            "JAX: shard weight with jax.sharding and jit instead (docs/scaling.md)"
        )
    _dist()
    if v != shard.size:
        raise InvalidArgumentError(f"weight holds {v} classes (rows), but class_shard.size is {shard.size}")
    return _Classes(shard.start, shard.n_classes, shard.group)


def _check_labels(xp: Any, t: Any, v: int, ignore_index: int | None) -> None:
    if is_jax(t) or is_torch(t):  # on the host: O(tokens), and no compilation per new shape
        t = np.asarray(t.cpu() if is_torch(t) else t)
        xp = np
    lo, hi = int(xp.min(t)), int(xp.max(t))
    if 0 <= lo and hi < v:
        return
    bad = (t < 0) | (t >= v)
    if ignore_index is not None:
        bad = bad & (t != ignore_index)
    if bool(xp.any(bad)):
        ign = f" (other than ignore_index={ignore_index})" if ignore_index is not None else ""
        raise LabelOutOfRangeError(f"target holds class labels outside [0, {v}){ign} (labels range from {lo} to {hi})")


class _Parts(NamedTuple):
    valid: Any  # (N, 1) bool or None
    bad: Any  # (N, 1) bool (lazy out-of-range labels) or None
    alpha: Any  # (N, 1)
    beta_t: Any  # (N, 1)
    eps_w: float
    w_t: Any  # (N, 1) class weight of the label (or None)


def _parts(p: _Prepared) -> _Parts:
    """Per-token factors; with a class shard, ``w_t`` and ``sum(class_weight)`` are summed over the group."""
    xp, spec = p.xp, p.opts.spec
    v = _n_classes(p)
    t = xp.reshape(p.t, (-1, 1))
    valid = None if spec.ignore_index is None else t != spec.ignore_index
    bad = None
    if p.lazy:
        bad = (t < 0) | (t >= v)
        if valid is not None:
            bad = bad & valid
    eps = spec.label_smoothing
    one = xp.ones((int(t.shape[0]), 1), dtype=p.h.dtype, device=p.device)
    if p.cw is None:
        w_t = None
        beta_t = one * (1.0 - eps)
        alpha = one
    else:
        lo, n_local = _local_classes(p)
        tl = t - lo
        here = (tl >= 0) & (tl < n_local)
        safe = xp.where(here, tl, xp.zeros_like(tl))
        w_t = xp.reshape(xp.take(p.cw, xp.reshape(safe, (-1,)), axis=0), (-1, 1))
        cw_sum = xp.sum(p.cw) if eps else None
        if p.shard is not None:
            w_t = p.shard.sum(xp.where(here, w_t, xp.zeros_like(w_t)))
            cw_sum = None if cw_sum is None else p.shard.sum(xp.reshape(cw_sum, (1,)))[0]
        beta_t = w_t * (1.0 - eps)
        alpha = beta_t + (eps / v) * cw_sum if cw_sum is not None else beta_t
    return _Parts(valid, bad, alpha, beta_t, eps / v, w_t)


def _n_classes(p: _Prepared) -> int:
    """The number of classes over every process of a class shard (else ``weight``'s rows)."""
    return int(p.w.shape[0]) if p.shard is None else int(p.shard.n_classes)


def _local_classes(p: _Prepared) -> tuple[int, int]:
    """(first class held here, how many)."""
    return (0 if p.shard is None else int(p.shard.start)), int(p.w.shape[0])


def _global_stats(p: _Prepared, st: Stats) -> Stats:
    """A class shard's row statistics over the whole vocabulary: a ``MAX`` and one ``SUM`` all-reduce."""
    if p.shard is None:
        return st
    xp = p.xp
    m = p.shard.max(st.m)
    f = xp.exp(st.m - m)
    cols = [st.s * f, st.yt] + ([] if st.sy is None else [st.sy * f]) + ([] if st.wy is None else [st.wy])
    tot = p.shard.sum(xp.concat(cols, axis=1))
    k = 2
    sy = wy = None
    if st.sy is not None:
        sy, k = tot[:, k : k + 1], k + 1
    if st.wy is not None:
        wy = tot[:, k : k + 1]
    return Stats(m, tot[:, 0:1], sy, tot[:, 1:2], wy, None)


def _denominator(p: _Prepared, parts: _Parts) -> Any:
    """The mean's denominator (0-d), after ``zero_denominator``."""
    xp, spec = p.xp, p.opts.spec
    n = int(p.t.shape[0])
    if spec.denominator == "items" or (parts.valid is None and (p.cw is None or spec.denominator == "valid")):
        d = xp.asarray(float(n), dtype=p.h.dtype, device=p.device)
    elif spec.denominator in ("label_weight", "item_weight") and p.cw is not None:
        w = parts.w_t if spec.denominator == "label_weight" else parts.alpha
        if parts.valid is not None:
            w = xp.where(parts.valid, w, xp.zeros_like(w))
        d = xp.sum(w)
    else:
        d = xp.sum(xp.astype(parts.valid, p.h.dtype))
    if spec.zero_denominator == "zero":
        d = xp.where(d == 0, xp.ones_like(d), d)
    return d


def _item_factor(p: _Prepared, parts: _Parts) -> Any:
    """Apply the per-token factor of the reduction input: sample weight and scale, and 0 for ignored
    tokens (selected, not multiplied: an ignored token's 0/0 coefficient gives a 0 gradient)."""
    xp = p.xp
    w = None if p.sw is None else xp.reshape(p.sw, (-1, 1))
    scale = p.opts.spec.scale

    def apply(a: Any) -> Any:
        if w is not None:
            a = a * w
        if scale != 1.0:
            a = a * scale
        if parts.valid is not None:
            a = xp.where(parts.valid, a, xp.zeros_like(a))
        return a

    return apply


def _reduce(p: _Prepared, per_item: Any, denom: Any) -> Any:
    xp, red = p.xp, p.opts.spec.reduction
    if red == "none":
        return xp.reshape(per_item, p.out_shape)
    total = xp.sum(per_item)
    return total / denom if red == "mean" else total


def _vocab_blocks(p: _Prepared) -> list[tuple[int, int]]:
    v = int(p.w.shape[0])
    return [(s, min(v, s + p.plan.cols)) for s in range(0, v, p.plan.cols)]


def _token_blocks(p: _Prepared) -> list[tuple[int, int]]:
    n = int(p.h.shape[0])
    return [(s, min(n, s + p.plan.rows)) for s in range(0, n, p.plan.rows)] if n else []


def _run(p: _Prepared, *, c_items: Any = None, want_grad: bool, want_loss: bool, want_aux: bool) -> dict[str, Any]:
    """One pass over the blocks.

    ``want_grad``: also the gradients, with ``c_items`` (N, 1) = d(output)/d(token loss) (None: the
    gradient of the loss itself for "sum" / "mean"); the logits of a block are reused when the whole
    vocabulary is one block, else recomputed per vocabulary block after the statistics.
    """
    xp, opts = p.xp, p.opts
    spec = opts.spec
    parts = _parts(p)
    v = int(p.w.shape[0])
    n = int(p.h.shape[0])
    denom = _denominator(p, parts) if spec.reduction == "mean" else None
    factor = _item_factor(p, parts)
    if want_grad:
        if c_items is None:  # the gradient of the output itself (a cotangent of ones)
            c_items = xp.ones((n, 1), dtype=p.h.dtype, device=p.device)
            if spec.reduction == "mean":
                c_items = c_items / denom
        c_items = factor(c_items)
    want_smooth = spec.label_smoothing > 0
    vblocks = _vocab_blocks(p)
    iota = xp.arange(v, device=p.device)
    t2 = xp.reshape(p.t, (-1, 1))
    if p.shard is not None and p.shard.start:  # labels as indices into this process's classes
        t2 = t2 - p.shard.start
    dh = dw = db = None
    if want_grad:
        dh_parts: list[Any] = []
        dw = xp.zeros(tuple(p.w.shape), dtype=p.w.dtype, device=p.device)
        db = None if p.b is None else xp.zeros((v,), dtype=p.w.dtype, device=p.device)
        dw_acc: list[Any] = [None] * len(vblocks)
        db_acc: list[Any] = [None] * len(vblocks)
    losses, lses, zs, ents = [], [], [], []
    # torch, one vocabulary block, no lazy labels: in place on one logits buffer per block
    fast = is_torch(p.h) and len(vblocks) == 1 and parts.bad is None and not _torch_records(p)
    for r0, r1 in _token_blocks(p):
        h = p.h[r0:r1, :]
        tb = t2[r0:r1, :]
        alpha, beta_t = parts.alpha[r0:r1, :], parts.beta_t[r0:r1, :]
        if fast:
            cb = c_items[r0:r1, :] if want_grad else None
            loss, lse, z, ent, dh_b = _torch_fused_block(p, h, tb, alpha, beta_t, parts.eps_w, cb, want_aux, dw, db)
            if want_loss:
                losses.append(loss)
            if want_aux:
                lses.append(lse)
                zs.append(z)
                ents.append(ent)
            if want_grad:
                dh_parts.append(dh_b)
            continue
        st: Stats | None = None
        cache = None
        for c0, c1 in vblocks:
            y, th = block_logits(xp, h, p.w[c0:c1, :], None if p.b is None else p.b[c0:c1], opts)
            onehot = xp.reshape(iota[c0:c1], (1, -1)) == tb
            wrow = None if p.cw is None else xp.reshape(p.cw[c0:c1], (1, -1))
            st = combine_stats(xp, st, block_stats(xp, y, onehot, wrow, (want_aux, want_smooth)))
            if len(vblocks) == 1:
                cache = (y, th, onehot, wrow)
        assert st is not None
        st = _global_stats(p, st)
        loss, lse, z, ent = item_terms(xp, st, alpha, beta_t, parts.eps_w, opts)
        if parts.bad is not None:
            nan = xp.asarray(math.nan, dtype=loss.dtype, device=p.device)
            loss = xp.where(parts.bad[r0:r1, :], nan, loss)
        if want_loss:
            losses.append(loss)
        if want_aux:
            lses.append(lse)
            zs.append(z)
            ents.append(ent)
        if want_grad:
            cb = c_items[r0:r1, :]
            if parts.bad is not None:
                cb = xp.where(parts.bad[r0:r1, :], xp.asarray(math.nan, dtype=cb.dtype, device=p.device), cb)
            dh_b = None
            for k, (c0, c1) in enumerate(vblocks):
                if cache is not None:
                    y, th, onehot, wrow = cache
                else:
                    y, th = block_logits(xp, h, p.w[c0:c1, :], None if p.b is None else p.b[c0:c1], opts)
                    onehot = xp.reshape(iota[c0:c1], (1, -1)) == tb
                    wrow = None if p.cw is None else xp.reshape(p.cw[c0:c1], (1, -1))
                g = block_grad(xp, y, th, onehot, wrow, st.m, st.s, lse, cb, alpha, beta_t, parts.eps_w, opts)
                part = xp.matmul(g, p.w[c0:c1, :])
                dh_b = part if dh_b is None else dh_b + part
                gw = xp.matmul(xp.matrix_transpose(g), h)
                dw_acc[k] = gw if dw_acc[k] is None else dw_acc[k] + gw
                if p.b is not None:
                    gb = xp.sum(g, axis=0)
                    db_acc[k] = gb if db_acc[k] is None else db_acc[k] + gb
            dh_parts.append(dh_b)
    out: dict[str, Any] = {"denom": denom}
    if want_loss:
        per = xp.concat(losses, axis=0) if losses else xp.zeros((0, 1), dtype=p.h.dtype, device=p.device)
        per = factor(per)
        out["loss"] = _reduce(p, per, denom)
    if want_aux:
        zero = xp.zeros((0, 1), dtype=p.h.dtype, device=p.device)
        lse_all = xp.concat(lses, axis=0) if lses else zero
        ent_all = xp.concat(ents, axis=0) if ents else zero
        if parts.valid is not None:
            lse_all = xp.where(parts.valid, lse_all, xp.zeros_like(lse_all))
            ent_all = xp.where(parts.valid, ent_all, xp.zeros_like(ent_all))
        if opts.z_loss and zs:
            zz = xp.concat(zs, axis=0)
            zz = factor(zz)
            out["z_loss"] = _reduce(p, zz, denom)
        else:
            out["z_loss"] = _reduce(p, xp.zeros((n, 1), dtype=p.h.dtype, device=p.device), denom)
        out["lse"] = xp.reshape(lse_all, p.out_shape)
        out["entropy"] = xp.reshape(ent_all, p.out_shape)
    if want_grad:
        dh = xp.concat(dh_parts, axis=0) if dh_parts else xp.zeros((0, int(p.h.shape[1])), dtype=p.h.dtype)
        if p.shard is not None:  # every process's classes contribute to d hidden
            dh = p.shard.sum(dh)
        if n and not fast:
            dw = xp.concat(dw_acc, axis=0)
            if p.b is not None:
                db = xp.concat(db_acc, axis=0)
        out["grads"] = (dh, dw, db)
    return out


def _torch_records(p: _Prepared) -> bool:
    """Whether torch autograd would record operations on these inputs (then no in-place work)."""
    import torch

    return torch.is_grad_enabled() and any(a is not None and a.requires_grad for a in (p.h, p.w, p.b, p.cw, p.sw))


def _torch_fused_block(
    p: _Prepared, h: Any, tb: Any, alpha: Any, beta_t: Any, eps_w: float, c: Any, want_aux: bool, dw: Any, db: Any
) -> tuple[Any, Any, Any, Any, Any]:
    """The torch fast path of one block of tokens with the whole vocabulary: the same math as
    :func:`block_logits` ... :func:`block_grad`, in place on one logits buffer (two with a soft-cap).

    Accumulates into ``dw`` / ``db`` in place; returns loss, lse, z-loss, entropy, d hidden of the block.
    """
    import torch

    opts = p.opts
    y = torch.mm(h, p.w.T) if p.b is None else torch.addmm(p.b, h, p.w.T)
    if opts.logit_scale != 1.0:
        y.mul_(opts.logit_scale)
    th = None
    if opts.logit_softcap is not None:
        th = y.div_(opts.logit_softcap).tanh_()
        y = th * opts.logit_softcap
    here = (tb >= 0) & (tb < y.shape[1])
    safe = torch.where(here, tb, 0)
    yt = torch.gather(y, 1, safe)
    if p.shard is not None:
        yt = torch.where(here, yt, 0.0)
    wy = None
    if eps_w:
        wy = y.sum(1, keepdim=True) if p.cw is None else (y @ p.cw)[:, None]
    m = y.amax(1, keepdim=True)
    if p.shard is not None:  # the group's max first: then the local sums need no rescaling
        m = p.shard.max(m)
    sy = None
    if want_aux:
        sy = ((y - m).exp_() * y).sum(1, keepdim=True)
    e = y.sub_(m).exp_()
    s = e.sum(1, keepdim=True)
    if p.shard is not None:
        parts = [s, yt] + ([] if sy is None else [sy]) + ([] if wy is None else [wy])
        tot = p.shard.sum(torch.cat(parts, 1))
        s, yt = tot[:, 0:1], tot[:, 1:2]
        sy = None if sy is None else tot[:, 2:3]
        wy = None if wy is None else tot[:, -1:]
    lse = m + s.log()
    loss = alpha * lse - beta_t * yt
    if wy is not None:
        loss = loss - eps_w * wy
    z = None
    if opts.z_loss:
        z = opts.z_loss * lse * lse
        loss = loss + z
    ent = None if sy is None else lse - sy / s
    if c is None:
        return loss, lse, z, ent, None
    coef = c * (alpha + 2.0 * opts.z_loss * lse) if opts.z_loss else c * alpha
    g = e.mul_(coef / s)
    g.scatter_add_(1, safe, -(c * beta_t) if p.shard is None else torch.where(here, -(c * beta_t), 0.0))
    if eps_w:
        g.sub_((c * eps_w) * (1.0 if p.cw is None else p.cw[None, :]))
    if th is not None:
        g.mul_(th.mul_(th).neg_().add_(1.0))
    if opts.logit_scale != 1.0:
        g.mul_(opts.logit_scale)
    dh_b = torch.mm(g, p.w)
    dw.addmm_(g.T, h)
    if db is not None:
        db.add_(g.sum(0))
    return loss, lse, z, ent, dh_b


def _finish_grads(p: _Prepared, hidden: Any, grads: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
    """Bring the gradients back to the inputs' shapes (shift: a zero last position) and dtypes."""
    xp = p.xp
    dh, dw, db = grads
    d = int(p.w.shape[1])
    if p.opts.shift:
        lead = tuple(int(k) for k in hidden.shape[:-2])
        dh = xp.reshape(dh, (*lead, int(hidden.shape[-2]) - 1, d))
        pad = xp.zeros((*lead, 1, d), dtype=dh.dtype, device=p.device)
        dh = xp.concat([dh, pad], axis=-2)
    else:
        dh = xp.reshape(dh, tuple(int(k) for k in hidden.shape))
    dts = p.in_dtypes
    dh = dh if dh.dtype == dts[0] else xp.astype(dh, dts[0])
    dw = dw if dw.dtype == dts[1] else xp.astype(dw, dts[1])
    if db is not None and db.dtype != dts[2]:
        db = xp.astype(db, dts[2])
    return dh, dw, db


def _cast_out(p: _Prepared, a: Any) -> Any:
    out = a if a.dtype == p.out_dtype else p.xp.astype(a, p.out_dtype)
    return np.asarray(out) if isinstance(out, np.generic) else out


def _options(
    spec: CrossEntropySpec | None, spec_fields: dict[str, Any], shift: bool, class_shard: Any = None
) -> LinearOptions:
    if spec is None:
        spec = CrossEntropySpec(**spec_fields)
    elif not isinstance(spec, CrossEntropySpec):
        raise InvalidTypeError(f"spec must be a CrossEntropySpec; got {type(spec).__name__}")
    elif spec_fields:
        spec = spec.replace(**spec_fields)
    return LinearOptions(spec, shift, class_shard)


# --------------------------------------------------------------------------- public API


@overload
def linear_cross_entropy(
    hidden: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    spec: CrossEntropySpec | None = None,
    class_weight: Any = None,
    sample_weight: Any = None,
    shift: bool = False,
    return_aux: Literal[False] = False,
    memory_budget: int | None = None,
    class_shard: Any = None,
    **spec_fields: Any,
) -> Array: ...
@overload
def linear_cross_entropy(
    hidden: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    spec: CrossEntropySpec | None = None,
    class_weight: Any = None,
    sample_weight: Any = None,
    shift: bool = False,
    return_aux: Literal[True],
    memory_budget: int | None = None,
    class_shard: Any = None,
    **spec_fields: Any,
) -> tuple[Array, LinearAux]: ...
@overload
def linear_cross_entropy(
    hidden: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    spec: CrossEntropySpec | None = None,
    class_weight: Any = None,
    sample_weight: Any = None,
    shift: bool = False,
    return_aux: bool = False,
    memory_budget: int | None = None,
    class_shard: Any = None,
    **spec_fields: Any,
) -> Array | tuple[Array, LinearAux]: ...
def linear_cross_entropy(
    hidden: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    spec: CrossEntropySpec | None = None,
    class_weight: Any = None,
    sample_weight: Any = None,
    shift: bool = False,
    return_aux: bool = False,
    memory_budget: int | None = None,
    class_shard: Any = None,
    **spec_fields: Any,
) -> Array | tuple[Array, LinearAux]:
    r"""Cross-entropy of ``hidden @ weight.T + bias`` against class labels, without the logits.

    Parameters
    ----------
    hidden : array, shape (..., D)
        The last hidden states (floating).  Half precision is computed in float32.
    weight : array, shape (V, D)
        The classifier (unembedding) matrix.
    target : array, shape (...)
        Class indices in ``[0, V)`` (or ``ignore_index``).
    bias : array, shape (V,), optional
    spec : CrossEntropySpec, optional
        ``ignore_index``, ``label_smoothing``, ``reduction`` ("none", "sum", "mean"),
        ``denominator``, ``zero_denominator``, ``scale``, ``z_loss`` (PaLM's ``z * lse**2``),
        ``logit_softcap`` (Gemma 2's ``cap * tanh(logits / cap)``), ``logit_scale``; fields given as
        keywords override it (or build it: ``linear_cross_entropy(h, w, t, ignore_index=-100,
        z_loss=1e-4)``).
    class_weight : array, shape (V,), optional
        Per-class weights (PyTorch's ``weight``); no gradient flows to them.
    sample_weight : array, the target's shape, optional
        Per-token weights; no gradient flows to them.
    shift : bool
        Causal-LM shift: position ``j`` of ``hidden`` predicts ``target[..., j + 1]``; the output
        (reduction "none") has the time axis one shorter, and the last position gets no gradient.
    return_aux : bool
        Also return a :class:`LinearAux` (per-token log-sum-exp and entropy, the z-loss part).
    memory_budget : int, optional
        Bytes of block temporaries (default :data:`DEFAULT_MEMORY_BUDGET`); block sizes follow from
        it (:func:`plan_blocks`).
    class_shard : ClassShard, optional
        Vocabulary parallelism over ``torch.distributed`` (:class:`unified_ce.distributed.ClassShard`):
        ``weight``, ``bias`` and ``class_weight`` hold this process's classes ``class_shard.classes``;
        ``hidden``, ``target`` and ``sample_weight`` are whole.  Per block of tokens the row maximum
        and the row sums are all-reduced (O(tokens) numbers), so every process gets the full loss; its
        gradients are ``d weight`` / ``d bias`` of its classes and the whole ``d hidden`` (summed
        over the group).  Every process of the group must make the same call.

    Returns
    -------
    array or (array, LinearAux)
        The loss, in the result dtype of ``hidden``, ``weight`` (and ``bias``); differentiable with
        respect to ``hidden``, ``weight`` and ``bias`` under PyTorch autograd and JAX transforms.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce import linear_cross_entropy
    >>> rng = np.random.default_rng(0)
    >>> h, w = rng.normal(size=(6, 4)), rng.normal(size=(10, 4))
    >>> t = np.array([1, 2, 3, -100, 5, 9])
    >>> loss = linear_cross_entropy(h, w, t, ignore_index=-100)
    >>> logits = h @ w.T
    >>> lse = np.log(np.exp(logits).sum(-1))
    >>> keep = t != -100
    >>> naive = np.mean(lse[keep] - logits[keep, t[keep]])
    >>> bool(np.isclose(loss, naive))
    True
    """
    opts = _options(spec, spec_fields, shift, class_shard)
    if not isinstance(return_aux, bool):
        raise InvalidTypeError(f"return_aux must be a bool; got {return_aux!r}")
    args = (hidden, weight, target, bias, class_weight, sample_weight)
    if is_torch(hidden):
        import torch

        if torch.is_grad_enabled() and any(a is not None and a.requires_grad for a in (hidden, weight, bias)):
            from ._linear_glue import torch_linear

            return torch_linear(args, opts, memory_budget, return_aux)
    if is_jax(hidden):
        from ._linear_glue import jax_linear

        return jax_linear(args, opts, memory_budget, return_aux)
    p = _prepare(*args, opts, memory_budget)
    out = _run(p, want_grad=False, want_loss=True, want_aux=return_aux)
    loss = _cast_out(p, out["loss"])
    if not return_aux:
        return loss
    return loss, LinearAux(_cast_out(p, out["lse"]), _cast_out(p, out["z_loss"]), _cast_out(p, out["entropy"]))


def linear_value_and_grad(
    hidden: Array,
    weight: Any,
    target: Any,
    bias: Any = None,
    *,
    spec: CrossEntropySpec | None = None,
    class_weight: Any = None,
    sample_weight: Any = None,
    shift: bool = False,
    grad_output: Any = None,
    memory_budget: int | None = None,
    class_shard: Any = None,
    **spec_fields: Any,
) -> tuple[Array, tuple[Array, Array, Array | None]]:
    """The loss of :func:`linear_cross_entropy` and its gradients ``(d_hidden, d_weight, d_bias)``.

    For array libraries without autodiff (NumPy, CuPy, Dask, array-api-strict); ``grad_output``
    is the cotangent of the loss (default 1; the loss's shape for ``reduction="none"``).
    ``d_bias`` is None without ``bias``; ``class_shard`` as in :func:`linear_cross_entropy`.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.linear import linear_value_and_grad
    >>> h, w = np.ones((3, 2)), np.zeros((4, 2))
    >>> loss, (dh, dw, db) = linear_value_and_grad(h, w, np.array([0, 1, 2]))
    >>> round(float(loss), 6), dh.shape, dw.shape, db
    (1.386294, (3, 2), (4, 2), None)
    """
    opts = _options(spec, spec_fields, shift, class_shard)
    p = _prepare(hidden, weight, target, bias, class_weight, sample_weight, opts, memory_budget)
    c = None
    if grad_output is not None:
        c = _cotangent(p, grad_output)
    out = _run(p, c_items=c, want_grad=True, want_loss=True, want_aux=False)
    return _cast_out(p, out["loss"]), _finish_grads(p, hidden, out["grads"])


def _cotangent(p: _Prepared, g: Any) -> Any:
    """d(output . g)/d(token loss) before the per-token factor: (N, 1)."""
    xp = p.xp
    n = int(p.h.shape[0])
    g = g if not hasattr(g, "dtype") or g.dtype == p.h.dtype else xp.astype(g, p.h.dtype)
    if p.opts.spec.reduction == "none":
        if tuple(g.shape) != p.out_shape:
            raise InvalidArgumentError(f"grad_output must have the loss's shape {p.out_shape}; got {tuple(g.shape)}")
        return xp.reshape(g, (n, 1))
    if tuple(getattr(g, "shape", ())) != ():
        raise InvalidArgumentError(f"grad_output must be 0-d for reduction={p.opts.spec.reduction!r}")
    c = xp.ones((n, 1), dtype=p.h.dtype, device=p.device) * g
    if p.opts.spec.reduction == "mean":
        c = c / _denominator(p, _parts(p))
    return c

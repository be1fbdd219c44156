"""NumPy arrays in few, large passes: the same spec as the reference core, with every logits-sized
temporary kept in cache and the blocks of rows shared by a few threads.

NumPy runs one thread per operation, and each operation on a whole array streams it through memory
once: the plain evaluation of a cross-entropy and its gradient reads or writes the logits-sized
arrays about ten times (max, subtract, ``exp``, sum, scale, ...).  This evaluator cuts the items into
blocks of about :data:`BLOCK_BYTES` of logits (a core's share of the cache) and runs all of a block's
passes while it is in cache -- for ``value_and_grad``:

* ``m = max_c x`` (one read of the block of logits from memory);
* ``g = exp(x - m)`` into the block of the gradient (``np.subtract`` and ``np.exp`` with ``out=``) --
  or, when every row maximum of the block lies in a window where ``exp(x)`` cannot overflow
  (:data:`UNSHIFTED`, e.g. ``[-20, 60]`` for float32), ``g = exp(x)`` in one pass: the softmax
  ``exp(x) / sum_c exp(x_c)`` is the same, and ``sum_c exp(x_c - m) = exp(-m) sum_c exp(x_c)``;
* ``s = sum_c g`` (``np.einsum``: a SIMD row sum) and ``g *= c alpha / s``;
* label smoothing: ``sum_c x_c`` (or ``sum_c w_c x_c``) for the loss and ``g -= c beta_u``.

So the logits are read once and the gradient written once; the O(items) parts -- label masks,
``alpha`` / ``beta`` of the target distribution, weights, the mean's denominator, the coefficient
``c`` -- are the reference core's own functions, computed before the pass (the denominator depends
on the labels only), and the gradient at the labels is one O(items) scatter after it.  The forward
alone runs the same block passes into a scratch buffer of one block per thread (O(block) extra
memory).

**Threads.** NumPy releases the GIL inside each of these operations, so the blocks are shared by
:func:`threads` Python threads (started per call, for logits of at least
:data:`MIN_PARALLEL_BYTES`): each thread takes the next block from a shared counter, so a thread
whose core is busy with another process simply takes fewer blocks -- no barrier waits for it.  A call
has one parallel region (the block loop) whatever its size.  On an oversubscribed machine (load
average above the CPUs + 1) a call runs on one thread (:data:`DYNAMIC`).

``tests/test_numpy_cpu.py`` compares this evaluator with the reference core
(``UNIFIED_CE_KERNEL=reference``) and the float64 loop reference across the fast-path spec table,
in one block, in blocks of three rows and with several threads.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from .._spec import CrossEntropySpec
from ..core import fastpath
from ..core.evaluate import finish
from ..core.inputs import Inputs, Residuals, along_axis
from ..core.reduce import apply_item_weights, coefficient, denominator_part, denominator_total
from ..core.targets import index_parts
from ..core.validate import check_grad_output

__all__ = [
    "BLOCK_BYTES",
    "DYNAMIC",
    "MIN_PARALLEL_BYTES",
    "THREADS",
    "UNSHIFTED",
    "NumpyCPUKernel",
    "threads",
    "unsupported",
]

#: Bytes of logits per block of items: a block stays in cache (L2, or its share of L3) through its passes.
BLOCK_BYTES = 2 << 20
#: Logits of at least this many bytes are shared by :func:`threads` threads (smaller ones: one thread).
MIN_PARALLEL_BYTES = 4 << 20
#: Threads per call; None: ``OMP_NUM_THREADS`` when set, else the CPUs this process may run on.
THREADS: int | None = None
#: With ``THREADS`` None: one thread while the machine is oversubscribed (one-minute load average
#: above its CPUs + 1), as libgomp's dynamic mode does -- there a thread that waits for the GIL
#: waits for a CPU as well, and sharing the blocks costs more than it gains.
DYNAMIC = True

#: Row sums along a last class axis at least this long use ``np.einsum`` (a SIMD loop, 3x faster
#: than ``np.add.reduce`` there; its call costs more for short rows).
EINSUM_MIN_CLASSES = 256

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
#: By itemsize (float32, float64): a block whose row maxima ``m`` all lie in ``[lo, hi]`` takes
#: ``exp(x)`` without subtracting ``m`` first (one pass less).  ``hi`` keeps ``sum_c exp(x_c)`` far
#: from overflow for any number of classes; ``lo`` keeps every class within ``-log(eps)`` of the row
#: maximum a normal number, so the softmax is as exact as the shifted one.
UNSHIFTED = {4: (-20.0, 60.0), 8: (-300.0, 300.0)}


def threads() -> int:
    """The number of threads a large call uses (see :data:`THREADS` and :data:`DYNAMIC`)."""
    if THREADS is not None:
        return max(1, int(THREADS))
    env = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    if env.isdigit() and int(env) > 0:
        n = int(env)
    else:
        n = _cpus()
    if n > 1 and DYNAMIC and _load() > _cpus() + 1:
        return 1
    return n


def _cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def _load() -> float:
    """The machine's one-minute load average (0 where the platform has none)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def unsupported(spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any, sample_weight: Any) -> str | None:
    """Why this evaluator does not cover the call (None: it does)."""
    if type(logits) is not np.ndarray:
        return "not a NumPy array"
    try:
        why = _uncovered(spec)
    except TypeError:  # a spec with an unhashable field value
        from . import _uncovered_field

        why = _uncovered_field(spec, "numpy_cpu")
    if why:
        return why
    if logits.dtype not in _FLOATS:
        return f"logits of dtype {logits.dtype}"
    if logits.ndim < 2 or logits.size == 0:
        return "fewer than two dimensions, or empty logits"
    if type(target) is not np.ndarray or target.dtype.kind not in "iuf":
        return "targets that are not a NumPy array of class indices"
    return None


@functools.lru_cache(maxsize=256)
def _uncovered(spec: CrossEntropySpec) -> str | None:
    """The first spec field this evaluator does not cover (the spec-field table, unified_ce._fields)."""
    from . import _uncovered_field

    return _uncovered_field(spec, "numpy_cpu")


# --------------------------------------------------------------------------- the block loop


def _times(a: Any, b: Any) -> Any:
    return b if isinstance(a, (int, float)) and a == 1 else a * b


def _row_sum(a: Any, axis: int, out: Any) -> None:
    """``sum_c a`` along ``axis`` into ``out`` (keep shape): one SIMD pass for a long last class axis."""
    if axis == a.ndim - 1 and a.shape[axis] >= EINSUM_MIN_CLASSES:
        np.einsum("...c->...", a, out=out[..., 0])
    else:
        np.add.reduce(a, axis=axis, keepdims=True, out=out)


def _parallel(count: int, work: Callable[[int, int], None], n_threads: int) -> None:
    """``work(i, thread)`` for ``i`` in ``range(count)``, the blocks taken in turn by ``n_threads`` threads."""
    if n_threads <= 1 or count <= 1:
        for i in range(count):
            work(i, 0)
        return
    lock = threading.Lock()
    nxt = [0]
    errors: list[BaseException] = []
    err = np.geterr()  # NumPy's error state is per thread: the caller's applies in every worker

    def run(tid: int) -> None:
        try:
            with np.errstate(**err):
                while not errors:
                    with lock:
                        i = nxt[0]
                        nxt[0] = i + 1
                    if i >= count:
                        return
                    work(i, tid)
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(1, n_threads)]
    for w in workers:
        w.start()
    run(0)
    for w in workers:
        w.join()
    if errors:
        raise errors[0]


def _blocks(inp: Inputs) -> fastpath.Blocks:
    """Blocks of about :data:`BLOCK_BYTES` of logits along the first non-class axis."""
    whole = fastpath.one_block(inp)
    per_row = inp.x.nbytes // max(whole.size, 1)
    step = max(1, BLOCK_BYTES // max(per_row, 1))
    return fastpath.Blocks(whole.axis, whole.size, min(step, max(whole.size, 1)))


def _smoothing_vector(inp: Inputs) -> bool:
    """Whether the uniform part ``beta_u`` is a class-axis vector (per-class weights) rather than per item."""
    return inp.spec.weighting == "per_class" and inp.cw is not None


def _block_pass(
    xb: Any, gb: Any, tmp: Any, mb: Any, sb: Any, xsb: Any, kb: Any, cub: Any, axis: int, w: Any, u: Any
) -> None:
    """All the passes of one block while it is in cache (see :func:`_passes`); ``*b``: the block's views.

    ``gb`` receives ``exp(x - m)`` scaled to ``exp(x - m) k / s`` when ``kb`` is given.  Where every
    row maximum of the block lies in the dtype's :data:`UNSHIFTED` window, ``exp(x)`` is taken
    directly (no ``x - m`` pass; it cannot overflow there, and ``exp(x) / sum_c exp(x_c)`` is the same
    softmax), and ``s = exp(-m) sum_c exp(x_c)`` is the shifted sum the loss reads.
    """
    np.maximum.reduce(xb, axis=axis, keepdims=True, out=mb)
    lo, hi = UNSHIFTED[xb.dtype.itemsize]
    unshifted = bool(lo <= mb.min() and mb.max() <= hi)  # False for a NaN maximum
    if unshifted:
        np.exp(xb, out=gb)
    else:
        np.subtract(xb, mb, out=gb)
        np.exp(gb, out=gb)
    _row_sum(gb, axis, sb)
    if kb is not None:
        np.multiply(gb, kb / sb, out=gb)
        if cub is not None:  # the uniform part of label smoothing: gb -= c beta_u
            if u is not None:  # c beta_u = c w (eps / C): an outer product, in the scratch block
                np.multiply(cub, u, out=tmp)
                np.subtract(gb, tmp, out=gb)
            else:
                np.subtract(gb, cub, out=gb)
    if unshifted:
        sb *= np.exp(-mb)  # sum_c exp(x_c - m) = exp(-m) sum_c exp(x_c): O(rows)
    if xsb is not None:
        if w is not None:  # sum_c w_c x_c
            np.multiply(xb, w, out=tmp)
            _row_sum(tmp, axis, xsb)
        else:
            _row_sum(xb, axis, xsb)


def _passes(inp: Inputs, grad: Any, k: Any, cu: Any) -> tuple[Any, Any, Any]:
    """The block loop: ``(m, s, xs)`` with the keep shape -- row max, ``sum_c exp(x - m)`` and, with
    label smoothing, ``sum_c x_c`` (or ``sum_c w_c x_c``; else None).

    ``grad`` given: ``exp(x - m) * k / s - cu`` is written into it (``k = c alpha``; ``cu = c beta_u``,
    or ``c`` when ``beta_u`` is a class-axis vector), else a scratch block per thread is used.
    """
    x, axis, nd = inp.x, inp.axis, inp.x.ndim
    keep = inp.keep_shape
    m = np.empty(keep, dtype=x.dtype)
    s = np.empty(keep, dtype=x.dtype)
    smoothing = bool(inp.spec.label_smoothing)
    vector = smoothing and _smoothing_vector(inp)
    xs: Any = np.empty(keep, dtype=x.dtype) if smoothing else None
    w: Any = along_axis(inp, inp.cw) if vector else None
    u: Any = w * (inp.spec.label_smoothing / inp.n_classes) if vector else None
    need_scratch = grad is None or vector
    blocks = _blocks(inp)
    if blocks.step >= blocks.size:  # one block: no views, no threads
        tmp = np.empty(x.shape, dtype=x.dtype) if need_scratch else None
        _block_pass(x, tmp if grad is None else grad, tmp, m, s, xs, k if grad is not None else None, cu, axis, w, u)
        return m, s, xs
    slices = list(blocks)
    n_threads = min(threads() if x.nbytes >= MIN_PARALLEL_BYTES else 1, len(slices))
    scratch_shape = list(x.shape)
    scratch_shape[blocks.axis] = blocks.step
    scratch = [np.empty(scratch_shape, dtype=x.dtype) if need_scratch else None for _ in range(n_threads)]

    def work(i: int, tid: int) -> None:
        sl = slices[i]
        tmp: Any = scratch[tid]
        if tmp is not None:
            tmp = fastpath.block_of(tmp, blocks, slice(0, sl.stop - sl.start), nd)
        _block_pass(
            fastpath.block_of(x, blocks, sl, nd),
            tmp if grad is None else fastpath.block_of(grad, blocks, sl, nd),
            tmp,
            fastpath.block_of(m, blocks, sl, nd),
            fastpath.block_of(s, blocks, sl, nd),
            None if xs is None else fastpath.block_of(xs, blocks, sl, nd),
            None if grad is None else fastpath.block_of(k, blocks, sl, nd),
            None if cu is None else fastpath.block_of(cu, blocks, sl, nd),
            axis,
            w,
            u,
        )

    _parallel(len(slices), work, n_threads)
    return m, s, xs


def _item_losses(inp: Inputs, parts: Any, m: Any, s: Any, xs: Any) -> Any:
    """``alpha ls + beta_t (m - x_t) (+ sum_c beta_u,c (m - x_c))`` per item, keep shape."""
    x_t = np.take_along_axis(inp.x, parts.idx, axis=inp.axis)
    loss = _times(parts.alpha, np.log(s)) + _times(parts.beta_t, m - x_t)
    if inp.spec.label_smoothing:
        if _smoothing_vector(inp):  # beta_u = w (eps / C)
            eps = inp.spec.label_smoothing
            loss = loss + (eps / inp.n_classes) * (m * np.sum(inp.cw) - xs)
        else:
            loss = loss + parts.beta_u * (inp.x.shape[inp.axis] * m - xs)
    return loss


def _reduce(inp: Inputs, loss: Any, parts: Any, denom: Any) -> Any:
    """Weights, scale and reduction of the item losses (the reference core's)."""
    spec = inp.spec
    loss = apply_item_weights(inp, loss, parts.valid)
    if spec.reduction == "none":
        out = loss if spec.keepdims else np.squeeze(loss, axis=inp.axis)
    elif spec.reduction == "sum":
        out = np.sum(loss)
    else:
        if denom is None:
            denom = denominator_total(inp, denominator_part(inp, parts.valid, parts))
        out = np.sum(loss) / denom
    return finish(inp, out)


class NumpyCPUKernel:
    """NumPy float32 / float64 logits: the block passes of this module (see the module docstring)."""

    name = "numpy_cpu"

    def evaluate(self, inp: Inputs, double_backprop: bool = True) -> Any:
        """The loss (NumPy has no autodiff: the forward alone)."""
        parts = index_parts(inp)
        m, s, xs = _passes(inp, None, None, None)
        return _reduce(inp, _item_losses(inp, parts, m, s, xs), parts, None)

    def evaluate_with_grad(self, inp: Inputs, grad_output: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` in one pass over the logits."""
        shape = check_grad_output(inp, grad_output)
        x = inp.x
        parts = index_parts(inp)
        denom = None
        if inp.spec.reduction == "mean":  # the denominator depends on the labels only: known before the pass
            denom = denominator_total(inp, denominator_part(inp, parts.valid, parts))
        g = np.ones(shape, dtype=x.dtype) if grad_output is None else grad_output
        c = coefficient(inp, Residuals(None, None, denom), g)
        if parts.valid is not None:  # where, not a product: c is inf or nan when every item is ignored
            c = np.where(parts.valid, c, np.zeros((), dtype=x.dtype))
        k = _times(parts.alpha, c)
        cu = None
        if inp.spec.label_smoothing:
            cu = c if _smoothing_vector(inp) else c * parts.beta_u
        grad = np.empty(x.shape, dtype=x.dtype)
        m, s, xs = _passes(inp, grad, k, cu)
        fastpath.scatter_sub_(inp.xp, grad, parts.idx, _times(parts.beta_t, c), inp.axis)
        out = _reduce(inp, _item_losses(inp, parts, m, s, xs), parts, denom)
        return out, grad

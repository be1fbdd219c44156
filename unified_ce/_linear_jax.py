"""The JAX driver of :func:`unified_ce.linear_cross_entropy`: the block loops as XLA loops.

The generic driver (:func:`unified_ce.linear._run`) walks the blocks in Python; under ``jax.jit``
that unrolls every block into one program, and XLA's scheduler is then free to keep many blocks'
logits alive at once (the memory of the naive path, and more).  Here the same per-block math
(:func:`~unified_ce.linear.block_logits`, :func:`~unified_ce.linear.block_stats`,
:func:`~unified_ce.linear.combine_stats`, :func:`~unified_ce.linear.item_terms`,
:func:`~unified_ce.linear.block_grad`) runs inside ``lax.fori_loop`` over the token blocks (and,
when the vocabulary does not fit one block, over the vocabulary blocks), with the outputs and the
gradients ``d hidden`` / ``d weight`` / ``d bias`` as loop carries updated in place
(``dynamic_update_slice``), so one block's temporaries are alive at a time.  A last, shorter block
(the remainder of the token count or of the vocabulary) runs once after its loop, at its own static
shape: no padding and no masking.

``d weight`` of a block of tokens is added to the carry one slice of :data:`DW_CHUNK` classes at a
time, so that the product ``G^T h`` never needs a temporary of the weight's size.
"""

from __future__ import annotations

import math
from typing import Any

from .linear import (
    Stats,
    _denominator,
    _item_factor,
    _parts,
    _Prepared,
    _reduce,
    block_grad,
    block_logits,
    block_stats,
    combine_stats,
    item_terms,
)

__all__ = ["jax_run"]

#: Classes per ``d weight`` update (``G[:, chunk]^T h``): 1,024 classes x 1,024 hidden is 4 MiB in float32.
DW_CHUNK = 1024


def _loop(lo: int, hi: int, body: Any, carry: Any) -> Any:
    """``lax.fori_loop`` over ``range(lo, hi)``; no loop at all for one or no iteration."""
    from jax import lax

    if hi - lo <= 0:
        return carry
    if hi - lo == 1:
        return body(lo, carry)
    return lax.fori_loop(lo, hi, body, carry)


def _blocks(total: int, size: int) -> tuple[int, int]:
    """(number of full blocks, size of the last partial block or 0)."""
    return total // size, total % size


def _target_logit(xp: Any, h: Any, w: Any, b: Any, tb: Any, opts: Any) -> Any:
    """The transformed logit of each token's label, ``y[i, t_i]``, from ``h_i . w[t_i] (+ b[t_i])``
    directly (0 for a label outside ``[0, V)``): a gather of ``w``'s rows instead of a pick from the
    logits block, which then dies as soon as its exponentials are taken (XLA computes them in place)."""
    import jax.numpy as jnp

    v = int(w.shape[0])
    inside = (tb >= 0) & (tb < v)
    safe = jnp.where(inside, tb, 0)[:, 0]
    z = jnp.sum(h * jnp.take(w, safe, axis=0), axis=1, keepdims=True)
    if b is not None:
        z = z + jnp.take(b, safe, axis=0)[:, None]
    if opts.logit_scale != 1.0:
        z = z * opts.logit_scale
    if opts.logit_softcap is not None:
        z = xp.tanh(z / opts.logit_softcap) * opts.logit_softcap
    return jnp.where(inside, z, jnp.zeros_like(z))


def jax_run(p: _Prepared, *, c_items: Any = None, want_grad: bool, want_loss: bool, want_aux: bool) -> dict[str, Any]:
    """The outputs of :func:`unified_ce.linear._run` (same keys, same meaning) with XLA loops."""
    import jax.numpy as jnp
    from jax import lax

    xp, opts = p.xp, p.opts
    spec = opts.spec
    parts = _parts(p)
    v, d = int(p.w.shape[0]), int(p.w.shape[1])
    n = int(p.h.shape[0])
    dt = p.h.dtype
    denom = _denominator(p, parts) if spec.reduction == "mean" else None
    factor = _item_factor(p, parts)
    if want_grad:
        if c_items is None:  # the gradient of the output itself (a cotangent of ones)
            c_items = jnp.ones((n, 1), dtype=dt)
            if spec.reduction == "mean":
                c_items = c_items / denom
        c_items = factor(c_items)
        if parts.bad is not None:
            c_items = jnp.where(parts.bad, jnp.asarray(math.nan, dtype=dt), c_items)
    want_smooth = spec.label_smoothing > 0
    want_entropy = want_aux
    rows, cols = min(p.plan.rows, max(n, 1)), p.plan.cols
    t2 = jnp.reshape(p.t, (-1, 1))
    eps_w = parts.eps_w
    per_token = {"t": t2, "alpha": parts.alpha, "beta_t": parts.beta_t}
    if want_grad:
        per_token["c"] = c_items

    def vslice(c0: Any, size: int) -> tuple[Any, Any, Any, Any]:
        w = lax.dynamic_slice_in_dim(p.w, c0, size, axis=0)
        b = None if p.b is None else lax.dynamic_slice_in_dim(p.b, c0, size, axis=0)
        cw = None if p.cw is None else jnp.reshape(lax.dynamic_slice_in_dim(p.cw, c0, size, axis=0), (1, -1))
        iota = jnp.reshape(jnp.arange(size, dtype=p.t.dtype), (1, -1)) + c0
        return w, b, cw, iota

    def add_dw(dw: Any, db: Any, g: Any, h: Any, c0: Any, size: int) -> tuple[Any, Any]:
        """``dw[c0:c0+size] += g^T h`` (``g``: tokens x size) a chunk of classes at a time."""

        def one(k0: Any, ksize: int, dw: Any) -> Any:
            gk = lax.dynamic_slice_in_dim(g, k0, ksize, axis=1)
            part = lax.dynamic_slice_in_dim(dw, c0 + k0, ksize, axis=0) + jnp.matmul(gk.T, h)
            return lax.dynamic_update_slice_in_dim(dw, part, c0 + k0, axis=0)

        full, rest = _blocks(size, DW_CHUNK)
        if full == 1 and not rest:
            dw = one(0, size, dw)
        else:
            dw = _loop(0, full, lambda k, dw: one(k * DW_CHUNK, DW_CHUNK, dw), dw)
            if rest:
                dw = one(full * DW_CHUNK, rest, dw)
        if db is not None:
            part = lax.dynamic_slice_in_dim(db, c0, size, axis=0) + jnp.sum(g, axis=0)
            db = lax.dynamic_update_slice_in_dim(db, part, c0, axis=0)
        return dw, db

    def token_block(r0: Any, size: int, carry: dict[str, Any]) -> dict[str, Any]:
        h = lax.dynamic_slice_in_dim(p.h, r0, size, axis=0)
        tok = {k: lax.dynamic_slice_in_dim(a, r0, size, axis=0) for k, a in per_token.items()}
        tb, alpha, beta_t = tok["t"], tok["alpha"], tok["beta_t"]
        want = (want_entropy, want_smooth)
        yt = _target_logit(xp, h, p.w, p.b, tb, opts)
        zero = jnp.zeros_like(yt)
        carry = dict(carry)
        if cols >= v:  # the whole vocabulary at once: the logits block serves the loss and the gradient
            w, b, cw, iota = vslice(0, v)
            y, th = block_logits(xp, h, w, b, opts)
            onehot = iota == tb
            st = block_stats(xp, y, onehot, cw, want, yt)
        else:  # online log-sum-exp over vocabulary blocks, then a second pass for the gradient

            def stats(c0: Any, size_v: int, st: Stats | None) -> Stats:
                w, b, cw, iota = vslice(c0, size_v)
                y, _ = block_logits(xp, h, w, b, opts)
                return combine_stats(xp, st, block_stats(xp, y, iota == tb, cw, want, zero))

            full, rest = _blocks(v, cols)
            st = stats(0, cols, None)
            st = _loop(1, full, lambda k, st: stats(k * cols, cols, st), st)
            if rest:
                st = stats(full * cols, rest, st)
            st = st._replace(yt=yt)
        loss, lse, z, ent = item_terms(xp, st, alpha, beta_t, eps_w, opts)
        for key, val in (("loss", loss), ("lse", lse), ("z", z), ("ent", ent)):
            if key in carry and val is not None:
                carry[key] = lax.dynamic_update_slice_in_dim(carry[key], val, r0, axis=0)
        if not want_grad:
            return carry
        cb = tok["c"]
        if cols >= v:
            g = block_grad(xp, y, th, onehot, cw, st.m, st.s, lse, cb, alpha, beta_t, eps_w, opts)
            dh_b = jnp.matmul(g, p.w)
            carry["dw"], carry["db"] = add_dw(carry["dw"], carry["db"], g, h, 0, v)
        else:

            def grad(c0: Any, size_v: int, acc: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
                dh_b, dw, db = acc
                w, b, cw, iota = vslice(c0, size_v)
                y, th = block_logits(xp, h, w, b, opts)
                g = block_grad(xp, y, th, iota == tb, cw, st.m, st.s, lse, cb, alpha, beta_t, eps_w, opts)
                dw, db = add_dw(dw, db, g, h, c0, size_v)
                return dh_b + jnp.matmul(g, w), dw, db

            full, rest = _blocks(v, cols)
            acc = (jnp.zeros((size, d), dtype=dt), carry["dw"], carry["db"])
            acc = _loop(0, full, lambda k, acc: grad(k * cols, cols, acc), acc)
            if rest:
                acc = grad(full * cols, rest, acc)
            dh_b, carry["dw"], carry["db"] = acc
        carry["dh"] = lax.dynamic_update_slice_in_dim(carry["dh"], dh_b, r0, axis=0)
        return carry

    carry: dict[str, Any] = {}
    col = jnp.zeros((n, 1), dtype=dt)
    if want_loss or want_aux:
        carry["loss"] = col
    if want_aux:
        carry["lse"] = col
        carry["ent"] = col
        if opts.z_loss:
            carry["z"] = col
    if want_grad:
        carry["dh"] = jnp.zeros((n, d), dtype=dt)
        carry["dw"] = jnp.zeros((v, d), dtype=dt)
        carry["db"] = None if p.b is None else jnp.zeros((v,), dtype=dt)
    if n:
        full, rest = _blocks(n, rows)
        carry = _loop(0, full, lambda i, c: token_block(i * rows, rows, c), carry)
        if rest:
            carry = token_block(full * rows, rest, carry)

    out: dict[str, Any] = {"denom": denom}
    if want_loss:
        per = carry["loss"]
        if parts.bad is not None:
            per = jnp.where(parts.bad, jnp.asarray(math.nan, dtype=dt), per)
        out["loss"] = _reduce(p, factor(per), denom)
    if want_aux:
        lse_all, ent_all = carry["lse"], carry["ent"]
        if parts.valid is not None:
            lse_all = jnp.where(parts.valid, lse_all, jnp.zeros_like(lse_all))
            ent_all = jnp.where(parts.valid, ent_all, jnp.zeros_like(ent_all))
        zz = carry["z"] if opts.z_loss else col
        out["z_loss"] = _reduce(p, factor(zz), denom)
        out["lse"] = jnp.reshape(lse_all, p.out_shape)
        out["entropy"] = jnp.reshape(ent_all, p.out_shape)
    if want_grad:
        out["grads"] = (carry["dh"], carry["dw"], carry["db"])
    return out

"""Autodiff glue of :func:`unified_ce.linear_cross_entropy`: a torch Function and a JAX custom VJP.

Thin: torch calls :func:`unified_ce.linear._run`, JAX its loop form
:func:`unified_ce._linear_jax.jax_run` (the blocks as ``lax.fori_loop``), for the loss and the
analytic gradients.  When the
cotangent is a scalar (reduction "sum" / "mean") the gradients are computed in the forward pass,
from the same logits blocks, and the backward pass only scales them; for reduction "none" the
backward pass recomputes the blocks with the per-token cotangent.  Imported only once a torch
tensor or a JAX array is seen.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from .linear import LinearAux, LinearOptions, _cast_out, _finish_grads, _prepare, _run

__all__ = ["jax_linear", "torch_linear"]


# --------------------------------------------------------------------------- torch


@functools.cache
def _torch_function() -> Any:
    import torch

    class LinearCrossEntropyFunction(torch.autograd.Function):
        @staticmethod
        def forward(  # type: ignore[override]
            ctx: Any,
            hidden: Any,
            weight: Any,
            bias: Any,
            target: Any,
            class_weight: Any,
            sample_weight: Any,
            opts: LinearOptions,
            budget: int | None,
            want_aux: bool,
        ) -> Any:
            p = _prepare(hidden, weight, target, bias, class_weight, sample_weight, opts, budget)
            fused = opts.spec.reduction != "none"
            out = _run(p, want_grad=fused, want_loss=True, want_aux=want_aux)
            ctx.args = (hidden, weight, target, bias, class_weight, sample_weight, opts, budget)
            ctx.grads = _finish_grads(p, hidden, out["grads"]) if fused else None
            loss = _cast_out(p, out["loss"])
            if not want_aux:
                return loss
            aux = (_cast_out(p, out["lse"]), _cast_out(p, out["z_loss"]), _cast_out(p, out["entropy"]))
            ctx.mark_non_differentiable(*aux)
            return (loss, *aux)

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx: Any, g: Any, *aux_grads: Any) -> Any:
            hidden, weight, target, bias, class_weight, sample_weight, opts, budget = ctx.args
            if ctx.grads is not None:  # fused: scale the forward's gradients in place and hand them over
                dh, dw, db = ctx.grads
                ctx.grads = None  # a second backward (retain_graph) recomputes
                if not bool(g == 1):
                    dh, dw = dh.mul_(g.to(dh.dtype)), dw.mul_(g.to(dw.dtype))
                    db = None if db is None else db.mul_(g.to(db.dtype))
            else:
                from .linear import _cotangent

                p = _prepare(hidden, weight, target, bias, class_weight, sample_weight, opts, budget)
                out = _run(p, c_items=_cotangent(p, g), want_grad=True, want_loss=False, want_aux=False)
                dh, dw, db = _finish_grads(p, hidden, out["grads"])
            return (
                dh if ctx.needs_input_grad[0] else None,
                dw if ctx.needs_input_grad[1] else None,
                db if bias is not None and ctx.needs_input_grad[2] else None,
                None,
                None,
                None,
                None,
                None,
                None,
            )

    return LinearCrossEntropyFunction


def torch_linear(args: tuple[Any, ...], opts: LinearOptions, budget: int | None, want_aux: bool) -> Any:
    hidden, weight, target, bias, class_weight, sample_weight = args
    out = _torch_function().apply(hidden, weight, bias, target, class_weight, sample_weight, opts, budget, want_aux)
    if not want_aux:
        return out
    return out[0], LinearAux(*out[1:])


# --------------------------------------------------------------------------- JAX


@functools.cache
def _jax_function() -> Any:
    import jax

    from ._linear_jax import jax_run

    def primal(
        static: tuple[LinearOptions, int | None, bool],
        hidden: Any,
        weight: Any,
        bias: Any,
        target: Any,
        cw: Any,
        sw: Any,
    ) -> Any:
        opts, budget, want_aux = static
        p = _prepare(hidden, weight, target, bias, cw, sw, opts, budget)
        out = jax_run(p, want_grad=False, want_loss=True, want_aux=want_aux)
        return _outputs(p, out, want_aux)

    def fwd(
        static: tuple[LinearOptions, int | None, bool],
        hidden: Any,
        weight: Any,
        bias: Any,
        target: Any,
        cw: Any,
        sw: Any,
    ) -> Any:
        opts, budget, want_aux = static
        p = _prepare(hidden, weight, target, bias, cw, sw, opts, budget)
        fused = opts.spec.reduction != "none"
        out = jax_run(p, want_grad=fused, want_loss=True, want_aux=want_aux)
        grads = _finish_grads(p, hidden, out["grads"]) if fused else None
        return _outputs(p, out, want_aux), (grads, hidden, weight, bias, target, cw, sw)

    def bwd(static: tuple[LinearOptions, int | None, bool], res: Any, ct: Any) -> Any:
        opts, budget, want_aux = static
        grads, hidden, weight, bias, target, cw, sw = res
        g = ct[0] if want_aux else ct
        if grads is not None:
            dh, dw, db = grads
            dh, dw = dh * g.astype(dh.dtype), dw * g.astype(dw.dtype)
            db = None if db is None else db * g.astype(db.dtype)
        else:
            from .linear import _cotangent

            p = _prepare(hidden, weight, target, bias, cw, sw, opts, budget)
            out = jax_run(p, c_items=_cotangent(p, g), want_grad=True, want_loss=False, want_aux=False)
            dh, dw, db = _finish_grads(p, hidden, out["grads"])
        zero_t = np.zeros(target.shape, dtype=jax.dtypes.float0)
        zcw = None if cw is None else jax.numpy.zeros_like(cw)
        zsw = None if sw is None else jax.numpy.zeros_like(sw)
        return dh, dw, db, zero_t, zcw, zsw

    f = jax.custom_vjp(primal, nondiff_argnums=(0,))
    f.defvjp(fwd, bwd)
    return f


def _outputs(p: Any, out: dict[str, Any], want_aux: bool) -> Any:
    loss = _cast_out(p, out["loss"])
    if not want_aux:
        return loss
    return loss, LinearAux(_cast_out(p, out["lse"]), _cast_out(p, out["z_loss"]), _cast_out(p, out["entropy"]))


def jax_linear(args: tuple[Any, ...], opts: LinearOptions, budget: int | None, want_aux: bool) -> Any:
    hidden, weight, target, bias, class_weight, sample_weight = args
    import jax

    if not jax.numpy.issubdtype(target.dtype, jax.numpy.integer):
        from ._errors import InvalidTypeError

        raise InvalidTypeError(f"target must hold integer class indices; got dtype {target.dtype}")
    return _jax_function()((opts, budget, want_aux), hidden, weight, bias, target, class_weight, sample_weight)

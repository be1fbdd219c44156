"""Thin glue that makes the core's analytic gradient the gradient of PyTorch and JAX.

The math lives in :mod:`unified_ce.core`; here it is only registered:

* PyTorch: a ``torch.autograd.Function`` whose backward calls :func:`core.backward` with torch
  operations, so double backward (``create_graph=True``) differentiates the gradient itself.  Used
  when only the logits need a gradient; if a probability target or a weight requires grad too, the
  core's forward (plain torch operations) is differentiated by autograd instead.
* JAX: a ``jax.custom_vjp`` per spec (cached), whose backward is the same function; gradients with
  respect to float targets and weights come from ``jax.vjp`` of the forward (dead code under ``jit``
  when not asked for).  ``jax.hessian`` differentiates through the backward.

``double_backprop=False`` (Chainer's ``enable_double_backprop=False``) keeps the first gradient and
makes differentiating it again raise ``RuntimeError``: in torch the gradient computed under
``create_graph=True`` hangs off a node whose backward raises; in JAX it passes through an identity
whose JVP rule raises.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import sys
from typing import Any

from . import core
from ._backend import is_jax, is_torch, is_torch_traced
from ._spec import CrossEntropySpec
from .core.inputs import mean_axis
from .core.reduce import sample_axes

__all__ = ["evaluate", "evaluate_with_grad"]


def evaluate(
    inp: core.Inputs,
    plan: core.Plan,
    logits: Any,
    target: Any,
    class_weight: Any,
    sample_weight: Any,
    *,
    double_backprop: bool = True,
) -> Any:
    """The loss of validated inputs, differentiable wherever the array library is.

    With ``double_backprop=False`` the gradient with respect to the logits cannot be differentiated
    again (a second differentiation raises ``RuntimeError``).
    """
    if is_torch(logits):
        if _torch_differentiates_logits_only(logits, (target, class_weight, sample_weight, inp.den)):
            fn = _torch_function(double_backprop)
            return fn.apply(logits, inp.t, inp.cw, inp.sw, inp.den, _static(inp), inp.x.dtype, plan.mask_ignored)[0]
    elif is_jax(logits):
        spec, scalars = _jax_scalars(inp.spec)
        return _jax_function(spec, double_backprop)(
            logits, target, class_weight, sample_weight, inp.den, inp.cm, *scalars
        )
    out, _ = core.forward(inp, plan)
    return core.finish(inp, out)


def _torch_differentiates_logits_only(logits: Any, others: tuple[Any, ...]) -> bool:
    """Whether torch's autodiff may differentiate this loss with respect to the logits (reverse or
    forward mode, or a ``torch.func`` transform) but no other argument: then the analytic gradient
    applies (:func:`_torch_function`); else autograd differentiates the core's torch operations."""
    torch = sys.modules["torch"]
    if any(a is not None and (a.requires_grad or is_torch_traced(a)) for a in others):
        return False
    if torch.is_grad_enabled() and logits.requires_grad:
        return True
    if is_torch_traced(logits):
        return True
    fwad = torch.autograd.forward_ad
    return fwad._current_level >= 0 and fwad.unpack_dual(logits).tangent is not None


def evaluate_with_grad(inp: core.Inputs, plan: core.Plan, grad_output: Any) -> tuple[Any, Any]:
    """Loss and d sum(loss * grad_output)/d logits, by the analytic gradient (any library)."""
    if is_jax(inp.x) and not inp.lazy and inp.classes is None:  # eager JAX: one compiled program
        spec, scalars = _jax_scalars(inp.spec)
        static = (
            spec,
            inp.axis,
            inp.n_classes,
            inp.out_dtype,
            inp.in_dtype,
            inp.keep_shape,
            plan.mask_ignored,
            inp.t_dtype,
        )
        return _jax_value_and_grad(static, inp.xp)(inp.x, inp.t, inp.cw, inp.sw, inp.den, inp.cm, grad_output, *scalars)
    return _evaluate_with_grad(inp, plan, grad_output)


def _evaluate_with_grad(inp: core.Inputs, plan: core.Plan, grad_output: Any) -> tuple[Any, Any]:
    fused = core.forward_with_grad(inp, grad_output, plan)  # eager arrays: one pass over the logits
    if fused is not None:
        return core.finish(inp, fused[0]), fused[1]
    out, res = core.forward(inp, plan)
    out = core.finish(inp, out)
    xp = inp.xp
    core.check_grad_output(inp, grad_output, tuple(out.shape))
    g = xp.ones(out.shape, dtype=inp.x.dtype, device=inp.device) if grad_output is None else grad_output
    return out, core.backward(inp, res, g, plan)


_NO_DOUBLE_BACKPROP = (
    "a second derivative was requested, but the loss was evaluated without double-backprop support "
    "(chainer dialect: enable_double_backprop=False, the default); pass enable_double_backprop=True"
)


def _static(inp: core.Inputs) -> tuple[Any, ...]:
    """Everything of validated inputs but the arrays (passed to autograd functions as one constant)."""
    return (inp.spec, inp.xp, inp.axis, inp.n_classes, inp.out_dtype, inp.in_dtype, inp.device, inp.lazy,
            inp.keep_shape, inp.classes, inp.t_dtype, inp.cm)  # fmt: skip


def _rebuilt(static: tuple[Any, ...], logits: Any, t: Any, cw: Any, sw: Any, den: Any, cdtype: Any) -> core.Inputs:
    """Inputs of the arrays an autograd function received (the logits cast to the compute dtype here,
    so that no float32 copy of half-precision logits outlives the call)."""
    spec, xp, axis, n_classes, out_dtype, in_dtype, device, lazy, keep_shape, classes, t_dtype, cm = static
    x = logits if logits.dtype == cdtype else logits.to(cdtype)
    return core.Inputs(spec=spec, xp=xp, x=x, t=t, cw=cw, sw=sw, axis=axis, n_classes=n_classes,
                       out_dtype=out_dtype, in_dtype=in_dtype, device=device, lazy=lazy, keep_shape=keep_shape,
                       classes=classes, t_dtype=t_dtype, den=den, cm=cm)  # fmt: skip


def _contract(inp: core.Inputs, p: Any, out_ndim: int) -> Any:
    """Sum the per-element products ``p`` (logits' shape) into the loss's shape: the JVP of the loss
    from its gradient with grad_output = ones (every item's gradient row belongs to one output),
    reduced as the forward reduces the item losses."""
    spec, xp = inp.spec, inp.xp
    if spec.activation == "softmax":
        p = xp.sum(p, axis=inp.axis, keepdims=True)  # per item, the keep shape
    if spec.reduction in ("sum", "mean"):
        return xp.sum(p)
    if spec.reduction == "none":
        return p if (spec.keepdims or spec.activation == "sigmoid") else xp.squeeze(p, axis=inp.axis)
    if spec.reduction == "axis_mean":
        return xp.sum(p, axis=mean_axis(inp))
    _, axes, _ = sample_axes(inp)  # sample_mean: one value per index of the batch axis
    return xp.sum(p, axis=axes) if axes else p


@functools.lru_cache(maxsize=2)
def _torch_function(double_backprop: bool = True) -> Any:
    """The ``torch.autograd.Function`` of the loss with respect to the logits.

    ``forward`` / ``setup_context`` (so that ``torch.func`` transforms apply), ``backward`` the core's
    analytic gradient, ``jvp`` (forward mode: ``torch.func.jvp``, ``jacfwd``, ``forward_ad``) its
    contraction with the tangent, ``generate_vmap_rule`` for ``torch.func.vmap``.  Saved for backward:
    the logits as given (released by backward, like any ``save_for_backward``), the target and
    weights, and O(items) residuals (row max and log-sum-exp, the mean's denominator); nothing is
    kept on ``ctx`` but constants.
    """
    import torch

    functorch = torch._C._functorch

    class NoDoubleBackward(torch.autograd.Function):
        """Identity on the gradient whose own backward raises (attached only under ``create_graph``)."""

        @staticmethod
        def forward(ctx: Any, gx: Any, *tracked: Any) -> Any:  # type: ignore[override]
            return gx.clone()

        @staticmethod
        def backward(ctx: Any, *grads: Any) -> Any:  # type: ignore[override]
            raise RuntimeError(_NO_DOUBLE_BACKPROP)

    class CrossEntropyFunction(torch.autograd.Function):
        generate_vmap_rule = True

        @staticmethod
        def forward(logits: Any, t: Any, cw: Any, sw: Any, den: Any, static: Any, cdtype: Any, mask: bool) -> Any:  # type: ignore[override]
            inp = _rebuilt(static, logits, t, cw, sw, den, cdtype)
            out, res = core.forward(inp, core.Plan(mask_ignored=mask))
            denom = res.denom if res.denom is not None else torch.ones((), dtype=inp.x.dtype, device=logits.device)
            if denom is den:  # denominator="given": an input returned as an output must be a view to be saved
                denom = denom.view_as(denom)
            return core.finish(inp, out), res.m, res.ls, denom

        @staticmethod
        def setup_context(ctx: Any, inputs: Any, output: Any) -> None:
            logits, t, cw, sw, den, static, cdtype, mask = inputs
            _, m, ls, denom = output
            ctx.mark_non_differentiable(m, ls, denom)
            ctx.save_for_backward(logits, t, cw, sw, den, m, ls, denom)
            ctx.save_for_forward(logits, t, cw, sw, den, m, ls, denom)
            ctx.static, ctx.cdtype, ctx.mask = static, cdtype, mask

        @staticmethod
        def backward(ctx: Any, grad_out: Any, *unused: Any) -> Any:  # type: ignore[override]
            logits, t, cw, sw, den, m, ls, denom = ctx.saved_tensors
            inp = _rebuilt(ctx.static, logits, t, cw, sw, den, ctx.cdtype)
            plan = core.Plan(mask_ignored=ctx.mask)
            nones = (None,) * 7
            denom = denom if inp.spec.reduction == "mean" else None
            if torch.is_grad_enabled() and not double_backprop:
                with torch.no_grad():
                    gx = core.backward(inp, core.Residuals(m, ls, denom), grad_out, plan)
                return NoDoubleBackward.apply(gx, logits, grad_out), *nones
            if torch.is_grad_enabled() or functorch.is_functorch_wrapped_tensor(logits):
                # a differentiable gradient (double backward, torch.func): residuals recomputed from the logits
                return core.backward(inp, core.Residuals(None, None, denom), grad_out, plan), *nones
            return core.backward(inp, core.Residuals(m, ls, denom), grad_out, plan), *nones

        @staticmethod
        def jvp(ctx: Any, dlogits: Any, *unused: Any) -> Any:
            logits, t, cw, sw, den, _, _, denom = ctx.saved_tensors
            inp = _rebuilt(ctx.static, logits, t, cw, sw, den, ctx.cdtype)
            denom = denom if inp.spec.reduction == "mean" else None
            out_ndim = len(core.loss_shape(inp))
            ones = torch.ones(core.loss_shape(inp), dtype=inp.x.dtype, device=logits.device)
            g = core.backward(inp, core.Residuals(None, None, denom), ones, core.Plan(mask_ignored=ctx.mask))
            tangent = _contract(inp, g * dlogits.to(g.dtype), out_ndim)
            return tangent.to(inp.out_dtype), None, None, None

    return CrossEntropyFunction


#: spec fields that schedules change between steps: eager JAX passes them to its compiled programs as
#: runtime arguments (one program for every value), with the placeholder stating only "zero or not"
#: ("one or not" for scale) in the cached spec
_RUNTIME_SCALARS = (("label_smoothing", 0.0, 0.5), ("scale", 1.0, 2.0))


def _jax_scalars(spec: CrossEntropySpec) -> tuple[CrossEntropySpec, tuple[float, ...]]:
    """``(spec with placeholders for the runtime scalars, their values)`` (see :data:`_RUNTIME_SCALARS`)."""
    values = tuple(getattr(spec, name) for name, _, _ in _RUNTIME_SCALARS)
    changes = {
        name: (neutral if v == neutral else placeholder)
        for (name, neutral, placeholder), v in zip(_RUNTIME_SCALARS, values)
    }
    changes = {k: v for k, v in changes.items() if getattr(spec, k) != v}
    return (spec.replace(**changes) if changes else spec), values


class _Scalar:
    """A traced scalar option inside a compiled program: arithmetic gives JAX values; truth and
    comparison with the field's neutral value are those of the placeholder (static)."""

    __slots__ = ("placeholder", "value")

    def __init__(self, value: Any, placeholder: float) -> None:
        self.value, self.placeholder = value, placeholder

    def __bool__(self) -> bool:
        return bool(self.placeholder)

    def __eq__(self, other: object) -> bool:
        return self.placeholder == other

    def __ne__(self, other: object) -> bool:
        return self.placeholder != other

    def __hash__(self) -> int:
        return hash(self.placeholder)

    def __add__(self, o: Any) -> Any:
        return self.value + o

    def __radd__(self, o: Any) -> Any:
        return o + self.value

    def __sub__(self, o: Any) -> Any:
        return self.value - o

    def __rsub__(self, o: Any) -> Any:
        return o - self.value

    def __mul__(self, o: Any) -> Any:
        return self.value * o

    def __rmul__(self, o: Any) -> Any:
        return o * self.value

    def __truediv__(self, o: Any) -> Any:
        return self.value / o

    def __rtruediv__(self, o: Any) -> Any:
        return o / self.value

    def __neg__(self) -> Any:
        return -self.value


def _traced_spec(spec: CrossEntropySpec, *values: Any) -> CrossEntropySpec:
    """``spec`` (with placeholders) whose runtime scalars are the traced ``values``: the core reads
    them as numbers in arithmetic (traced) and in ``if`` tests (the placeholder's truth)."""
    traced = copy.copy(spec)
    for (name, _, _), v in zip(_RUNTIME_SCALARS, values):
        object.__setattr__(traced, name, _Scalar(v, getattr(spec, name)))
    return traced


@functools.lru_cache(maxsize=1)
def _jax_no_double_backward() -> Any:
    import jax

    @jax.custom_jvp
    def once(g: Any) -> Any:
        return g

    @once.defjvp
    def once_jvp(primals: Any, tangents: Any) -> Any:
        raise RuntimeError(_NO_DOUBLE_BACKPROP)

    return once


@functools.lru_cache(maxsize=512)
def _jax_value_and_grad(static: tuple[Any, ...], xp: Any) -> Any:
    """:func:`evaluate_with_grad` of eager JAX arrays as one jitted program (per spec; JAX caches per
    shape and dtype).  The inputs were validated on concrete values before; inside, they are tracers."""
    import jax

    spec, axis, n_classes, out_dtype, in_dtype, keep_shape, mask_ignored, t_dtype = static
    plan = core.Plan(mask_ignored=mask_ignored)

    def run(x: Any, t: Any, cw: Any, sw: Any, den: Any, cm: Any, g: Any, ls: Any, scale: Any) -> tuple[Any, Any]:
        inp = core.Inputs(
            spec=_traced_spec(spec, ls, scale), xp=xp, x=x, t=t, cw=cw, sw=sw, axis=axis, n_classes=n_classes, out_dtype=out_dtype,
            in_dtype=in_dtype, device=None, lazy=True, keep_shape=keep_shape, t_dtype=t_dtype, den=den, cm=cm,
        )  # fmt: skip
        return _evaluate_with_grad(inp, plan, g)

    return jax.jit(run)


@functools.lru_cache(maxsize=512)
def _jax_function(spec: CrossEntropySpec, double_backprop: bool = True) -> Any:
    """The loss as a ``jax.custom_jvp`` function of (logits, target, class weights, sample weights).

    Its JVP rule is the analytic gradient contracted with the tangent of the logits, so forward mode
    (``jax.jvp``, ``jacfwd``, ``hessian``) works, and reverse mode (``grad``, ``vjp``, ``jacrev``) is
    JAX's transpose of that linear map: ``dlogits = G * cotangent`` with ``G`` the core's gradient.
    ``G`` is computed inside ``jax.checkpoint`` from the logits and the forward's O(items) row
    statistics (max, log-sum-exp, denominator), so reverse mode keeps those as residuals -- not an
    items x classes array -- and computes ``exp`` once in the backward, as a hand-written VJP would.
    Tangents of a floating target and of weights come from JAX's JVP of the core's forward.
    """
    import jax
    import jax.numpy as jnp
    from jax.custom_derivatives import SymbolicZero

    def prep(x: Any, t: Any, cw: Any, sw: Any, den: Any, cm: Any, sc: tuple[Any, ...]) -> core.Inputs:
        inp = core.prepare(spec, x, t, cw, sw, den, check_values=False, class_mask=cm)[0]
        return dataclasses.replace(inp, spec=_traced_spec(inp.spec, *sc))

    def plain(x: Any, t: Any, cw: Any, sw: Any, den: Any, cm: Any, *sc: Any) -> Any:
        inp = prep(x, t, cw, sw, den, cm, sc)
        out, _ = core.forward(inp)
        return core.finish(inp, out)

    def tangent_of_logits(
        x: Any, t: Any, cw: Any, sw: Any, den: Any, cm: Any, sc: Any, m: Any, ls: Any, denom: Any, dx: Any
    ) -> Any:
        inp = prep(x, t, cw, sw, den, cm, sc)
        shape = core.loss_shape(inp)
        ones = jnp.ones(shape, dtype=inp.x.dtype)
        g = core.backward(inp, core.Residuals(m, ls, denom), ones)  # one gradient row per output element
        if not double_backprop:
            g = _jax_no_double_backward()(g)
        return _contract(inp, g * dx.astype(g.dtype), len(shape)).astype(inp.out_dtype)

    tangent_of_logits = jax.checkpoint(tangent_of_logits, prevent_cse=False)

    @jax.custom_jvp
    def f(x: Any, t: Any, cw: Any, sw: Any, den: Any, cm: Any, *sc: Any) -> Any:
        return plain(x, t, cw, sw, den, cm, *sc)

    def f_jvp(primals: Any, tangents: Any) -> Any:
        x, t, cw, sw, den, cm, *sc = primals  # the scalar options (and the class mask) are constants: no tangent
        dx, dt, dcw, dsw, dden = tangents[:5]
        inp = prep(x, t, cw, sw, den, cm, tuple(sc))
        out, res = core.forward(inp)
        out = core.finish(inp, out)
        tangent = jnp.zeros(out.shape, out.dtype)
        if not isinstance(dx, SymbolicZero):
            tangent = tangent + tangent_of_logits(x, t, cw, sw, den, cm, tuple(sc), res.m, res.ls, res.denom, dx)
        rest = {
            k: (v, d)
            for k, v, d in (("t", t, dt), ("cw", cw, dcw), ("sw", sw, dsw), ("den", den, dden))
            if v is not None and not isinstance(d, SymbolicZero) and jnp.issubdtype(v.dtype, jnp.inexact)
        }
        if rest:

            def of_rest(r: dict[str, Any]) -> Any:
                return plain(x, r.get("t", t), r.get("cw", cw), r.get("sw", sw), r.get("den", den), cm, *sc)

            _, t_rest = jax.jvp(
                of_rest, ({k: v for k, (v, _) in rest.items()},), ({k: d for k, (_, d) in rest.items()},)
            )
            tangent = tangent + t_rest
        return out, tangent

    f.defjvp(f_jvp, symbolic_zeros=True)
    # Compiled as one XLA program (per shape and dtype, cached by JAX): eagerly, JAX would otherwise
    # dispatch -- and, for each new shape, compile -- every one of the core's operations separately.
    # Labels were already checked on the concrete arrays (``unified_ce._dispatch.prepare``) before this is called;
    # inside an outer ``jit`` this is an ordinary nested call.
    return jax.jit(f)

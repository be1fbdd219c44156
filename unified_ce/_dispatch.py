"""The one place that decides how a call is evaluated: native op, fused kernel or reference core.

::

    adapters/_base.py (every dialect, the public API)        distributed.py (process groups)
                 |                                                   |
                 v                                                   v
    _dispatch.prepare  --  choose an evaluator  -->  Plan(kernel=...)  (once per call)
                 |                 |                      |
                 |        native (entry point)      kernels.select (triton / cupy)
                 v
    core.prepare (validate) -> Inputs + Plan  --  evaluate / evaluate_with_grad / softmax
                                                        |
                     plan.kernel: the evaluator's own launch   |   else: _autodiff (torch / JAX glue)
                                                               v
                                    core.forward / backward / forward_with_grad (fast paths inside)

An evaluator is an object with ``evaluate(inp, double_backprop)`` and
``evaluate_with_grad(inp, grad_output)`` (:class:`unified_ce.kernels.Kernel`) that reads the logits
as given (uncast).  The *native* entry point, :data:`NATIVE`, is a list of choosers tried before the
fused kernels: ``chooser(spec, logits, target, class_weight, sample_weight)`` returns an evaluator
(say, one that calls the framework's own cross-entropy op for tiny calls) or ``None`` when it does
not cover the call.  It is empty today.  Every evaluator must compute the same spec as the reference
core, which is tested against it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _autodiff, core, kernels
from ._backend import compute_dtype
from ._spec import CrossEntropySpec

__all__ = ["NATIVE", "choose", "direct", "evaluate", "evaluate_with_grad", "prepare", "softmax"]

#: Choosers of a native evaluator, tried in order before the fused kernels (see the module docstring).
NATIVE: list[Callable[[CrossEntropySpec, Any, Any, Any, Any], Any]] = []


_DIRECT: dict[type, Any] = {}


def direct(call: Any) -> Any:
    """The loss of a translated call by the framework's own op, before any validation of ours, or None.

    For tiny calls whose spec the framework's op computes exactly, on arrays it accepts as they are
    (:func:`unified_ce.kernels._torch_cpu.direct`, CPU torch tensors), and tiny NumPy calls in a few
    ufunc calls with the label check folded into one reduction
    (:func:`unified_ce.kernels._numpy_tiny.direct`); the cost of such a call is per-call Python
    work, so it is one cached lookup by the logits' type and the computation itself.  When the
    input is refused (or not covered), None: the full path validates it and raises our error.
    """
    tp = type(call.logits)
    fn = _DIRECT.get(tp, _DIRECT)
    if fn is _DIRECT:
        fn = None
        if tp.__module__.split(".")[0] == "torch":
            from .kernels import _torch_cpu

            fn = _torch_cpu.direct
        elif tp is np.ndarray:
            from .kernels import _numpy_tiny

            fn = _numpy_tiny.direct
        _DIRECT[tp] = fn
    return None if fn is None else fn(call)


def choose(spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any, sample_weight: Any) -> Any:
    """The evaluator of this call other than the reference core (a native op or a fused kernel), or None."""
    for chooser in NATIVE:
        evaluator = chooser(spec, logits, target, class_weight, sample_weight)
        if evaluator is not None:
            return evaluator
    return kernels.select(spec, logits, target, class_weight, sample_weight)


def prepare(
    spec: CrossEntropySpec,
    logits: Any,
    target: Any,
    class_weight: Any = None,
    sample_weight: Any = None,
    divisor: Any = None,
    *,
    check_values: bool = True,
    use_kernels: bool = True,
    classes: Any = None,
    class_mask: Any = None,
) -> tuple[core.Inputs, core.Plan]:
    """Validate a call (:func:`unified_ce.core.prepare`) and plan its evaluation.

    ``use_kernels=False`` (and a class shard): the reference core.
    """
    head = core.begin(spec, logits, target, class_weight, sample_weight)
    evaluator = None
    if use_kernels and classes is None:  # an evaluator reads the logits uncast
        evaluator = choose(spec, logits, target, class_weight, sample_weight)
        check_values = check_values and (evaluator is None or kernels.may_read_values(logits))
    inp, plan = core.prepare(
        spec, logits, target, class_weight, sample_weight, divisor,
        check_values=check_values, keep_logits=evaluator is not None, classes=classes, head=head,
        class_mask=class_mask,
    )  # fmt: skip
    return inp, (plan if evaluator is None else dataclasses.replace(plan, kernel=evaluator))


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
    """The loss, differentiable wherever the array library is (see :func:`unified_ce._autodiff.evaluate`)."""
    if plan.kernel is not None:
        return plan.kernel.evaluate(inp, double_backprop=double_backprop)
    return _autodiff.evaluate(inp, plan, logits, target, class_weight, sample_weight, double_backprop=double_backprop)


def evaluate_with_grad(inp: core.Inputs, plan: core.Plan, grad_output: Any) -> tuple[Any, Any]:
    """The loss and ``d sum(loss * grad_output) / d logits`` by the analytic gradient."""
    if plan.kernel is not None:  # loss and gradient in one launch
        return plan.kernel.evaluate_with_grad(inp, grad_output)  # type: ignore[no-any-return]
    return _autodiff.evaluate_with_grad(inp, plan, grad_output)


def softmax(inp: core.Inputs, plan: core.Plan) -> Any:
    """softmax along the class axis, in the logits' dtype (always by the reference core)."""
    if plan.kernel is not None:  # the evaluator left the logits uncast: compute in the compute dtype
        xp = inp.xp
        inp = dataclasses.replace(inp, x=xp.astype(inp.x, compute_dtype(xp, inp.x.dtype)))
    return core.softmax(inp)

"""The spec-field table: every :class:`~unified_ce.CrossEntropySpec` field as one row.

Each row declares the field's default, its validation (a function returning the canonical value or
raising an error that names the field), the core stages that read it (modules of
:mod:`unified_ce.core`), which fused kernels evaluate values other than the default (everything
else goes to the reference core: :func:`unified_ce.kernels.select` reads this table), and example
values that property tests draw from.  ``tests/test_fields.py`` fails when a dataclass field has no
row, when a row misses any of these, or when a stage reads a field its row does not list.

Adding a field is a row here plus its stage code; see ``docs/concepts.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._errors import InvalidArgumentError, InvalidTypeError
from ._scalars import as_int, as_real

__all__ = ["FIELDS", "KERNELS", "Field", "KernelCoverage", "row"]

#: the fused kernels of :mod:`unified_ce.kernels`
KERNELS = ("triton", "cupy", "torch_cpu", "numpy_cpu")


@dataclass(frozen=True)
class KernelCoverage:
    """Which kernels evaluate values other than the field's default.

    ``kernels``: the kernels that do; ``values``: only these non-default values (None: any);
    ``reason``: how :func:`unified_ce.kernels.explain` names an uncovered value (``{value!r}`` is
    filled in; default ``name=value``).
    """

    kernels: tuple[str, ...] = ()
    values: tuple[Any, ...] | None = None
    reason: str = ""

    def covers(self, kernel: str, default: Any, value: Any) -> bool:
        """Whether ``kernel`` evaluates the field at ``value``."""
        if value == default:
            return True
        return kernel in self.kernels and (self.values is None or value in self.values)


#: every kernel covers every value
ALL_KERNELS = KernelCoverage(KERNELS)
#: no kernel: any value other than the default goes to the reference core
NO_KERNEL = KernelCoverage()
#: the Triton kernel only (the CuPy and torch CPU kernels send other values to the reference core)
TRITON_ONLY = KernelCoverage(("triton",))


@dataclass(frozen=True)
class Field:
    """One row of the table (see the module docstring)."""

    name: str
    default: Any
    validate: Callable[[Any], Any]
    stages: tuple[str, ...]
    kernels: KernelCoverage
    examples: tuple[Any, ...]
    #: values valid as they are, without calling ``validate`` (the spec is built on every dialect call):
    #: values of exactly these classes, or equal to one of ``choices``
    exact_types: tuple[type, ...] = ()
    choices: tuple[Any, ...] = ()


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value not in choices:
            raise InvalidArgumentError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
        return value

    return check


def _int(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        v = as_int(value)
        if v is None:
            raise InvalidTypeError(f"{name} must be an int; got {value!r}")
        return v

    return check


def _finite(name: str, *, minimum: float | None = None) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        v = as_real(value)
        if v is None or not math.isfinite(v):
            raise InvalidTypeError(f"{name} must be a finite float; got {value!r}")
        if minimum is not None and v < minimum:
            raise InvalidArgumentError(f"{name} must be >= {minimum:g}; got {value!r}")
        return v

    return check


def _bool(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):  # NumPy's bool
            return bool(value)
        if not isinstance(value, bool):
            raise InvalidTypeError(f"{name} must be a bool; got {value!r}")
        return value

    return check


def _ignore_index(value: Any) -> Any:
    if value is None:
        return None
    v = as_int(value)
    if v is None:
        raise InvalidTypeError(f"ignore_index must be an int or None; got {value!r}")
    return v


def _label_smoothing(value: Any) -> Any:
    v = as_real(value)
    if v is None:
        raise InvalidTypeError(f"label_smoothing must be a float in [0, 1]; got {value!r}")
    if not 0.0 <= v <= 1.0:
        raise InvalidArgumentError(f"label_smoothing must be a float in [0, 1]; got {value!r}")
    return v


def _nonpositive_or_none(name: str, what: str = "") -> Callable[[Any], Any]:
    """A finite float <= 0 or None (``what``: what the value is, for the message)."""

    def check(value: Any) -> Any:
        if value is None:
            return None
        v = as_real(value)
        if v is None or not math.isfinite(v):
            raise InvalidTypeError(f"{name} must be a finite float or None; got {value!r}")
        if v > 0:
            raise InvalidArgumentError(f"{name} must be <= 0{what}; got {value!r}")
        return v

    return check


def _positive_or_none(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if value is None:
            return None
        v = as_real(value)
        if v is None or not math.isfinite(v):
            raise InvalidTypeError(f"{name} must be a positive float or None; got {value!r}")
        if v <= 0:
            raise InvalidArgumentError(f"{name} must be > 0 or None; got {value!r}")
        return v

    return check


def _probs_clip(value: Any) -> Any:
    v = as_real(value)
    if v is None or not math.isfinite(v):
        raise InvalidTypeError(f"probs_clip must be a float in [0, 0.5); got {value!r}")
    if not 0.0 <= v < 0.5:
        raise InvalidArgumentError(f"probs_clip must be a float in [0, 0.5); got {value!r}")
    return v


def _positive(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        value = _finite(name)(value)
        if value <= 0:
            raise InvalidArgumentError(f"{name} must be > 0; got {value!r}")
        return value

    return check


def _class_axes(value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, tuple):
        raise InvalidTypeError(f"class_axes must be a tuple of ints or None; got {value!r}")
    axes = tuple(as_int(a) for a in value)
    if not axes or any(a is None for a in axes):
        raise InvalidTypeError(f"class_axes must be a non-empty tuple of ints or None; got {value!r}")
    return axes


def _row(name: str, default: Any, validate: Callable[[Any], Any], stages: str, kernels: KernelCoverage,
         examples: tuple[Any, ...], exact_types: tuple[type, ...] = ()) -> Field:  # fmt: skip
    return Field(name, default, validate, tuple(stages.split()), kernels, examples, exact_types)


def _choices(name: str, default: str, choices: tuple[str, ...], stages: str, kernels: KernelCoverage) -> Field:
    return Field(name, default, _choice(name, choices), tuple(stages.split()), kernels, choices, (), choices)


_DENOMINATORS = ("valid", "items", "label_weight", "item_weight", "batch", "logits_per_class", "sample_weight", "given")

#: The table, in the order the fields are validated (a spec with several bad fields reports the first).
FIELDS: tuple[Field, ...] = (
    _choices("activation", "softmax", ("softmax", "sigmoid"), "validate labels targets transforms terms reduce evaluate fastpath layout inputs",
             KernelCoverage(reason="sigmoid cross-entropy")),
    _choices("target", "index", ("index", "probs"), "validate targets transforms terms reduce evaluate fastpath aux layout",
             KernelCoverage(reason="probability targets")),
    _choices("inputs", "logits", ("logits", "log_probs", "probs"), "validate transforms stats terms evaluate",
             KernelCoverage(reason="log-probability or probability inputs")),
    _choices("soft_loss", "cross_entropy", ("cross_entropy", "kl"), "terms", ALL_KERNELS),  # probs targets only
    _choices("weighting", "per_class", ("per_class", "per_item", "per_label"), "targets terms",
             KernelCoverage(KERNELS, ("per_item",))),
    _choices("reduction", "mean", ("none", "sum", "mean", "sample_mean", "axis_mean"), "validate labels reduce evaluate aux",
             KernelCoverage(KERNELS, ("none", "sum"))),
    # "given": the divisor argument of the call (not in the examples: a spec alone cannot be evaluated)
    Field("denominator", "valid", _choice("denominator", _DENOMINATORS), ("validate", "labels", "reduce"),
          KernelCoverage(KERNELS, ("items", "label_weight", "item_weight", "batch"),
                         "a denominator of logits per class, of per-sample weights or given at call time"),
          _DENOMINATORS[:-1], (), _DENOMINATORS),
    _choices("zero_denominator", "nan", ("nan", "zero"), "reduce", ALL_KERNELS),
    _row("axis", -1, _int("axis"), "validate labels layout inputs", ALL_KERNELS, (-1, 0, 1), (int,)),
    _row("batch_axis", 0, _int("batch_axis"), "validate reduce", ALL_KERNELS, (0, -1), (int,)),
    _row("ignore_index", None, _ignore_index, "targets labels inputs", ALL_KERNELS, (None, -100, 0, 1),
         (int, type(None))),
    _row("label_smoothing", 0.0, _label_smoothing, "targets transforms terms", ALL_KERNELS, (0.0, 0.1, 0.7)),
    _row("kl_eps", 0.0, _finite("kl_eps", minimum=0), "terms", ALL_KERNELS, (0.0, 1e-7)),  # probs targets only
    _row("scale", 1.0, _finite("scale"), "reduce", ALL_KERNELS, (1.0, 0.5, -2.0)),
    _row("keepdims", False, _bool("keepdims"), "validate reduce", ALL_KERNELS, (False, True), (bool,)),
    _row("min_shifted_logit", None, _nonpositive_or_none("min_shifted_logit"), "transforms", NO_KERNEL, (None, -64.0, -1.0), (type(None),)),
    _row("probs_sum_to_one", False, _bool("probs_sum_to_one"), "validate terms", ALL_KERNELS, (False, True), (bool,)),
    _row("probs_nonnegative", True, _bool("probs_nonnegative"), "validate terms", ALL_KERNELS, (True, False),
         (bool,)),
    # softmax of logits only (CrossEntropySpec.__post_init__ refuses them elsewhere)
    # (no exact_types: every value is validated -- a negative z_loss or a zero cap is a float too)
    _row("z_loss", 0.0, _finite("z_loss", minimum=0), "terms aux", TRITON_ONLY, (0.0, 1e-4, 0.1)),
    _row("logit_softcap", None, _positive_or_none("logit_softcap"), "transforms", TRITON_ONLY, (None, 30.0, 1.5)),
    _row("logit_scale", 1.0, _positive("logit_scale"), "transforms", TRITON_ONLY, (1.0, 0.7, 2.0)),
    _row("skip_zero_targets", False, _bool("skip_zero_targets"), "terms", NO_KERNEL, (False, True), (bool,)),
    _choices("compute_dtype", "auto", ("auto", "float32"), "validate",
             KernelCoverage(reason="float32 computation of other dtypes (compute_dtype='float32')")),
    # probability inputs only (inputs="probs"; read by no stage otherwise)
    _choices("probs_normalize", "none", ("none", "before_clip", "after_clip"), "transforms", NO_KERNEL),
    _row("probs_clip", 0.0, _probs_clip, "transforms", NO_KERNEL, (0.0, 1e-7)),
    _row("log_eps", 0.0, _finite("log_eps", minimum=0), "transforms", NO_KERNEL, (0.0, 1e-12)),
    _row("min_log", None, _nonpositive_or_none("min_log", " (a log-probability)"), "transforms", NO_KERNEL, (None, -100.0), (type(None),)),
    _choices("min_log_grad", "zero", ("zero", "unclamped"), "transforms", NO_KERNEL),
    _row("probs_grad_floor", None, _positive_or_none("probs_grad_floor"), "transforms", NO_KERNEL, (None, 1e-12)),
    _row("probs_in_range", False, _bool("probs_in_range"), "validate transforms", NO_KERNEL, (False, True), (bool,)),
    # optax's axis tuples / None, where= and broadcast labels (softmax; core/layout.py lays the arrays out)
    _row("class_axes", None, _class_axes, "layout", KernelCoverage(reason="several class axes (class_axes)"),
         (None, (1,), (0, 1)), (type(None),)),
    _row("mask_classes", False, _bool("mask_classes"), "layout labels stats targets terms fastpath evaluate",
         KernelCoverage(reason="a class mask (mask_classes)"), (False, True), (bool,)),
    _row("broadcast_target", False, _bool("broadcast_target"), "layout", NO_KERNEL, (False, True), (bool,)),
)  # fmt: skip

_BY_NAME = {f.name: f for f in FIELDS}


def row(name: str) -> Field:
    """The row of spec field ``name``."""
    return _BY_NAME[name]

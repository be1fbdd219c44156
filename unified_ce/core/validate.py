# Math: none -- the domain of CrossEntropySpec's formulas.  x must be floating with a class axis of
# C >= 1 classes (C = 0 with a probability target and denominator="logits_per_class": empty sums); an index target y holds labels in [0, C) or ignore_index; a probability target q
# has x's shape, is non-negative (and sums to 1 under probs_sum_to_one); w has length C; the
# per-sample weights broadcast against the per-item loss.  One small checker per argument, run in
# the order of ARGUMENT_CHECKS; each names its argument in its errors (grad_output, known only when
# a gradient is asked for, by check_grad_output).  Arrays leave here in the
# compute dtype (float32 for half precision), as frozen Inputs, with the reference Plan.
"""Validation: one checker per argument (a table), producing frozen :class:`Inputs` and a :class:`Plan`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._backend import compute_dtype, creation_device, is_floating, is_integer, is_lazy, namespace_of
from .._errors import InvalidArgumentError, InvalidTypeError
from .._spec import CrossEntropySpec
from .inputs import NO_MASK, REFERENCE, Inputs, Plan, axis_index, index_dtype, mean_axis
from .labels import check_class_mask, check_divisor, check_labels, check_probs_sum, effective_spec

__all__ = ["ARGUMENT_CHECKS", "Head", "begin", "check_grad_output", "loss_shape", "prepare"]


class Head:
    """The logits' facts every later checker needs (from :func:`begin`); then filled by the checkers.

    Mutable only while one call is validated; what leaves validation is a frozen :class:`Inputs`.
    """

    __slots__ = ("axis", "cdtype", "check_values", "classes", "cm", "cw", "den", "device", "index_shape", "keep_shape",
                 "lazy", "logits", "n_classes", "none_ignored", "out_dtype", "shape", "spec", "sw", "t", "t_dtype",
                 "x", "xp")  # fmt: skip

    def __init__(self, spec: CrossEntropySpec, xp: Any, logits: Any, shape: tuple[int, ...]) -> None:
        self.spec, self.xp, self.logits, self.shape = spec, xp, logits, shape
        self.device: Any = creation_device(logits)
        f32 = spec.compute_dtype == "float32"  # Hugging Face's logits.float(): computed and returned in float32
        self.cdtype: Any = xp.float32 if f32 else compute_dtype(xp, logits.dtype)
        self.out_dtype: Any = xp.float32 if f32 else logits.dtype
        self.x: Any = logits
        self.t: Any = None
        self.t_dtype: Any = None
        self.cw: Any = None
        self.cm: Any = None
        self.sw: Any = None
        self.den: Any = None
        self.lazy = False
        self.check_values = True
        self.classes: Any = None
        self.axis = 0
        self.n_classes = 0
        self.keep_shape: tuple[int, ...] = shape
        self.index_shape: tuple[int, ...] = shape
        self.none_ignored = False


def begin(spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any, sample_weight: Any) -> Head:
    """The checks that come before any path is chosen: one array library, floating logits of known shape."""
    xp = namespace_of(
        {"logits": logits, "target": target, "class_weight": class_weight, "sample_weight": sample_weight}
    )
    if not is_floating(xp, logits.dtype):
        raise InvalidTypeError(f"logits must be a floating-point array; got dtype {logits.dtype}")
    for name, a in (
        ("logits", logits),
        ("target", target),
        ("class_weight", class_weight),
        ("sample_weight", sample_weight),
    ):
        if a is not None and any(s is None or s != s for s in a.shape):  # Dask: nan for an unknown size
            raise InvalidArgumentError(
                f"{name} must have a known shape; got {tuple(a.shape)} (a Dask array with unknown chunk sizes: "
                f"call {name}.compute_chunk_sizes() first)"
            )
    return Head(spec, xp, logits, tuple(logits.shape))


def check_logits(h: Head, logits: Any) -> None:
    """The class axis and the shapes derived from it (and probabilities in [0, 1] under ``probs_in_range``)."""
    spec, shape = h.spec, h.shape
    if spec.inputs == "probs" and spec.probs_in_range:
        _check_unit_interval(h, logits, "logits")
    if spec.activation != "softmax":
        h.axis, h.n_classes, h.keep_shape, h.index_shape = 0, 2, shape, shape
        return
    if len(shape) < 1:
        raise InvalidArgumentError("logits must have at least one dimension (the class axis)")
    axis = h.axis = axis_index(spec.axis, len(shape), "axis")
    h.n_classes = shape[axis]
    if h.n_classes < 1 and not _zero_classes_defined(spec, h.classes):
        raise InvalidArgumentError(f"logits must have at least one class along axis {spec.axis}; got shape {shape}")
    if h.classes is not None:  # a slice of the classes: labels and smoothing refer to all of them
        h.n_classes = h.classes.n_classes
    h.keep_shape = (*shape[:axis], 1, *shape[axis + 1 :])
    h.index_shape = shape[:axis] + shape[axis + 1 :]


def _zero_classes_defined(spec: CrossEntropySpec, classes: Any) -> bool:
    """Whether zero classes have a loss: a probability target over no classes is an empty distribution
    (each item's loss an empty sum, 0), and ``denominator="logits_per_class"`` says what its mean is
    (``0 / 0``, PyTorch's: its regression test for pytorch/pytorch#73165 feeds it).  The frameworks
    of the other denominators disagree (MXNet raises, Paddle's ``cross_entropy`` gives nan for the
    mean but 0 for the sum): there, no class is an error.  No label fits zero classes."""
    return spec.target == "probs" and spec.denominator == "logits_per_class" and classes is None


def _check_unit_interval(h: Head, a: Any, name: str) -> None:
    """Probabilities (``inputs="probs"`` with ``probs_in_range``) must lie in [0, 1] (NaN does not)."""
    xp = h.xp
    if h.check_values and not h.lazy and a.size and not bool(xp.all((a >= 0) & (a <= 1))):
        raise InvalidArgumentError(
            f"{name} must be probabilities in [0, 1] (all elements between 0 and 1); got values in "
            f"[{float(xp.min(a))}, {float(xp.max(a))}]"
        )


def check_target(h: Head, target: Any) -> None:
    """Class indices (the logits' shape without the class axis) or probabilities (the logits' shape)."""
    (_index_target if h.spec.target == "index" else _probs_target)(h, target)


def _index_target(h: Head, target: Any) -> None:
    xp, spec = h.xp, h.spec
    if tuple(target.shape) != h.index_shape:
        what = "the logits' shape without the class axis" if spec.activation == "softmax" else "the logits' shape"
        raise InvalidArgumentError(
            f"target of class indices must have {what}, {h.index_shape}; got shape {tuple(target.shape)}"
        )
    read = h.check_values and not h.lazy and target.size
    if is_floating(xp, target.dtype):
        # integral-valued float labels (MXNet's convention): checked, then cast
        if read and not bool(xp.all(xp.floor(target) == target)):
            raise InvalidArgumentError("target holds class indices but has non-integer values")
    elif spec.activation == "sigmoid" and target.dtype == xp.bool:  # binary labels as booleans: 0 / 1
        target = xp.astype(target, index_dtype(xp, target))
    elif not is_integer(xp, target.dtype):
        raise InvalidTypeError(f"target of class indices must have an integer dtype; got {target.dtype}")
    h.spec = spec = effective_spec(xp, spec, target)
    h.t = target
    if read:
        h.none_ignored = check_labels(xp, spec, target, h.n_classes)


def _probs_target(h: Head, target: Any) -> None:
    xp, spec, shape = h.xp, h.spec, h.shape
    if tuple(target.shape) != shape:
        raise InvalidArgumentError(
            f"target of probabilities must have the logits' shape {shape}; got shape {tuple(target.shape)}"
        )
    if not is_floating(xp, target.dtype):
        raise InvalidTypeError(f"target of probabilities must have a floating dtype; got {target.dtype}")
    read = h.check_values and not h.lazy and target.size
    if spec.inputs == "probs" and spec.probs_in_range and spec.activation == "sigmoid":
        _check_unit_interval(h, target, "target")
    if read and spec.probs_nonnegative and bool(xp.any(target < 0)):
        raise InvalidArgumentError(
            f"target of probabilities must be non-negative; got a minimum of {float(xp.min(target))}"
        )
    # type promotion as in the array API (PyTorch: float32 logits with a float64 target give float64)
    h.out_dtype = xp.result_type(h.logits.dtype, target.dtype) if spec.compute_dtype == "auto" else h.out_dtype
    if h.out_dtype != h.logits.dtype and spec.compute_dtype == "auto":
        h.cdtype = compute_dtype(xp, h.out_dtype)
        h.x = h.logits if h.cdtype == h.logits.dtype else xp.astype(h.logits, h.cdtype)
    h.t = target if target.dtype == h.cdtype else xp.astype(target, h.cdtype)
    h.t_dtype = target.dtype  # the sums' tolerance: the precision the target was given in
    if spec.probs_sum_to_one and spec.activation == "softmax" and read:
        check_probs_sum(xp, spec, h.t, h.axis, target.dtype, h.classes)


def check_class_weight(h: Head, class_weight: Any) -> None:
    """One real weight per class (of this process's classes with a class shard)."""
    if class_weight is None:
        return
    if h.spec.activation == "sigmoid":
        _check_pos_weight(h, class_weight)
        return
    xp, C = h.xp, h.shape[h.axis]
    if class_weight.ndim != 1 or class_weight.shape[0] != C:
        raise InvalidArgumentError(
            f"class_weight must be a 1-D array of length C={C} (one weight per class"
            f"{'' if h.classes is None else ' of this process'}); "
            f"got shape {tuple(class_weight.shape)}"
        )
    if not (is_floating(xp, class_weight.dtype) or is_integer(xp, class_weight.dtype)):
        raise InvalidTypeError(f"class_weight must be a real array; got dtype {class_weight.dtype}")
    h.cw = class_weight if class_weight.dtype == h.cdtype else xp.astype(class_weight, h.cdtype)


def _check_pos_weight(h: Head, pos_weight: Any) -> None:
    """Sigmoid: the class weight is the weight of the positive term (``pos_weight``), NumPy-broadcast
    against the logits without enlarging them (a ``(C,)`` weight is one per class of the last axis)."""
    xp, shape, pshape = h.xp, tuple(h.shape), tuple(pos_weight.shape)
    fits = len(pshape) <= len(shape) and all(
        p == 1 or p == s or not isinstance(s, int) for p, s in zip(pshape[::-1], shape[::-1])
    )
    if not fits:
        raise InvalidArgumentError(
            f"class_weight (sigmoid: the weight of the positive term, pos_weight) of shape {pshape} must "
            f"broadcast to the logits' shape {shape} (e.g. one weight per class of the last axis)"
        )
    if not (is_floating(xp, pos_weight.dtype) or is_integer(xp, pos_weight.dtype)):
        raise InvalidTypeError(f"class_weight must be a real array; got dtype {pos_weight.dtype}")
    h.cw = pos_weight if pos_weight.dtype == h.cdtype else xp.astype(pos_weight, h.cdtype)


def check_sample_weight(h: Head, sample_weight: Any) -> None:
    """Real weights that broadcast to the per-item loss shape (class axis kept, size 1).

    ``reduction="sample_mean"`` (MXNet) multiplies the loss by the weight with broadcasting and then
    averages every axis but the batch axis: a weight axis of size k > 1 where the loss has size 1
    (not the batch axis) is averaged out, i.e. it contributes the mean of the weights along it.
    """
    if sample_weight is None:
        return
    xp, spec, keep = h.xp, h.spec, h.keep_shape
    sshape = tuple(sample_weight.shape)
    avg_axes: tuple[int, ...] = ()
    if spec.reduction == "sample_mean" and len(sshape) <= len(keep):
        off = len(keep) - len(sshape)
        b = axis_index(spec.batch_axis, len(keep), "batch_axis")
        avg_axes = tuple(i for i, s in enumerate(sshape) if s != 1 and keep[off + i] == 1 and off + i != b)
    eff = tuple(1 if i in avg_axes else s for i, s in enumerate(sshape))
    if not (len(eff) <= len(keep) and all(s == 1 or s == k for s, k in zip(eff[::-1], keep[::-1]))):
        extra = " (axes other than the batch axis may be larger: they are averaged)"
        raise InvalidArgumentError(
            f"sample_weight of shape {sshape} must broadcast to the per-item loss shape {keep} "
            f"(the logits' shape with the class axis of size 1){extra if spec.reduction == 'sample_mean' else ''}"
        )
    if not (is_floating(xp, sample_weight.dtype) or is_integer(xp, sample_weight.dtype)):
        raise InvalidTypeError(f"sample_weight must be a real array; got dtype {sample_weight.dtype}")
    sw = sample_weight if sample_weight.dtype == h.cdtype else xp.astype(sample_weight, h.cdtype)
    h.sw = xp.mean(sw, axis=avg_axes, keepdims=True) if avg_axes else sw


#: The checkers, in the order they run: (argument, checker(head, value)).  A new array argument is a
#: row here (and a parameter of :func:`prepare`).
ARGUMENT_CHECKS: tuple[tuple[str, Callable[[Head, Any], None]], ...] = (
    ("logits", check_logits),
    ("target", check_target),
    ("class_weight", check_class_weight),
    ("sample_weight", check_sample_weight),
    ("divisor", check_divisor),
    ("class_mask", check_class_mask),
)


def prepare(
    spec: CrossEntropySpec,
    logits: Any,
    target: Any,
    class_weight: Any = None,
    sample_weight: Any = None,
    divisor: Any = None,
    *,
    check_values: bool = True,
    keep_logits: bool = False,
    classes: Any = None,
    head: Head | None = None,
    class_mask: Any = None,
) -> tuple[Inputs, Plan]:
    """Check the arrays against ``spec`` and bring them to the compute dtype.

    Shapes and dtypes are always checked.  Label values are checked when they can be read
    (not for Dask arrays or JAX tracers; there an invalid label gives a NaN loss instead).
    ``keep_logits``: leave the logits uncast (a fused kernel reads them as given); ``head``: the
    result of :func:`begin` when the dispatcher already ran it.
    """
    h = head if head is not None else begin(spec, logits, target, class_weight, sample_weight)
    h.check_values, h.classes = check_values, classes
    h.x = logits if h.cdtype == logits.dtype or keep_logits else h.xp.astype(logits, h.cdtype)
    h.lazy = is_lazy(logits) or is_lazy(target)
    args = dict(logits=logits, target=target, class_weight=class_weight, sample_weight=sample_weight, divisor=divisor,
                class_mask=class_mask)  # fmt: skip
    for name, check in ARGUMENT_CHECKS:
        check(h, args[name])
    inp = Inputs.of(spec=h.spec, xp=h.xp, x=h.x, t=h.t, cw=h.cw, sw=h.sw, axis=h.axis, n_classes=h.n_classes,
                    out_dtype=h.out_dtype, in_dtype=logits.dtype, device=h.device, lazy=h.lazy,
                    keep_shape=h.keep_shape, classes=classes, t_dtype=h.t_dtype, den=h.den, cm=h.cm)  # fmt: skip
    return inp, (NO_MASK if spec.target == "index" and h.none_ignored else REFERENCE)


def loss_shape(inp: Inputs) -> tuple[int, ...]:
    """The shape of the (reduced) loss of validated inputs."""
    spec = inp.spec
    if spec.reduction == "none" and (spec.keepdims or spec.activation == "sigmoid"):
        return tuple(inp.keep_shape)
    if spec.reduction in ("none", "axis_mean"):  # without the class axis (softmax) / the axis of the means
        return tuple(inp.keep_shape[: mean_axis(inp)]) + tuple(inp.keep_shape[mean_axis(inp) + 1 :])
    if spec.reduction == "sample_mean":
        b = axis_index(spec.batch_axis, inp.x.ndim, "batch_axis")
        return (inp.keep_shape[b],) if len(inp.keep_shape) > 1 else tuple(inp.keep_shape)
    return ()


def check_grad_output(inp: Inputs, grad_output: Any, shape: tuple[int, ...] | None = None) -> tuple[int, ...]:
    """The loss shape, after checking that ``grad_output`` (if given) has it."""
    shape = loss_shape(inp) if shape is None else shape
    if grad_output is not None and tuple(grad_output.shape) != shape:
        raise InvalidArgumentError(f"grad_output must have the loss's shape {shape}; got {tuple(grad_output.shape)}")
    return shape

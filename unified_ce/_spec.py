"""The canonical specification of a cross-entropy computation.

:class:`CrossEntropySpec` is the public contract between the dialects and the core: a dialect
translates its own argument names and defaults into one spec (pure Python, cached), and the core
evaluates a spec on arrays.  The spec holds every *static* option; arrays (logits, targets, class
weights, per-sample weights) are call arguments, never spec fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from ._errors import InvalidArgumentError
from ._fields import FIELDS

__all__ = ["CrossEntropySpec", "SpecFields"]

Activation = Literal["softmax", "sigmoid"]
TargetKind = Literal["index", "probs"]
InputKind = Literal["logits", "log_probs", "probs"]
ProbsNormalize = Literal["none", "before_clip", "after_clip"]
MinLogGrad = Literal["zero", "unclamped"]
SoftLoss = Literal["cross_entropy", "kl"]
Weighting = Literal["per_class", "per_item", "per_label"]
Reduction = Literal["none", "sum", "mean", "sample_mean", "axis_mean"]
Denominator = Literal[
    "items", "valid", "label_weight", "item_weight", "batch", "logits_per_class", "given", "sample_weight"
]
ZeroDenominator = Literal["nan", "zero"]
ComputeDtype = Literal["auto", "float32"]


@dataclass(frozen=True)
class CrossEntropySpec:
    r"""Every static option of one cross-entropy computation.

    Notation: :math:`x` are the scores along the class axis (``C`` classes), :math:`q` the target
    distribution of an item (one-hot for ``target="index"``), :math:`w` the class weights (ones
    when none are given), :math:`\epsilon` the label smoothing.  The smoothed target is
    :math:`\tilde q = (1-\epsilon) q + \epsilon / C` (:math:`(1-\epsilon) q + \epsilon/2` for
    sigmoid).  With :math:`\ell_c = -\log \mathrm{softmax}(x)_c` the loss of one item is

    * ``weighting="per_class"`` (PyTorch, Chainer):
      :math:`L = \sum_c w_c \tilde q_c \ell_c`
    * ``weighting="per_item"`` (BrainPy):
      :math:`L = (\sum_c w_c \tilde q_c) \cdot (\mathrm{lse}(x) - \sum_c \tilde q_c x_c)`, which is
      :math:`(\sum_c w_c \tilde q_c) \sum_c \tilde q_c \ell_c` when :math:`\tilde q` sums to one
    * ``weighting="per_label"`` (BrainPy, index targets only): the class weight of the label
      :math:`y` itself, not of the smoothed distribution, multiplies the item,
      :math:`L = w_y \sum_c \tilde q_c \ell_c`

    plus :math:`\sum_c w_c \tilde q_c \log(\tilde q_c + \mathrm{kl\_eps})` for ``soft_loss="kl"``.
    With ``activation="sigmoid"`` each element is an item,
    :math:`L = -w \tilde q \log \sigma(x) - (1 - \tilde q) \log(1 - \sigma(x))`, where the class
    weight :math:`w` (ones when none is given) is the weight of the positive term, ``pos_weight`` in
    PyTorch, TensorFlow, Paddle and MXNet, broadcast against the logits.
    Items whose label equals ``ignore_index`` have loss 0 and no gradient.  Each item loss is then
    multiplied by the per-sample weight (if given) and by ``scale``, and reduced.

    Parameters
    ----------
    activation : {"softmax", "sigmoid"}
        Softmax over ``axis``, or an independent sigmoid per element (binary cross-entropy; the
        target then has the logits' shape, ``axis`` is unused, and a class weight is the weight of
        the positive term, any array that broadcasts to the logits' shape).
    axis : int
        The class axis of the logits (negative values count from the end).
    target : {"index", "probs"}
        Integer class indices (the logits' shape without ``axis``; for sigmoid, binary labels of
        the logits' shape) or a probability-like target of the logits' shape (need not be
        normalised).
    inputs : {"logits", "log_probs", "probs"}
        Unnormalised scores, scores already passed through ``log_softmax`` (used as they are), or
        probabilities :math:`p` (softmax: a distribution along ``axis``; sigmoid: the probability of
        the positive class per element).  Probabilities become log-probabilities
        :math:`y = \max(\log(\mathrm{clip}(p) + \mathrm{log\_eps}), \mathrm{min\_log})` (the
        ``probs_*`` fields below, normalised per ``probs_normalize``), used like ``"log_probs"``; for
        sigmoid :math:`L = -w \tilde q\, y(p) - (1 - \tilde q)\, y(1 - p)` with the clipped :math:`p`.
        The gradient is the derivative of these formulas (zero where a clip or ``min_log`` bites, as
        a framework's autodiff gives), unless ``probs_grad_floor`` is set.
    ignore_index : int or None
        Label value whose items are ignored (index targets only).
    label_smoothing : float
        :math:`\epsilon \in [0, 1]`.
    soft_loss : {"cross_entropy", "kl"}
        For probability targets: cross-entropy, or KL divergence (cross-entropy minus the
        target's entropy, :math:`q \log(q + \mathrm{kl\_eps})`).
    kl_eps : float
        The ``eps`` inside the KL's :math:`\log(q + \mathrm{eps})` (Chainer uses 1e-7... see its
        dialect page).
    weighting : {"per_class", "per_item", "per_label"}
        Where class weights enter (see above).  Identical for unsmoothed index targets.
        ``"per_label"`` needs ``target="index"``; with ``denominator="item_weight"`` the mean
        divides by the sum of :math:`w_y` (like ``"label_weight"``).
    reduction : {"none", "sum", "mean", "sample_mean", "axis_mean"}
        ``"none"``: one loss per item (the logits' shape without the class axis, or with it kept
        as size 1 if ``keepdims``); ``"sum"``; ``"mean"``: the sum divided by ``denominator``;
        ``"sample_mean"``: one value per index of ``batch_axis``, the mean over all other axes
        (MXNet Gluon); ``"axis_mean"``: the mean over ``axis`` only, one value per index of the other
        axes (Keras's binary cross-entropy at any rank; softmax: the class axis, so one loss per item).
    denominator : {"items", "valid", "label_weight", "item_weight", "batch", "logits_per_class", "given", "sample_weight"}
        What ``"mean"`` divides by: the number of items; the number of non-ignored items; the sum
        of ``w[label]`` over non-ignored items (PyTorch; equals ``"valid"`` without class
        weights); the sum of the per-item weights :math:`\sum_c w_c \tilde q_c` over non-ignored
        items (BrainPy); the size of ``batch_axis`` (Chainer's ``normalize=False``); or the
        number of logits divided by ``C`` (PyTorch's probability targets): the number of items,
        except that zero classes make it ``0/0 = nan`` whatever ``zero_denominator`` says; or the
        ``divisor`` given with the arrays at call time, a number or a 0-d array (Hugging Face's
        ``num_items_in_batch``: the token count of a whole gradient-accumulation step); or the sum
        of the per-sample weights (broadcast to the items) over the non-ignored items (Keras's
        ``"mean_with_sample_weight"``; the non-ignored count without per-sample weights).
    zero_denominator : {"nan", "zero"}
        The mean when the denominator is 0 (every item ignored, or no items): ``0/0 = nan``
        (PyTorch), or 0 (Chainer's ``max(count, 1)``).
    batch_axis : int
        The batch axis of the logits, for ``"sample_mean"`` and ``denominator="batch"``.
    keepdims : bool
        With ``reduction="none"``, keep the class axis with size 1 (Paddle).
    scale : float
        A constant factor applied to every item (MXNet's ``weight``).
    min_shifted_logit : float or None
        Softmax only: clip the shifted logits :math:`x_c - \max_c x_c` from below at this value
        (<= 0) in the loss, so that one class contributes at most ``-min_shifted_logit`` plus
        the log-sum-exp (Paddle's CPU softmax uses -64).  The gradient stays
        :math:`\alpha\,\mathrm{softmax}(x) - \beta` of the unclipped logits, as in Paddle.
    probs_sum_to_one : bool
        Softmax with ``target="probs"``: every target distribution must sum to 1 along ``axis``
        (within :math:`\sqrt{\mathrm{eps}}` of the dtype); other targets raise (eagerly) or
        give a NaN loss (lazily).  Paddle's soft labels.
    probs_nonnegative : bool
        ``target="probs"``: a negative target entry is invalid (raises eagerly, gives a NaN loss
        lazily).  ``False``: any real target gives the loss of the formula above (PyTorch computes
        it for negative and log-probability targets, which its own tests use).
    z_loss : float
        :math:`\zeta \ge 0`: PaLM's auxiliary z-loss, :math:`\zeta\,\mathrm{lse}(x)^2` added to each
        item's loss (softmax of logits only), masked, weighted and reduced like the loss (Liger's and
        flash-attn's ``lse_square_scale``).  Gradient :math:`2\zeta\,\mathrm{lse}\,\mathrm{softmax}(x)`.
    logit_softcap : float or None
        :math:`\kappa > 0`: the logits become :math:`\kappa \tanh(x / \kappa)` before everything else
        (Gemma 2; Liger's and CCE's ``softcap``); the gradient goes through it.
    logit_scale : float
        The logits are multiplied by it first, before the soft-cap (flash-attn's ``logit_scale``, a
        temperature :math:`1/T`).
    compute_dtype : {"auto", "float32"}
        ``"auto"``: compute in the logits' dtype (float32 for half precision) and return the loss in
        it; ``"float32"``: compute in float32 and return float32 whatever the logits' dtype (Hugging
        Face's ``logits.float()``; float64 logits are rounded to float32 first).  The gradient has
        the logits' dtype either way.
    skip_zero_targets : bool
        Softmax with ``target="probs"``: a class whose target mass is 0 contributes nothing to the
        loss, even where its logit is ``-inf`` (``0 log 0 = 0``: optax's
        ``safe_softmax_cross_entropy``); ``False``: ``0 * inf = nan`` there.  The gradient is the
        same either way.
    probs_normalize : {"none", "before_clip", "after_clip"}
        ``inputs="probs"``, softmax: divide the probabilities by their sum along ``axis`` before
        clipping them (Keras's ``categorical_crossentropy``) or after (Keras's
        ``sparse_categorical_crossentropy`` on TensorFlow: ``log_softmax`` of the clipped
        log-probabilities).
    probs_clip : float
        ``inputs="probs"``: :math:`\delta \in [0, 0.5)`; probabilities are clipped to
        :math:`[\delta, 1 - \delta]` (Keras's ``epsilon()``, 1e-7) -- gradient 0 outside.
    log_eps : float
        ``inputs="probs"``: the :math:`e` in :math:`\log(p + e)` (MXNet's 1e-12).
    min_log : float or None
        ``inputs="probs"``: each log-probability is clamped from below at this value (PyTorch's and
        MLX's -100) -- gradient 0 where it bites (see ``min_log_grad``).
    min_log_grad : {"zero", "unclamped"}
        ``inputs="probs"`` with ``min_log``: the gradient where the clamp bites.  ``"zero"``: the
        derivative of the clamped log, 0 there (autodiff of the ``max``); ``"unclamped"``: the
        derivative of the unclamped log, :math:`g / (b + e)` everywhere -- Paddle's backward
        :math:`-q / p` with ``use_softmax=False``, whose clamp (at -1e20) only bites at
        :math:`p = 0`, where the gradient is :math:`\pm\infty` (and NaN for a probability target
        :math:`q = 0` there, :math:`0 \cdot \infty`); classes outside the loss (an index target's
        other classes, ignored items) keep gradient 0.
    probs_grad_floor : float or None
        ``inputs="probs"``, sigmoid: the gradient is PyTorch's
        :math:`((1 + (w - 1)\tilde q) p - w \tilde q) / \max(p (1 - p), \mathrm{floor})` (its
        ``binary_cross_entropy`` backward, ``EPSILON = 1e-12``) instead of the derivative of the
        clamped logs: finite where :math:`p` is 0 or 1.
    class_axes : tuple of int or None
        Softmax: several class axes (optax's ``axis=(1, 2)``; every axis for its ``axis=None``): the
        classes are the elements of these axes, numbered in C order of the axes *as listed* (a class
        index is that flat index; ``(2, 1)`` runs over axis 2 then axis 1), and ``axis`` is unused.
        The core evaluates the logits with these axes moved last (in that order) and flattened into
        one class axis (:mod:`unified_ce.core.layout`; the gradient is moved back); per-item arrays
        (index targets, sample weights, the loss) have the other axes, in their order.
    mask_classes : bool
        Softmax: the call passes a boolean ``class_mask`` array (optax's ``where``) of the logits' shape, or of
        the per-item shape (one flag per item, expanded along the class axes).  Masked classes leave
        the row's max, the log-sum-exp and a probability target (as if sliced out: masked logits may
        be anything, ``inf`` or ``nan`` included); an index target's own logit is used even where
        its class is masked (optax).  An item whose classes are all masked has loss 0 and gradient 0,
        and counts as ignored in a mean.
    broadcast_target : bool
        A probability target of another shape that broadcasts to the logits' shape (NumPy rules,
        without enlarging the logits) is broadcast to it first (optax's ``labels * log_probs``).
    probs_in_range : bool
        ``inputs="probs"``: every probability (and, for sigmoid, every probability target) must lie
        in :math:`[0, 1]`; others raise eagerly and give a NaN loss lazily (PyTorch's
        ``binary_cross_entropy``).

    Examples
    --------
    >>> from unified_ce import CrossEntropySpec
    >>> spec = CrossEntropySpec(axis=1, ignore_index=-100, denominator="label_weight")
    >>> spec.reduction, spec.zero_denominator
    ('mean', 'nan')
    >>> spec.replace(reduction="sum") == spec
    False
    """

    activation: Activation = "softmax"
    axis: int = -1
    target: TargetKind = "index"
    inputs: InputKind = "logits"
    ignore_index: int | None = None
    label_smoothing: float = 0.0
    soft_loss: SoftLoss = "cross_entropy"
    kl_eps: float = 0.0
    weighting: Weighting = "per_class"
    reduction: Reduction = "mean"
    denominator: Denominator = "valid"
    zero_denominator: ZeroDenominator = "nan"
    batch_axis: int = 0
    keepdims: bool = False
    scale: float = 1.0
    min_shifted_logit: float | None = None
    probs_sum_to_one: bool = False
    probs_nonnegative: bool = True
    z_loss: float = 0.0
    logit_softcap: float | None = None
    logit_scale: float = 1.0
    compute_dtype: ComputeDtype = "auto"
    skip_zero_targets: bool = False
    probs_normalize: ProbsNormalize = "none"
    probs_clip: float = 0.0
    log_eps: float = 0.0
    min_log: float | None = None
    min_log_grad: MinLogGrad = "zero"
    probs_grad_floor: float | None = None
    probs_in_range: bool = False
    class_axes: tuple[int, ...] | None = None
    mask_classes: bool = False
    broadcast_target: bool = False

    def __post_init__(self) -> None:
        # one validator per field, from the spec-field table (unified_ce._fields)
        for field in FIELDS:
            value = getattr(self, field.name)
            if value.__class__ in field.exact_types or (field.choices and value in field.choices):
                continue  # valid as it is (no call: a spec is built on every dialect call)
            canonical = field.validate(value)  # canonical float values, so that equal specs hash equal
            if canonical is not value:
                object.__setattr__(self, field.name, canonical)
        if self.weighting == "per_label" and self.target != "index":
            raise InvalidArgumentError("weighting='per_label' (the class weight of the label) needs target='index'")
        uses = self.z_loss or self.logit_softcap is not None or self.logit_scale != 1.0
        if uses and (self.activation != "softmax" or self.inputs != "logits"):
            raise InvalidArgumentError(
                "z_loss, logit_softcap and logit_scale apply to the softmax of logits "
                f"(activation='softmax', inputs='logits'); got activation={self.activation!r}, inputs={self.inputs!r}"
            )
        if (self.class_axes is not None or self.mask_classes) and (
            self.activation != "softmax" or self.keepdims or self.reduction in ("sample_mean", "axis_mean")
        ):
            raise InvalidArgumentError(
                "class_axes and mask_classes apply to softmax cross-entropy without keepdims or "
                f"reduction='sample_mean' / 'axis_mean'; got activation={self.activation!r}, keepdims={self.keepdims!r}, "
                f"reduction={self.reduction!r}"
            )
        if self.mask_classes and (self.inputs != "logits" or self.label_smoothing):
            raise InvalidArgumentError(
                "mask_classes applies to logits without label smoothing; "
                f"got inputs={self.inputs!r}, label_smoothing={self.label_smoothing!r}"
            )

    def _describe_probs(self) -> list[str]:
        out: list[str] = []
        if self.probs_normalize != "none" and self.activation == "softmax":
            out.append(f"probabilities divided by their sum ({self.probs_normalize.replace('_', ' ')})")
        if self.probs_clip:
            out.append(f"probabilities clipped to [{self.probs_clip:g}, 1 - {self.probs_clip:g}]")
        if self.log_eps:
            out.append(f"log(p + {self.log_eps:g})")
        if self.min_log is not None:
            out.append(f"each log clamped at {self.min_log:g}")
            if self.min_log_grad == "unclamped":
                out.append("the gradient of the unclamped log (infinite where p = 0)")
        if self.probs_grad_floor is not None:
            out.append(f"gradient (p - q) / max(p (1 - p), {self.probs_grad_floor:g})")
        if self.probs_in_range:
            out.append("probabilities outside [0, 1] are refused")
        return out

    def replace(self, **changes: Any) -> CrossEntropySpec:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def uses_ignore(self) -> bool:
        """Whether some labels may be ignored (index targets with an ignore value)."""
        return self.target == "index" and self.ignore_index is not None

    def describe(self, *, class_weight: bool = True) -> str:
        """Say in plain words what this spec computes (``class_weight=False``: no class weights are given)."""
        parts: list[str] = []
        if self.activation == "softmax":
            scores = {"log_probs": "log-probabilities", "probs": "probabilities"}.get(self.inputs, "logits")
            over = (
                f"axis {self.axis}" if self.class_axes is None else f"axes {self.class_axes} (flattened in that order)"
            )
            parts.append(f"softmax cross-entropy over {over} of the {scores}")
            if self.mask_classes:
                parts.append("classes masked by the class mask leave the softmax (an all-masked item gives 0)")
        elif self.inputs == "probs":
            parts.append("elementwise binary cross-entropy of the probabilities")
        else:
            parts.append("elementwise sigmoid (binary) cross-entropy of the logits")
        if self.inputs == "probs":
            parts.extend(self._describe_probs())
        if self.target == "index":
            t = "integer class labels" if self.activation == "softmax" else "binary labels (0 or 1)"
            if self.ignore_index is not None:
                t += f"; items labelled {self.ignore_index} are ignored"
        else:
            t = "probability targets " + (
                "broadcast to the logits' shape" if self.broadcast_target else "of the logits' shape"
            )
            if self.soft_loss == "kl":
                t += f", loss = KL divergence (eps={self.kl_eps:g})"
            if self.probs_sum_to_one and self.activation == "softmax":
                t += ", each summing to 1"
        parts.append("targets: " + t)
        if self.min_shifted_logit is not None and self.activation == "softmax" and self.inputs == "logits":
            parts.append(f"logits more than {-self.min_shifted_logit:g} below the maximum count as that far below")
        if self.logit_scale != 1.0:
            parts.append(f"logits multiplied by {self.logit_scale:g}")
        if self.logit_softcap is not None:
            parts.append(f"logits soft-capped: {self.logit_softcap:g} * tanh(x / {self.logit_softcap:g})")
        if self.label_smoothing:
            parts.append(f"label smoothing {self.label_smoothing:g}")
        if self.z_loss:
            parts.append(f"z-loss {self.z_loss:g} * lse(x)**2 added to each item")
        if class_weight:
            parts.append(
                "class weights multiply each class's term"
                if self.weighting == "per_class"
                else "class weights give each item the weight sum_c w_c q_c"
                if self.weighting == "per_item"
                else "class weights give each item the weight of its label"
            )
        red = {
            "none": "no reduction: one loss per item" + (" (class axis kept, size 1)" if self.keepdims else ""),
            "sum": "the sum over all items",
            "sample_mean": f"one value per index of axis {self.batch_axis}: the mean over all other axes",
            "axis_mean": f"the mean over axis {self.axis}: one value per index of the other axes",
        }
        if self.reduction == "mean":
            den = {
                "items": "the number of items",
                "valid": "the number of non-ignored items",
                "label_weight": "the sum of the class weights of the non-ignored labels "
                "(the number of non-ignored items without class weights)",
                "item_weight": "the sum of the per-item weights of the non-ignored items",
                "batch": f"the size of axis {self.batch_axis} (the batch)",
                "logits_per_class": "the number of logits divided by the number of classes (nan with no classes)",
                "given": "the divisor given at call time",
                "sample_weight": "the sum of the per-sample weights of the non-ignored items",
            }[self.denominator if class_weight or self.denominator not in ("label_weight", "item_weight") else "valid"]
            zero = "nan" if self.zero_denominator == "nan" else "0"
            parts.append(f"reduction: the sum divided by {den} ({zero} when that is 0)")
        else:
            parts.append("reduction: " + red[self.reduction])
        if self.scale != 1.0:
            parts.append(f"every item multiplied by {self.scale:g}")
        if self.compute_dtype == "float32":
            parts.append("computed and returned in float32 whatever the logits' dtype")
        return "; ".join(parts) + "."


class SpecFields(TypedDict, total=False):
    """The fields of :class:`CrossEntropySpec` as keyword arguments (``cross_entropy(x, t, reduction="sum")``),
    typed so that a checker rejects ``reduction=3`` or ``target="prob"``."""

    activation: Activation
    axis: int
    target: TargetKind
    inputs: InputKind
    ignore_index: int | None
    label_smoothing: float
    soft_loss: SoftLoss
    kl_eps: float
    weighting: Weighting
    reduction: Reduction
    denominator: Denominator
    zero_denominator: ZeroDenominator
    batch_axis: int
    keepdims: bool
    scale: float
    min_shifted_logit: float | None
    probs_sum_to_one: bool
    probs_nonnegative: bool
    compute_dtype: ComputeDtype
    skip_zero_targets: bool
    probs_normalize: ProbsNormalize
    probs_clip: float
    log_eps: float
    min_log: float | None
    min_log_grad: MinLogGrad
    probs_grad_floor: float | None
    probs_in_range: bool
    class_axes: tuple[int, ...] | None
    mask_classes: bool
    broadcast_target: bool

"""The BrainPy dialect: ``brainpy.losses.CrossEntropyLoss``.

Works on arrays of every supported library, not only JAX arrays (BrainPy and JAX are never
imported).  Emulates BrainPy 2.8.2, ``brainpy/losses/comparison.py`` (``CrossEntropyLoss.update``
calls ``cross_entropy_loss``).  Translation to the spec:

=========================  ===================================================================
BrainPy                    :class:`~unified_ce.CrossEntropySpec`
=========================  ===================================================================
class axis                 ``axis=-1`` (the last axis, at every rank)
target kind                class indices iff ``target.ndim + 1 == input.ndim``, else
                           probabilities (which must then have the input's shape)
``weight``                 ``class_weight``; index targets: ``weighting="per_label"`` (the
                           item's loss times ``weight[label]``); probabilities:
                           ``weighting="per_item"`` (times ``sum_c weight_c q~_c``)
``ignore_index=-100``      ``ignore_index`` (index targets only; no effect on probabilities)
``label_smoothing=0.0``    ``label_smoothing`` (``(1-eps) q + eps/C``, also for probabilities)
``reduction='mean'``       without ``weight``: index targets ``denominator="valid"`` with
                           ``zero_denominator="zero"`` (``max(#non-ignored, 1)``), probabilities
                           ``"items"``; with ``weight``: ``"item_weight"`` (the sum of the item
                           weights of the non-ignored items), 0/0 = nan
=========================  ===================================================================

Deliberate differences from BrainPy (documented in ``docs/dialects/brainpy.md``): where BrainPy
silently turns invalid input into a number, this dialect raises -- a label outside ``[0, C)``
that is not ``ignore_index`` (BrainPy: a zero one-hot row, and ``weight[label]`` clamped or
wrapped by JAX's gather), a non-integer float label, a target whose shape only broadcasts
against the input, an integer or negative probability target, a ``weight`` whose length is not
``C``, a ``label_smoothing`` outside ``[0, 1]`` (BrainPy ignores a negative one), integer
logits.  Outputs keep the logits' dtype whatever JAX's ``jax_enable_x64`` flag says.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from .._backend import is_floating, namespace_of
from .._errors import FrameworkErrors, InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from .._scalars import as_int
from .._spec import CrossEntropySpec
from ._base import Array, Call, DialectLoss, check_choice, loss_call, loss_value_and_grad, spec_cache

__all__ = ["CrossEntropyLoss"]

#: BrainPy's reduction names: what type checkers accept, and what is checked at run time
Reduction = Literal["mean", "sum", "none"]
_REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)

#: BrainPy's names of the canonical arguments (for error messages).
_NAMES = (("logits", "input"), ("class_weight", "weight"))

#: The built-in exception class BrainPy 2.8.2 (on JAX) raises for each error: shapes that do not
#: broadcast give JAX's ``TypeError``; indexing a 0-d input an ``IndexError``.  (Its
#: ``UnsupportedError`` for a bad reduction is a plain ``Exception``, not matched.)
FRAMEWORK_ERRORS = FrameworkErrors(
    (LabelOutOfRangeError, "", IndexError),
    (InvalidArgumentError, r"^target\b.*shape", TypeError),
    (InvalidArgumentError, r"^input must have at least one dimension", IndexError),
)

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "-1 (the last axis, at every rank)",
    "target kinds": "class indices iff target.ndim + 1 == input.ndim (any integer dtype, or whole-valued floats "
    "without weight), else probabilities of the input's shape",
    "ignore label": "ignore_index=-100 (indices only; no effect on probabilities)",
    "label smoothing": "yes: (1-eps) q + eps/C, for indices and probabilities",
    "class weight enters": "per item, outside the sum: indices weight[y] * sum_c q~_c (-log p_c); "
    "probabilities (sum_c w_c q~_c) * (lse(x) - sum_c q~_c x_c)",
    "mean divides by": "no weight: max(#non-ignored, 1) (indices), item count (probabilities); "
    "weight: sum of the item weights (weight[y] over non-ignored items, or sum_c w_c q~_c)",
    "all ignored (mean)": "0 without weight (max(count, 1)); nan with weight (0/0)",
    "output shape": "scalar, or the input's shape without the last axis for reduction='none'",
    "per-sample weights": "no",
    "log-prob input": "no",
    "probability input": "no",
}

#: Golden cases where BrainPy raises but this dialect deliberately accepts the input: none.
GOLDEN_DEVIATIONS: dict[str, str] = {}


@spec_cache(512)
def _spec(probs: bool, weighted: bool, ignore_index: int, reduction: str, label_smoothing: float) -> CrossEntropySpec:
    if weighted:
        denominator, zero = "item_weight", "nan"  # loss.sum() / sample_weight.sum()
    elif probs:
        denominator, zero = "items", "nan"  # loss.mean()
    else:
        denominator, zero = "valid", "zero"  # loss.sum() / jnp.maximum(valid_mask.sum(), 1)
    return CrossEntropySpec(
        axis=-1,
        target="probs" if probs else "index",
        ignore_index=None if probs else ignore_index,
        label_smoothing=label_smoothing,
        weighting="per_item" if probs else "per_label",
        reduction=reduction,  # type: ignore[arg-type]
        denominator=denominator,  # type: ignore[arg-type]
        zero_denominator=zero,  # type: ignore[arg-type]
    )


def _check_ignore_index(ignore_index: Any) -> None:
    if as_int(ignore_index) is None:
        raise InvalidTypeError(f"ignore_index must be an int; got {ignore_index!r}")


class CrossEntropyLoss(DialectLoss):
    r"""``brainpy.losses.CrossEntropyLoss`` on any array library.

    The class axis is the **last** axis.  With class indices :math:`y` (``target.ndim + 1 ==
    input.ndim``) the loss of an item is

    .. math:: L = w_y \left(\log \sum_c e^{x_c} - \sum_c \tilde q_c x_c\right), \quad
              \tilde q = (1 - \epsilon)\,\mathrm{onehot}(y) + \epsilon / C

    (:math:`w_y = 1` without ``weight``; ignored items give 0).  With probabilities :math:`q`
    of the input's shape, :math:`\tilde q = (1 - \epsilon) q + \epsilon / C` and the item weight
    is :math:`\sum_c w_c \tilde q_c` instead of :math:`w_y`.  ``'mean'`` divides the sum by the
    sum of the item weights with ``weight``, else by ``max(#non-ignored items, 1)`` (indices) or
    the number of items (probabilities).

    Parameters
    ----------
    weight : array, optional
        A weight per class, length ``C``.
    ignore_index : int
        Label whose items are ignored (class indices only).
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float
        In ``[0, 1]``.

    Examples
    --------
    BrainPy's docstring example is PyTorch code; this is the example of Chainer's documentation,
    for which BrainPy 2.8.2 prints ``0.4401896985611953`` (float64; ``0.44018972`` in float32):

    >>> import numpy as np
    >>> from unified_ce.adapters.brainpy import CrossEntropyLoss
    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]])
    >>> loss = CrossEntropyLoss()
    >>> print(f"{float(loss(x, np.array([3, 0]))):.10f}")
    0.4401896986

    ``update`` is the same computation; every label ignored gives 0, not nan (without ``weight``):

    >>> float(loss.update(x, np.array([-100, -100])))
    0.0

    A class weight multiplies the whole smoothed loss of an item by ``weight[label]`` (BrainPy
    prints ``[1.1803794 0.5901897]``):

    >>> w = np.array([1.0, 1.0, 1.0, 2.0])
    >>> CrossEntropyLoss(weight=w, reduction="none", label_smoothing=0.1)(x, np.array([3, 0]))
    array([1.1803794, 0.5901897])
    """

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: Reduction = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        check_choice("reduction", reduction, _REDUCTIONS)
        _check_ignore_index(ignore_index)
        CrossEntropySpec(label_smoothing=label_smoothing)  # validated now (BrainPy: never)
        self.weight = weight
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing

    def _translate(self, input: Array, target: Any) -> Call[Array]:
        for name, v in (("input", input), ("target", target)):
            if isinstance(v, (list, tuple, dict)):
                raise InvalidTypeError(
                    f"{name} must be an array; got a {type(v).__name__} (BrainPy sums the losses of the leaves "
                    "of a pytree of arrays; call the loss once per array instead)"
                )
        check_choice("reduction", self.reduction, _REDUCTIONS)
        _check_ignore_index(self.ignore_index)
        xp = namespace_of({"input": input, "target": target})
        if input.ndim < 1:
            raise InvalidArgumentError("input must have at least one dimension (the class axis, the last one)")
        probs = target.ndim + 1 != input.ndim
        weighted = self.weight is not None
        if not probs and weighted and is_floating(xp, target.dtype):
            # BrainPy: ``weight[target]`` raises "Indexer must have integer or boolean type"
            raise InvalidTypeError(
                f"target of class indices must have an integer dtype with a weight; got {target.dtype}"
            )
        spec = _spec(probs, weighted, self.ignore_index, self.reduction, self.label_smoothing)
        return Call(spec, input, target, class_weight=self.weight, names=_NAMES)

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def update(self, input: Any, target: Any) -> Any:
        """Same as calling the object (BrainPy's ``__call__`` runs ``update`` between its hooks)."""
        return self(input, target)

    def __repr__(self) -> str:
        return (
            f"CrossEntropyLoss(ignore_index={self.ignore_index}, reduction={self.reduction!r}, "
            f"label_smoothing={self.label_smoothing})"
        )

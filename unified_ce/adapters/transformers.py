"""The Hugging Face transformers dialect: the causal-LM loss ``ForCausalLMLoss``.

Emulates ``transformers.loss.loss_utils.ForCausalLMLoss`` of transformers 5.x (checked against
5.24.0 with torch 2.13.0) on arrays of every supported library; transformers and torch are never
imported.  Translation:

==========================  ==================================================================
transformers                :class:`~unified_ce.CrossEntropySpec`
==========================  ==================================================================
``logits.float()``          ``compute_dtype="float32"``: computed and returned in float32 whatever
                            the logits' dtype (float16, bfloat16 and float64 too); the gradient has
                            the logits' dtype
``logits.view(-1, V)``      class axis -1; the logits' last axis must be ``vocab_size``
``labels``                  shifted one step left along their last axis and padded with
                            ``ignore_index`` (token t predicts label t + 1; the last token of each
                            row predicts nothing): the call's class indices
``shift_labels``            used as they are (``labels`` is then not read)
``ignore_index=-100``       ``ignore_index``
``num_items_in_batch=None`` ``None``: ``reduction="mean"`` over the non-ignored tokens
                            (``denominator="valid"``, 0/0 = nan); else the sum divided by it
                            (``denominator="given"``, the call's ``divisor``: a number or a 0-d array,
                            the token count of a whole gradient-accumulation step)
``**kwargs``                accepted and ignored, as in transformers
==========================  ==================================================================

The shift is the only work done on an array here: a slice and a concatenation of the labels (never
the logits), with the labels' own array library.  Deliberate differences (``docs/dialects/transformers.md``):
labels of any integer dtype are accepted (torch: int64 or uint8 only; JAX without x64 has no int64);
logits whose last axis is not ``vocab_size`` raise (``view(-1, vocab_size)`` would reinterpret them
when the sizes divide); ``num_items_in_batch=0`` gives ``inf`` like torch (``nan`` when every label
is ignored).
"""

from __future__ import annotations

import math
from typing import Any

from .._backend import creation_device, is_integer, namespace_of
from .._errors import FrameworkErrors, InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from .._spec import CrossEntropySpec
from ._base import Array, Call, dialect_function, spec_cache

__all__ = ["ForCausalLMLoss"]

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "-1 (logits (..., T, V) flattened to (-1, vocab_size))",
    "target kinds": "int indices (..., T), shifted one token left (or shift_labels as given)",
    "ignore label": "ignore_index=-100 (also pads the shifted labels)",
    "label smoothing": "no",
    "class weight enters": "no class weights",
    "mean divides by": "number of non-ignored tokens, or num_items_in_batch when given (a sum / count)",
    "all ignored (mean)": "nan (0/0); 0 / num_items_in_batch when given",
    "output shape": "scalar, always float32 (logits.float())",
    "per-sample weights": "no",
    "log-prob input": "no",
    "probability input": "no",
}

#: The exception classes torch raises inside ``ForCausalLMLoss``: ``IndexError`` for a label out of
#: range, ``RuntimeError`` for a wrong dtype or a ``view`` that does not fit, ``ValueError`` for
#: labels that do not match the logits (already a ``ValueError``).
FRAMEWORK_ERRORS = FrameworkErrors(
    (LabelOutOfRangeError, "", IndexError),
    (InvalidTypeError, r"^(logits|labels|shift_labels)\b.*dtype", RuntimeError),
    (InvalidArgumentError, r"^vocab_size\b", RuntimeError),
)

#: Porting (:mod:`unified_ce.porting`): the loss shifts its labels (the engine writes the shift), its
#: ``vocab_size`` is the size of the logits' last axis, and ``num_items_in_batch`` is a divisor given at
#: the call.  A port *to* this dialect is not written (it would pass ``shift_labels=``).
SHIFTS_LABELS = ("ForCausalLMLoss",)
PORT_FROM_LOGITS = {"vocab_size": -1}
PORT_NOT_WRITTEN = {
    "shift_labels": "labels already shifted are the same call without the shift: port ForCausalLMLoss without "
    "shift_labels, drop the port's shift line (y = ...) and use the shifted labels as y",
}

#: recorded cases that are deliberate, documented differences (see ``tests/test_golden.py``)
GOLDEN_DEVIATIONS = {
    "ForCausalLMLoss/labels_int32": "labels of any integer dtype are accepted (torch: int64 or uint8 only; "
    "JAX without x64 has no int64)",
}


@spec_cache(maxsize=64)
def _spec(ignore_index: int, given: bool) -> CrossEntropySpec:
    return CrossEntropySpec(
        axis=-1,
        ignore_index=ignore_index,
        reduction="mean",
        denominator="given" if given else "valid",
        compute_dtype="float32",
    )


def _shifted(labels: Any, ignore_index: int) -> Any:
    """``F.pad(labels, (0, 1), value=ignore_index)[..., 1:]``: the label of the next token."""
    xp = namespace_of({"labels": labels})
    if getattr(labels, "ndim", 0) < 1:
        raise InvalidArgumentError(f"labels must have at least one dimension (tokens); got shape {tuple(labels.shape)}")
    pad = xp.full((*labels.shape[:-1], 1), ignore_index, dtype=labels.dtype, device=creation_device(labels))
    return xp.concat((labels, pad), axis=-1)[..., 1:]


def _as_items(logits: Any, target: Any, name: str) -> Any:
    """``target.view(-1)`` against ``logits.view(-1, V)``: labels of the logits' token shape (reshaped
    when they only have the same number of tokens, as the flattening allows)."""
    tokens = tuple(logits.shape[:-1])
    if tuple(target.shape) == tokens:
        return target
    n, m = math.prod(tokens), math.prod(tuple(target.shape))
    if n != m:
        raise InvalidArgumentError(
            f"{name} must hold one label per token of logits {tuple(logits.shape)}: Expected input batch_size "
            f"({n}) to match target batch_size ({m})."
        )
    return namespace_of({name: target}).reshape(target, tokens)


@dialect_function
def ForCausalLMLoss(
    logits: Array,
    labels: Any,
    vocab_size: int,
    num_items_in_batch: Any = None,
    ignore_index: int = -100,
    shift_labels: Any = None,
    **kwargs: Any,
) -> Call[Array]:
    """``transformers.loss.loss_utils.ForCausalLMLoss``: the loss of a causal language model.

    Parameters
    ----------
    logits : array of shape (..., T, V)
        Scores of the next token at every position (any floating dtype; computed in float32).
    labels : integer array of shape (..., T), or None with ``shift_labels``
        The tokens themselves: position t is scored against ``labels[..., t + 1]``; the last
        position of each row against nothing (``ignore_index``).
    vocab_size : int
        ``V``, the logits' last axis.
    num_items_in_batch : int, float, 0-d array or None
        None: the mean over the non-ignored tokens.  Else the sum of the token losses divided by
        it (the number of non-ignored tokens of the whole gradient-accumulation step).
    ignore_index : int
        Label of tokens without a loss (also what the shift pads with).
    shift_labels : integer array or None
        Labels already shifted (position t is scored against ``shift_labels[..., t]``).
    **kwargs
        Ignored, as in transformers (``label_smoothing=`` or ``reduction=`` have no effect there).

    Returns
    -------
    array
        A 0-d float32 array of the logits' library.  ``ForCausalLMLoss.value_and_grad(...)`` also
        gives the gradient with respect to ``logits`` (in the logits' dtype).

    Raises
    ------
    InvalidArgumentError
        Labels that do not give one label per token (also a ``ValueError``), a logits' last axis
        other than ``vocab_size`` (also a ``RuntimeError``), a label outside ``[0, V)`` that is not
        ``ignore_index`` (:class:`~unified_ce._errors.LabelOutOfRangeError`, also an ``IndexError``).
    InvalidTypeError
        Labels of a non-integer dtype (also a ``RuntimeError``).

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.transformers import ForCausalLMLoss
    >>> logits = np.zeros((1, 3, 4))                  # (batch, tokens, vocab)
    >>> labels = np.array([[2, 1, -100]])             # token 0 predicts 1, token 1 predicts -100
    >>> ForCausalLMLoss(logits, labels, vocab_size=4)  # log(4), float32
    array(1.3862944, dtype=float32)
    >>> float(ForCausalLMLoss(logits, labels, 4, num_items_in_batch=4).round(6))  # log(4) / 4
    0.346574
    """
    given = num_items_in_batch is not None
    if vocab_size != getattr(logits, "shape", (None,))[-1]:
        raise InvalidArgumentError(
            f"vocab_size={vocab_size!r} must be the size of the logits' last axis: logits of shape "
            f"{tuple(getattr(logits, 'shape', ()))} (transformers views them as (-1, vocab_size))"
        )
    name = "labels" if shift_labels is None else "shift_labels"
    target = labels if shift_labels is None else shift_labels
    xp = namespace_of({name: target})
    if not is_integer(xp, target.dtype):
        raise InvalidTypeError(f"{name} must have an integer dtype (class indices); got dtype {target.dtype}")
    if shift_labels is None:
        target = _shifted(labels, ignore_index)
    target = _as_items(logits, target, name)
    return Call(
        _spec(ignore_index, given),
        logits,
        target,
        divisor=num_items_in_batch,
        names=(("target", name), ("divisor", "num_items_in_batch")),
    )

"""The MXNet dialect: ``mxnet.gluon.loss.SoftmaxCrossEntropyLoss`` (alias ``SoftmaxCELoss``).

Works on arrays of every supported library, not only MXNet NDArrays (MXNet is never imported).
Emulates MXNet 1.9.1 Gluon in its default (classic NDArray) mode, ``mxnet/gluon/loss.py``
lines 310-404.  Translation to the spec:

==========================  ===============================================================
MXNet                       :class:`~unified_ce.CrossEntropySpec`
==========================  ===============================================================
``axis=-1``                 ``axis``
``sparse_label=True``       ``target="index"`` (labels: ``pred``'s shape without ``axis``,
                            or with it kept as size 1; any integer dtype, or a float dtype
                            holding whole numbers); ``False``: ``target="probs"`` (the
                            label is reshaped to ``pred``'s shape, as ``_reshape_like``)
``from_logits=True``        ``inputs="log_probs"`` (``pred`` is used as it is)
``weight``                  ``scale`` (a global factor, not class weights)
``batch_axis=0``            ``batch_axis``, ``reduction="sample_mean"``: one value per index
                            of ``batch_axis``, the mean over every other axis (the class
                            axis counts once: the loss keeps it with size 1)
``sample_weight``           multiplies the loss of shape ``pred.shape`` with ``axis`` set to 1,
                            NumPy-broadcast; weight axes that are larger than the loss
                            (except the batch axis) are averaged: a ``(N,)`` weight with
                            ``(N, C)`` logits gives ``loss_i * mean(w)``, exactly as MXNet
==========================  ===============================================================

Deliberate differences from MXNet (documented in ``docs/dialects/mxnet.md``):

* a label outside ``[0, C)`` (which MXNet's ``pick`` silently clips to 0 or C-1) and a
  non-integer float label (which MXNet truncates) raise
  :class:`~unified_ce.LabelOutOfRangeError` / :class:`~unified_ce.InvalidArgumentError`;
* a ``sample_weight`` with more axes than the loss, or one that would enlarge the batch axis
  (both change the output's shape in MXNet), raises;
* ``sample_weight`` may be passed by keyword, may be 0-d, and empty batches work (MXNet 1.x's
  classic NDArrays refuse all three).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from .._backend import namespace_of
from .._errors import FrameworkErrors, InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from .._spec import CrossEntropySpec
from ._base import Array, Call, DialectLoss, loss_call, loss_value_and_grad, spec_cache

__all__ = ["SigmoidBCELoss", "SigmoidBinaryCrossEntropyLoss", "SoftmaxCELoss", "SoftmaxCrossEntropyLoss"]

#: MXNet's names of the canonical arguments (for error messages).
_NAMES = (("logits", "pred"), ("target", "label"))

#: The built-in exception class MXNet 1.9.1 raises for each error: its ``MXNetError`` (shape and
#: dtype inference, axes) derives from ``RuntimeError``; ``assert isinstance(weight, numeric_types)``.
FRAMEWORK_ERRORS = FrameworkErrors(
    (LabelOutOfRangeError, "", IndexError),
    (InvalidArgumentError, r"^weight must be", AssertionError),
    (InvalidTypeError, r"^weight must be", AssertionError),
    (InvalidTypeError, r"^(pred|label|sample_weight|pos_weight)\b.*dtype", RuntimeError),
    (InvalidArgumentError, r"^(pred|label|sample_weight|pos_weight|axis|batch_axis)\b", RuntimeError),
)

#: The keyword arguments of Gluon's ``Block.__init__`` that ``Loss`` passes on (no effect here).
_BLOCK_KWARGS = ("prefix", "params")

#: The dialect's semantics, one row per question of the cross-dialect matrix.
SEMANTICS = {
    "class axis": "axis=-1 (any axis)",
    "target kinds": "sparse_label=True: class indices (any integer dtype, or whole-valued floats); "
    "False: probabilities of pred's size and dtype",
    "ignore label": "none (give the item sample_weight 0)",
    "label smoothing": "no",
    "class weight enters": "no class weights (weight is one global factor)",
    "mean divides by": "per sample: the number of elements on the other axes (class axis counted once)",
    "all ignored (mean)": "n/a (no ignore label)",
    "output shape": "(pred.shape[batch_axis],)",
    "per-sample weights": "sample_weight, broadcast against the loss with the class axis kept (N, 1); "
    "larger axes are averaged, so (N,) gives loss_i * mean(w)",
    "log-prob input": "from_logits=True (SoftmaxCrossEntropyLoss)",
    "probability input": "SigmoidBinaryCrossEntropyLoss(from_sigmoid=True): log(p + 1e-12) and log(1 - p + 1e-12), "
    "no clip",
}

#: Golden cases this dialect does not reproduce yet, with the reason.
#: Golden cases where MXNet's backward is not the derivative of its own forward: the gradient is
#: compared with ``grad_of_forward`` (a float64 derivative of the forward, recorded with the case).
GOLDEN_GRAD_DEVIATIONS = {
    f"SigmoidBinaryCrossEntropyLoss/large-{k}": "the values match; MXNet's autograd gradient at pred = 0 (a kink "
    "of its relu/abs pieces) is not the derivative sigmoid(0) - label of its forward, which unified_ce gives"
    for k in ("f32", "f64", "pos_weight-f32", "pos_weight-f64")
}


#: Golden cases (``unified_ce/conformance/golden/mxnet.json``) where MXNet raises but this dialect
#: deliberately accepts the input, with the reason.
GOLDEN_DEVIATIONS = {
    **{
        f"SoftmaxCrossEntropyLoss/sw-N1-kwarg-{dt}": "sample_weight may be passed by keyword (MXNet's "
        "Block.__call__(*args) takes no keywords, apache/mxnet#7918); the value is the positional call's"
        for dt in ("f32", "f64")
    },
    **{
        f"SoftmaxCrossEntropyLoss/{case}-{dt}": "empty arrays are accepted: an empty batch gives shape (0,), an "
        "empty non-batch axis a mean of nothing (nan); MXNet 1.x classic NDArrays read a 0 in a shape as "
        "'unknown' and fail in shape inference"
        for case in ("empty", "empty-dense", "empty-spatial")
        for dt in ("f32", "f64")
    },
    "SigmoidBinaryCrossEntropyLoss/sample_weight_0d": "a 0-d sample_weight is accepted (classic NDArrays have "
    "no 0-d arrays)",
    "SigmoidBinaryCrossEntropyLoss/pos_weight_0d": "a 0-d pos_weight is accepted (classic NDArrays have no 0-d arrays)",
    "SigmoidBinaryCrossEntropyLoss/N0": "an empty batch gives an empty output (MXNet 1.x refuses zero-size arrays)",
    "SoftmaxCrossEntropyLoss/err-sw_0d": "a 0-d sample_weight is accepted and scales every item (classic "
    "NDArrays have no 0-d arrays: broadcast_mul cannot infer the shape)",
}


@spec_cache(512)
def _spec(axis: int, sparse_label: bool, from_logits: bool, weight: float, batch_axis: int) -> CrossEntropySpec:
    return CrossEntropySpec(
        axis=axis,
        target="index" if sparse_label else "probs",
        inputs="log_probs" if from_logits else "logits",
        reduction="sample_mean",
        batch_axis=batch_axis,
        scale=weight,
    )


def _check_weight(weight: Any) -> float:
    # MXNet: ``assert isinstance(weight, numeric_types), "weight must be a number"`` (loss.py line 62)
    if weight is None:
        return 1.0
    if not isinstance(weight, numbers.Real):
        raise InvalidTypeError(f"weight must be a number (a global scalar factor) or None; got {type(weight).__name__}")
    if not math.isfinite(weight):
        raise InvalidArgumentError(f"weight must be finite; got {weight!r}")
    return float(weight)


def _library(x: Any) -> str:
    return type(x).__module__.split(".")[0]


class SoftmaxCrossEntropyLoss(DialectLoss):
    r"""``mxnet.gluon.loss.SoftmaxCrossEntropyLoss`` on any array library.

    For ``sparse_label=True`` the loss of an element is :math:`-\log \mathrm{softmax}(pred)_{label}`,
    for ``sparse_label=False`` it is :math:`-\sum_c label_c \log \mathrm{softmax}(pred)_c`; it is
    multiplied by ``sample_weight`` and ``weight`` and averaged over every axis except
    ``batch_axis``.

    Parameters
    ----------
    axis : int
        The class axis of ``pred``.
    sparse_label : bool
        Whether ``label`` holds class indices (``True``) or a probability distribution of
        ``pred``'s shape (``False``).
    from_logits : bool
        Whether ``pred`` already holds log-probabilities (e.g. from ``log_softmax``).
    weight : float or None
        A global scalar factor of the loss.
    batch_axis : int
        The axis of ``pred`` that indexes the samples.
    **kwargs
        Gluon's ``Block`` arguments ``prefix`` and ``params`` are accepted and ignored; any other
        keyword raises ``TypeError``.

    Examples
    --------
    The example of Chainer's documentation, through MXNet's dialect (one value per sample;
    MXNet 1.9.1 gives ``[0.4401897 0.4401897]`` in float64 and ``[0.44018754 0.44018754]`` in
    float32):

    >>> import numpy as np
    >>> from unified_ce.adapters.mxnet import SoftmaxCrossEntropyLoss
    >>> loss = SoftmaxCrossEntropyLoss()
    >>> pred = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]])
    >>> loss(pred, np.array([3.0, 0.0]))
    array([0.4401897, 0.4401897])

    MXNet's docstring example of shapes: ``pred`` of shape (1, 2, 3, 4) with ``axis=2`` takes
    labels of shape (1, 2, 4), and the output has one value per sample:

    >>> SoftmaxCrossEntropyLoss(axis=2)(np.zeros((1, 2, 3, 4)), np.zeros((1, 2, 4))).shape
    (1,)

    A per-sample weight must have shape (N, 1); a weight of shape (N,) broadcasts against the
    loss of shape (N, 1) to (N, N), so every sample gets the *mean* weight, as in MXNet:

    >>> loss(pred, np.array([3, 0]), np.array([[1.0], [0.0]]))
    array([0.4401897, 0.       ])
    >>> loss(pred, np.array([3, 0]), np.array([1.0, 0.0]))
    array([0.22009486, 0.22009486])
    """

    def __init__(
        self,
        axis: int = -1,
        sparse_label: bool = True,
        from_logits: bool = False,
        weight: float | None = None,
        batch_axis: int = 0,
        **kwargs: Any,
    ) -> None:
        for name in kwargs:
            if name not in _BLOCK_KWARGS:
                raise TypeError(f"SoftmaxCrossEntropyLoss.__init__() got an unexpected keyword argument {name!r}")
        scale = _check_weight(weight)
        self._axis = axis
        self._sparse_label = bool(sparse_label)
        self._from_logits = bool(from_logits)
        self._weight = weight
        self._batch_axis = batch_axis
        self._prefix = kwargs.get("prefix")
        self._spec_ = _spec(axis, self._sparse_label, self._from_logits, scale, batch_axis)

    def _translate(self, pred: Array, label: Any, sample_weight: Any = None) -> Call[Array]:
        xp = namespace_of({"pred": pred, "label": label})
        if self._sparse_label:
            label = self._sparse(xp, pred, label)
        else:
            label = self._dense(xp, pred, label)
        if (
            sample_weight is not None
            and _library(sample_weight) == _library(pred)
            and getattr(sample_weight, "dtype", pred.dtype) != pred.dtype
        ):
            # broadcast_mul requires one dtype (elemwise_op_common.h)
            raise InvalidTypeError(
                f"sample_weight must have pred's dtype {pred.dtype} (as in MXNet); got {sample_weight.dtype}"
            )
        return Call(self._spec_, pred, label, sample_weight=sample_weight, names=_NAMES)

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def _sparse(self, xp: Any, pred: Any, label: Any) -> Any:
        # ``pick`` takes the index with the class axis removed, or kept with size 1
        ndim = pred.ndim
        if ndim >= 1 and label.ndim == ndim and -ndim <= self._axis < ndim:
            axis = self._axis % ndim
            keep = (*pred.shape[:axis], 1, *pred.shape[axis + 1 :])
            if tuple(label.shape) == keep:
                label = xp.reshape(label, keep[:axis] + keep[axis + 1 :])
        return label

    def _dense(self, xp: Any, pred: Any, label: Any) -> Any:
        # ``_reshape_like``: the label is reshaped to pred's shape (same number of elements)
        if label.dtype != pred.dtype:
            raise InvalidTypeError(
                f"label of probabilities (sparse_label=False) must have pred's dtype {pred.dtype} "
                f"(as in MXNet); got {label.dtype}"
            )
        shape = tuple(pred.shape)
        if tuple(label.shape) != shape:
            if math.prod(label.shape) != math.prod(shape):
                raise InvalidArgumentError(
                    f"label of probabilities (sparse_label=False) must have pred's shape {shape} or its number "
                    f"of elements ({math.prod(shape)}); got shape {tuple(label.shape)}"
                )
            label = xp.reshape(label, shape)
        return label

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_axis={self._batch_axis}, w={self._weight})"


#: MXNet's alias (``SoftmaxCELoss = SoftmaxCrossEntropyLoss``, loss.py line 404).
SoftmaxCELoss = SoftmaxCrossEntropyLoss


#: ``from_sigmoid=True``: ``-(log(pred + eps) label + log(1 - pred + eps) (1 - label))`` with ``eps = 1e-12``
#: (loss.py); pred outside [0, 1] is refused where MXNet returns nan
_FROM_SIGMOID: dict[str, Any] = {"inputs": "probs", "log_eps": 1e-12, "probs_in_range": True}


@spec_cache(64)
def _sigmoid_spec(weight: float, batch_axis: int, from_sigmoid: bool = False) -> CrossEntropySpec:
    return CrossEntropySpec(
        **(_FROM_SIGMOID if from_sigmoid else {}),
        activation="sigmoid",
        target="probs",
        reduction="sample_mean",
        batch_axis=batch_axis,
        scale=weight,
    )


class SigmoidBinaryCrossEntropyLoss(DialectLoss):
    r"""``mxnet.gluon.loss.SigmoidBinaryCrossEntropyLoss`` (alias ``SigmoidBCELoss``) on any array library.

    The loss of an element is :math:`-[p\, y \log \sigma(pred) + (1 - y) \log(1 - \sigma(pred))]`
    (``p = pos_weight``, 1 when not given), multiplied by ``sample_weight`` and ``weight`` and
    averaged over every axis except ``batch_axis``.  Call it as ``loss(pred, label,
    sample_weight=None, pos_weight=None)``; ``label`` is reshaped to ``pred``'s shape (same number
    of elements), ``sample_weight`` and ``pos_weight`` broadcast against it.

    Parameters
    ----------
    from_sigmoid : bool
        ``False``: ``pred`` holds logits.  ``True``: probabilities in ``[0, 1]``, the loss
        :math:`-[p\, y \log(pred + 10^{-12}) + (1 - y) \log(1 - pred + 10^{-12})]` (MXNet's ``eps``).
    weight : float or None
        A global scalar factor of the loss.
    batch_axis : int
        The axis of ``pred`` that indexes the samples.
    **kwargs
        Gluon's ``Block`` arguments ``prefix`` and ``params`` are accepted and ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce.adapters.mxnet import SigmoidBinaryCrossEntropyLoss
    >>> loss = SigmoidBinaryCrossEntropyLoss()
    >>> loss(np.array([[0.0, 2.0], [-1.0, 0.5]]), np.array([[1.0, 0.0], [1.0, 1.0]]))
    array([1.4100376 , 0.89366934])
    >>> loss(np.array([[0.0, 2.0]]), np.array([[1.0, 0.0]]), None, np.array([[2.0, 1.0]]))
    array([1.75661119])
    >>> SigmoidBinaryCrossEntropyLoss(from_sigmoid=True)(np.array([[0.5, 0.0]]), np.array([[1.0, 1.0]]))
    array([14.16208415])
    """

    def __init__(
        self, from_sigmoid: bool = False, weight: float | None = None, batch_axis: int = 0, **kwargs: Any
    ) -> None:
        for name in kwargs:
            if name not in _BLOCK_KWARGS:
                raise TypeError(f"{type(self).__name__}.__init__() got an unexpected keyword argument {name!r}")
        self._from_sigmoid = bool(from_sigmoid)
        self._weight = weight
        self._batch_axis = batch_axis
        self._spec_ = _sigmoid_spec(_check_weight(weight), batch_axis, self._from_sigmoid)

    def _translate(self, pred: Array, label: Any, sample_weight: Any = None, pos_weight: Any = None) -> Call[Array]:
        xp = namespace_of({"pred": pred, "label": label})
        shape = tuple(pred.shape)
        if tuple(label.shape) != shape:  # _reshape_like: label reshaped to pred's shape
            if math.prod(label.shape) != math.prod(shape):
                raise InvalidArgumentError(
                    f"label must have pred's shape {shape} or its number of elements ({math.prod(shape)}); "
                    f"got shape {tuple(label.shape)}"
                )
            label = xp.reshape(label, shape)
        return Call(
            self._spec_, pred, label, class_weight=pos_weight, sample_weight=sample_weight, names=_SIGMOID_NAMES
        )

    __call__ = loss_call(_translate)
    value_and_grad = loss_value_and_grad(_translate)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(batch_axis={self._batch_axis}, w={self._weight})"


#: MXNet's alias (``SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss``).
SigmoidBCELoss = SigmoidBinaryCrossEntropyLoss
_SIGMOID_NAMES = (("logits", "pred"), ("target", "label"), ("class_weight", "pos_weight"))

"""The public, dialect-free entry points: evaluate a :class:`CrossEntropySpec` on arrays."""

from __future__ import annotations

from typing import Any

from . import _core
from ._autodiff import evaluate, evaluate_with_grad
from ._backend import as_array_like, namespace_of
from ._spec import CrossEntropySpec

__all__ = ["cross_entropy", "softmax", "value_and_grad"]


def _spec(spec: CrossEntropySpec | None, fields: dict[str, Any]) -> CrossEntropySpec:
    if spec is None:
        return CrossEntropySpec(**fields)
    if not isinstance(spec, CrossEntropySpec):
        raise TypeError(f"spec must be a CrossEntropySpec; got {type(spec).__name__}")
    return spec.replace(**fields) if fields else spec


def _prepare(spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any, sample_weight: Any) -> _core.Inputs:
    if class_weight is not None or sample_weight is not None:
        xp = namespace_of({"logits": logits})
        class_weight = as_array_like("class_weight", class_weight, xp, logits)
        sample_weight = as_array_like("sample_weight", sample_weight, xp, logits)
    return _core.prepare(spec, logits, target, class_weight, sample_weight)


def cross_entropy(
    logits: Any,
    target: Any,
    /,
    spec: CrossEntropySpec | None = None,
    *,
    class_weight: Any = None,
    sample_weight: Any = None,
    **spec_fields: Any,
) -> Any:
    """Evaluate a cross-entropy :class:`CrossEntropySpec` on arrays of any array-API library.

    Parameters
    ----------
    logits : array
        Scores (or log-probabilities, per ``spec.inputs``); floating dtype.  Half precision is
        computed in float32 and returned in the input dtype.
    target : array
        Class indices (the logits' shape without the class axis; integer, or integral floats) or
        probabilities (the logits' shape).
    spec : CrossEntropySpec, optional
        The computation; fields given as keywords override it (or build it when it is omitted).
    class_weight : array, optional
        One weight per class (length ``C``).
    sample_weight : array, optional
        Per-item weights, broadcast against the per-item loss with the class axis kept (size 1).

    Returns
    -------
    array
        The loss, an array of the logits' library, on the logits' device, in the logits' dtype.
        Differentiable by torch autograd and JAX transformations; see :func:`value_and_grad` for
        the other libraries.

    Examples
    --------
    >>> import numpy as np
    >>> import unified_ce as uce
    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]], dtype=np.float32)
    >>> t = np.array([3, 0])
    >>> print(uce.cross_entropy(x, t))
    0.44018...
    >>> uce.cross_entropy(x, t, reduction="none").shape
    (2,)
    """
    spec = _spec(spec, spec_fields)
    inp = _prepare(spec, logits, target, class_weight, sample_weight)
    return evaluate(inp, logits, target, inp.cw, inp.sw)


def value_and_grad(
    logits: Any,
    target: Any,
    /,
    spec: CrossEntropySpec | None = None,
    *,
    class_weight: Any = None,
    sample_weight: Any = None,
    grad_output: Any = None,
    **spec_fields: Any,
) -> tuple[Any, Any]:
    """The loss and ``d sum(loss * grad_output) / d logits``, for every array library.

    The gradient is the core's analytic gradient (no autodiff needed), so this works on NumPy,
    CuPy, Dask and array-api-strict as well as PyTorch and JAX.  ``grad_output`` defaults to ones
    of the loss's shape.

    Examples
    --------
    >>> import numpy as np
    >>> import unified_ce as uce
    >>> x = np.zeros((2, 3)); t = np.array([0, 2])
    >>> loss, grad = uce.value_and_grad(x, t)
    >>> grad.round(4)
    array([[-0.3333,  0.1667,  0.1667],
           [ 0.1667,  0.1667, -0.3333]])
    """
    spec = _spec(spec, spec_fields)
    inp = _prepare(spec, logits, target, class_weight, sample_weight)
    return evaluate_with_grad(inp, grad_output)


def softmax(logits: Any, /, spec: CrossEntropySpec | None = None, **spec_fields: Any) -> Any:
    """``softmax`` of the logits along ``spec.axis`` (for dialects that also return it)."""
    spec = _spec(spec, spec_fields)
    namespace_of({"logits": logits})
    inp = _core.prepare(spec.replace(target="probs"), logits, logits, None, None, check_values=False)
    return _core.softmax(inp)

"""unified_ce: cross-entropy losses written once against the Python array API.

One canonical :class:`CrossEntropySpec`, one core evaluating it on NumPy, PyTorch, JAX, CuPy, Dask
and array-api-strict arrays (on the input's device, differentiable where the library is), and thin
dialects in :mod:`unified_ce.adapters` that speak each framework's interface exactly.

Importing this package imports no array framework.
"""

from __future__ import annotations

from . import distributed
from ._api import cross_entropy, loss_sum_and_denominator, softmax, value_and_grad
from ._aux import CrossEntropyAux, cross_entropy_aux
from ._errors import InvalidArgumentError, InvalidTypeError, LabelOutOfRangeError
from ._spec import CrossEntropySpec
from .linear import linear_cross_entropy
from .porting import explain, port

__all__ = [
    "CrossEntropyAux",
    "CrossEntropySpec",
    "InvalidArgumentError",
    "InvalidTypeError",
    "LabelOutOfRangeError",
    "__version__",
    "cross_entropy",
    "cross_entropy_aux",
    "distributed",
    "explain",
    "linear_cross_entropy",
    "loss_sum_and_denominator",
    "port",
    "softmax",
    "value_and_grad",
]

__version__ = "0.1.0"

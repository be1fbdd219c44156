"""The one place that chooses how a spec is evaluated: the reference core or a fused kernel.

The reference path is the array-API core (:mod:`unified_ce.core`), which runs everywhere.  The
fused kernels are optional accelerations of the *same spec* for one array library and device:

=========  =========================================  ==========================================
kernel     arrays                                     module
=========  =========================================  ==========================================
triton     torch CUDA tensors (float32/16, bfloat16)  :mod:`unified_ce.kernels._triton`
cupy       CuPy arrays (float32, float16)             :mod:`unified_ce.kernels._cupy`
torch_cpu  eager torch CPU tensors (float32, float64) :mod:`unified_ce.kernels._torch_cpu`
numpy_cpu  NumPy arrays (float32, float64)            :mod:`unified_ce.kernels._numpy_cpu`
=========  =========================================  ==========================================

``torch_cpu`` is not a compiled kernel: it runs aten's row-fused ``softmax`` / ``log_softmax`` and a
few whole-array passes, a handful of parallel regions per call whatever the size (the reference
core's eager blocks run a dozen regions per block, which stall with several threads on a busy
machine), and hands tiny calls whose spec is PyTorch's own to ``F.cross_entropy``.  ``numpy_cpu``
runs all the passes of a block of rows while it is in cache (the logits read once, the gradient
written once) and shares the blocks among a few threads.

Both cover softmax cross-entropy of logits with integer (or integral float) class targets and
every other knob: class weights (per class or per item), ``ignore_index``, label smoothing,
``reduction`` none / sum / mean with every denominator and ``zero_denominator``, ``scale``,
per-item sample weights, any class axis.  Anything else (probability targets, log-probability
inputs, sigmoid, ``sample_mean`` / ``axis_mean``, float64 logits, empty arrays, a class or sample weight that
needs its own gradient) is evaluated by the reference core.

The environment variable ``UNIFIED_CE_KERNEL`` (read at every call) selects:

* ``auto`` (default): ``triton`` for torch CUDA tensors when Triton is installed, ``cupy`` for
  CuPy arrays, ``torch_cpu`` for eager CPU torch tensors, ``numpy_cpu`` for NumPy arrays, the
  reference core otherwise and for every spec a kernel does not cover;
* ``reference``: always the reference core;
* ``triton`` / ``cupy``: that kernel wherever it covers the spec (the reference core where it does
  not); raises :class:`KernelUnavailableError` when the kernel cannot run on the given arrays
  (library not installed, arrays of another library, a CPU tensor).  For tests, ``triton`` also
  runs on CPU tensors under Triton's interpreter (``TRITON_INTERPRET=1`` set before Triton is
  first imported).

:func:`explain` says which path a call takes and why.  Nothing here imports a framework until an
array of that framework is seen.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import os
import sys
from typing import Any, Protocol

from .._backend import is_floating, is_integer, is_torch_traced
from .._errors import InvalidArgumentError
from .._fields import FIELDS
from .._spec import CrossEntropySpec
from ..core.validate import check_grad_output, loss_shape

__all__ = [
    "CHOICES",
    "ENV_VAR",
    "Kernel",
    "KernelUnavailableError",
    "auto_requested",
    "check_grad_output",
    "explain",
    "loss_shape",
    "may_read_values",
    "requested",
    "select",
]

ENV_VAR = "UNIFIED_CE_KERNEL"
CHOICES = ("auto", "reference", "triton", "cupy")

_TORCH_DTYPES = ("float32", "float16", "bfloat16")
_CUPY_DTYPES = ("float32", "float16")


class KernelUnavailableError(RuntimeError):
    """``UNIFIED_CE_KERNEL`` forces a kernel that cannot run on the given arrays."""


class Kernel(Protocol):
    """What a fused kernel provides (see :mod:`unified_ce.kernels._triton`)."""

    name: str

    def evaluate(self, inp: Any, double_backprop: bool = True) -> Any:
        """The loss (differentiable where the library has autodiff)."""

    def evaluate_with_grad(self, inp: Any, grad_output: Any) -> tuple[Any, Any]:
        """The loss and ``d sum(loss * grad_output) / d logits`` (``grad_output`` None: ones)."""


# ``os.environ.get`` encodes its key and value at every call (~0.7 us, a sixth of a tiny native call):
# :func:`auto_requested` reads the mapping os.environ keeps of the process environment (``_data``,
# updated by every ``os.environ`` assignment) when CPython has one, else asks os.environ.
_ENV_DATA: Any = getattr(os.environ, "_data", None)
try:
    _ENV_KEY: Any = os.environ.encodekey(ENV_VAR)  # type: ignore[attr-defined]
    _ENV_AUTO: tuple[Any, ...] = (None, os.environ.encodevalue("auto"))  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover - not CPython's os.environ
    _ENV_DATA = None


def auto_requested() -> bool:
    """Whether ``UNIFIED_CE_KERNEL`` is unset or exactly ``auto`` (the direct paths' cheap test;
    any other value takes the full path, which checks it)."""
    if type(_ENV_DATA) is dict:
        return _ENV_DATA.get(_ENV_KEY) in _ENV_AUTO
    return os.environ.get(ENV_VAR, "auto") == "auto"  # pragma: no cover


def requested() -> str:
    """The value of ``UNIFIED_CE_KERNEL`` (``auto`` when unset), checked."""
    value = os.environ.get(ENV_VAR, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise InvalidArgumentError(
            f"environment variable {ENV_VAR} must be one of {', '.join(CHOICES)}; got {os.environ.get(ENV_VAR)!r}"
        )
    return value


def _library(x: Any) -> str:
    return type(x).__module__.split(".")[0]


def _dtype_name(dtype: Any) -> str:
    return str(getattr(dtype, "name", dtype)).replace("torch.", "")


def _triton_interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0").strip().lower() in ("1", "true", "on", "yes")


@functools.lru_cache(maxsize=1)
def _triton_installed() -> bool:
    return importlib.util.find_spec("triton") is not None


def _triton_unavailable(logits: Any) -> str | None:
    """Why the Triton kernel cannot run on these logits at all (None: it can)."""
    if _library(logits) != "torch":
        return f"the logits are a {_library(logits)} array, not a torch tensor"
    if not _triton_installed():
        return "Triton is not installed (pip install 'unified-ce[triton]'; it ships with CUDA builds of torch)"
    if not hasattr(sys.modules["torch"].library, "custom_op"):
        return "torch.library.custom_op is missing (the Triton kernel needs torch >= 2.4)"
    if logits.device.type != "cuda" and not (logits.device.type == "cpu" and _triton_interpreted()):
        return f"the logits are on {logits.device}; Triton needs a CUDA device (or TRITON_INTERPRET=1 for CPU tests)"
    return None


def _cupy_unavailable(logits: Any) -> str | None:
    if _library(logits) != "cupy":
        return f"the logits are a {_library(logits)} array, not a CuPy array"
    return None


#: the table's rows; those without a reason of their own first (named ``field=value``)
_COVERAGE = sorted(FIELDS, key=lambda f: bool(f.kernels.kernels or f.kernels.reason))


def _uncovered_field(spec: CrossEntropySpec, kernel: str) -> str | None:
    """The first spec field whose value ``kernel`` does not evaluate (the spec-field table's coverage)."""
    for field in dataclasses.fields(spec):  # a field without a row (tests/test_fields.py forbids it)
        if field.name not in _NAMES and getattr(spec, field.name) != field.default:
            return f"{field.name}={getattr(spec, field.name)!r}"
    for row in _COVERAGE:
        value = getattr(spec, row.name)
        if not row.kernels.covers(kernel, row.default, value):
            return row.kernels.reason or f"{row.name}={value!r}"
    return None


_NAMES = frozenset(f.name for f in FIELDS)


def _unsupported(
    spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any, sample_weight: Any, kernel: str
) -> str | None:
    """Why ``kernel`` does not cover this call (None: it does)."""
    why = _uncovered_field(spec, kernel)
    if why:
        return why
    dtypes = _TORCH_DTYPES if kernel == "triton" else _CUPY_DTYPES
    if _dtype_name(logits.dtype) not in dtypes:
        return f"logits of dtype {_dtype_name(logits.dtype)} (the kernels take {', '.join(dtypes)})"
    if logits.ndim < 1 or any(s == 0 for s in logits.shape):
        return "empty logits"
    if logits.ndim and not -logits.ndim <= spec.axis < logits.ndim:
        return "axis out of range"
    if target is None or not (is_integer_like(target)):
        return "targets that are not integer class indices"
    if _library(logits) == "torch":
        torch = sys.modules["torch"]
        if torch.is_grad_enabled():
            asked = [n for n, a in (("target", target), ("class_weight", class_weight), ("sample_weight", sample_weight))
                     if a is not None and getattr(a, "requires_grad", False)]  # fmt: skip
            if asked:
                return f"a gradient with respect to {', '.join(asked)} is asked for"
    return None


def is_integer_like(target: Any) -> bool:
    """Integer labels, or integral float labels (MXNet), of the array's own library."""
    try:
        import array_api_compat

        xp = array_api_compat.array_namespace(target)
    except Exception:
        return False
    return is_integer(xp, target.dtype) or is_floating(xp, target.dtype)


@functools.lru_cache(maxsize=1)
def _triton_kernel() -> Kernel:
    from ._triton import TritonKernel

    return TritonKernel()


def _torch_cpu_module() -> Any:
    import importlib

    return importlib.import_module(f"{__name__}._torch_cpu")


def _numpy_cpu_module() -> Any:
    import importlib

    return importlib.import_module(f"{__name__}._numpy_cpu")


@functools.lru_cache(maxsize=1)
def _numpy_cpu_kernel() -> Kernel:
    return _numpy_cpu_module().NumpyCPUKernel()  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def _cupy_kernel() -> Kernel:
    from ._cupy import CupyKernel

    return CupyKernel()


def _choose(
    spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any, sample_weight: Any
) -> tuple[Kernel | None, str]:
    choice = requested()
    if choice == "reference":
        return None, f"reference ({ENV_VAR}=reference)"
    lib = _library(logits)
    if choice == "auto":
        if lib == "torch" and getattr(logits, "is_cuda", False):
            why = _triton_unavailable(logits) or _unsupported(spec, logits, target, class_weight, sample_weight,
                                                              "triton")  # fmt: skip
            return (None, f"reference ({why})") if why else (_triton_kernel(), "triton")
        if lib == "torch" and logits.device.type == "cpu":
            if is_torch_traced(logits):  # before the import below, which torch.compile cannot trace
                return None, "reference (torch.compile / torch.func: the reference core's autograd function is traced)"
            why = _torch_cpu_module().unsupported(spec, logits, target, class_weight, sample_weight)
            return (None, f"reference ({why})") if why else (_torch_cpu_module().TorchCPUKernel(), "torch_cpu")
        if lib == "cupy":
            why = _unsupported(spec, logits, target, class_weight, sample_weight, "cupy")
            return (None, f"reference ({why})") if why else (_cupy_kernel(), "cupy")
        if lib == "numpy":
            why = _numpy_cpu_module().unsupported(spec, logits, target, class_weight, sample_weight)
            return (None, f"reference ({why})") if why else (_numpy_cpu_kernel(), "numpy_cpu")
        return None, f"reference (no fused kernel for {lib} arrays on this device)"
    unavailable = _triton_unavailable(logits) if choice == "triton" else _cupy_unavailable(logits)
    if unavailable:
        raise KernelUnavailableError(f"{ENV_VAR}={choice} asks for the {choice} kernel, but {unavailable}")
    why = _unsupported(spec, logits, target, class_weight, sample_weight, choice)
    if why:
        return None, f"reference ({why}: not covered by the {choice} kernel)"
    return (_triton_kernel() if choice == "triton" else _cupy_kernel()), choice


def select(
    spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any = None, sample_weight: Any = None
) -> Kernel | None:
    """The fused kernel that evaluates this call, or ``None`` for the reference core.

    Raises
    ------
    InvalidArgumentError
        If ``UNIFIED_CE_KERNEL`` has a value other than ``auto``, ``reference``, ``triton``, ``cupy``.
    KernelUnavailableError
        If ``UNIFIED_CE_KERNEL`` forces a kernel that cannot run on these arrays.
    """
    return _choose(spec, logits, target, class_weight, sample_weight)[0]


def explain(
    spec: CrossEntropySpec, logits: Any, target: Any, class_weight: Any = None, sample_weight: Any = None
) -> str:
    """Which path evaluates this call, and why: ``"triton"``, ``"cupy"`` or ``"reference (reason)"``.

    Examples
    --------
    >>> import numpy as np
    >>> from unified_ce import CrossEntropySpec
    >>> from unified_ce.kernels import explain
    >>> explain(CrossEntropySpec(), np.zeros((2, 3), np.float32), np.array([0, 1]))
    'numpy_cpu'
    >>> explain(CrossEntropySpec(target="probs"), np.zeros((2, 3)), np.full((2, 3), 1 / 3))
    'reference (probability targets)'
    """
    return _choose(spec, logits, target, class_weight, sample_weight)[1]


def may_read_values(logits: Any) -> bool:
    """Whether validation may read array values on the host (a device synchronisation).

    Not while ``torch.compile`` traces or a CUDA graph is being captured: there the kernels turn an
    out-of-range label into a NaN loss and gradient instead of raising.
    """
    if _library(logits) != "torch":
        return True
    torch = sys.modules["torch"]
    if torch.compiler.is_compiling():
        return False
    return not (logits.is_cuda and torch.cuda.is_current_stream_capturing())

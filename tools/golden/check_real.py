"""Run the conformance suite against the REAL frameworks, and show that it catches a 0.1% error.

Run from the repository root, in the framework's venv (``array-api-compat`` installed there; see
``tools/golden/README.md``)::

    PYTHONPATH=. /work/venvs/keras/bin/python tools/golden/check_real.py keras        # Keras 3, TF backend
    PYTHONPATH=. /work/venvs/keras/bin/python tools/golden/check_real.py tensorflow
    PYTHONPATH=. /work/venvs/optax/bin/python tools/golden/check_real.py optax
    PYTHONPATH=. /work/venvs/mlx/bin/python tools/golden/check_real.py mlx
    PYTHONPATH=. /work/venvs/hf/bin/python tools/golden/check_real.py transformers   # torch tensors

For every API of the framework it runs ``unified_ce.conformance.check(dialect, impl=<the real API>)``
(the same as ``python -m unified_ce conformance --dialect D --impl module:API``), then the same API
with its output multiplied by 1.001, which must fail.  The result is printed and written to
``tools/golden/real/<framework>[-<backend>].txt``; the script exits 1 unless every real API passes and
every perturbed one fails.

Gradients are checked where the runner can differentiate the framework's output: optax (JAX arrays).
TensorFlow / Keras-on-TensorFlow and MLX outputs are compared by value only (TensorFlow and MLX are not
array libraries of the runner).  Keras on its JAX backend is a different implementation: it differs
from the TensorFlow backend (which recorded the golden data) by ~1e-7 in float64 in places, so it is
not used here.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from unified_ce.conformance import check  # noqa: E402

OUT = ROOT / "tools" / "golden" / "real"


def _apis(framework: str):
    """``(dialect, [(api name, real callable)], array library)`` for the framework in this venv."""
    if framework == "keras":
        import keras

        names = ["SparseCategoricalCrossentropy", "CategoricalCrossentropy", "BinaryCrossentropy",
                 "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy"]
        array = "jax" if keras.backend.backend() == "jax" else "numpy"
        return "keras", [(n, getattr(keras.losses, n)) for n in names], array
    if framework == "tensorflow":
        import tensorflow as tf

        names = ["softmax_cross_entropy_with_logits", "sparse_softmax_cross_entropy_with_logits",
                 "sigmoid_cross_entropy_with_logits", "weighted_cross_entropy_with_logits"]
        return "tensorflow", [(n, getattr(tf.nn, n)) for n in names], "numpy"
    if framework == "optax":
        import optax

        names = ["softmax_cross_entropy", "softmax_cross_entropy_with_integer_labels",
                 "safe_softmax_cross_entropy", "sigmoid_binary_cross_entropy", "smooth_labels"]
        return "optax", [(n, getattr(optax.losses, n)) for n in names], "jax"
    if framework == "mlx":
        import mlx.core as mx
        import mlx.nn as nn
        import numpy as np

        def to_mx(v):
            # the conformance runner has no MLX array library: NumPy arrays are handed over with their dtype
            return mx.array(v, dtype=getattr(mx, "bool_" if v.dtype == bool else v.dtype.name)) if isinstance(
                v, np.ndarray) else v

        def shim(fn):
            @functools.wraps(fn)
            def call(*args, **kwargs):
                return np.array(fn(*map(to_mx, args), **{k: to_mx(v) for k, v in kwargs.items()}))
            return call

        return "mlx", [(n, shim(getattr(nn.losses, n))) for n in ("cross_entropy", "binary_cross_entropy")], "numpy"
    if framework == "transformers":
        from transformers.loss.loss_utils import ForCausalLMLoss

        return "transformers", [("ForCausalLMLoss", ForCausalLMLoss)], "torch"
    raise SystemExit(f"unknown framework {framework!r}; expected keras, tensorflow, optax, mlx or transformers")


def _off(obj, factor=1.001):
    """The same API with every output multiplied by ``factor`` (a deliberate 0.1% error)."""
    if isinstance(obj, type):
        class Off(obj):
            def __call__(self, *args, **kwargs):
                return super().__call__(*args, **kwargs) * factor
        Off.__name__ = Off.__qualname__ = obj.__name__
        return Off

    @functools.wraps(obj)
    def off(*args, **kwargs):
        return obj(*args, **kwargs) * factor
    return off


def main(framework: str) -> int:
    dialect, apis, array = _apis(framework)
    lines, ok = [], True
    for name, obj in apis:
        real = check(dialect, impl=obj, array=array, api=name, full=True)
        bad = check(dialect, impl=_off(obj), array=array, api=name)
        caught = not bad.ok
        ok = ok and real.ok and caught
        lines.append(f"{name:45s} real: {real.summary_line().split(maxsplit=2)[-1]}")
        lines.append(f"{'':45s} x1.001: {'FAILS, as it must' if caught else 'PASSES: the suite missed a 0.1% error'}")
        if not real.ok:
            lines.append(real.format(max_failures=5))
    backend = ""
    if framework == "keras":
        import keras

        backend = f"-{keras.backend.backend()}"
    head = f"{framework}{backend} against unified_ce/conformance/golden/{dialect}.json ({array} arrays)"
    text = "\n".join([head, *lines, "ALL OK" if ok else "NOT OK"]) + "\n"
    print(text)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{framework}{backend}.txt").write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "keras"))

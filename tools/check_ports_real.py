"""Run two ports of issue 16 against the real frameworks, each in its own virtual environment.

1. Hugging Face ``ForCausalLMLoss`` (transformers + torch) -> the emitted PyTorch code and the emitted
   optax code (real optax + JAX), with and without ``num_items_in_batch``;
2. Keras 3 ``SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)`` (its TensorFlow backend)
   -> the emitted PyTorch code, ``sum_over_batch_size`` and ``sum``, ranks 2 and 3.

Every case includes an input whose labels are all ignored (HF: nan, or 0 with a divisor; Keras: 0).
The ports are emitted by this checkout (``unified_ce.port``); each side runs in its venv on the
same arrays (an ``.npz`` in a temporary folder); the results must agree in float32 (same dtype,
rtol 1e-6).  Usage::

    python tools/check_ports_real.py --hf /work/venvs/hf/bin/python --optax /work/venvs/optax/bin/python \\
        --keras /work/venvs/keras/bin/python

(the PyTorch side of the Keras check runs in this interpreter).  Prints one line per case and exits 1
on any disagreement.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's unified_ce
from unified_ce import port

_HF = """
import sys, numpy as np, torch
from transformers.loss.loss_utils import ForCausalLMLoss
d = dict(np.load(sys.argv[1])); codes = {k: open(sys.argv[2] + k).read() for k in ("mean", "n")}
out = {}
for k in [k for k in d if k.startswith("x_")]:
    key = k[2:]; x, t = torch.from_numpy(d[k]), torch.from_numpy(d["t_" + key]); n = None if "None" in key else 13
    out["hf_" + key] = ForCausalLMLoss(x, t, vocab_size=x.shape[-1], num_items_in_batch=n).numpy()
    ns = {"x": x, "t": t, "n": n}; exec(codes["n" if n else "mean"], ns); out["port_" + key] = ns["loss"].numpy()
np.savez(sys.argv[1], **d, **out)
"""

_OPTAX = """
import sys, numpy as np, jax.numpy as jnp
d = dict(np.load(sys.argv[1])); codes = {k: open(sys.argv[2] + k).read() for k in ("mean", "n")}
out = {}
for k in [k for k in d if k.startswith("x_")]:
    key = k[2:]; n = None if "None" in key else 13
    ns = {"x": jnp.asarray(d[k]), "t": jnp.asarray(d["t_" + key]), "n": n}
    exec(codes["n" if n else "mean"], ns); out["optax_" + key] = np.asarray(ns["loss"])
np.savez(sys.argv[1], **d, **out)
"""

_KERAS = """
import os, sys; os.environ.setdefault("KERAS_BACKEND", "tensorflow")
import numpy as np, keras
d = dict(np.load(sys.argv[1])); out = {}
for k in [k for k in d if k.startswith("x_")]:
    key = k[2:]; red = key.split("_", 2)[2]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1, reduction=red)
    out["keras_" + key] = np.asarray(loss(d["t_" + key], d[k]))
np.savez(sys.argv[1], **d, **out)
"""


def _code(*args: str, **kw: object) -> str:
    r = port(*args, **kw)  # type: ignore[arg-type]
    assert r.exact, r
    return r.code


def _agree(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype == np.float32 and bool(np.allclose(a, b, rtol=1e-6, equal_nan=True))


def _run(python: str, script: str, *args: str) -> None:
    subprocess.run([python, "-c", script, *args], check=True)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hf", required=True, help="python of a venv with transformers and torch")
    p.add_argument("--optax", required=True, help="python of a venv with optax and jax")
    p.add_argument("--keras", required=True, help="python of a venv with keras 3 and tensorflow")
    a = p.parse_args()
    rng = np.random.default_rng(3)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        # 1. Hugging Face -> torch and optax
        data: dict[str, np.ndarray] = {}
        for i, shape in enumerate([(2, 7, 11), (5, 3), (2, 3, 4, 6)]):
            x = rng.normal(scale=3, size=shape).astype(np.float32)
            t = rng.integers(0, shape[-1], size=shape[:-1])
            t.reshape(-1)[::3] = -100
            for j, lab in enumerate([t, np.full_like(t, -100)]):
                for n in (None, 13):
                    data[f"x_{i}_{j}_{n}"], data[f"t_{i}_{j}_{n}"] = x, lab
        f = str(Path(tmp) / "hf.npz")
        np.savez(f, **data)
        for dest in ("torch", "optax"):
            Path(tmp, f"{dest}mean").write_text(_code("transformers", dest))
            Path(tmp, f"{dest}n").write_text(_code("transformers", dest, num_items_in_batch="n"))
        _run(a.hf, _HF, f, str(Path(tmp) / "torch"))
        _run(a.optax, _OPTAX, f, str(Path(tmp) / "optax"))
        d = np.load(f)
        for k in sorted(k[3:] for k in d.files if k.startswith("hf_")):
            ok = _agree(d["hf_" + k], d["port_" + k]) and _agree(d["hf_" + k], d["optax_" + k])
            bad += not ok
            print(
                f"HF {k}: transformers {d['hf_' + k]} torch {d['port_' + k]} optax {d['optax_' + k]} "
                + ("ok" if ok else "DIFFER")
            )
        # 2. Keras -> torch
        import torch

        data = {}
        for i, shape in enumerate([(6, 4), (3, 5, 4)]):
            x = rng.normal(scale=3, size=shape)  # float64: Keras computes in float32
            t = rng.integers(0, shape[-1], size=shape[:-1])
            t.reshape(-1)[::3] = -1
            for j, lab in enumerate([t, np.full_like(t, -1)]):
                for red in ("sum_over_batch_size", "sum"):
                    data[f"x_{i}_{j}_{red}"], data[f"t_{i}_{j}_{red}"] = x, lab
        f = str(Path(tmp) / "keras.npz")
        np.savez(f, **data)
        _run(a.keras, _KERAS, f)
        d = np.load(f)
        for k in sorted(k[6:] for k in d.files if k.startswith("keras_")):
            red, rank = k.split("_", 2)[2], d["x_" + k].ndim
            kw = {"from_logits": True, "ignore_class": -1, **({"reduction": red} if red == "sum" else {})}
            ns = {"x": torch.from_numpy(d["x_" + k]), "t": torch.from_numpy(d["t_" + k])}
            exec(_code("keras.SparseCategoricalCrossentropy", "torch", ndim=rank, **kw), ns)
            got = ns["loss"].numpy()
            ok = _agree(d["keras_" + k], got)
            bad += not ok
            print(f"Keras {k}: keras {d['keras_' + k]} torch {got} {'ok' if ok else 'DIFFER'}")
    print("all agree" if not bad else f"{bad} cases differ")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Importing unified_ce, its dialects and its conformance data imports no array framework."""

from __future__ import annotations

import subprocess
import sys

FRAMEWORKS = ("torch", "jax", "jaxlib", "cupy", "dask", "array_api_strict", "tensorflow", "chainer", "mxnet", "paddle")


def test_import_touches_no_framework() -> None:
    code = (
        "import sys, importlib\n"
        "import unified_ce, unified_ce.adapters, unified_ce.conformance\n"
        "from unified_ce.adapters import DIALECTS\n"
        "for d in DIALECTS:\n"
        "    try:\n"
        "        importlib.import_module('unified_ce.adapters.' + d)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if not e.name.startswith('unified_ce'): raise\n"
        "import numpy as np\n"
        "from unified_ce.adapters.torch import cross_entropy\n"
        "cross_entropy(np.zeros((2, 3)), np.array([0, 1]))\n"
        f"print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr

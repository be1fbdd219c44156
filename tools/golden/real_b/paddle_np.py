"""Paddle's real losses called on NumPy arrays (the conformance runner feeds NumPy; values only).

``SCALE`` != 1 multiplies every result (the deliberate 0.1% error of the check).
"""

import os

import numpy as np
import paddle
import paddle.nn.functional as F

SCALE = float(os.environ.get("UCE_WRONG_SCALE", "1.0"))


def _t(v):
    return paddle.to_tensor(v) if isinstance(v, np.ndarray) else v


def _call(fn, args, kwargs):
    out = fn(*[_t(a) for a in args], **{k: _t(v) for k, v in kwargs.items()})
    return out.numpy() * np.asarray(SCALE, dtype=out.numpy().dtype)


def cross_entropy(*args, **kwargs):
    return _call(F.cross_entropy, args, kwargs)


def binary_cross_entropy_with_logits(*args, **kwargs):
    return _call(F.binary_cross_entropy_with_logits, args, kwargs)

"""MXNet's real SigmoidBinaryCrossEntropyLoss called on NumPy arrays (values only).

``UCE_WRONG_SCALE`` != 1 multiplies every result (the deliberate 0.1% error of the check).
"""

import os

import numpy as np
from mxnet import nd
from mxnet.gluon import loss as gloss

SCALE = float(os.environ.get("UCE_WRONG_SCALE", "1.0"))


class SigmoidBinaryCrossEntropyLoss:
    def __init__(self, **init):
        self.loss = gloss.SigmoidBinaryCrossEntropyLoss(**init)

    def __call__(self, *args):
        arrays = [nd.array(a, dtype=a.dtype) if isinstance(a, np.ndarray) else a for a in args]
        out = self.loss(*arrays).asnumpy()
        return out * np.asarray(SCALE, dtype=out.dtype)

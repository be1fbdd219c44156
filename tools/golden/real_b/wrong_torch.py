"""Real PyTorch losses with a deliberate 0.1% error: the conformance suite must fail them."""

import torch.nn.functional as F


def nll_loss(*args, **kwargs):
    return F.nll_loss(*args, **kwargs) * 1.001


def binary_cross_entropy_with_logits(*args, **kwargs):
    return F.binary_cross_entropy_with_logits(*args, **kwargs) * 1.001

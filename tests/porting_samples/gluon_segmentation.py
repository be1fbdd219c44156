"""Semantic segmentation with Gluon, after gluon-cv's FCN training script.

The network's scores are (N, C, H, W), so the class axis is 1; Gluon averages the per-pixel losses
of each image.
"""

from mxnet import gluon

NUM_CLASS = 21

criterion = gluon.loss.SoftmaxCrossEntropyLoss(axis=1)
aux_criterion = gluon.loss.SoftmaxCrossEntropyLoss(axis=1, weight=0.4)


def train_step(outputs, aux_outputs, labels):
    loss = criterion(outputs, labels)
    aux = aux_criterion(aux_outputs, labels)
    return loss + aux

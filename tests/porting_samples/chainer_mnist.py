"""A Chainer MNIST classifier, after chainer/examples/mnist/train_mnist.py.

The example's model is ``L.Classifier(MLP(...))``, whose default loss is
``F.softmax_cross_entropy``; a hand-written classifier with ``lossfun=F.softmax_cross_entropy``,
class-balanced and per-pixel variants follow.
"""

import chainer.functions as F
import chainer.links as L


class MLP:
    """Three linear layers with ReLU (chainer.links.Linear x 3); weights given as arrays."""

    def __init__(self, params):
        self.params = params

    def __call__(self, x):
        (w1, b1), (w2, b2), (w3, b3) = self.params
        h = relu(x @ w1 + b1)
        h = relu(h @ w2 + b2)
        return h @ w3 + b3


def relu(h):
    return h * (h > 0)


class Classifier:
    """chainer.links.Classifier: computes the loss of the predictor's output."""

    def __init__(self, predictor, lossfun=F.softmax_cross_entropy):
        self.predictor = predictor
        self.lossfun = lossfun

    def __call__(self, x, t):
        y = self.predictor(x)
        self.loss = self.lossfun(y, t)
        return self.loss


def make_model(params):
    return L.Classifier(MLP(params))


def balanced_loss(y, t, class_weight):
    # rare digits count more; the sum is averaged over the batch, not over the labels
    return F.softmax_cross_entropy(y, t, normalize=False, class_weight=class_weight)


def pixel_losses(score, label):
    # per-pixel losses of a (N, C, H, W) score map; 255 marks void pixels
    return F.softmax_cross_entropy(score, label, reduce="no", ignore_label=255)


def scheduled_loss(y, t, normalize):
    return F.softmax_cross_entropy(y, t, normalize=normalize)  # not a literal: left alone

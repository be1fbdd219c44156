"""An image classifier trained on soft labels (mixup), after PaddleClas's MixCELoss."""

import paddle.nn.functional as F


def mix_targets(labels_a, labels_b, lam, num_classes):
    import numpy as np

    eye = np.eye(num_classes)
    return lam * eye[labels_a] + (1 - lam) * eye[labels_b]


def mixup_loss(logits, soft_targets):
    loss = F.softmax_with_cross_entropy(logits, soft_targets, soft_label=True)
    return loss.mean()


def hard_loss(logits, labels):
    return F.softmax_with_cross_entropy(logits, labels, ignore_index=-1)

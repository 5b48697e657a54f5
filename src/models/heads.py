"""Multi-head model: one timm backbone, three linear heads (mask 3, gender 2, age 3).

Its forward returns 18-class logits like any single-head model, so ensemble, predict, tune and
evaluate need no special case: logit[c] = log_softmax(mask)[m] + log_softmax(gender)[g] +
log_softmax(age)[a] for c = encode_class(m, g, a). softmax of that is exactly the product of the
head distributions (the logits are already normalised log-probabilities).

The loss (src.training.losses.MultiHeadLoss) reads the heads back from those logits: summing the 18-class
log-probs over the other attributes (logsumexp, split_heads) gives each head's log_softmax exactly.
"""
import numpy as np
import torch.nn.functional as F
from torch import nn

from src.labels.classes import ATTRIBUTES, NUM_AGE, NUM_CLASSES, NUM_GENDER, NUM_MASK, decode_class

GRID = (NUM_MASK, NUM_GENDER, NUM_AGE)  # class = mask * 6 + gender * 3 + age: row-major over this grid


class MultiHeadNet(nn.Module):
    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone  # a timm model built with num_classes=0: forward gives pooled features
        # head_hidden_size: the pooled width after timm's pre-logits layers (1024, not 288, on MobileNetV3)
        width = getattr(backbone, "head_hidden_size", None) or backbone.num_features
        self.heads = nn.ModuleDict({name: nn.Linear(width, n) for name, n in ATTRIBUTES.items()})

    def forward_heads(self, x):
        features = self.backbone(x)
        return {name: head(features) for name, head in self.heads.items()}

    def forward(self, x):
        return combine_heads(self.forward_heads(x))


def combine_heads(head_logits):
    """{mask: [N,3], gender: [N,2], age: [N,3]} logits -> [N,18] log-probs of the product distribution."""
    m, g, a = (F.log_softmax(head_logits[name].float(), dim=1) for name in ATTRIBUTES)
    return (m[:, :, None, None] + g[:, None, :, None] + a[:, None, None, :]).reshape(len(m), NUM_CLASSES)


def split_heads(logits):
    """[N,18] logits -> {head: [N,n]} marginal log-probs (logsumexp over the other attributes)."""
    grid = F.log_softmax(logits.float(), dim=1).reshape(-1, *GRID)
    return {"mask": grid.logsumexp((2, 3)), "gender": grid.logsumexp((1, 3)), "age": grid.logsumexp((1, 2))}


def split_targets(target):
    """Hard labels [N] -> per-head hard labels; soft labels [N,18] -> per-head marginal soft labels."""
    if target.ndim == 1:
        return dict(zip(ATTRIBUTES, decode_class(target.long())))
    grid = target.float().reshape(-1, *GRID)
    return {"mask": grid.sum((2, 3)), "gender": grid.sum((1, 3)), "age": grid.sum((1, 2))}


def head_counts(class_counts):
    grid = np.asarray(class_counts, dtype=np.float64).reshape(GRID)
    return {"mask": grid.sum((1, 2)), "gender": grid.sum((0, 2)), "age": grid.sum((0, 1))}

"""Loss factory. Every loss maps (logits [N,C], target) to a scalar and has set_epoch().

target is either hard labels [N] (long) or soft labels [N,C] (rows sum to 1, from CutMix/MixUp);
LDAM needs hard labels because its margin is defined for one true class.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from src.common.factory import accepted_arguments, check_arguments, pick, split_spec

from src.labels.classes import ATTRIBUTES
from src.models.heads import head_counts, split_heads, split_targets


def _probs(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Hard labels -> one-hot; soft labels pass through."""
    if target.ndim == 1:
        return F.one_hot(target.long(), num_classes).float()
    return target.float()


def _counts(class_counts) -> np.ndarray:
    # A class absent from a fold would divide by zero; treat it as seen once.
    return np.maximum(np.asarray(class_counts, dtype=np.float64), 1.0)


class Loss(nn.Module):
    def set_epoch(self, epoch: int) -> None:
        """Called by the training loop at the start of each epoch; only LDAM-DRW uses it."""


class CrossEntropy(Loss):
    WEIGHTS = ("none", "inverse", "sqrt_inverse")

    def __init__(self, class_counts, class_weights: str = "none"):
        super().__init__()
        if class_weights not in self.WEIGHTS:
            raise ValueError(f"train.loss: class_weights {class_weights!r} is not one of {list(self.WEIGHTS)}")
        counts = _counts(class_counts)
        power = {"none": 0.0, "inverse": 1.0, "sqrt_inverse": 0.5}[class_weights]
        w = counts ** -power
        w = w / w.mean()  # mean class weight 1 keeps the loss scale comparable
        self.register_buffer("weight", torch.tensor(w, dtype=torch.float32) if power else None)

    def forward(self, logits, target):
        if self.weight is None:
            return F.cross_entropy(logits, target)
        # Weighted mean as torch does for hard labels, extended to soft labels (torch would
        # divide soft ones by N instead, so mixing CutMix in would change the loss scale).
        wy = _probs(target, logits.shape[1]) * self.weight
        return -(wy * F.log_softmax(logits.float(), dim=1)).sum() / wy.sum()


class LabelSmoothing(Loss):
    def __init__(self, smoothing: float = 0.1):
        super().__init__()
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"train.loss: smoothing must be in [0, 1), got {smoothing}")
        self.smoothing = smoothing

    def forward(self, logits, target):
        return F.cross_entropy(logits, target, label_smoothing=self.smoothing)


class Focal(Loss):
    """-sum_c y_c (1 - p_c)^gamma log p_c: cross entropy that down-weights easy samples."""

    def __init__(self, gamma: float = 2.0):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"train.loss: gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def forward(self, logits, target):
        log_p = F.log_softmax(logits.float(), dim=1)
        y = _probs(target, logits.shape[1])
        return -(y * (1 - log_p.exp()) ** self.gamma * log_p).sum(1).mean()


class SoftF1(Loss):
    """1 - macro F1 computed on softmax probabilities (differentiable counts)."""

    def __init__(self, epsilon: float = 1e-7):
        super().__init__()
        self.epsilon = epsilon

    def forward(self, logits, target):
        p = F.softmax(logits.float(), dim=1)
        y = _probs(target, logits.shape[1])
        tp = (y * p).sum(0)
        fp = ((1 - y) * p).sum(0)
        fn = (y * (1 - p)).sum(0)
        f1 = 2 * tp / (2 * tp + fp + fn + self.epsilon)
        return 1 - f1.mean()


class LDAM(Loss):
    """Label-distribution-aware margin loss (Cao et al. 2019) with optional deferred re-weighting.

    Rare classes get a larger margin max_m * n_c^-1/4 / max(...). With drw_epoch set, from that
    epoch on each class is weighted by (1 - beta) / (1 - beta^n_c), normalised to mean 1.
    """

    BETA = 0.9999

    def __init__(self, class_counts, max_m: float = 0.5, s: float = 30.0, drw_epoch=None):
        super().__init__()
        if drw_epoch is not None and (not isinstance(drw_epoch, int) or drw_epoch < 0):
            raise ValueError(f"train.loss: drw_epoch must be null or an int >= 0, got {drw_epoch!r}")
        counts = _counts(class_counts)
        margins = counts ** -0.25
        self.register_buffer("margins", torch.tensor(margins * max_m / margins.max(), dtype=torch.float32))
        drw = (1 - self.BETA) / (1 - self.BETA ** counts)
        self.register_buffer("drw_weight", torch.tensor(drw / drw.mean(), dtype=torch.float32))
        self.s, self.drw_epoch, self.use_drw = s, drw_epoch, False

    def set_epoch(self, epoch: int) -> None:
        self.use_drw = self.drw_epoch is not None and epoch >= self.drw_epoch

    @property
    def weight(self):
        return self.drw_weight if self.use_drw else None

    def forward(self, logits, target):
        if target.ndim != 1:
            raise ValueError("train.loss: ldam needs hard labels [N]; soft targets (CutMix/MixUp) "
                             "are not supported, use cross_entropy, focal, label_smoothing or f1")
        margin = self.margins[target].unsqueeze(1) * F.one_hot(target, logits.shape[1])
        return F.cross_entropy(self.s * (logits - margin), target, weight=self.weight)


LOSSES = {
    "cross_entropy": CrossEntropy,
    "focal": Focal,
    "label_smoothing": LabelSmoothing,
    "f1": SoftF1,
    "ldam": LDAM,
}


def build_loss(spec: dict, class_counts: np.ndarray) -> Loss:
    """spec = {"name": ..., **options}; class_counts[c] = training samples of class c."""
    name, arguments = split_spec("train.loss", spec)
    cls = pick("train.loss", LOSSES, name, "loss")
    check_arguments("train.loss", name, arguments, accepted_arguments(cls, skip=("class_counts",)))
    if "class_counts" in accepted_arguments(cls):
        arguments["class_counts"] = class_counts
    return cls(**arguments)


class MultiHeadLoss(nn.Module):
    """heads=multi: sum_h weight_h * loss_h(head logits, head target), each loss_h from build_loss.
    Every loss here is invariant to a per-row shift of its logits, so each head's loss on the marginal
    log-probs (src.models.heads.split_heads) equals its loss on the head's raw logits."""

    def __init__(self, spec, class_counts, weights):
        super().__init__()
        unknown = sorted(set(weights) - set(ATTRIBUTES))
        if unknown or not weights:
            raise ValueError(f"train.head_weights: unknown head(s) {unknown}; valid: {list(ATTRIBUTES)}")
        counts = head_counts(class_counts)
        self.weights = {name: float(weights.get(name, 0.0)) for name in ATTRIBUTES}
        self.losses = nn.ModuleDict({name: build_loss(spec, counts[name]) for name in ATTRIBUTES})

    def set_epoch(self, epoch):
        for loss in self.losses.values():
            loss.set_epoch(epoch)

    def forward(self, logits, target):
        heads, targets = split_heads(logits), split_targets(target)
        return sum(self.weights[name] * self.losses[name](heads[name], targets[name])
                   for name in ATTRIBUTES if self.weights[name])

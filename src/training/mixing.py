"""CutMix / MixUp on training batches: timm's Mixup, plus a vertical-band CutMix.

train.mix = {mixup_alpha, cutmix_alpha, prob, switch_prob, label_smoothing, vertical}. With both
alphas 0 there is no mixer and the loss gets hard labels. Otherwise the loss gets soft targets
[N,18] (rows sum to 1); ldam needs hard labels and is refused.

vertical: true is the competition winners' CutMix: the pasted patch is a full-height vertical
band (timm's CutMix boxes are rectangles, so this is a small function of its own, vertical_cutmix).
Mixing pairs each image with the batch flipped (as timm), so an odd batch (a last, smaller batch)
cannot be mixed: it is passed through with (smoothed) one-hot targets.
"""
import numpy as np
from timm.data import Mixup
from timm.data.mixup import mixup_target

from src.labels.classes import NUM_CLASSES


def vertical_cutmix(images, lam, rng):
    """Paste a full-height band of the flipped batch into images (in place); returns the label
    weight of the original images = 1 - band width / image width (its exact area share)."""
    width = images.shape[-1]
    band = int(round(width * (1.0 - lam)))  # a full-height band: its area share is its width share
    band = min(max(band, 0), width)
    left = int(rng.integers(0, width - band + 1))
    images[..., left:left + band] = images.flip(0)[..., left:left + band]
    return 1.0 - band / width


class Mixer:
    """__call__(images, labels) -> (images, soft targets [N, classes]); seeded per epoch with set_seed."""

    def __init__(self, cfg, num_classes=NUM_CLASSES):
        """cfg: the TrainMix config (src.config.tree: train.mix with its defaults)."""
        self.cfg, self.num_classes = cfg, num_classes
        self.rng = np.random.default_rng(0)
        # timm's Mixup draws from numpy's global generator; set_seed seeds it per epoch.
        band = cfg.vertical and cfg.cutmix_alpha > 0  # the band replaces timm's CutMix
        cutmix_alpha = 0.0 if band else cfg.cutmix_alpha
        self.timm = Mixup(mixup_alpha=cfg.mixup_alpha, cutmix_alpha=cutmix_alpha, prob=1.0 if band else cfg.prob,
                          switch_prob=cfg.switch_prob, label_smoothing=cfg.label_smoothing,
                          num_classes=num_classes) if cfg.mixup_alpha > 0 or cutmix_alpha > 0 else None

    def set_seed(self, seed):
        self.rng = np.random.default_rng(seed)
        np.random.seed(seed % 2**32)

    def __call__(self, images, labels):
        cfg = self.cfg
        if len(images) % 2:  # timm pairs image i with image N-1-i: an odd batch stays unmixed
            return images, mixup_target(labels, self.num_classes, 1.0, cfg.label_smoothing)
        if cfg.vertical and cfg.cutmix_alpha > 0:
            if self.rng.random() >= cfg.prob:
                return images, mixup_target(labels, self.num_classes, 1.0, cfg.label_smoothing)
            if self.timm is None or self.rng.random() < cfg.switch_prob:
                lam = vertical_cutmix(images, float(self.rng.beta(cfg.cutmix_alpha, cfg.cutmix_alpha)), self.rng)
                return images, mixup_target(labels, self.num_classes, lam, cfg.label_smoothing)
        return self.timm(images, labels)  # with vertical, timm does MixUp only, at prob 1 (drawn above)


def build_mixer(cfg, loss_name, num_classes=NUM_CLASSES):
    """None when train.mix (the TrainMix config) mixes nothing; a Mixer otherwise."""
    if cfg.mixup_alpha <= 0 and cfg.cutmix_alpha <= 0:
        return None
    if loss_name == "ldam":
        raise ValueError("train.mix: CutMix/MixUp give soft targets, which train.loss ldam cannot use "
                         "(its margin needs one true class); use cross_entropy, focal, label_smoothing or f1, "
                         "or set train.mix.mixup_alpha and cutmix_alpha to 0")
    return Mixer(cfg, num_classes)

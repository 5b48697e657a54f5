"""Class probabilities from one or several models, with optional test-time augmentation."""
import numpy as np
import torch

from src.common.device import autocast, channels_last, place_model
from src.common.factory import pick
from src.common.progress import progress
from src.data.crop_dataset import CropDataset, make_loader
from src.models.batchnorm_folding import fold_batchnorms

# Test-time views: each maps a normalised NCHW batch to the view the model sees.
TTA_VIEWS = {"hflip": lambda batch: torch.flip(batch, dims=[3])}


def check_tta(tta):
    for name in tta:
        pick("ensemble.tta", TTA_VIEWS, name, "view")


def inference_loader(crops, batch_size, num_workers=0):
    """Batches of `crops` as stored, in order (uint8, as the models take them)."""
    return make_loader(CropDataset(crops, None, None), batch_size, num_workers)


@torch.no_grad()
def probs_per_model(models, crops, batch_size, device, tta=(), num_workers=0, fold=True, loader=None):
    """One pass over `crops` feeding every batch to every model: [N x C_k float32 per model], each the
    softmax averaged over the identity and the TTA views. Models may differ in their classes.
    fold: run copies with their BatchNorms folded into their convolutions (same outputs, fewer
    passes; False runs the models as trained: the benchmark's baseline).
    loader: an inference_loader to reuse (then crops, batch_size and num_workers are not used)."""
    check_tta(tta)
    for model in models:
        place_model(model.eval(), device)
    views = [lambda batch: batch] + [TTA_VIEWS[name] for name in tta]
    if loader is None:
        loader = inference_loader(crops, batch_size, num_workers)
    chunks = [[] for _ in models]
    running = None
    for images, _ in progress(loader, desc="predict", unit="batch", leave=False):
        images = images.to(device, non_blocking=True)
        if running is None:
            probe = channels_last(images[:2])
            running = [place_model(fold_batchnorms(model, probe)[0], device) for model in models] if fold else models
        with autocast(device):
            for model, out in zip(running, chunks):
                total = sum(torch.softmax(model(channels_last(view(images))).float(),
                                          dim=1) for view in views)
                out.append((total / len(views)).cpu().numpy())
    return [np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32) for out in chunks]


def predict_probs(models, crops, batch_size, device, tta=(), num_workers=0, fold=True, loader=None):
    """Soft vote: mean softmax over models x (identity + TTA views); crops are used as stored.
    Returns N x C float32. fold, loader: as in probs_per_model."""
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    return np.mean(probs_per_model(models, crops, batch_size, device, tta, num_workers, fold, loader),
                   axis=0).astype(np.float32)

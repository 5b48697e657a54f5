"""Class probabilities from one or several models, with optional test-time augmentation."""
import numpy as np
import torch

from src.crop_dataset import CropDataset, make_loader
from src.progress import progress

# Test-time views: each maps a normalised NCHW batch to the view the model sees.
TTA_VIEWS = {"hflip": lambda batch: torch.flip(batch, dims=[3])}


def check_tta(tta):
    unknown = [name for name in tta if name not in TTA_VIEWS]
    if unknown:
        raise ValueError(f"ensemble.tta: unknown view(s) {unknown}; valid: {sorted(TTA_VIEWS)}")


def autocast(device):
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda")


@torch.no_grad()
def predict_probs(models, crops, transform, batch_size, device, tta=(), num_workers=0):
    """Soft vote: mean softmax over models x (identity + TTA views). Returns N x C float32."""
    check_tta(tta)
    models = models if isinstance(models, (list, tuple)) else [models]
    for model in models:
        model.eval()
    views = [lambda batch: batch] + [TTA_VIEWS[name] for name in tta]
    loader = make_loader(CropDataset(crops, None, transform), batch_size, num_workers)
    chunks = []
    for images, _ in progress(loader, desc="predict", unit="batch", leave=False):
        images = images.to(device, non_blocking=True)
        total = 0
        with autocast(device):
            for model in models:
                for view in views:
                    total = total + torch.softmax(model(view(images)).float(), dim=1)
        chunks.append((total / (len(models) * len(views))).cpu().numpy())
    return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, 0), np.float32)

"""Item 3: predict images/s of the 5-model fold ensemble (random-init default models) on the eval
crops, without and with horizontal-flip TTA, through src.inference.predict.predict_probs. Interleaved."""
import numpy as np
import torch

from bench.common import CROPS, interleaved, median, params, random_crops
from src.common.device import resolve_device
from src.inference.predict import predict_probs
from src.labels.classes import NUM_CLASSES
from src.models.networks import build_model


def eval_crops(limit):
    if (CROPS / "eval.npy").exists():
        return np.ascontiguousarray(np.load(CROPS / "eval.npy", mmap_mode="r")[:limit]), "crops/eval.npy (default sample)"
    h, w = params().face_crop.size
    return random_crops(limit, h, w), "random uint8 (crops/eval.npy absent)"


def run(quick):
    p = params()
    cfg, batch_size = p.train, p.predict.batch_size
    device = resolve_device(p.device)[0]
    torch.manual_seed(0)
    models = [build_model(cfg.model, NUM_CLASSES, mean=cfg.mean, std=cfg.std).to(device).eval()
              for _ in range(5)]
    crops, source = eval_crops(32 if quick else 64)
    predict_probs(models, crops[:batch_size], batch_size, device)  # warm-up
    rates = interleaved({tta: (lambda tta=tta: len(predict_probs(models, crops, batch_size, device,
                                                                 tta=[] if tta == "none" else [tta])))
                         for tta in ("none", "hflip")}, rounds=1 if quick else 2, device=device)
    plain, flipped = median(rates["none"]), median(rates["hflip"])
    return {"models": 5, "model": cfg.model, "images_per_window": len(crops), "batch_size": batch_size,
            "crops": source, "no_tta_images_per_s": plain, "tta_hflip_images_per_s": flipped,
            "tta_cost_ratio": flipped / plain, "windows": {k: [round(r, 2) for r in v] for k, v in rates.items()},
            "targets": [],
            "table": [("predict images/s, 5 models, no TTA", plain),
                      ("predict images/s, 5 models, TTA hflip", flipped),
                      ("predict TTA / no TTA", flipped / plain)]}

"""Item 7: inference images/s of the default fold model (train.model, train.heads; random weights and
BatchNorm statistics: the speed is the same) as trained and with its BatchNorms folded into their
convolutions (src.models.batchnorm_folding, what predict, the ensemble and each epoch's validation
run), on the eval crops; interleaved, both through predict_probs. Also the largest probability difference
between the two and the seconds folding takes (predict pays them once per call)."""
import dataclasses
import time

import numpy as np
import torch

from bench.common import interleaved, median, params
from bench.predict_tta import eval_crops
from src.common.device import channels_last, place_model, resolve_device
from src.inference.predict import predict_probs
from src.models.batchnorm_folding import fold_batchnorms
from src.models.fold_model import network_args
from src.models.networks import build_model


@torch.no_grad()
def with_learned_statistics(model, seed=0):
    """Random BatchNorm statistics and affine terms, as training leaves them (fresh ones are an
    identity, which would hide a wrong fold). Also used by tests/test_batchnorm_folding.py."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            shape = module.running_mean.shape
            module.running_mean.copy_(torch.randn(shape, generator=generator) * 0.3)
            module.running_var.copy_(torch.rand(shape, generator=generator) + 0.5)
            module.weight.copy_(torch.rand(shape, generator=generator) + 0.5)
            module.bias.copy_(torch.randn(shape, generator=generator) * 0.1)
    return model.eval()


def run(quick):
    p = params()
    device, batch_size = resolve_device(p.device)[0], p.predict.batch_size
    torch.manual_seed(0)
    network = build_model(**network_args(dataclasses.replace(p.train, pretrained="")))
    model = place_model(with_learned_statistics(network), device)
    crops, source = eval_crops(64 if quick else 256)
    probe = channels_last(torch.from_numpy(crops[:2]).permute(0, 3, 1, 2).to(device))
    started = time.perf_counter()
    folded, count = fold_batchnorms(model, probe)  # what predict does once per call, before its first batch
    fold_seconds = time.perf_counter() - started
    folded = place_model(folded, device)

    def probabilities(network, fold=False):  # predict's own path
        return predict_probs(network, crops, batch_size, device, fold=fold)

    difference = float(np.abs(probabilities(model) - probabilities(model, fold=True)).max())
    rates = interleaved({"as_trained": lambda: len(probabilities(model)), "folded": lambda: len(probabilities(folded))},
                        rounds=1 if quick else 3, device=device)
    plain, fast = median(rates["as_trained"]), median(rates["folded"])
    return {"model": p.train.model, "heads": p.train.heads, "batchnorms_folded": count,
            "images_per_window": len(crops), "crops": source, "as_trained_images_per_s": plain,
            "folded_images_per_s": fast, "speedup": fast / plain, "max_probability_difference": difference,
            "fold_seconds": fold_seconds,
            "windows": {k: [round(r, 2) for r in v] for k, v in rates.items()}, "targets": [],
            "table": [("inference images/s, as trained", plain), ("inference images/s, BatchNorms folded", fast),
                      ("folded / as trained", fast / plain), ("max |probability difference|", difference),
                      ("seconds to fold (once per predict call; the first pass of the process)", fold_seconds)]}

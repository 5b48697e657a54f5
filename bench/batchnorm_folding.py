"""Item 7: inference images/s of the default fold model (train.model, train.heads; random weights and
BatchNorm statistics: the speed is the same) as trained and with its BatchNorms folded into their
convolutions (src.models.batchnorm_folding, what predict, the ensemble and each epoch's validation
run), on the eval crops; interleaved. Also the largest probability difference between the two."""
import numpy as np
import torch

from bench.common import interleaved, median, params
from bench.predict_tta import eval_crops
from src.common.device import channels_last, pick_device, place_model
from src.models.batchnorm_folding import fold_batchnorms
from src.models.fold_model import network_args
from src.models.networks import build_model


def random_statistics(model, seed=0):
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=generator) * 0.2)
            module.running_var.copy_(torch.rand(module.running_var.shape, generator=generator) + 0.5)
    return model


@torch.no_grad()
def probabilities(model, crops, batch_size, device):
    out = []
    for start in range(0, len(crops), batch_size):
        batch = channels_last(torch.from_numpy(crops[start:start + batch_size]).permute(0, 3, 1, 2).to(device))
        out.append(torch.softmax(model(batch).float(), dim=1).cpu().numpy())
    return np.concatenate(out)


def run(quick):
    p = params()
    device, batch_size = pick_device(), p["predict"]["batch_size"]
    torch.manual_seed(0)
    network = build_model(**network_args({**p["train"], "pretrained": ""}))
    model = place_model(random_statistics(network).eval(), device)
    crops, source = eval_crops(64 if quick else 256)
    probe = channels_last(torch.from_numpy(crops[:2]).permute(0, 3, 1, 2).to(device))
    folded, count = fold_batchnorms(model, probe)
    folded = place_model(folded, device)
    difference = float(np.abs(probabilities(model, crops, batch_size, device)
                              - probabilities(folded, crops, batch_size, device)).max())
    rates = interleaved({name: (lambda m=m: len(probabilities(m, crops, batch_size, device)))
                         for name, m in (("as_trained", model), ("folded", folded))},
                        rounds=1 if quick else 3, device=device)
    plain, fast = median(rates["as_trained"]), median(rates["folded"])
    return {"model": p["train"]["model"], "heads": p["train"]["heads"], "batchnorms_folded": count,
            "images_per_window": len(crops), "crops": source, "as_trained_images_per_s": plain,
            "folded_images_per_s": fast, "speedup": fast / plain, "max_probability_difference": difference,
            "windows": {k: [round(r, 2) for r in v] for k, v in rates.items()}, "targets": [],
            "table": [("inference images/s, as trained", plain), ("inference images/s, BatchNorms folded", fast),
                      ("folded / as trained", fast / plain), ("max |probability difference|", difference)]}

"""Item 6: epoch cost at 300, 1,000 and 2,700 persons (x7 images) for the default model, through
the real train path. Random uint8 crops of the training size (the real-size sample takes minutes
to make); the train rows (4 of 5 folds) are copied into memory as stages/train.py does. A fixed
number of steps per size, interleaved across sizes; each window starts a fresh loader iterator
(the per-epoch setup: sampler draw, iterator), and the epoch is extrapolated from the step time."""
import tempfile

import numpy as np

from bench.common import TrainStep, interleaved, median, params, random_crops, random_labels
from src.common.device import resolve_device, resolve_workers

PERSONS = (300, 1000, 2700)


def run(quick):
    cfg = params().train
    h, w = params().face_crop.size
    device = resolve_device(params().device)[0]
    workers = resolve_workers(cfg.num_workers, device)
    steps, rounds = (1, 1) if quick else (2, 3)
    with tempfile.TemporaryDirectory(prefix="bench_epoch_", dir="/tmp") as tmp:
        disk = random_crops(PERSONS[-1] * 7, h, w, path=f"{tmp}/crops.npy")
        labels = random_labels(len(disk))
        sets = {}
        for persons in PERSONS:
            rows = np.flatnonzero(np.arange(persons * 7) // 7 % 5 != 0)  # 4 of 5 folds, whole persons
            sets[persons] = (disk[rows], labels[rows])  # fancy indexing copies into memory, as the stage does
        step = TrainStep(cfg, labels, device)
        loaders = {p: step.loader(x, y, workers) for p, (x, y) in sets.items()}
        step.steps(iter(loaders[PERSONS[0]]), 1)  # warm-up
        rates = interleaved({p: (lambda p=p: step.steps(iter(loaders[p]), steps)) for p in PERSONS}, rounds, device)
    sizes = {}
    for persons in PERSONS:
        images = len(sets[persons][0])
        per_image = 1 / median(rates[persons])
        sizes[str(persons)] = {"train_images": images, "seconds_per_image": per_image,
                               "epoch_seconds_extrapolated": per_image * (images // cfg.batch_size) * cfg.batch_size,
                               "windows_images_per_s": [round(r, 2) for r in rates[persons]]}
    ratio = sizes[str(PERSONS[-1])]["seconds_per_image"] / sizes[str(PERSONS[0])]["seconds_per_image"]
    table = [(f"epoch s/image at {p} persons (epoch ~{s['epoch_seconds_extrapolated']:.0f} s)", s["seconds_per_image"])
             for p, s in sizes.items()]
    table.append((f"per-image cost {PERSONS[-1]} / {PERSONS[0]} persons", ratio))
    return {"model": cfg.model, "input": [h, w], "steps_per_window": steps, "windows": rounds,
            "crops": "random uint8, memory-mapped .npy in /tmp, train rows copied to memory", "sizes": sizes,
            "per_image_cost_ratio": ratio,
            "targets": [{"name": f"per-image cost {PERSONS[-1]}/{PERSONS[0]} persons", "value": ratio,
                         "target": "~1 (0.8-1.25)", "met": 0.8 <= ratio <= 1.25}],
            "table": table}

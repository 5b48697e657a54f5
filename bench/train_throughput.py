"""Item 1: training images/s of the real train path (uint8 crops -> albumentations -> DataLoader ->
model step) versus the model-only ceiling (same model, batch size, threads and device, batches
already made and in memory). Interleaved windows; ratio of the medians."""
import torch

from bench.common import TrainStep, forever, interleaved, median, params, ready_batches, train_crops
from src.common.device import resolve_device, resolve_workers

TARGET = 0.90


def measure(cfg, crops, labels, device, workers, rounds, steps):
    step = TrainStep(cfg, labels, device)
    loader = step.loader(crops, labels, workers)
    real, ceiling = forever(loader), ready_batches(loader, device)
    step.steps(ceiling, 2)  # warm-up: first calls allocate
    step.steps(real, 1)
    cpu = {}
    rates = interleaved({"real": lambda: step.steps(real, steps), "ceiling": lambda: step.steps(ceiling, steps)},
                        rounds, device, cpu)
    real_ips, ceiling_ips = median(rates["real"]), median(rates["ceiling"])
    # Share of the CPU work that is the model step: the wall ratio of a 1-thread run on an idle machine.
    cpu_ratio = median(cpu["ceiling"]) / median(cpu["real"])
    return {"real_images_per_s": real_ips, "ceiling_images_per_s": ceiling_ips, "ratio": real_ips / ceiling_ips,
            "cpu_ms_per_image": {k: round(median(v) * 1e3, 3) for k, v in cpu.items()}, "cpu_time_ratio": cpu_ratio,
            "windows": rounds, "steps_per_window": steps,
            "real_windows": [round(r, 2) for r in rates["real"]],
            "ceiling_windows": [round(r, 2) for r in rates["ceiling"]]}


def run(quick):
    cfg = params().train
    device = resolve_device(params().device)[0]
    workers = resolve_workers(cfg.num_workers, device)
    crops, labels, source = train_crops()
    # Windows of 8 steps (256 images): with 2-step windows the run-to-run spread was +-0.05.
    result = measure(cfg, crops, labels, device, workers, rounds=1 if quick else 7, steps=1 if quick else 8)
    result.update(model=cfg.model, input=list(crops.shape[1:3]), batch_size=cfg.batch_size,
                  threads=torch.get_num_threads(), device=str(device), workers=workers, crops=source)
    result["targets"] = [{"name": "train real/ceiling", "value": result["ratio"], "target": f">= {TARGET}",
                          "met": result["ratio"] >= TARGET}]
    result["table"] = [("train images/s, real path", result["real_images_per_s"]),
                       ("train images/s, model-only ceiling", result["ceiling_images_per_s"]),
                       ("train real / ceiling", result["ratio"]),
                       ("train real / ceiling by CPU time", result["cpu_time_ratio"])]
    return result

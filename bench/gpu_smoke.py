"""GPU smoke check (bench/gpu_smoke.sh runs it; under 5 minutes on one GPU). With the README's one-GPU
configuration (GPU_CONFIG) on device cuda:

1. the whole pipeline: `dvc repro evaluate` in a throwaway copy of the project (tests/helpers/workspace.py)
   on a small synthetic sample, fold 0, 2 epochs; prints the stages' own `device:` lines, the wall
   time and the CV and eval macro F1;
2. the train loop's images/s over one epoch of a real-size random crop array through the real path
   (CropDataset -> albumentations -> DataLoader workers -> src.training.loop.train_epoch, AMP,
   channels_last), between two model-only ceiling windows (same model and batch, tensors already on
   the GPU), and the ratio real / ceiling;
3. the peak GPU memory of that loop (torch.cuda.max_memory_allocated).

The pipeline trains efficientnet_lite0 from its packaged ImageNet weights (no network), or with --hub
GPU_CONFIG's own model and hub weights (one download); the train-loop figures keep GPU_CONFIG's model.

    python -m bench.gpu_smoke [--hub]     # CUDA
    python -m bench.gpu_smoke --dry-run   # CPU: the same code with a tiny model and sample (checks code, not speed)
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from bench.common import REPO, TrainStep, interleaved, median, random_crops, random_labels, ready_batches, sync
from src.common.device import resolve_workers
from src.config.params import read_params_file, train_config
from src.config.tree import nest
from tests.helpers.workspace import make_sample, make_workspace, merge, run

# The configuration README.md gives for one GPU and the real data (tests/test_bench.py keeps them equal).
GPU_CONFIG = {"train.model": "efficientnet_b3", "train.pretrained": "hub", "face_crop.size": [320, 256],
              "train.batch_size": 64, "train.epochs": 12, "train.patience": 4, "train.lr": 0.001,
              "train.backbone_lr": 0.3, "train.warmup_epochs": 1, "train.frozen_stages": 0, "train.heads": "multi"}
SMOKE = {"train.folds": [0], "split.k": 2, "train.epochs": 2}  # short: one fold, two epochs
DRY_RUN = {"train.model": "mobilenetv3_small_050", "train.pretrained": "none", "face_crop.size": [32, 24],
           "train.batch_size": 8, "train.epochs": 1}
# persons / eval persons of the sample; crops in the train-loop array (2,700 persons x 7: the real set),
# its loader workers (None: train.num_workers as train_model resolves it) and steps per ceiling window
GPU_SIZES = {"persons": 60, "eval_persons": 20, "images": 18_900, "workers": None, "ceiling_steps": 30}
DRY_SIZES = {"persons": 12, "eval_persons": 3, "images": 256, "workers": 2, "ceiling_steps": 2}


def dvc_line(config):
    """The `dvc exp run -S ...` line of a flat configuration, as the README prints it."""
    def show(value):
        return "[" + ",".join(str(v) for v in value) + "]" if isinstance(value, list) else str(value)
    return "dvc exp run " + " ".join(f"-S '{k}={show(v)}'" for k, v in config.items()) + " evaluate"


def run_pipeline(config, sizes):
    """`dvc repro evaluate` in a throwaway workspace; -> figures and the stages' `device:` lines."""
    with tempfile.TemporaryDirectory(prefix="gpu_smoke_") as root:
        ws = make_workspace(Path(root) / "repo", nest(config))
        make_sample(ws, persons=sizes["persons"], eval_persons=sizes["eval_persons"])
        started = time.time()
        log = run(["dvc", "repro", "evaluate"], ws)
        seconds = time.time() - started
        cv = json.loads((ws / "metrics/cv.json").read_text())
        evaluated = json.loads((ws / "metrics/eval.json").read_text())
    devices = [line for line in log.splitlines() if line.startswith("device:")]
    return {"seconds": round(seconds, 1), "cv_f1": cv["f1"], "eval_f1": evaluated["f1"]}, devices


def measure_train_loop(cfg, size, sizes, device):
    """One epoch of the real train path, timed between two model-only ceiling windows; peak GPU memory."""
    crops, labels = random_crops(sizes["images"], *size), random_labels(sizes["images"])
    workers = sizes["workers"] if sizes["workers"] is not None else resolve_workers(cfg.num_workers, device)
    step = TrainStep(cfg, labels, device)
    loader = step.loader(crops, labels, workers)
    ceiling = ready_batches(loader, device)
    step.steps(ceiling, 3)  # warm-up (cudnn autotuning, allocator)

    def ceiling_window():
        return interleaved({"ceiling": lambda: step.steps(ceiling, sizes["ceiling_steps"])}, 1, device)["ceiling"][0]

    before = ceiling_window()
    sync(device)
    start = time.perf_counter()
    seen = step.steps(iter(loader), len(loader))  # one whole epoch, worker start-up included, as train_model runs it
    sync(device)
    epoch_s = time.perf_counter() - start
    after = ceiling_window()
    real, ceiling_ips = seen / epoch_s, median([before, after])
    return {"images": seen, "workers": workers, "epoch_seconds": round(epoch_s, 1), "real_images_per_s": round(real, 1),
            "ceiling_images_per_s": round(ceiling_ips, 1), "ceiling_windows": [round(before, 1), round(after, 1)],
            "ratio": round(real / ceiling_ips, 3),
            "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny model and sample: checks the code, not speed")
    parser.add_argument("--hub", action="store_true", help="the pipeline with GPU_CONFIG's model and its hub weights "
                                                            "(a download) instead of packaged efficientnet_lite0")
    args = parser.parse_args(argv)
    if args.dry_run:
        device, sizes, loop_config = torch.device("cpu"), DRY_SIZES, {**GPU_CONFIG, **DRY_RUN}
        torch.set_num_threads(1)  # beside 2 loader workers on a small CPU: no oversubscription (a check, not speed)
        pipeline_config = {**GPU_CONFIG, **SMOKE, **DRY_RUN}
    elif not torch.cuda.is_available():
        raise SystemExit("gpu_smoke: no CUDA device (torch.cuda.is_available() is False); use --dry-run for a CPU check")
    else:
        device, sizes, loop_config = torch.device("cuda"), GPU_SIZES, GPU_CONFIG
        torch.backends.cudnn.benchmark = True
        packaged = {} if args.hub else {"train.model": "efficientnet_lite0", "train.pretrained": "packaged"}
        pipeline_config = {**GPU_CONFIG, **SMOKE, **packaged}
    pipeline_config["device"] = device.type

    pipeline, devices = run_pipeline(pipeline_config, sizes)
    print(f"gpu_smoke: pipeline {pipeline_config['train.model']} ({pipeline_config['train.pretrained']}) "
          f"{pipeline_config['face_crop.size'][0]}x{pipeline_config['face_crop.size'][1]}, "
          f"{sizes['persons']} + {sizes['eval_persons']} persons, fold 0, {pipeline_config['train.epochs']} epochs: "
          f"dvc repro evaluate {pipeline['seconds']} s, CV macro F1 {pipeline['cv_f1']:.4f}, eval {pipeline['eval_f1']:.4f}")
    print("\n".join(f"gpu_smoke: stage {line}" for line in devices) or "gpu_smoke: no stage printed a 'device:' line")

    cfg = train_config(merge(read_params_file(REPO / "params.yaml"), nest(loop_config))["train"])
    size = loop_config["face_crop.size"]
    loop = measure_train_loop(cfg, size, sizes, device)
    print(f"gpu_smoke: train loop {cfg.model} {size[0]}x{size[1]}, batch {cfg.batch_size}, {loop['workers']} "
          f"workers, {loop['images']} images in {loop['epoch_seconds']} s: {loop['real_images_per_s']} images/s, "
          f"model-only ceiling {loop['ceiling_images_per_s']}, ratio {loop['ratio']}")
    total = torch.cuda.get_device_properties(device).total_memory / 2**30 if device.type == "cuda" else None
    print(f"gpu_smoke: peak GPU memory of the train loop {loop['peak_gpu_memory_gib']} GiB"
          + (f" of {total:.1f}" if total else " (no GPU)"))
    figures = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu (dry run)",
               "pipeline": {"config": pipeline_config, **pipeline, "device_lines": devices},
               "train_loop": {"model": cfg.model, "size": size, "batch_size": cfg.batch_size, **loop}}
    print(json.dumps(figures))  # the last line: one JSON object


if __name__ == "__main__":
    main()

"""GPU smoke (the python part of bench/gpu_smoke.sh): one epoch of a big model on a real-size
synthetic crop array (random uint8) through the real train path (CropDataset -> albumentations ->
DataLoader with workers -> src.training.loop.train_epoch with CUDA + AMP + channels_last), timed as a
whole, between two model-only ceiling measurements (same model, batch, tensors already on the GPU).
Prints images/s and the item-1 ratio real / ceiling.

    python -m bench.gpu_train                      # efficientnet_b4 at 380x380, 18,900 crops, CUDA
    python -m bench.gpu_train --dry-run            # CPU check of the same code: tiny model, size, set
"""
import argparse
import json
import sys
import time

import torch

from bench.common import TrainStep, interleaved, median, params, random_crops, random_labels, ready_batches, sync


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="efficientnet_b4")
    parser.add_argument("--size", type=int, nargs=2, default=[380, 380], metavar=("H", "W"))
    parser.add_argument("--images", type=int, default=18_900, help="crops in the array (2,700 persons x 7)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: params.yaml train.batch_size")
    parser.add_argument("--workers", type=int, default=8, help="loader processes (train_model's 'auto' on GPU)")
    parser.add_argument("--ceiling-steps", type=int, default=30)
    parser.add_argument("--dry-run", action="store_true",
                        help="CPU, mobilenetv3_small_050 at 64x48, 256 crops, 2 workers: checks the code, not speed")
    parser.add_argument("--out", default="", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.model, args.size, args.images, args.workers, args.ceiling_steps = "mobilenetv3_small_050", [64, 48], 256, 2, 2
        device = torch.device("cpu")
    elif not torch.cuda.is_available():
        sys.exit("gpu_train: no CUDA device (torch.cuda.is_available() is False); use --dry-run for a CPU check")
    else:
        device = torch.device("cuda")
        torch.backends.cudnn.benchmark = True
    cfg = {**params()["train"], "model": args.model}
    cfg["batch_size"] = args.batch_size or cfg["batch_size"]

    started = time.perf_counter()
    crops, labels = random_crops(args.images, *args.size), random_labels(args.images)
    made_s = time.perf_counter() - started
    step = TrainStep(cfg, labels, device)
    loader = step.loader(crops, labels, args.workers)
    ceiling = ready_batches(loader, device)
    step.steps(ceiling, 3)  # warm-up (cudnn autotuning, allocator)

    def ceiling_window():
        return interleaved({"ceiling": lambda: step.steps(ceiling, args.ceiling_steps)}, 1, device)["ceiling"][0]

    before = ceiling_window()
    sync(device)
    start = time.perf_counter()
    steps = len(loader)  # one whole epoch, worker start-up included, as train_model runs it
    seen = step.steps(iter(loader), steps)
    sync(device)
    epoch_s = time.perf_counter() - start
    after = ceiling_window()
    real_ips, ceiling_ips = seen / epoch_s, median([before, after])
    figures = {"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu (dry run)",
               "model": args.model, "size": args.size, "images": args.images, "batch_size": cfg["batch_size"],
               "workers": args.workers, "amp": device.type == "cuda", "array_seconds": round(made_s, 1),
               "epoch_seconds": round(epoch_s, 1), "real_images_per_s": round(real_ips, 1),
               "ceiling_images_per_s": round(ceiling_ips, 1), "ceiling_windows": [round(before, 1), round(after, 1)],
               "ratio": round(real_ips / ceiling_ips, 3),
               "max_gpu_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2) if device.type == "cuda" else None}
    print(f"gpu_train: {args.model} {args.size[0]}x{args.size[1]}, {seen} images in {epoch_s:.1f} s: "
          f"{real_ips:.1f} images/s real path, {ceiling_ips:.1f} ceiling, ratio {real_ips / ceiling_ips:.3f}")
    print(json.dumps(figures))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=2)


if __name__ == "__main__":
    main()

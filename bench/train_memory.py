"""Item 5: peak memory (RSS) of training on a real-size set: 2,700 persons = 18,900 crops of the
training size. Random uint8 crops in a .npy memory-map in /tmp (the real-size sample takes about
8 minutes to make; the crop values do not change memory). A child process does what
stages/train.py + train_model do: memory-map the array, copy 4 folds' rows (train) and 1 fold's
(validation) into memory, then N optimizer steps through the real loader and model step, then a
validation pass (predict_probs) on part of the validation rows. Steps are capped because
train_model always trains full epochs (472 steps here, far too long on 2 CPUs): RSS is sampled
every few steps to show it has levelled off. The child's own ru_maxrss is the figure; the parent
also samples the child's RSS with psutil."""
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from bench.common import REPO, params, random_crops

PERSONS, TARGET_GB = 2700, 4.0


def child(path, steps, val_limit):
    import psutil
    import torch

    from bench.common import TrainStep
    from src.inference.predict import predict_probs
    from src.common.device import resolve_device, resolve_workers

    cfg = params().train
    device = resolve_device(params().device)[0]
    crops = np.load(path, mmap_mode="r")
    labels = np.random.default_rng(0).integers(0, 18, len(crops))
    fold = np.arange(len(crops)) // 7 % 5
    train_x, val_x = crops[fold != 0], crops[fold == 0]  # copies, as stages/train.py makes them
    train_y = labels[fold != 0]
    me, trace = psutil.Process(), []
    step = TrainStep(cfg, train_y, device)
    batches = iter(step.loader(train_x, train_y, resolve_workers(cfg.num_workers, device)))
    for done in range(0, steps, 5):
        step.steps(batches, min(5, steps - done))
        trace.append([min(done + 5, steps), round(me.memory_info().rss / 2**20)])
    predict_probs(step.model, val_x[:val_limit], cfg.batch_size * 2, device)
    trace.append(["val", round(me.memory_info().rss / 2**20)])
    print(json.dumps({"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rss_trace_mb": trace,
                      "train_images": len(train_x), "val_images": len(val_x), "steps": steps,
                      "torch_threads": torch.get_num_threads()}))


def run(quick):
    import psutil

    h, w = params().face_crop.size
    steps, val_limit = (2, 64) if quick else (15, 256)
    with tempfile.TemporaryDirectory(prefix="bench_mem_", dir="/tmp") as tmp:
        path = f"{tmp}/crops.npy"
        random_crops(PERSONS * 7, h, w, path=path)
        proc = subprocess.Popen([sys.executable, "-m", "bench.train_memory", path, str(steps), str(val_limit)],
                                cwd=REPO, stdout=subprocess.PIPE, text=True)
        peak = [0]

        def sample():
            p = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    peak[0] = max(peak[0], p.memory_info().rss)
                except psutil.Error:
                    break
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, _ = proc.communicate()
        sampler.join()
        if proc.returncode:
            raise RuntimeError(f"train_memory child failed with exit code {proc.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    peak_gb = result["maxrss_mb"] / 1024
    result.update(persons=PERSONS, crop_shape=[PERSONS * 7, h, w, 3], array_mb=round(PERSONS * 7 * h * w * 3 / 2**20),
                  psutil_peak_mb=round(peak[0] / 2**20), val_images_predicted=val_limit,
                  crops="random uint8, memory-mapped .npy in /tmp")
    result["targets"] = [{"name": "train peak RSS GB (2,700 persons)", "value": peak_gb, "target": f"< {TARGET_GB}",
                          "met": peak_gb < TARGET_GB}]
    result["table"] = [(f"train peak RSS GB, {PERSONS * 7} crops, {steps} steps", peak_gb)]
    return result


if __name__ == "__main__":
    child(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))

"""What the measurements share: interleaved timing, the train params, crop arrays, the training step."""
import dataclasses
import functools
import itertools
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from src.common.device import place_model
from src.labels.classes import NUM_CLASSES
from src.models.fold_model import network_args
from src.models.networks import build_model
from src.training.loop import train_epoch, train_loader  # the real loader and step loop: a benchmark of a copy would measure the copy
from src.training.losses import build_loss
from src.training.optim import build_optimizer
from stages.plumbing.name_checks import load_checked_params

REPO = Path(__file__).resolve().parents[1]
CROPS = REPO / "crops"


@functools.cache  # read and checked once per bench run: Params is read-only
def params():
    return load_checked_params(REPO / "params.yaml")


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def interleaved(runs, rounds, device=torch.device("cpu"), cpu_seconds=None):
    """runs: {name: fn() -> items done}. Runs A, B, C, A, B, C... `rounds` times so load drift hits
    every candidate alike; returns {name: [items/s per window]}. cpu_seconds, when given a dict, gets
    {name: [process CPU seconds per item per window]}: on a loaded machine CPU time varies far less
    than wall time (it excludes the time other processes hold the cores)."""
    rates = {name: [] for name in runs}
    for _ in range(rounds):
        for name, fn in runs.items():
            sync(device)
            start, cpu_start = time.perf_counter(), time.process_time()
            done = fn()
            sync(device)
            rates[name].append(done / (time.perf_counter() - start))
            if cpu_seconds is not None:
                cpu_seconds.setdefault(name, []).append((time.process_time() - cpu_start) / done)
    return rates


def median(values):
    return float(statistics.median(values))


def train_crops(limit=None):
    """The default sample's train crops and labels (in memory, as stages/train.py holds them); random
    crops of the training size when faceCrop has not run."""
    if (CROPS / "train.npy").exists() and (CROPS / "train.csv").exists():
        import pandas as pd
        crops = np.load(CROPS / "train.npy", mmap_mode="r")
        labels = pd.read_csv(CROPS / "train.csv", usecols=["label"])["label"].to_numpy()
        source = "crops/train.npy (default sample)"
    else:
        h, w = params().face_crop.size
        crops, labels = random_crops(2100, h, w), random_labels(2100)
        source = "random uint8 (crops/train.npy absent)"
    limit = limit or len(crops)
    return np.ascontiguousarray(crops[:limit]), labels[:limit], source


def random_labels(n, seed=0):
    return np.random.default_rng(seed).integers(0, NUM_CLASSES, n)


def random_crops(n, h, w, path=None, seed=0, chunk=1024):
    """n x h x w x 3 random uint8 crops: in memory, or a .npy memory-map at `path` (written in chunks)."""
    shape = (n, h, w, 3)
    crops = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape) if path else np.empty(shape, np.uint8)
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        crops[start:start + chunk] = rng.integers(0, 256, (min(chunk, n - start), h, w, 3), dtype=np.uint8)
    if path:
        crops.flush()
    return crops


class TrainStep:
    """The model, loss, optimizer and scaler train_model builds from the params.yaml train block,
    and the two kinds of batches: through the real loader, or already-made tensors (the ceiling)."""

    def __init__(self, cfg, labels, device, seed=0):
        self.cfg, self.device = cfg, device
        torch.manual_seed(seed)
        # train_model's network (frozen stages included), random weights: the speed is the same
        network = build_model(**network_args(dataclasses.replace(cfg, pretrained="")))
        self.model = place_model(network, device)
        self.loss_fn = build_loss(cfg.loss, np.bincount(labels, minlength=NUM_CLASSES)).to(device)
        self.optimizer = build_optimizer(cfg.optimizer, self.model.parameters(), cfg.lr)
        self.scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")

    def loader(self, crops, labels, workers, seed=0):
        """train_model's own training loader (augmentation, sampler, workers), seeded for its first epoch."""
        loader, transform, sampler, generator = train_loader(self.cfg, crops, labels, seed, workers)
        generator.manual_seed(seed)
        if sampler is not None:
            sampler.generator.manual_seed(seed)
        if transform is not None:
            transform.set_random_seed(seed)
        return loader

    def steps(self, batches, n):
        """n optimizer steps of src.training.loop.train_epoch over `batches`; returns images seen."""
        train_epoch(self.model, itertools.islice(batches, n), self.loss_fn, self.optimizer, None,
                     self.scaler, self.device)
        return n * self.cfg.batch_size


def forever(loader):
    """Batches of successive epochs, as train_model draws them (a new iterator each epoch)."""
    while True:
        yield from loader


def ready_batches(loader, device, count=4):
    """`count` batches made once by the real loader and kept on the device: the ceiling's input."""
    made = list(itertools.islice(forever(loader), count))
    return itertools.cycle([(x.to(device), y.to(device)) for x, y in made])

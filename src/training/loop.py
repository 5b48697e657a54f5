"""The one training function: every train@<fold>-<task> stage, the tune trials and the tests all call train_model.

Every epoch's randomness (shuffle, sampler, augmentation, dropout) is derived from (seed, epoch),
so a run resumed from its last checkpoint ends exactly where an uninterrupted run would (CPU)."""
import copy
import hashlib
import json
import sys
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import RandomSampler

from src.common.atomic import save_torch
from src.common.device import autocast, channels_last, place_model, resolve_device, resolve_workers
from src.common.progress import progress
from src.config.tree import thaw
from src.data.crop_dataset import CropDataset, SeededItems, make_loader
from src.inference.predict import inference_loader, predict_probs
from src.labels.tasks import num_classes, task_labels, task_score
from src.models.fold_model import network_args
from src.models.networks import backbone_parameters, build_model, check_heads
from src.training.fold_members import fit_members
from src.training.losses import MultiHeadLoss, build_loss
from src.training.mixing import build_mixer
from src.training.optim import LinearWarmup, build_optimizer, build_scheduler, layered_groups
from src.training.resample import resample_indices
from src.training.samplers import build_sampler
from src.training.transforms import build_transform


@dataclass
class TrainResult:
    best_state: dict          # model state_dict of the epoch with the best validation macro F1
    best_f1: float
    best_epoch: int
    val_probs: np.ndarray     # validation probabilities of that epoch (the fold's out-of-fold probs)
    epochs_run: int
    history: list = field(default_factory=list)


def build_criterion(train, class_counts):
    """train.loss on the 18 classes, or with heads=multi the weighted sum of the per-head losses."""
    if train.heads == "multi":
        return MultiHeadLoss(train.loss, class_counts, thaw(train.head_weights))
    return build_loss(train.loss, class_counts)


def train_model(cfg, train_x, train_y, val_x, val_y, seed, on_epoch=None, resume_path=None, device=None,
                task="all", on_history=None):
    """Train one model of `task` (src.labels.tasks) on (train_x, train_y), select the epoch by validation macro F1.

    cfg: the Train config (src.config.tree: params.yaml's `train` block as load_params or train_config built
    it), its `pretrained` a weights file or "" (src.models.backbone_weights.with_backbone turns train.pretrained
    into that file and the weights' normalisation).
    *_x: N x H x W x 3 uint8 crops, *_y: 18-class labels (a task
    model learns and is scored on the task's labels read off them: TrainResult.val_probs is N x classes).
    on_history(history) is called after every epoch with every epoch's metrics so far, a resumed run's
    restored epochs included (the live training curves); then on_epoch(epoch, metrics, improved) (console
    lines, tune.report).
    device: a torch.device (default: params.yaml's `auto`, src.common.device.resolve_device).
    resume_path: a last-epoch checkpoint file, written every epoch and resumed from when present
    (not with a train.members method: torchensemble runs its own loop, see src.training.fold_members)."""
    device = device or resolve_device("auto")[0]
    workers = resolve_workers(cfg.num_workers, device)
    args = network_args(cfg, task)
    check_heads(args["heads"], args["num_classes"])  # a network that cannot learn `task` fails before any work
    fingerprint = run_fingerprint({**thaw(cfg), "task": task}, seed, train_x, train_y, val_y)
    train_y, val_y = task_labels(train_y, task), task_labels(val_y, task)
    resample = cfg.resample
    if resample.min_count or resample.max_count:
        rows = resample_indices(train_y, resample.min_count, resample.max_count, seed)
        train_x, train_y = train_x[rows], np.asarray(train_y)[rows]
    # The initial weights (this network's, or the estimators torchensemble builds) come from `seed`;
    # the criterion and the mixer draw nothing from torch's generator.
    torch.manual_seed(seed)
    class_counts = np.bincount(train_y, minlength=num_classes(task))
    loss_fn = build_criterion(cfg, class_counts).to(device)
    mixer = build_mixer(cfg.mix, cfg.loss["name"], num_classes(task))
    if cfg.members.method != "none":
        return _train_members(cfg, args, train_x, train_y, val_x, val_y, seed, loss_fn, on_epoch, on_history,
                              device, workers, task)
    model = place_model(build_model(**args), device)
    # Pretrained backbone at lr * train.backbone_lr, the new classifier/heads at lr (1.0: one rate).
    groups = layered_groups(model.parameters(), backbone_parameters(model), cfg.lr, cfg.backbone_lr)
    optimizer = build_optimizer(cfg.optimizer, groups, cfg.lr)
    steps_per_epoch = max(1, len(train_x) // cfg.batch_size)
    scheduler, step_per = build_scheduler(cfg.scheduler, optimizer, cfg.epochs, steps_per_epoch)
    warmup = LinearWarmup(optimizer, round(cfg.warmup_epochs * steps_per_epoch))
    scaler = torch.amp.GradScaler(device.type, enabled=device.type == "cuda")

    loader, train_tf, sampler, generator = train_loader(cfg, train_x, train_y, seed, workers)
    val_loader = inference_loader(val_x, cfg.batch_size * 2, workers)  # one per fold: its workers persist

    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": -1, "best_state": None, "best_probs": None,
             "bad_epochs": 0, "history": [], "fingerprint": fingerprint}
    if resume_path and Path(resume_path).exists():
        restored = _restore(resume_path, fingerprint, model, optimizer, scheduler, scaler)
        if restored is None:
            print(f"{resume_path}: from another run (params, data or code differ); training from epoch 1",
                  file=sys.stderr)
        state = restored or state
        if restored and on_history:
            on_history(state["history"])  # the restored epochs' curve, before the first new epoch (or none)

    for epoch in range(state["epoch"], cfg.epochs):
        if state["bad_epochs"] >= cfg.patience:
            break
        epoch_seed = seed * 1000 + epoch
        torch.manual_seed(epoch_seed)
        generator.manual_seed(epoch_seed)
        if sampler is not None:
            sampler.generator.manual_seed(epoch_seed)
        if train_tf is not None:
            train_tf.set_random_seed(epoch_seed)
        if isinstance(loader.sampler, SeededItems):
            loader.sampler.epoch_seed = epoch_seed
        if mixer is not None:
            mixer.set_seed(epoch_seed)
        loss_fn.set_epoch(epoch)
        train_loss = train_epoch(model, loader, loss_fn, optimizer, scheduler if step_per == "batch" else None,
                                  scaler, device, mixer, warmup, first_step=epoch * len(loader),
                                  clip_norm=cfg.grad_clip_norm)
        if scheduler is not None and step_per == "epoch":
            scheduler.step()
        val_probs = predict_probs(model, None, None, device, loader=val_loader)
        metrics = {"train_loss": train_loss, **_val_metrics(val_y, val_probs, task),
                   "lr": optimizer.param_groups[-1]["lr"]}
        improved = metrics["f1"] > state["best_f1"]
        if improved:
            state.update(best_f1=metrics["f1"], best_epoch=epoch, bad_epochs=0, best_probs=torch.from_numpy(val_probs),
                         best_state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        else:
            state["bad_epochs"] += 1
        state["epoch"] = epoch + 1
        state["history"].append(metrics)
        if resume_path:
            _save(resume_path, state, model, optimizer, scheduler, scaler)
        if on_history:
            on_history(state["history"])
        if on_epoch:
            on_epoch(epoch, metrics, improved)
    return TrainResult(state["best_state"], state["best_f1"], state["best_epoch"], state["best_probs"].numpy(),
                       state["epoch"], state["history"])


def _train_members(cfg, args, train_x, train_y, val_x, val_y, seed, loss_fn, on_epoch, on_history, device, workers,
                   task):
    """torchensemble trains all epochs in its own loop; the result is scored once, in eval mode."""
    loader, train_tf, _, generator = train_loader(cfg, train_x, train_y, seed, workers)
    generator.manual_seed(seed)
    if train_tf is not None:
        train_tf.set_random_seed(seed)
    model = fit_members(cfg, args, loss_fn, loader, device)
    val_probs = predict_probs(model, val_x, cfg.batch_size * 2, device, num_workers=workers)
    # torchensemble does not return its losses: report the ensemble's training-set NLL (eval mode).
    train_nll = _val_metrics(train_y, predict_probs(model, train_x, cfg.batch_size * 2, device,
                                                    num_workers=workers), task)["val_loss"]
    metrics = {"train_loss": train_nll, **_val_metrics(val_y, val_probs, task), "lr": cfg.lr}
    if on_epoch:
        on_epoch(cfg.epochs - 1, metrics, True)
    if on_history:
        on_history([metrics])
    # One history entry (the ensemble after all epochs): best_epoch indexes history, as elsewhere.
    return TrainResult({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, metrics["f1"], 0,
                       val_probs, cfg.epochs, [metrics])


def train_loader(cfg, train_x, train_y, seed, workers):
    """The training loader (augmentation, sampler, shuffling) every training path uses; returns it with
    the parts reseeded each epoch: (loader, augmentation or None, sampler or None, shuffle generator)."""
    train_tf = build_transform(cfg.augment, train=True)
    sampler = build_sampler(cfg.sampler, np.asarray(train_y), seed)
    generator = torch.Generator()
    dataset = CropDataset(train_x, train_y, train_tf)
    if workers:
        # Worker processes persist across epochs, each with its own copy of the augmentation: every item
        # is augmented from (epoch seed, index) instead, whichever worker draws it (the same run on any
        # worker count, and a resumed run as an uninterrupted one). The shuffle gets a generator of its own,
        # reseeded each epoch: a loader with workers also draws from its generator, more often on its first
        # epoch than on later ones.
        if sampler is None:
            sampler = RandomSampler(dataset, generator=torch.Generator())
        sampler = SeededItems(sampler)
    loader = make_loader(dataset, cfg.batch_size, workers, shuffle=True, sampler=sampler, generator=generator,
                         drop_last=len(train_x) > cfg.batch_size)
    return loader, train_tf, getattr(sampler, "items", sampler), generator


def train_epoch(model, loader, loss_fn, optimizer, batch_scheduler, scaler, device, mixer=None, warmup=None,
                first_step=0, clip_norm=0.0):
    """One pass over loader; returns the mean training loss. clip_norm > 0: the gradients' total norm
    is clipped to it before each step (after unscaling, so under AMP too)."""
    model.train()
    # Summed and checked on the device, read once at the end: no host sync per step (on a GPU a sync
    # stalls the queue of kernels). float64 as Python's float: the CPU figures are the same bytes.
    total = torch.zeros((), dtype=torch.float64, device=device)
    finite = torch.ones((), dtype=torch.bool, device=device)
    count = 0
    for step, (images, labels) in enumerate(progress(loader, desc="train", unit="batch", leave=False), first_step):
        images, labels = images.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        if mixer is not None:  # blends pixels: needs floats (the batch comes as uint8)
            images, labels = mixer(images.float(), labels)  # soft targets [N,18]
        images = channels_last(images)  # mixing makes a contiguous copy
        optimizer.zero_grad(set_to_none=True)
        with autocast(device):
            loss = loss_fn(model(images).float(), labels)
        finite &= torch.isfinite(loss.detach())
        scaler.scale(loss).backward()
        if clip_norm:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
        with warmup.step(step) if warmup else nullcontext():
            scaler.step(optimizer)
        scaler.update()
        if batch_scheduler is not None:
            batch_scheduler.step()
        total += loss.detach().double() * len(labels)
        count += len(labels)
    if not finite.item():
        raise FloatingPointError("training loss became nan or inf in this epoch (lower train.lr or check the data)")
    return total.item() / max(count, 1)


def _val_metrics(val_y, val_probs, task):
    val_y = np.asarray(val_y)
    nll = -np.log(np.clip(val_probs[np.arange(len(val_y)), val_y], 1e-12, None)).mean()
    return {"val_loss": float(nll), **task_score(val_y, val_probs, task)}


def _save(path, state, model, optimizer, scheduler, scaler):
    save_torch(path, {"state": state, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict() if scheduler else None, "scaler": scaler.state_dict()})


_REPO = Path(__file__).resolve().parents[2]


def loaded_repo_modules(roots=(_REPO / "src", _REPO / "stages")):
    """Source files of this repository's modules the process has imported: the code the run uses
    (they lie in the train stage's DVC deps: tests/test_stage_deps.py)."""
    files = {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
    return sorted(f for f in files if any(f.is_relative_to(root) for root in roots))


def code_digest(files=None):
    """sha256 of `files` (default: loaded_repo_modules()): a checkpoint written by other code
    (dvc repro after an edit) must not be resumed as if it were this run's."""
    digest = hashlib.sha256()
    for path in sorted(files if files is not None else loaded_repo_modules()):
        digest.update(Path(path).name.encode() + b"\0" + Path(path).read_bytes())
    return digest.hexdigest()


def run_fingerprint(cfg, seed, train_x, train_y, val_y):
    """Identifies a run: a checkpoint is resumed only by a run with the same config, seed, data and
    code. The crops enter through a strided sample (any crop param change alters every crop)."""
    digest = hashlib.sha256(json.dumps({"cfg": cfg, "seed": seed, "code": code_digest(), "shape": list(train_x.shape),
                                        "train": np.asarray(train_y).tolist(),
                                        "val": np.asarray(val_y).tolist()}, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(train_x[:: max(1, len(train_x) // 64)]).tobytes())
    return digest.hexdigest()


def _restore(path, fingerprint, model, optimizer, scheduler, scaler):
    """Load a last-epoch checkpoint; None when it belongs to another run (other params, data or code)."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if checkpoint["state"].get("fingerprint") != fingerprint:
        return None
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None and checkpoint["scheduler"] is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    scaler.load_state_dict(checkpoint["scaler"])
    return copy.copy(checkpoint["state"])

"""One trial: src.training.loop.train_model on one fold with the sampled overrides, reporting every epoch.

The crops arrive as arguments (tune.with_parameters puts them in Ray's object store), so a worker
on another machine of a cluster needs no access to the repository's files."""
import dataclasses
import hashlib
import shutil
import tempfile
from pathlib import Path

import torch
from ray import tune

from src.common.atomic import atomic_path
from src.common.device import use_device
from src.config.params import train_config
from src.training.loop import train_model
from src.tuning.space import apply_overrides

CHECKPOINT_FILE = "last.pt"


def trial_config(train, overrides, max_t):
    """The trial's Train config, built and checked as params.yaml's is (train_config): the train block
    (plain data: the stage's, which crossed to the worker) with the sampled overrides applied; epochs =
    max_t unless the space samples it."""
    block = apply_overrides(train, overrides)
    if "epochs" not in overrides:
        block["epochs"] = max_t
    return train_config(block, "tune trial")


def trial_scratch(experiment):
    """The folder, in this node's temp dir, for the search at `experiment`'s working files: each trial's
    last-epoch file and the pretrained weights. Named by the experiment's path, so every trial, resume and
    rerun of one search uses the same folder; run_search removes it when the search ends (a trial killed
    by an interrupt cannot remove its own)."""
    key = hashlib.sha256(str(Path(experiment).resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"tune-scratch-{key}"


def backbone_file(weights, scratch):
    """The pretrained weights (bytes of the weights stage's file) on this worker's disk, at a path named by
    their hash: the same for every trial and every resume, so a resumed trial's checkpoint still matches."""
    path = Path(scratch) / f"backbone-{hashlib.sha256(weights).hexdigest()[:16]}.safetensors"
    if not path.is_file() or path.stat().st_size != len(weights):
        with atomic_path(path) as tmp:
            tmp.write_bytes(weights)
    return path


def run_trial(config, train, data, seed, cpus, max_t, scratch, task="all", device="cpu"):
    """Ray Tune function trainable. data: dict of train_x, train_y, val_x, val_y arrays (18-class
    labels) and backbone (the pretrained weights file's bytes, b"" for random init); scratch: the
    search's trial_scratch folder; task: the model trained and scored (src.labels.tasks: all, or one
    attribute); device: cpu, or cuda (the GPU Ray gave the trial: the only one it sees)."""
    torch.set_num_threads(max(1, int(cpus)))
    device = use_device(torch.device(device))
    cfg = trial_config(train, config, max_t)
    Path(scratch).mkdir(parents=True, exist_ok=True)
    if data.get("backbone"):
        cfg = dataclasses.replace(cfg, pretrained=str(backbone_file(data["backbone"], scratch)))
    with tempfile.TemporaryDirectory(prefix="trial_", dir=scratch) as work:
        resume_path = Path(work) / CHECKPOINT_FILE
        checkpoint = tune.get_checkpoint()
        if checkpoint is not None:
            # train_model resumes from its own last-epoch file (same config, seed and data only).
            with checkpoint.as_directory() as restored:
                shutil.copy(Path(restored) / CHECKPOINT_FILE, resume_path)

        def report(epoch, metrics, improved):
            with tempfile.TemporaryDirectory(dir=work) as folder:
                shutil.copy(resume_path, Path(folder) / CHECKPOINT_FILE)
                tune.report({"f1": metrics["f1"], "val_loss": metrics["val_loss"],
                             "accuracy": metrics["accuracy"], "train_loss": metrics["train_loss"],
                             "epoch": epoch + 1},
                            checkpoint=tune.Checkpoint.from_directory(folder))

        train_model(cfg, data["train_x"], data["train_y"], data["val_x"], data["val_y"], seed=seed,
                    on_epoch=report, resume_path=resume_path, device=device, task=task)

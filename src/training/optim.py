"""Optimizer and learning-rate scheduler factories.

build_scheduler also says when the loop must call .step(): once per "epoch" or once per "batch".
"""
from contextlib import contextmanager

import torch
from torch.optim import lr_scheduler

from src.common.factory import accepted_arguments, check_arguments, pick, split_spec

# torch.optim's own registry, less what this training loop cannot drive.
UNSUITED = {"LBFGS": "needs a closure per step", "SparseAdam": "sparse gradients only",
            "Muon": "2-D weights only"}
OPTIMIZERS = {name: cls for name, cls in vars(torch.optim).items() if isinstance(cls, type)
              and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer and name not in UNSUITED}
# What the pipeline sets where torch's own default would be a poor choice (torch's SGD has no momentum).
OPTIMIZER_DEFAULTS = {"SGD": {"momentum": 0.9}}


def layered_groups(params, backbone, lr: float, backbone_lr: float) -> list:
    """Two parameter groups: `backbone` (pretrained) at lr * backbone_lr, the rest (new layers) at lr.
    The schedulers scale both alike."""
    pretrained = {id(p) for p in backbone}
    fresh = [p for p in params if id(p) not in pretrained]
    return [group for group in ({"params": list(backbone), "lr": lr * backbone_lr}, {"params": fresh, "lr": lr})
            if group["params"]]


def optimizer_arguments(spec: dict) -> tuple:
    """train.optimizer -> (torch class name, its keyword arguments with the pipeline's defaults), checked."""
    name, arguments = split_spec("train.optimizer", spec)
    cls = pick("train.optimizer", OPTIMIZERS, name, "optimizer")
    if "lr" in arguments:
        raise ValueError("train.optimizer: set the learning rate with train.lr, not inside the optimizer spec")
    check_arguments("train.optimizer", name, arguments, accepted_arguments(cls, skip=("params", "lr")))
    return name, {**OPTIMIZER_DEFAULTS.get(name, {}), **arguments}


def build_optimizer(spec: dict, params, lr: float) -> torch.optim.Optimizer:
    """spec = {"name": "AdamW", "weight_decay": 1e-4, ...}; other keys go to the torch class.
    params: parameters or parameter groups (layered_groups); lr: the default of groups that set none."""
    name, arguments = optimizer_arguments(spec)
    return OPTIMIZERS[name](params, lr=lr, **arguments)


def _cyclic_defaults(optimizer, epochs, steps_per_epoch):
    lrs = [group["lr"] for group in optimizer.param_groups]  # each group cycles below its own lr
    # Two epochs up, two down, but never longer than half of training so a full cycle fits.
    half_cycle = max(1, min(2 * steps_per_epoch, epochs * steps_per_epoch // 2))
    # Momentum cycling needs SGD-style momentum; for Adam/AdamW it would fight the betas.
    has_momentum = optimizer.defaults.get("momentum", 0) > 0
    return {"base_lr": [lr / 10 for lr in lrs], "max_lr": lrs, "step_size_up": half_cycle,
            "cycle_momentum": has_momentum}


# name -> (torch class, when to call .step(), the pipeline's defaults from (optimizer, epochs, steps_per_epoch))
SCHEDULERS = {
    "none": (None, "epoch", None),
    "CosineAnnealingLR": (lr_scheduler.CosineAnnealingLR, "epoch", lambda opt, epochs, steps: {"T_max": epochs}),
    "CyclicLR": (lr_scheduler.CyclicLR, "batch", _cyclic_defaults),
    "StepLR": (lr_scheduler.StepLR, "epoch", lambda opt, epochs, steps: {"step_size": max(1, epochs // 3)}),
}


def scheduler_arguments(spec: dict, optimizer, epochs: int, steps_per_epoch: int) -> tuple:
    """train.scheduler -> (name, torch arguments with the pipeline's defaults, "epoch" | "batch"), checked."""
    name, arguments = split_spec("train.scheduler", spec)
    cls, step_every, defaults = pick("train.scheduler", SCHEDULERS, name, "scheduler")
    check_arguments("train.scheduler", name, arguments, accepted_arguments(cls, skip=("optimizer",)) if cls else [])
    if cls is None:
        return name, {}, step_every
    return name, {**defaults(optimizer, epochs, steps_per_epoch), **arguments}, step_every


def build_scheduler(spec: dict, optimizer, epochs: int, steps_per_epoch: int):
    """-> (scheduler or None, "epoch" | "batch"). spec = {"name": ..., **torch arguments}."""
    name, arguments, step_every = scheduler_arguments(spec, optimizer, epochs, steps_per_epoch)
    cls = SCHEDULERS[name][0]
    return (cls(optimizer, **arguments) if cls else None), step_every


class LinearWarmup:
    """The first `steps` optimizer steps run at (step + 1) / steps of the scheduled learning rate of every
    group, on top of any scheduler (train.warmup_epochs). Stateless: the step count comes from the
    epoch and batch numbers, so a resumed run warms up exactly as an uninterrupted one."""

    def __init__(self, optimizer, steps: int):
        self.optimizer, self.steps = optimizer, max(0, int(steps))

    @contextmanager
    def step(self, step: int):
        """Around one optimizer step: scale the learning rates, then put the scheduled ones back
        (epoch schedulers compute the next rate from the current one)."""
        if step >= self.steps:
            yield
            return
        scheduled = [group["lr"] for group in self.optimizer.param_groups]
        for group, lr in zip(self.optimizer.param_groups, scheduled):
            group["lr"] = lr * (step + 1) / self.steps
        try:
            yield
        finally:
            for group, lr in zip(self.optimizer.param_groups, scheduled):
                group["lr"] = lr

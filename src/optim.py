"""Optimizer and learning-rate scheduler factories.

build_scheduler also says when the loop must call .step(): once per "epoch" or once per "batch".
"""
import inspect
from contextlib import contextmanager

import torch
from torch.optim import lr_scheduler

OPTIMIZERS = {
    "Adam": torch.optim.Adam,
    "AdamW": torch.optim.AdamW,
    "SGD": lambda params, **kw: torch.optim.SGD(params, **{"momentum": 0.9, **kw}),
}
SGD_KEYS = inspect.signature(torch.optim.SGD).parameters


def _check_keys(key: str, name: str, given, accepted) -> None:
    accepted = [a for a in accepted if a not in ("self", "params", "optimizer")]
    unknown = sorted(set(given) - set(accepted))
    if unknown:
        raise ValueError(f"{key}: unknown argument(s) {unknown} for {name}; accepted: {accepted}")


def layered_groups(params, backbone, lr: float, backbone_lr: float) -> list:
    """Two parameter groups: `backbone` (pretrained) at lr * backbone_lr, the rest (new layers) at lr.
    The schedulers scale both alike."""
    pretrained = {id(p) for p in backbone}
    fresh = [p for p in params if id(p) not in pretrained]
    return [group for group in ({"params": list(backbone), "lr": lr * backbone_lr}, {"params": fresh, "lr": lr})
            if group["params"]]


def build_optimizer(spec: dict, params, lr: float) -> torch.optim.Optimizer:
    """spec = {"name": "AdamW", "weight_decay": 1e-4, ...}; other keys go to the torch class.
    params: parameters or parameter groups (layered_groups); lr: the default of groups that set none."""
    kwargs = dict(spec)
    name = kwargs.pop("name", None)
    if name not in OPTIMIZERS:
        raise ValueError(f"train.optimizer: unknown optimizer {name!r}; valid names: {sorted(OPTIMIZERS)}")
    if "lr" in kwargs:
        raise ValueError("train.optimizer: set the learning rate with train.lr, not inside the optimizer spec")
    accepted = SGD_KEYS if name == "SGD" else inspect.signature(OPTIMIZERS[name]).parameters
    _check_keys("train.optimizer", name, kwargs, accepted)
    return OPTIMIZERS[name](params, lr=lr, **kwargs)


def _cosine(optimizer, epochs, steps_per_epoch, **kw):
    return lr_scheduler.CosineAnnealingLR(optimizer, **{"T_max": epochs, **kw}), "epoch"


def _step(optimizer, epochs, steps_per_epoch, **kw):
    return lr_scheduler.StepLR(optimizer, **{"step_size": max(1, epochs // 3), **kw}), "epoch"


def _cyclic(optimizer, epochs, steps_per_epoch, **kw):
    lrs = [group["lr"] for group in optimizer.param_groups]  # each group cycles below its own lr
    # Two epochs up, two down, but never longer than half of training so a full cycle fits.
    half_cycle = max(1, min(2 * steps_per_epoch, epochs * steps_per_epoch // 2))
    # Momentum cycling needs SGD-style momentum; for Adam/AdamW it would fight the betas.
    has_momentum = optimizer.defaults.get("momentum", 0) > 0
    defaults = {"base_lr": [lr / 10 for lr in lrs], "max_lr": lrs, "step_size_up": half_cycle,
                "cycle_momentum": has_momentum}
    return lr_scheduler.CyclicLR(optimizer, **{**defaults, **kw}), "batch"


SCHEDULERS = {
    "none": lambda optimizer, epochs, steps_per_epoch: (None, "epoch"),
    "CosineAnnealingLR": _cosine,
    "CyclicLR": _cyclic,
    "StepLR": _step,
}
TORCH_SCHEDULERS = {"CosineAnnealingLR": lr_scheduler.CosineAnnealingLR,
                    "CyclicLR": lr_scheduler.CyclicLR, "StepLR": lr_scheduler.StepLR}


def build_scheduler(spec: dict, optimizer, epochs: int, steps_per_epoch: int):
    """-> (scheduler or None, "epoch" | "batch"). spec = {"name": ..., **torch arguments}."""
    kwargs = dict(spec)
    name = kwargs.pop("name", None)
    if name not in SCHEDULERS:
        raise ValueError(f"train.scheduler: unknown scheduler {name!r}; valid names: {sorted(SCHEDULERS)}")
    accepted = inspect.signature(TORCH_SCHEDULERS[name]).parameters if name in TORCH_SCHEDULERS else []
    _check_keys("train.scheduler", name, kwargs, accepted)
    return SCHEDULERS[name](optimizer, epochs, steps_per_epoch, **kwargs)


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

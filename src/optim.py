"""Optimizer and learning-rate scheduler factories.

build_scheduler also says when the loop must call .step(): once per "epoch" or once per "batch".
"""
import inspect

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


def build_optimizer(spec: dict, params, lr: float) -> torch.optim.Optimizer:
    """spec = {"name": "AdamW", "weight_decay": 1e-4, ...}; other keys go to the torch class."""
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
    lr = optimizer.param_groups[0]["lr"]
    # Two epochs up, two down, but never longer than half of training so a full cycle fits.
    half_cycle = max(1, min(2 * steps_per_epoch, epochs * steps_per_epoch // 2))
    # Momentum cycling needs SGD-style momentum; for Adam/AdamW it would fight the betas.
    has_momentum = optimizer.defaults.get("momentum", 0) > 0
    defaults = {"base_lr": lr / 10, "max_lr": lr, "step_size_up": half_cycle,
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

"""Members of a fold model, trained by torchensemble inside the fold: train.members = {method, n_estimators}.

method: none | voting | bagging | snapshot (torchensemble's VotingClassifier, BaggingClassifier,
SnapshotEnsembleClassifier). torchensemble runs its own loop for all train.epochs (no per-epoch
checkpoint selection, no resume, no CutMix/MixUp, no LDAM deferred re-weighting); its in-fit
validation is not used (it keeps BatchNorm in train mode): the result is scored afterwards in eval
mode like any model. The fold model is an AveragedMembers: plain estimators whose mean softmax it
returns as log-probabilities, saved and loaded as a state_dict (weights_only), never with
torchensemble's io (which pickles the loss module). set_logger is never called: no ./logs/.
"""
import torch
from torchensemble import BaggingClassifier, SnapshotEnsembleClassifier, VotingClassifier
from torchensemble.utils.set_module import set_optimizer

from src.config.schema import with_defaults
from src.models.fold_model import AveragedMembers, Estimator, members_spec
from src.training.optim import optimizer_arguments, scheduler_arguments

# torchensemble's class per train.members.method (src.models.fold_model.MEMBER_METHODS, "none" aside)
METHODS = {"voting": VotingClassifier, "bagging": BaggingClassifier, "snapshot": SnapshotEnsembleClassifier}


def check_members(cfg):
    """Combinations torchensemble's own loop cannot honour fail here, before training."""
    spec = members_spec(cfg)
    if spec["method"] == "none":
        return
    cfg = with_defaults(cfg, "train")
    for key, off in (("warmup_epochs", 0), ("backbone_lr", 1.0), ("grad_clip_norm", 0.0)):
        if cfg[key] != off:
            raise ValueError(f"train.members: torchensemble's own loop has one learning rate, no warmup and no "
                             f"gradient clipping: set train.{key} {off} with a torchensemble method")
    name, arguments = optimizer_arguments(cfg["optimizer"])
    try:  # torchensemble's own list of the optimizers it can set
        set_optimizer(torch.nn.Linear(1, 1), name, lr=cfg["lr"], **arguments)
    except NotImplementedError as e:
        raise ValueError(f"train.members: {e}") from None
    if cfg["mix"]["mixup_alpha"] > 0 or cfg["mix"]["cutmix_alpha"] > 0:
        raise ValueError("train.members: CutMix/MixUp (train.mix) cannot be used with a torchensemble method")
    if cfg["scheduler"]["name"] not in ("none", "CosineAnnealingLR", "StepLR"):
        raise ValueError(f"train.members: scheduler {cfg['scheduler']['name']!r} is not supported with a "
                         "torchensemble method (it steps once per epoch): use none, CosineAnnealingLR or StepLR")
    if spec["method"] == "snapshot" and cfg["epochs"] % spec["n_estimators"]:
        raise ValueError(f"train.members: snapshot needs train.epochs ({cfg['epochs']}) to be a multiple of "
                         f"n_estimators ({spec['n_estimators']})")


def fit_members(cfg, network_args, loss_fn, loader, device):
    """Train spec['n_estimators'] members on loader for cfg['epochs']; returns an AveragedMembers."""
    check_members(cfg)
    spec = members_spec(cfg)
    trainer = METHODS[spec["method"]](estimator=Estimator, n_estimators=spec["n_estimators"],
                                      estimator_args=network_args, cuda=device.type == "cuda",
                                      **({} if spec["method"] == "snapshot" else {"n_jobs": 1}))
    trainer.set_criterion(loss_fn)
    name, arguments = optimizer_arguments(cfg["optimizer"])
    trainer.set_optimizer(name, lr=cfg["lr"], **arguments)
    if spec["method"] != "snapshot":  # snapshot ensembles run their own cyclic schedule
        name, arguments, _ = scheduler_arguments(cfg["scheduler"], None, cfg["epochs"], steps_per_epoch=1)
        if name != "none":
            trainer.set_scheduler(name, **arguments)
    loader.dataset.classes = list(range(network_args["num_classes"]))  # else torchensemble reads the whole loader once
    log_interval = 10**9  # one line per member and epoch (batch 0), not one per batch
    trainer.fit(loader, epochs=cfg["epochs"], log_interval=log_interval, save_model=False)
    return AveragedMembers(list(trainer.estimators_)).to(device)

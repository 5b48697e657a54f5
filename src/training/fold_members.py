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

from src.common.factory import pick
from src.models.fold_model import AveragedMembers, Estimator
from src.training.optim import optimizer_arguments, scheduler_arguments

# torchensemble's class per train.members.method (src.models.fold_model.MEMBER_METHODS, "none" aside)
METHODS = {"voting": VotingClassifier, "bagging": BaggingClassifier, "snapshot": SnapshotEnsembleClassifier}


def check_members(train):
    """Combinations torchensemble's own loop cannot honour fail here, before training. train: the Train config."""
    method = train.members.method
    if method == "none":
        return
    pick("train.members.method", METHODS, method, "method")
    for key, off in (("warmup_epochs", 0), ("backbone_lr", 1.0), ("grad_clip_norm", 0.0)):
        if getattr(train, key) != off:
            raise ValueError(f"train.members: torchensemble's own loop has one learning rate, no warmup and no "
                             f"gradient clipping: set train.{key} {off} with a torchensemble method")
    name, arguments = optimizer_arguments(train.optimizer)
    try:  # torchensemble's own list of the optimizers it can set
        set_optimizer(torch.nn.Linear(1, 1), name, lr=train.lr, **arguments)
    except NotImplementedError as e:
        raise ValueError(f"train.members: {e}") from None
    if train.mix.mixup_alpha > 0 or train.mix.cutmix_alpha > 0:
        raise ValueError("train.members: CutMix/MixUp (train.mix) cannot be used with a torchensemble method")
    if train.scheduler["name"] not in ("none", "CosineAnnealingLR", "StepLR"):
        raise ValueError(f"train.members: scheduler {train.scheduler['name']!r} is not supported with a "
                         "torchensemble method (it steps once per epoch): use none, CosineAnnealingLR or StepLR")
    if method == "snapshot" and train.epochs % train.members.n_estimators:
        raise ValueError(f"train.members: snapshot needs train.epochs ({train.epochs}) to be a multiple of "
                         f"n_estimators ({train.members.n_estimators})")


def fit_members(train, network_args, loss_fn, loader, device):
    """Train train.members.n_estimators members on loader for train.epochs; returns an AveragedMembers."""
    check_members(train)
    method, count = train.members.method, train.members.n_estimators
    trainer = METHODS[method](estimator=Estimator, n_estimators=count, estimator_args=network_args,
                              cuda=device.type == "cuda", **({} if method == "snapshot" else {"n_jobs": 1}))
    trainer.set_criterion(loss_fn)
    name, arguments = optimizer_arguments(train.optimizer)
    trainer.set_optimizer(name, lr=train.lr, **arguments)
    if method != "snapshot":  # snapshot ensembles run their own cyclic schedule
        name, arguments, _ = scheduler_arguments(train.scheduler, None, train.epochs, steps_per_epoch=1)
        if name != "none":
            trainer.set_scheduler(name, **arguments)
    loader.dataset.classes = list(range(network_args["num_classes"]))  # else torchensemble reads the whole loader once
    log_interval = 10**9  # one line per member and epoch (batch 0), not one per batch
    trainer.fit(loader, epochs=train.epochs, log_interval=log_interval, save_model=False)
    return AveragedMembers(list(trainer.estimators_)).to(device)

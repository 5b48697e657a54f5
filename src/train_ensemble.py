"""Train-time ensemble inside a fold with torchensemble: train.ensemble = {method, n_estimators}.

method: none | voting | bagging | snapshot (torchensemble's VotingClassifier, BaggingClassifier,
SnapshotEnsembleClassifier). torchensemble runs its own loop for all train.epochs (no per-epoch
checkpoint selection, no resume, no CutMix/MixUp, no LDAM deferred re-weighting); its in-fit
validation is not used (it keeps BatchNorm in train mode): the result is scored afterwards in eval
mode like any model. The fold model is an AveragedEnsemble: plain estimators whose mean softmax it
returns as log-probabilities, saved and loaded as a state_dict (weights_only), never with
torchensemble's io (which pickles the loss module). set_logger is never called: no ./logs/.
"""
from torchensemble import BaggingClassifier, SnapshotEnsembleClassifier, VotingClassifier

from src.fold_model import AveragedEnsemble, Estimator, ensemble_spec
from src.optim import optimizer_arguments, scheduler_arguments
from src.params_schema import with_defaults

# torchensemble's class per train.ensemble.method (src.fold_model.ENSEMBLE_METHODS, "none" aside)
METHODS = {"voting": VotingClassifier, "bagging": BaggingClassifier, "snapshot": SnapshotEnsembleClassifier}


def check_ensemble(cfg):
    """Combinations torchensemble's own loop cannot honour fail here, before training."""
    spec = ensemble_spec(cfg)
    if spec["method"] == "none":
        return
    cfg = with_defaults(cfg, "train")
    for key, off in (("warmup_epochs", 0), ("backbone_lr", 1.0)):
        if cfg[key] != off:
            raise ValueError(f"train.ensemble: torchensemble's own loop has one learning rate and no warmup: "
                             f"set train.{key} {off} with a torchensemble method")
    if cfg["mix"]["mixup_alpha"] > 0 or cfg["mix"]["cutmix_alpha"] > 0:
        raise ValueError("train.ensemble: CutMix/MixUp (train.mix) cannot be used with a torchensemble method")
    if cfg["scheduler"]["name"] not in ("none", "CosineAnnealingLR", "StepLR"):
        raise ValueError(f"train.ensemble: scheduler {cfg['scheduler']['name']!r} is not supported with a "
                         "torchensemble method (it steps once per epoch): use none, CosineAnnealingLR or StepLR")
    if spec["method"] == "snapshot" and cfg["epochs"] % spec["n_estimators"]:
        raise ValueError(f"train.ensemble: snapshot needs train.epochs ({cfg['epochs']}) to be a multiple of "
                         f"n_estimators ({spec['n_estimators']})")


def fit_ensemble(cfg, network_args, loss_fn, loader, device):
    """Train spec['n_estimators'] members on loader for cfg['epochs']; returns an AveragedEnsemble."""
    check_ensemble(cfg)
    spec = ensemble_spec(cfg)
    ensemble = METHODS[spec["method"]](estimator=Estimator, n_estimators=spec["n_estimators"],
                                       estimator_args=network_args, cuda=device.type == "cuda",
                                       **({} if spec["method"] == "snapshot" else {"n_jobs": 1}))
    ensemble.set_criterion(loss_fn)
    name, arguments = optimizer_arguments(cfg["optimizer"])
    ensemble.set_optimizer(name, lr=cfg["lr"], **arguments)
    if spec["method"] != "snapshot":  # snapshot ensembles run their own cyclic schedule
        name, arguments, _ = scheduler_arguments(cfg["scheduler"], None, cfg["epochs"], steps_per_epoch=1)
        if name != "none":
            ensemble.set_scheduler(name, **arguments)
    loader.dataset.classes = list(range(network_args["num_classes"]))  # else torchensemble reads the whole loader once
    log_interval = 10**9  # one line per member and epoch (batch 0), not one per batch
    ensemble.fit(loader, epochs=cfg["epochs"], log_interval=log_interval, save_model=False)
    return AveragedEnsemble(list(ensemble.estimators_)).to(device)

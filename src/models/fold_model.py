"""A fold's model file: what train writes, and what ensemble and predict rebuild from it.

A fold model is one network (src.models.networks.build_model) or, with a train.members method, an
AveragedMembers of such networks (trained by src.training.fold_members). The file holds the weights plus
everything needed to rebuild and feed the model, loaded with weights_only (tensors, no pickled code)."""
import pickle

import torch
from torch import nn

from src.common.errors import BadInputError, first_line
from src.common.factory import pick
from src.config.tree import thaw
from src.labels.tasks import num_classes
from src.models.networks import build_model

MEMBER_METHODS = ("none", "voting", "bagging", "snapshot")


def network_args(train, task="all"):
    """build_model arguments of train.model / heads for a model of `task` (src.labels.tasks); train: the
    Train config (src.config.tree), its `pretrained` a weights file or "" (see with_backbone)."""
    weights = "" if train.pretrained == "none" else train.pretrained
    return {"name": train.model, "num_classes": num_classes(task), "pretrained": weights,
            "drop_rate": train.drop_rate, "heads": train.heads, "mean": tuple(train.mean),
            "std": tuple(train.std), "frozen_stages": train.frozen_stages}


class Estimator(nn.Module):
    """One member: a fresh network per instance (torchensemble instantiates a class per member)."""

    def __init__(self, **network_args):
        super().__init__()
        self.net = build_model(**network_args)

    def forward(self, x):
        return self.net(x)


class AveragedMembers(nn.Module):
    """forward -> log(mean softmax of the members): softmax of it is their soft vote."""

    def __init__(self, estimators):
        super().__init__()
        self.estimators = nn.ModuleList(estimators)

    def forward(self, x):
        probs = torch.stack([torch.softmax(e(x).float(), dim=1) for e in self.estimators]).mean(0)
        return probs.clamp_min(1e-12).log()


def build_network(args, members):
    """The fold model: one network of build_model `args` (network_args), or, when members (train.members as
    {"method", "n_estimators"}) names a torchensemble method, an untrained AveragedMembers of them."""
    method = pick("train.members.method", MEMBER_METHODS, members["method"], "method")
    if method == "none":
        return build_model(**args)
    return AveragedMembers([Estimator(**args) for _ in range(members["n_estimators"])])


def checkpoint_payload(train, model_state, task="all"):
    """What a fold model file holds: weights plus what is needed to rebuild and feed the model (plain
    data: the file is read with weights_only)."""
    return {"model": train.model, "task": task, "num_classes": num_classes(task), "state_dict": model_state,
            "heads": train.heads, "members": thaw(train.members), "mean": list(train.mean), "std": list(train.std)}


FILE_KEYS = ("model", "task", "num_classes", "state_dict", "heads", "members", "mean", "std")


def load_fold_model(path, device, task=None):
    """(model in eval mode, the file's dict). task: the task the file must hold (None: any). A missing,
    truncated or foreign file, or one of another task or class count, raises BadInputError naming it."""
    try:
        checkpoint = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise BadInputError(path, "missing") from None
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError) as e:
        raise BadInputError(path, f"not a readable model file, truncated or overwritten "
                                  f"({first_line(e)})") from None
    absent = [key for key in FILE_KEYS if key not in checkpoint] if isinstance(checkpoint, dict) else list(FILE_KEYS)
    if absent:
        raise BadInputError(path, f"not a fold model file of the train stage (no {absent})")
    held, classes = checkpoint["task"], checkpoint["num_classes"]
    if task is not None and held != task:
        raise BadInputError(path, f"holds the {held!r} model ({classes} classes); expected the {task!r} model "
                                  f"({num_classes(task)} classes)")
    if classes != num_classes(held):
        raise BadInputError(path, f"holds the {held!r} model with {classes} classes; that model has "
                                  f"{num_classes(held)}")
    args = {"name": checkpoint["model"], "num_classes": classes, "heads": checkpoint["heads"],
            "mean": tuple(checkpoint["mean"]), "std": tuple(checkpoint["std"])}
    model = build_network(args, checkpoint["members"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as e:
        raise BadInputError(path, f"its weights do not fit a {checkpoint['model']} {held!r} model of {classes} "
                                  f"classes ({first_line(e)})") from None
    return model.to(device).eval(), checkpoint


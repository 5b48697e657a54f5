"""A fold's model file: what train writes, and what ensemble and predict rebuild from it.

A fold model is one network (src.models.networks.build_model) or, with a train.members method, an
AveragedMembers of such networks (trained by src.training.fold_members). The file holds the weights plus
everything needed to rebuild and feed the model, loaded with weights_only (tensors, no pickled code)."""
import pickle

import torch
from torch import nn

from src.common.errors import BadInputError, first_line
from src.common.factory import pick
from src.config.schema import with_defaults
from src.labels.tasks import num_classes
from src.models.networks import build_model

MEMBER_METHODS = ("none", "voting", "bagging", "snapshot")


def members_spec(cfg):
    """train.members with its defaults filled in; an unknown method fails naming the valid ones."""
    spec = with_defaults(cfg, "train")["members"]
    pick("train.members.method", MEMBER_METHODS, spec["method"], "method")
    return spec


def network_args(cfg, task="all"):
    """build_model arguments of train.model / heads for a model of `task` (src.labels.tasks)."""
    cfg = with_defaults(cfg, "train")
    weights = "" if cfg["pretrained"] == "none" else cfg["pretrained"]  # a weights file (see with_backbone)
    return {"name": cfg["model"], "num_classes": num_classes(task), "pretrained": weights,
            "drop_rate": cfg["drop_rate"], "heads": cfg["heads"], "mean": tuple(cfg["mean"]),
            "std": tuple(cfg["std"]), "frozen_stages": cfg["frozen_stages"]}


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


def build_network(cfg, task="all"):
    """The fold model: one network, or (train.members.method != none) an untrained AveragedMembers."""
    spec = members_spec(cfg)
    if spec["method"] == "none":
        return build_model(**network_args(cfg, task))
    return AveragedMembers([Estimator(**network_args(cfg, task)) for _ in range(spec["n_estimators"])])


def checkpoint_payload(cfg, model_state, task="all"):
    """What a fold model file holds: weights plus what is needed to rebuild and feed the model."""
    return {"model": cfg["model"], "task": task, "num_classes": num_classes(task), "state_dict": model_state,
            "heads": with_defaults(cfg, "train")["heads"], "members": members_spec(cfg),
            "mean": list(cfg["mean"]), "std": list(cfg["std"])}


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
    cfg = {"model": checkpoint["model"], "heads": checkpoint["heads"], "members": checkpoint["members"],
           "mean": checkpoint["mean"], "std": checkpoint["std"]}
    model = build_network(cfg, checkpoint["task"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as e:
        raise BadInputError(path, f"its weights do not fit a {checkpoint['model']} {held!r} model of {classes} "
                                  f"classes ({first_line(e)})") from None
    return model.to(device).eval(), checkpoint


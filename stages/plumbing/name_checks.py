"""The names in params.yaml (face detector, timm model, pretrained source, loss, optimizer, scheduler,
sampler, transforms, mixing, torchensemble members, TTA views), checked by building them with the
factories that use them, so the valid names live in one place: the library's or the factory's registry.

Pipeline code above the library: it imports from most of src/. Only the named blocks are checked
(and imported): a train stage imports no detector code, so editing the detector reruns no training."""
from pathlib import Path

from src.common.factory import pick
from src.config.params import ParamsError, check_params, load_params
from src.config.tree import build

NAMED_BLOCKS = ("face_crop", "train", "ensemble")


def load_checked_params(path="params.yaml", blocks=NAMED_BLOCKS):
    """load_params (keys, types, ranges, cross-checks: the read-only Params), then the names of `blocks`."""
    params = load_params(path)
    check_names(params, blocks, path)
    return params


def check_all(raw, path="params.yaml", blocks=NAMED_BLOCKS):
    """load_checked_params for a params mapping already read (a test's edit of params.yaml)."""
    check_params(raw, path)
    check_names(build(raw), blocks, path)


def check_names(params, blocks=NAMED_BLOCKS, path="params.yaml"):
    """params: a built Params. A bad name raises ParamsError naming the file, the key, the name and the
    valid ones."""
    try:
        if "face_crop" in blocks:
            from src.face_crop.detectors import DETECTORS
            pick("face_crop.detector", DETECTORS, params.face_crop.detector, "detector")
        if "train" in blocks:
            _check_train_names(params.train)
        if "ensemble" in blocks:
            from src.inference.decision import DECISIONS
            from src.inference.predict import check_tta
            check_tta(params.ensemble.tta)
            pick("ensemble.decision", DECISIONS, params.ensemble.decision, "decision rule")
    except ParamsError:
        raise
    except ValueError as e:
        raise ParamsError(f"{Path(path)}: {e}") from None


def _check_train_names(train):
    import numpy as np
    import torch

    from src.models.backbone_weights import check_source, pretrained_source
    from src.models.fold_model import MEMBER_METHODS
    from src.models.networks import HEAD_KINDS, check_frozen_stages, check_model_name
    from src.training.fold_members import check_members
    from src.training.losses import build_loss
    from src.training.mixing import build_mixer
    from src.training.optim import build_optimizer, build_scheduler
    from src.training.samplers import build_sampler
    from src.training.transforms import build_transform

    check_model_name(train.model)
    pick("train.heads", HEAD_KINDS, train.heads, "kind")
    pick("train.members.method", MEMBER_METHODS, train.members.method, "method")
    check_source(train.model, pretrained_source(train))
    check_frozen_stages(train.model, train.frozen_stages, pretrained_source(train))
    build_loss(train.loss, np.ones(18))
    optimizer = build_optimizer(train.optimizer, [torch.nn.Parameter(torch.zeros(1))], train.lr)
    build_scheduler(train.scheduler, optimizer, train.epochs, 10)
    build_sampler(train.sampler, np.arange(18), 0)
    build_transform(train.augment, train=True)
    build_mixer(train.mix, train.loss["name"])  # ldam + mixing fails here
    check_members(train)

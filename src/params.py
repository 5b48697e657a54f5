"""Read params.yaml (safe_load only) and check all of it before any work starts: unknown keys
(typos such as `trian.lr`), wrong types, out-of-range values and unknown names fail at once with
the key, the value and what was expected."""
import difflib
import re
from pathlib import Path

import yaml

from src.errors import first_line
from src.param_checks import (either, increasing, integer, list_of, mapping, number, one_of, text)

# Dotted key -> check. A mapping-valued key listed here (train.loss, tune.space) is one leaf:
# its contents are checked by the factory that reads it.
RULES = {
    "seed": integer(0),
    "data.age_bins": increasing(list_of(integer(1, 150), length=2)),
    "data.on_bad_image": one_of("error", "skip"),
    "data.relabel": text,
    "face_crop.detector": text,
    "face_crop.min_face_size": integer(12),
    "face_crop.detect_scale": number(0, 1, low_open=True),
    "face_crop.batch_size": integer(1),
    "face_crop.retry_thresholds": either(list_of(number(0, 1), length=0), list_of(number(0, 1), length=3)),
    "face_crop.prior_fallback": one_of(True, False),
    "face_crop.margin": number(0, 2),
    "face_crop.size": list_of(integer(16, 2048), length=2),
    "face_crop.center_size": list_of(integer(16, 4096), length=2),
    "split.k": integer(2),
    "split.seed": integer(0),
    "train.folds": list_of(integer(0), unique=True),
    "train.model": text,
    "train.pretrained": text,  # none | packaged | hub | a weights file: checked by src.backbone_weights
    "train.drop_rate": number(0, 1, high_open=True),
    "train.epochs": integer(1),
    "train.patience": integer(1),
    "train.batch_size": integer(1),
    "train.lr": number(0, low_open=True),
    "train.backbone_lr": number(0, 1),
    "train.warmup_epochs": number(0),
    "train.frozen_stages": integer(0),
    "train.optimizer": mapping,
    "train.scheduler": mapping,
    "train.loss": mapping,
    "train.sampler": text,
    "train.num_workers": either(one_of("auto"), integer(0)),
    "train.device": either(one_of("auto", "cpu"), text),
    "train.mean": list_of(number(0, 1), length=3),
    "train.std": list_of(number(0, 1, low_open=True), length=3),
    "train.augment": list_of(mapping),
    "train.resample.min_count": integer(0),
    "train.resample.max_count": integer(0),
    "train.tasks": list_of(one_of("all", "mask", "gender", "age"), unique=True),
    "train.heads": one_of("single", "multi"),
    "train.head_weights.mask": number(0),
    "train.head_weights.gender": number(0),
    "train.head_weights.age": number(0),
    "train.mix.mixup_alpha": number(0),
    "train.mix.cutmix_alpha": number(0),
    "train.mix.prob": number(0, 1),
    "train.mix.switch_prob": number(0, 1),
    "train.mix.label_smoothing": number(0, 1, high_open=True),
    "train.mix.vertical": one_of(True, False),
    "train.ensemble.method": one_of("none", "voting", "bagging", "snapshot"),
    "train.ensemble.n_estimators": integer(1),
    "ensemble.tta": list_of(text, unique=True),
    "ensemble.batch_size": integer(1),
    "ensemble.error_analysis_top": integer(0),
    "predict.batch_size": integer(1),
    "evaluate.labels": text,
    "tune.fold": integer(0),
    "tune.task": one_of("all", "mask", "gender", "age"),
    "tune.num_samples": integer(1),
    "tune.max_concurrent": integer(1),
    "tune.seed": integer(0),
    "tune.n_initial_points": integer(1),
    "tune.grace_period": integer(1),
    "tune.max_t": integer(1),
    "tune.reduction_factor": number(1, low_open=True),
    "tune.cpus_per_trial": number(0, low_open=True),
    "tune.gpus_per_trial": number(0),
    "tune.resume": one_of(True, False),
    "tune.address": text,
    "tune.wandb.project": text,
    "tune.wandb.group": text,
    "tune.space": lambda value: None if isinstance(value, dict) and value else "a non-empty mapping",
}
# The modeling options (off by default) may be absent: params files written before them stay valid.
MODELING_OPTIONS = ("resample", "heads", "head_weights", "mix", "ensemble")
OPTIONAL = {"train.device", "train.pretrained", "train.backbone_lr", "train.warmup_epochs", "train.drop_rate",
            "train.frozen_stages",
            "data.relabel", "tune.task", "tune.wandb.project", "tune.wandb.group"} | {
    key for key in RULES if key.split(".")[:2] in (["train", name] for name in MODELING_OPTIONS)}


class ParamsLoader(yaml.SafeLoader):
    """yaml.SafeLoader that also reads `1e-05` as a float: DVC writes small floats of `-S` edits that way
    (YAML 1.2), where YAML 1.1, PyYAML's default, requires a dot and a signed exponent."""


ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)$"), list("-+0123456789."))


def load_params(path="params.yaml", check=True, names=()):
    """Every key, type, range and cross-check. names: the blocks whose names (detector, model, loss,
    transforms... TTA views) are also checked by building them, which imports the modules that define
    them (torch, timm, albumentations: about 3 s); True = all of NAMED_BLOCKS. The check_params stage
    checks all, the train and tune stages ("train",); the others need not: check_params runs before
    any stage whenever params.yaml changes."""
    path = Path(path)
    params = read_params_file(path)
    if check:
        try:
            check_params(params, path, names)
        except ParamsError:
            raise
        except ValueError as e:  # a factory's check of a name (loss, model, transform ...)
            raise ParamsError(f"{path}: {e}") from None
    return params


class ParamsError(ValueError):
    """params.yaml is missing, unreadable or holds a bad value: the message names the file and the key."""


def read_params_file(path):
    """The parsed params file, a mapping; fails naming the file (and the line of a YAML syntax error)."""
    if not path.is_file():
        raise ParamsError(f"{path}: params file not found (run from the repository root, where params.yaml is)")
    try:
        with open(path) as f:
            params = yaml.load(f, Loader=ParamsLoader)  # safe: a SafeLoader with one more float form
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or first_line(e)
        context, start = getattr(e, "context", None), getattr(e, "context_mark", None)
        if context and start:
            problem += f", {context} that starts at line {start.line + 1}"
        raise ParamsError(f"{path}: {where}not valid YAML ({problem}); `git diff {path}` shows the edits") from None
    if params is None:
        raise ParamsError(f"{path}: empty; expected the blocks seed, data, face_crop, split, train, ... "
                          f"(`git checkout {path}` restores the committed one)")
    if not isinstance(params, dict):
        raise ParamsError(f"{path}: expected a mapping of stage blocks, got {type(params).__name__}")
    return params


def flatten(params, prefix=""):
    """{'train': {'lr': 1}} -> {'train.lr': 1}, stopping at the leaves RULES names."""
    flat = {}
    for key, value in params.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted not in RULES:
            flat.update(flatten(value, f"{dotted}."))
        else:
            flat[dotted] = value
    return flat


def meant(key):
    """The known keys a mistyped one was probably meant as: same last part (lr -> train.lr), else close spelling."""
    leaf = key.rsplit(".", 1)[-1]
    return [k for k in RULES if k.rsplit(".", 1)[-1] == leaf] or difflib.get_close_matches(key, RULES, n=1, cutoff=0.6)


NAMED_BLOCKS = ("face_crop", "train", "ensemble")


def check_params(params, path="params.yaml", names=True):
    """Raise ParamsError naming every problem: key, value, and what was expected."""
    flat = flatten(params)
    problems = []
    for key, value in flat.items():
        if key not in RULES:
            close = meant(key)
            problems.append(f"unknown key {key!r}" + (f"; did you mean {' or '.join(close)}?" if close else ""))
        else:
            expected = RULES[key](value)
            if expected:
                problems.append(f"{key} = {value!r}: expected {expected}")
    blocks = {key.split(".")[0] for key in flat}
    for key in RULES:
        if key not in flat and key not in OPTIONAL and key.split(".")[0] in blocks | {"seed"}:
            problems.append(f"missing key {key!r}")
    if not problems:
        problems = _cross_checks(params)
    if problems:
        raise ParamsError(f"{path}: " + "; ".join(problems))
    if names:
        _check_names(params, NAMED_BLOCKS if names is True else names)


def _cross_checks(params):
    k = params["split"]["k"]
    problems = [f"train.folds: fold {fold} is outside 0..{k - 1} (split.k = {k})"
                for fold in params["train"]["folds"] if fold >= k]
    if "tune" in params and params["tune"]["fold"] >= k:
        problems.append(f"tune.fold = {params['tune']['fold']}: outside 0..{k - 1} (split.k = {k})")
    if not params["train"]["folds"]:
        problems.append("train.folds: at least one fold is needed")
    resample = params["train"].get("resample") or {}
    if 0 < resample.get("max_count", 0) < resample.get("min_count", 0):
        problems.append(f"train.resample: min_count {resample['min_count']} > max_count {resample['max_count']}")
    from src.tasks import check_tasks  # the one definition of a valid train.tasks
    tasks = params["train"]["tasks"]
    try:
        check_tasks(tasks)
    except ValueError as e:
        problems.append(str(e))
    else:
        if tasks != ["all"] and params["train"].get("heads") == "multi":
            problems.append("train.heads: multi predicts all 18 classes from one model; with train.tasks "
                            "[mask, gender, age] use heads single")
    if params["train"].get("heads") == "multi" and not any((params["train"].get("head_weights") or {"a": 1}).values()):
        problems.append("train.head_weights: at least one head needs a weight > 0")
    return problems


def _check_names(params, blocks):
    """Names are checked by the factories that use them, so the valid lists live in one place. Only the
    named blocks are checked: a train stage imports no detector code, so editing it reruns no training."""
    if "face_crop" in blocks:
        from src.face_crop.detectors import DETECTORS
        if params["face_crop"]["detector"] not in DETECTORS:
            raise ValueError(f"face_crop.detector: unknown detector {params['face_crop']['detector']!r}; "
                             f"valid: {sorted(DETECTORS)}")
    if "train" in blocks:
        _check_train_names(params["train"])
    if "ensemble" in blocks:
        from src.inference import check_tta
        check_tta(params["ensemble"]["tta"])


def _check_train_names(train):
    import numpy as np
    import torch

    from src.backbone_weights import check_source, pretrained_source
    from src.losses import build_loss
    from src.mixing import build_mixer
    from src.models import check_frozen_stages, check_model_name
    from src.optim import build_optimizer, build_scheduler
    from src.samplers import build_sampler
    from src.train_ensemble import check_ensemble
    from src.transforms import build_transform

    check_model_name(train["model"])
    check_source(train["model"], pretrained_source(train))
    check_frozen_stages(train["model"], train.get("frozen_stages", 0), pretrained_source(train))
    build_loss(train["loss"], np.ones(18))
    optimizer = build_optimizer(train["optimizer"], [torch.nn.Parameter(torch.zeros(1))], train["lr"])
    build_scheduler(train["scheduler"], optimizer, train["epochs"], 10)
    build_sampler(train["sampler"], np.arange(18), 0)
    build_transform(train["augment"], train=True)
    build_mixer(train.get("mix"), train["loss"]["name"])  # ldam + mixing fails here
    check_ensemble(train)

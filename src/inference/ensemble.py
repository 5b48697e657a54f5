"""Soft voting over the folds' members: out-of-fold estimates and eval-set probabilities."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from src.common.errors import BadInputError, first_line
from src.inference.decision import DECISIONS
from src.inference.predict import probs_per_model
from src.labels.classes import NUM_CLASSES, class_name
from src.labels.metrics import confusion, per_class_f1, score
from src.labels.tasks import SEPARATE
from src.models.fold_model import load_fold_model
from src.models.heads import combine_heads


def read_members(path):
    """ensemble/members.json: {members: [{task: model file}], folds, fold_f1, tta, decision}; fails naming the file."""
    try:
        members = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise BadInputError(path, "missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BadInputError(path, f"not valid JSON ({first_line(e)})") from None
    if not isinstance(members, dict) or not {"members", "tta", "decision"} <= set(members):
        raise BadInputError(path, "not the ensemble's member list (expected keys members, tta and decision)")
    decision = members["decision"]
    if not isinstance(decision, dict) or decision.get("rule") not in DECISIONS or (
            decision["rule"] == "macro_f1" and not _three_numbers(decision.get("age_offsets"))):
        raise BadInputError(path, f"decision {decision!r}: expected {{rule: one of {list(DECISIONS)}, age_offsets: "
                                  f"3 numbers for macro_f1}}")
    for member in members["members"]:
        for model_file in member.values():
            if not Path(model_file).is_file():
                raise BadInputError(model_file, f"missing, listed in {path}")
    return members


def _three_numbers(values):
    return isinstance(values, list) and len(values) == 3 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in values)


def load_members(members, device):
    """members: [{task: model file}] (one per fold) -> [{task: model}]. A member is one 18-class
    model ({all: file}) or the three task models of a fold ({mask, gender, age}: src.labels.tasks)."""
    loaded = []
    for member in members:
        models = {}
        for task, path in member.items():
            models[task] = load_fold_model(path, device, task)[0]
        loaded.append(models)
    return loaded


def combine_task_probs(probs_by_task):
    """{mask: N x 3, gender: N x 2, age: N x 3} probabilities -> N x 18 (their product)."""
    missing = [task for task in SEPARATE if task not in probs_by_task]
    if missing:
        raise ValueError(f"combining task models: no model for {missing}")
    logs = {task: torch.from_numpy(np.log(np.clip(probs_by_task[task], 1e-12, None))) for task in SEPARATE}
    return torch.exp(combine_heads(logs)).numpy().astype(np.float32)


def _member_18(probs_by_task):
    """An 18-class model's probabilities as they are; three task models' combined (combine_task_probs)."""
    return probs_by_task["all"] if set(probs_by_task) == {"all"} else combine_task_probs(probs_by_task)


def members_probs(members, crops, batch_size, device, tta, num_workers=0):
    """N x 18 probabilities of each member, from one pass over the crops that feeds every model
    (num_workers loader processes: src.common.device.resolve_workers)."""
    models = [model for member in members for model in member.values()]
    probs = iter(probs_per_model(models, crops, batch_size, device, tta, num_workers))  # in the order of `models`
    return [_member_18({task: next(probs) for task in member}) for member in members]


def member_probs(models, crops, batch_size, device, tta, num_workers=0):
    """N x 18 probabilities of one member (with the TTA views averaged per model)."""
    return members_probs([models], crops, batch_size, device, tta, num_workers)[0]


def out_of_fold_probs(members, fold_rows, crops, batch_size, device, tta, num_workers=0):
    """Each fold's member predicts only its own validation rows. Returns N_rows x C with NaN rows
    for images of folds not given (so a partial fold list is visible, never silently scored)."""
    probs = np.full((len(crops), NUM_CLASSES), np.nan, dtype=np.float32)
    for models, rows in zip(members, fold_rows):
        probs[rows] = member_probs(models, crops[rows], batch_size, device, tta, num_workers)
    return probs


def soft_vote(members, crops, batch_size, device, tta, num_workers=0):
    """Mean of the members' 18-class probabilities (one pass over the crops for all of them)."""
    probs = members_probs(members, crops, batch_size, device, tta, num_workers)
    return np.mean(probs, axis=0).astype(np.float32)


def oof_report(labels, probs, predicted, paths):
    """Metrics block, per-class F1 table and per-image prediction table of the out-of-fold rows, whose
    classes `predicted` the decision rule chose (src.inference.decision); confidence is the probability
    of the class chosen."""
    rows = np.arange(len(labels))
    metrics = score(labels, predicted)
    f1s = per_class_f1(labels, predicted)
    per_class = pd.DataFrame({"class": range(NUM_CLASSES), "name": [class_name(c) for c in range(NUM_CLASSES)],
                              "support": np.bincount(labels, minlength=NUM_CLASSES), "f1": np.round(f1s, 4)})
    predictions = pd.DataFrame({"path": paths, "actual": labels, "predicted": predicted,
                                "confidence": np.round(probs[rows, predicted], 4),
                                "p_actual": np.round(probs[rows, labels], 4)})
    return metrics, per_class, predictions, confusion(labels, predicted)

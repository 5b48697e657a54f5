"""The decision rule (ensemble.decision): from 18-class probabilities to one class each.

`argmax` maximises accuracy. Macro F1 weighs the rare classes (the >= 60 band: 7% of persons) as much
as the common ones, so it can pay to call the older bands more often than their probability says.
`macro_f1` adds an offset to the log probability of each age band (0 for < 30) and takes the argmax;
the two offsets are fit on the out-of-fold predictions by a grid search that maximises their macro
F1, ties going to the offsets nearest 0. Mask (F1 about 0.998) and gender keep no offset: fitted
gender offsets changed sign from fold to fold and lowered the honest CV (docs/modeling.md).

Scored on the rows they were fit on, the offsets would flatter the CV: the honest estimate
(`fit_decision`) decides each fold's rows with offsets fit on the other folds' rows."""
import itertools

import numpy as np

from src.common.factory import pick
from src.labels.classes import NUM_CLASSES, decode_class
from src.labels.metrics import fast_macro_f1

DECISIONS = ("argmax", "macro_f1")
OFFSET_GRID = np.round(np.arange(-1.5, 1.501, 0.1), 2)  # tried for each of the 30-59 and >= 60 bands
_, _, CLASS_AGE = decode_class(np.arange(NUM_CLASSES))


def _log(probs):
    return np.log(np.clip(probs, 1e-12, None))


def _decide_logs(logs, age_offsets):
    """Classes of N x 18 log probabilities with each class's age-band offset added."""
    return (logs + np.asarray(age_offsets)[CLASS_AGE]).argmax(1)


def decide(decision, probs):
    """Classes of N x 18 probabilities under `decision` ({rule, age_offsets}, as fit_decision returns
    it and ensemble/members.json keeps it)."""
    rule = pick("ensemble.decision", DECISIONS, decision["rule"], "decision rule")
    if rule == "argmax":
        return probs.argmax(1)
    return _decide_logs(_log(probs), decision["age_offsets"])


def fit_age_offsets(labels, probs, grid=OFFSET_GRID):
    """[0, offset 30-59, offset >= 60] maximising the macro F1 of `labels` (ties: the smallest |offsets|)."""
    if len(labels) == 0:  # one trained fold: no other fold's rows to fit on
        return [0.0, 0.0, 0.0]
    logs = _log(probs)
    best_f1, best = fast_macro_f1(labels, logs.argmax(1)), [0.0, 0.0, 0.0]
    for middle, old in sorted(itertools.product(grid, grid), key=lambda pair: abs(pair[0]) + abs(pair[1])):
        offsets = [0.0, float(middle), float(old)]
        f1 = fast_macro_f1(labels, _decide_logs(logs, offsets))
        if f1 > best_f1:
            best_f1, best = f1, offsets
    return best


def fit_decision(rule, labels, probs, fold_of):
    """The rule fit on all out-of-fold rows (what predict applies), and each row's class decided
    honestly: with offsets fit on the other folds' rows. Returns (decision, classes, offsets per fold)."""
    rule = pick("ensemble.decision", DECISIONS, rule, "decision rule")
    if rule == "argmax":
        return {"rule": rule, "age_offsets": None}, probs.argmax(1), {}
    predicted = np.empty(len(labels), dtype=np.int64)
    per_fold = {}
    for fold in np.unique(fold_of):
        held = fold_of == fold
        per_fold[int(fold)] = fit_age_offsets(labels[~held], probs[~held])
        predicted[held] = decide({"rule": rule, "age_offsets": per_fold[int(fold)]}, probs[held])
    return {"rule": rule, "age_offsets": fit_age_offsets(labels, probs)}, predicted, per_fold

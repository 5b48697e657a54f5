"""ensemble stage: define the fold ensemble and give its honest cross-validation estimate.

A fold's member is its 18-class model (train.tasks [all]) or its mask, gender and age models
combined into 18 classes (train.tasks [mask, gender, age]). Each member predicts its own held-out
persons (with the TTA views of ensemble.tta). The decision rule (ensemble.decision: argmax, or
macro_f1's age-band offsets, src/inference/decision.py) is fit on those out-of-fold probabilities;
each fold's rows are decided with the rule fit on the other folds' rows, and those classes give the
CV macro F1 / accuracy / per-head F1 (metrics/cv.json, with the plain argmax's F1 beside it; scored
in the competition's age bands, whatever data.age_bins the models trained with), per-fold F1,
per-class F1 (plots/per_class_f1.csv), the confusion matrix plot's (actual, predicted) pairs (plots/oof_confusion.csv) and the per-image
predictions with paths and confidences (ensemble/oof_predictions.csv, error analysis).
ensemble/members.json lists the members' model files, the TTA views that predict soft-votes and the
decision rule fit on every out-of-fold row, which predict applies.
Params: device, train.folds, train.tasks, ensemble.*."""
import argparse

import numpy as np

from src.common.atomic import write_csv, write_json, write_npy
from src.common.device import resolve_workers, stage_device
from src.config.params import load_params
from src.data.folds import fold_of_rows
from src.inference.decision import fit_decision
from src.inference.ensemble import load_members, oof_report, out_of_fold_probs
from src.labels.classes import COMPETITION_AGE_BINS, competition_labels
from src.labels.metrics import macro_f1, score
from src.reports.error_analysis import write_error_analysis
from stages.plumbing import paths
from stages.plumbing.entry import run


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    params = load_params(paths.PARAMS)
    cfg, folds, tasks = params.ensemble, list(params.train.folds), list(params.train.tasks)
    device = stage_device(params)
    table, crops = paths.read_crops("train")
    person_folds = paths.read_folds()
    fold_of = fold_of_rows(table["person"], person_folds)
    rows = [np.flatnonzero(fold_of == fold) for fold in folds]
    members = [{task: str(paths.model_dir(fold, task) / "model.pt") for task in tasks} for fold in folds]
    loaded = load_members(members, device)
    probs = out_of_fold_probs(loaded, rows, crops, cfg.batch_size, device, cfg.tta,
                              resolve_workers("auto", device))

    # Only the trained folds' persons have out-of-fold predictions (all of them with the default folds).
    scored = np.concatenate(rows)
    labels = competition_labels(table)  # the competition's age bands, not the ones trained on
    decision, decided, per_fold = fit_decision(cfg.decision, labels[scored], probs[scored], fold_of[scored])
    predicted = np.full(len(table), -1)
    predicted[scored] = decided  # honest: each fold's rows by the rule fit on the other folds
    metrics, per_class, predictions, _ = oof_report(labels[scored], probs[scored], decided,
                                                    table["path"].to_numpy()[scored])
    metrics["f1_argmax"] = macro_f1(labels[scored], probs[scored].argmax(1))
    metrics["folds"] = {str(fold): score(labels[r], predicted[r])["f1"] for fold, r in zip(folds, rows)}
    metrics["images"] = int(len(scored))
    write_json(paths.METRICS / "cv.json", metrics)
    write_csv(paths.PLOTS / "per_class_f1.csv", per_class)
    write_csv(paths.PLOTS / "oof_confusion.csv", predictions[["actual", "predicted"]])  # small: git keeps it
    write_csv(paths.ENSEMBLE / "oof_predictions.csv", predictions)
    write_error_analysis(paths.ENSEMBLE, predictions, table["person"].to_numpy()[scored], scored, crops,
                         cfg.error_analysis_top, COMPETITION_AGE_BINS)
    write_npy(paths.ENSEMBLE / "oof_probs.npy", probs)
    write_json(paths.ENSEMBLE_MEMBERS, {"members": members, "folds": list(folds),
                                        "fold_f1": [metrics["folds"][str(fold)] for fold in folds],
                                        "tta": list(cfg.tta), "decision": decision})
    print(f"ensemble: out-of-fold macro F1 {metrics['f1']:.4f}, accuracy {metrics['accuracy']:.4f} over "
          f"{len(scored)} images of folds {folds}, models {tasks} (tta {list(cfg.tta) or 'none'}); "
          f"per-head F1 mask {metrics['f1_mask']:.3f} gender {metrics['f1_gender']:.3f} age {metrics['f1_age']:.3f}")
    if decision["rule"] != "argmax":
        print(f"ensemble: decision {decision['rule']}: age-band offsets {decision['age_offsets']} on the log "
              f"probabilities (fit on every out-of-fold row; per fold, fit on the others: {per_fold}); "
              f"out-of-fold macro F1 {metrics['f1']:.4f} with them, {metrics['f1_argmax']:.4f} by argmax")


if __name__ == "__main__":
    run(main)

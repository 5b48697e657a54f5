"""Soft voting over fold models: out-of-fold estimates and eval-set probabilities."""
import numpy as np
import pandas as pd

from src.inference import predict_probs
from src.labels import NUM_CLASSES, class_name
from src.metrics import confusion, per_class_f1, score
from src.training import load_fold_model
from src.transforms import build_transform


def load_fold_models(model_files, device):
    """[(model, checkpoint)] for each file; all must share the input normalisation."""
    loaded = [load_fold_model(path, device) for path in model_files]
    norms = {(tuple(c["mean"]), tuple(c["std"])) for _, c in loaded}
    if len(norms) > 1:
        raise ValueError(f"fold models disagree on input normalisation: {sorted(norms)}")
    return loaded


def eval_transform(checkpoint):
    return build_transform([], checkpoint["mean"], checkpoint["std"], train=False)


def out_of_fold_probs(loaded, fold_rows, crops, batch_size, device, tta):
    """Each fold's model predicts only its own validation rows. Returns N_rows x C with NaN rows
    for images of folds not given (so a partial fold list is visible, never silently scored)."""
    probs = np.full((len(crops), NUM_CLASSES), np.nan, dtype=np.float32)
    for (model, checkpoint), rows in zip(loaded, fold_rows):
        probs[rows] = predict_probs(model, crops[rows], eval_transform(checkpoint), batch_size, device, tta)
    return probs


def soft_vote(loaded, crops, batch_size, device, tta):
    models = [model for model, _ in loaded]
    return predict_probs(models, crops, eval_transform(loaded[0][1]), batch_size, device, tta)


def oof_report(labels, probs, paths):
    """Metrics block, per-class F1 table and per-image prediction table of the out-of-fold probs."""
    predicted = probs.argmax(1)
    metrics = score(labels, predicted)
    f1s = per_class_f1(labels, predicted)
    per_class = pd.DataFrame({"class": range(NUM_CLASSES), "name": [class_name(c) for c in range(NUM_CLASSES)],
                              "support": np.bincount(labels, minlength=NUM_CLASSES), "f1": np.round(f1s, 4)})
    predictions = pd.DataFrame({"path": paths, "actual": labels, "predicted": predicted,
                                "confidence": np.round(probs.max(1), 4),
                                "p_actual": np.round(probs[np.arange(len(labels)), labels], 4)})
    return metrics, per_class, predictions, confusion(labels, predicted)

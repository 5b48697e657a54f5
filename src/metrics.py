"""Scores used everywhere: macro F1 over the 18 classes (the competition metric) and accuracy."""
import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from src.labels import NUM_CLASSES, decode_class


def macro_f1(y_true, y_pred, num_classes=NUM_CLASSES):
    # Fixed label list: a class absent from a small fold still counts (as 0 when predicted wrongly).
    return float(f1_score(y_true, y_pred, labels=list(range(num_classes)), average="macro", zero_division=0))


def accuracy(y_true, y_pred):
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def per_class_f1(y_true, y_pred, num_classes=NUM_CLASSES):
    return f1_score(y_true, y_pred, labels=list(range(num_classes)), average=None, zero_division=0)


def head_f1(y_true, y_pred):
    """Macro F1 of each attribute (mask, gender, age) read off the 18-class labels: where the errors are."""
    true_parts, pred_parts = decode_class(np.asarray(y_true)), decode_class(np.asarray(y_pred))
    return {
        name: macro_f1(t, p, num_classes=n)
        for name, t, p, n in zip(("mask", "gender", "age"), true_parts, pred_parts, (3, 2, 3))
    }


def score(y_true, y_pred):
    """The standard metrics block every stage reports."""
    return {"f1": macro_f1(y_true, y_pred), "accuracy": accuracy(y_true, y_pred),
            **{f"f1_{k}": v for k, v in head_f1(y_true, y_pred).items()}}


def confusion(y_true, y_pred, num_classes=NUM_CLASSES):
    return confusion_matrix(y_true, y_pred, labels=list(range(num_classes)))

"""What one model predicts: `all` 18 classes, or one attribute (mask 3, gender 2, age 3).

train.tasks is [all] (one 18-class model per fold) or [mask, gender, age] (three models per fold,
one train stage per (fold, task)); the ensemble stage combines a fold's three task models into
18-class probabilities (src.inference.ensemble.combine_task_probs),
p(class) = p_mask(m) * p_gender(g) * p_age(a), the same product the multi-head model forms from its heads
(src.models.heads.combine_heads). Callers always pass the 18-class labels; train_model reads the task's labels off them with task_labels.
"""
import numpy as np

from src.labels.classes import ATTRIBUTES, NUM_CLASSES, decode_class
from src.labels.metrics import accuracy, macro_f1, score

TASK_CLASSES = {"all": NUM_CLASSES, **ATTRIBUTES}
SEPARATE = list(ATTRIBUTES)  # [mask, gender, age]: the attribute order of decode_class


def check_tasks(tasks):
    if tasks == ["all"] or sorted(tasks) == sorted(SEPARATE):
        return
    raise ValueError(f"train.tasks: {tasks!r}; expected [all] (one 18-class model per fold) or "
                     f"[mask, gender, age] (one model per attribute, combined into 18 classes by the ensemble)")


def num_classes(task):
    if task not in TASK_CLASSES:
        raise ValueError(f"task {task!r}: expected one of {list(TASK_CLASSES)}")
    return TASK_CLASSES[task]


def task_labels(labels, task):
    """18-class labels -> the task's labels (unchanged for `all`)."""
    labels = np.asarray(labels)
    if num_classes(task) == NUM_CLASSES:
        return labels
    return decode_class(labels)[SEPARATE.index(task)]


def task_score(truth, probs, task):
    """Metrics block of a model of `task`; truth: the task's labels (task_labels). f1 is the task's
    macro F1 (what selects the epoch); an 18-class model also gets per-head F1 (mask, gender, age)."""
    predicted = np.asarray(probs).argmax(1)
    if task == "all":
        return score(truth, predicted)
    f1 = macro_f1(truth, predicted)
    return {"f1": f1, "accuracy": accuracy(truth, predicted), f"f1_{task}": f1}

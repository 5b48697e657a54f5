"""Where each stage reads and writes: the same paths dvc.yaml declares."""
from pathlib import Path

PARAMS = Path("params.yaml")
DATA = Path("data")
CROPS = Path("crops")
FOLDS = Path("folds")
MODELS = Path("models")
DVCLIVE = Path("dvclive")
ENSEMBLE = Path("ensemble")
SUBMISSION = Path("submission")
METRICS = Path("metrics")
TUNE = Path("tune")
CHECKPOINTS = Path("checkpoints")

TRAIN_CROPS, TRAIN_MANIFEST = CROPS / "train.npy", CROPS / "train.csv"
EVAL_CROPS, EVAL_MANIFEST = CROPS / "eval.npy", CROPS / "eval.csv"
PERSON_FOLDS = FOLDS / "person_folds.csv"
ENSEMBLE_MEMBERS = ENSEMBLE / "members.json"


def fold_dir(fold):
    return MODELS / f"fold_{fold}"


def fold_live_dir(fold):
    return DVCLIVE / f"fold_{fold}"

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
WEIGHTS = Path("weights")                # pretrained backbone weights (stages/weights.py)
# Scratch state, neither a result nor a DVC output: git- and DVC-ignored, never pushed or pulled.
SCRATCH = Path("scratch")
CHECKPOINTS = SCRATCH / "checkpoints"   # last-epoch checkpoints that resume a killed train stage
TUNE_RUNS = SCRATCH / "tune"            # Ray Tune's experiment folder (tune.resume continues it)
PLOTS = Path("plots")
PARAMS_CHECK = Path("checks") / "params.txt"

TRAIN_CROPS, TRAIN_MANIFEST = CROPS / "train.npy", CROPS / "train.csv"
EVAL_CROPS, EVAL_MANIFEST = CROPS / "eval.npy", CROPS / "eval.csv"
PERSON_FOLDS = FOLDS / "person_folds.csv"
ENSEMBLE_MEMBERS = ENSEMBLE / "members.json"


# One train stage per (fold, task): train@<fold>-<task> (dvc.yaml matrix). task: all | mask | gender | age.
def model_dir(fold, task):
    return MODELS / task / f"fold_{fold}"


def live_dir(fold, task):
    return DVCLIVE / task / f"fold_{fold}"


def checkpoint_file(fold, task):
    return CHECKPOINTS / task / f"fold_{fold}" / "last.pt"


def read_folds():
    """crops/train.csv and folds/person_folds.csv: (image table, person -> fold table)."""
    import pandas as pd

    from src.manifest import read_manifest
    return read_manifest(TRAIN_MANIFEST), pd.read_csv(PERSON_FOLDS, dtype={"person": str})

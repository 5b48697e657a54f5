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
STAGE_PARAMS = Path("checks") / "params"  # <stage>.json: the values of its params (stage_params.py)
DVC_YAML = Path("dvc.yaml")

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


# The stage that writes each output folder (dvc.yaml): how to get a broken or deleted file back.
PRODUCERS = {CROPS: "face_crop", FOLDS: "split", WEIGHTS: "weights", ENSEMBLE: "ensemble", SUBMISSION: "predict"}


def producer(path):
    """The stage whose output holds `path` (relative to the repository root), or None."""
    parts = Path(path).parts
    if len(parts) >= 3 and parts[0] == MODELS.name and parts[2].startswith("fold_"):
        return f"train@{parts[2].removeprefix('fold_')}-{parts[1]}"
    return next((stage for folder, stage in PRODUCERS.items() if parts[:1] == folder.parts), None)


def read_crops(kind):
    """(manifest, crops) of faceCrop's `kind` (train | eval) split, checked against each other."""
    from src.data.manifest import load_crops
    return load_crops(CROPS / f"{kind}.npy", CROPS / f"{kind}.csv")


def read_folds():
    """folds/person_folds.csv: the person -> fold table."""
    from src.data.folds import read_person_folds
    return read_person_folds(PERSON_FOLDS)

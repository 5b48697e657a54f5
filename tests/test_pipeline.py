"""The real `dvc repro` end to end on a tiny generated sample, in a temporary copy of the repo."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import json
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 1, "model": "resnet18", "batch_size": 16},
        "face_crop": {"size": [64, 48]}}


def run(args, cwd):
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "CI": "1"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def merge(base, override):
    for key, value in override.items():
        base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return base


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A copy of the repo's pipeline files with tiny params, a git repo of its own and a tiny sample."""
    ws = tmp_path_factory.mktemp("repo")
    for folder in ("src", "stages"):
        shutil.copytree(REPO / folder, ws / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvc/config", ".dvc/.gitignore", ".dvcignore"):
        (ws / name).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / name, ws / name)
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()), TINY)
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["git", "init", "-q"], ws)
    run(["git", "add", "-A"], ws)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline"], ws)
    run([sys.executable, "-m", "stages.make_sample", "--out", "data", "--persons", "12", "--eval-persons", "3"], ws)
    run(["dvc", "repro", "evaluate"], ws)
    return ws


def test_submission_has_every_eval_row_in_order(workspace):
    info = pd.read_csv(workspace / "data/eval/info.csv", dtype=str)
    submission = pd.read_csv(workspace / "submission/submission.csv", dtype={"ImageID": str})
    assert submission["ImageID"].tolist() == info["ImageID"].tolist()
    assert submission["ans"].between(0, 17).all() and len(submission) == 21


def test_no_person_crosses_folds(workspace):
    folds = pd.read_csv(workspace / "folds/person_folds.csv", dtype={"person": str})
    train = pd.read_csv(workspace / "crops/train.csv", dtype={"person": str})
    assert folds["person"].is_unique and set(folds["person"]) == set(train["person"])
    assert set(folds["fold"]) == {0, 1}


def test_metrics_files_hold_scores(workspace):
    cv = json.loads((workspace / "metrics/cv.json").read_text())
    evaluation = json.loads((workspace / "metrics/eval.json").read_text())
    crops = json.loads((workspace / "metrics/face_crop.json").read_text())
    assert 0 <= cv["f1"] <= 1 and set(cv["folds"]) == {"0", "1"} and cv["images"] == 84
    assert evaluation["labelled"] is True and evaluation["images"] == 21 and 0 <= evaluation["f1"] <= 1
    assert sum(crops["train"][s] for s in ("detected", "person", "prior", "center")) == crops["train"]["images"] == 84
    assert crops["train"]["detected"] > 0  # MTCNN really ran and found faces on the drawn photos
    for fold in (0, 1):
        live = json.loads((workspace / f"dvclive/fold_{fold}/metrics.json").read_text())
        assert 0 <= live["best"]["f1"] <= 1 and live["epochs_run"] == 1


def test_rerun_is_a_no_op_and_ensemble_param_touches_no_train_stage(workspace):
    assert "up to date" in run(["dvc", "repro", "evaluate"], workspace)
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["ensemble"]["tta"] = []
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["dvc", "repro", "evaluate"], workspace)
    assert "Running stage 'ensemble'" in out and "Running stage 'train@" not in out
    assert "Running stage 'face_crop'" not in out

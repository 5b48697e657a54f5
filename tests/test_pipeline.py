"""The real `dvc repro` end to end on a tiny generated sample, in a temporary copy of the repo."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from src.inference.decision import decide
from tests.helpers.workspace import TINY, make_sample, make_workspace, run, run_stage

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A copy of the repo's pipeline files with tiny params (and the macro_f1 decision rule), a git repo
    of its own and a tiny sample."""
    ws = make_workspace(tmp_path_factory.mktemp("repo"), {**TINY, "ensemble": {"decision": "macro_f1"}})
    make_sample(ws, persons=12, eval_persons=3)
    _first_run["log"] = run(["dvc", "repro", "evaluate"], ws)
    return ws


_first_run = {}


def test_every_stage_that_runs_torch_says_its_device(workspace):
    lines = [line for line in _first_run["log"].splitlines() if line.startswith("device: ")]
    # face_crop (MTCNN), train@0-all, train@1-all, ensemble, predict: one line each
    expected = "cuda:0 (" if torch.cuda.is_available() else "cpu (torch "
    assert len(lines) == 5 and all(line.startswith(f"device: {expected}") for line in lines), lines


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
        live = json.loads((workspace / f"dvclive/all/fold_{fold}/metrics.json").read_text())
        assert 0 <= live["best"]["f1"] <= 1 and live["epochs_run"] == 1


def test_submission_takes_the_decision_the_ensemble_fit(workspace):
    members = json.loads((workspace / "ensemble/members.json").read_text())
    assert members["decision"]["rule"] == "macro_f1" and len(members["decision"]["age_offsets"]) == 3
    probs = np.load(workspace / "submission/eval_probs.npy")
    submission = pd.read_csv(workspace / "submission/submission.csv")
    np.testing.assert_array_equal(submission["ans"], decide(members["decision"], probs))
    cv = json.loads((workspace / "metrics/cv.json").read_text())
    assert 0 <= cv["f1_argmax"] <= 1  # the plain argmax's CV beside the rule's


def test_rerun_is_a_no_op_and_ensemble_param_touches_no_train_stage(workspace):
    assert "up to date" in run(["dvc", "repro", "evaluate"], workspace)
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["ensemble"]["tta"] = []
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["dvc", "repro", "evaluate"], workspace)
    assert "Running stage 'ensemble'" in out and "Running stage 'train@" not in out
    assert "Running stage 'face_crop'" not in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="a machine where torch can use no GPU")
def test_a_gpu_asked_for_where_none_is_usable_stops_in_check_params_in_one_line(workspace):
    before = (workspace / "params.yaml").read_text()
    (workspace / "params.yaml").write_text(before.replace("\ndevice: auto\n", "\ndevice: cuda\n"))
    try:
        done = run_stage(["dvc", "repro", "evaluate"], workspace)
    finally:
        (workspace / "params.yaml").write_text(before)
    out = done.stdout + done.stderr
    assert done.returncode != 0 and "Traceback" not in out
    assert "check_params: device: 'cuda' asked for, but " in out and "; use device: auto or cpu" in out
    assert "Running stage 'face_crop'" not in out and "Running stage 'train@" not in out


def test_separate_task_models_run_as_a_matrix_and_combine(workspace):
    """Last in this module: switches the workspace to train.tasks [mask, gender, age]."""
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["train"]["tasks"] = ["mask", "gender", "age"]
    params["train"]["heads"] = "single"  # heads multi is the one 18-class model's
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["dvc", "repro", "evaluate"], workspace)
    for fold in (0, 1):
        for task in ("mask", "gender", "age"):
            assert f"Running stage 'train@{fold}-{task}'" in out
            live = json.loads((workspace / f"dvclive/{task}/fold_{fold}/metrics.json").read_text())
            assert live["best"]["f1"] == live["best"][f"f1_{task}"]
    assert "Running stage 'face_crop'" not in out and "Running stage 'split'" not in out
    members = json.loads((workspace / "ensemble/members.json").read_text())
    assert members["members"] == [{t: f"models/{t}/fold_{k}/model.pt" for t in ("mask", "gender", "age")}
                                  for k in (0, 1)]
    cv = json.loads((workspace / "metrics/cv.json").read_text())
    assert cv["images"] == 84 and 0 <= cv["f1"] <= 1 and {"f1_mask", "f1_gender", "f1_age"} <= set(cv)
    submission = pd.read_csv(workspace / "submission/submission.csv")
    assert len(submission) == 21 and submission["ans"].between(0, 17).all()

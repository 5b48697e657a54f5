"""A broken file between stages, or a bad params.yaml, fails the stage that reads it with one line naming the
file, what is wrong and how to get it back: run through the real stage scripts of a finished tiny run."""
import json
import re
import shutil

import numpy as np
import pytest
import torch

from tests.helpers.workspace import reference_run, run, run_stage

pytestmark = pytest.mark.pipeline

ROWS = 12 * 7  # the reference run's train crops


def hint(stage):
    return (f" (an output of {stage}: `dvc checkout --force {stage}` restores it from the cache, "
            f"`dvc repro -f {stage}` rebuilds it)")


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A copy of the reference run's workspace (the whole pipeline ran; its DVC cache holds every output)."""
    reference, _ = reference_run(tmp_path_factory)
    ws = tmp_path_factory.mktemp("broken") / "repo"
    shutil.copytree(reference, ws, symlinks=True)
    return ws


@pytest.fixture
def ws(finished):
    return finished


@pytest.fixture
def replace(finished):
    """replace(name, content): put `content` (None: nothing) where a file or folder of the finished run
    was; everything is put back after the test. Never edited in place: DVC may link the file to its cache."""
    saved = {}

    def replace(name, content=None):
        path = finished / name
        if path.is_dir():
            saved[name] = ("dir", finished.parent / f"saved-{path.name}")
            shutil.move(path, saved[name][1])
            return
        saved.setdefault(name, ("file", path.read_bytes() if path.exists() else None))
        path.unlink(missing_ok=True)
        if content is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)

    yield replace
    for name, (kind, old) in saved.items():
        path = finished / name
        if kind == "dir":
            shutil.rmtree(path, ignore_errors=True)
            shutil.move(old, path)
        else:
            path.unlink(missing_ok=True)
            if old is not None:
                path.write_bytes(old)


# Where a message quotes the library's own reason (numpy, pandas, torch, json, PyYAML), in parentheses: its
# wording is the library's and changes with its releases; the rest of the line is the project's promise.
LIBRARY = "<the library's reason>"


def fails_with(ws, stage, message):
    """Run `python -m stages.<stage>`; it must fail with exactly `message` as its last line, no traceback
    (LIBRARY in `message` stands for any non-empty text)."""
    done = run_stage(["python", "-m", f"stages.{stage[0]}", *stage[1:]], ws)
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    last = done.stderr.strip().splitlines()[-1]
    assert re.fullmatch(".+".join(re.escape(part) for part in message.split(LIBRARY)), last), \
        f"expected: {message}\ngot:      {last}"


def npy_bytes(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


TRAIN = ("train", "--fold", "0", "--task", "all")
TRAIN_NAME = "train --fold 0 --task all"


# --- crops ------------------------------------------------------------------------------------


def test_truncated_crops(ws, replace):
    whole = (ws / "crops/train.npy").read_bytes()
    replace("crops/train.npy", whole[: len(whole) // 2])
    fails_with(ws, TRAIN, f"{TRAIN_NAME}: crops/train.npy: not a readable crop array, truncated or overwritten "
                          f"({LIBRARY})" + hint("face_crop"))


def test_crops_of_another_shape(ws, replace):
    replace("crops/train.npy", npy_bytes(np.zeros((ROWS, 32, 24), np.uint8)))
    fails_with(ws, ("ensemble",), f"ensemble: crops/train.npy: expected N x height x width x 3 uint8 crops, "
                                  f"got uint8 {ROWS} x 32 x 24" + hint("face_crop"))


def test_crops_and_manifest_row_counts_differ(ws, replace):
    crops = np.load(ws / "crops/train.npy")
    replace("crops/train.npy", npy_bytes(crops[:-1]))
    fails_with(ws, TRAIN, f"{TRAIN_NAME}: crops/train.npy: holds {ROWS - 1} crops but crops/train.csv lists {ROWS}: "
                          f"the two files are from different faceCrop runs" + hint("face_crop"))


def test_empty_manifest(ws, replace):
    replace("crops/eval.csv", b"")
    fails_with(ws, ("predict",), f"predict: crops/eval.csv: not a readable crop manifest ({LIBRARY})"
               + hint("face_crop"))


def test_crops_folder_deleted_by_hand(ws, replace):
    replace("crops")
    fails_with(ws, TRAIN, f"{TRAIN_NAME}: crops/train.csv: missing" + hint("face_crop"))


def test_folds_folder_deleted_by_hand(ws, replace):
    replace("folds")
    fails_with(ws, TRAIN, f"{TRAIN_NAME}: folds/person_folds.csv: missing" + hint("split"))


# --- models and the ensemble's member list ----------------------------------------------------


def test_missing_model(ws, replace):
    replace("models/all/fold_1/model.pt")
    fails_with(ws, ("ensemble",), "ensemble: models/all/fold_1/model.pt: missing" + hint("train@1-all"))


def test_truncated_model(ws, replace):
    whole = (ws / "models/all/fold_1/model.pt").read_bytes()
    replace("models/all/fold_1/model.pt", whole[: len(whole) // 2])
    fails_with(ws, ("ensemble",), f"ensemble: models/all/fold_1/model.pt: not a readable model file, truncated or "
                                  f"overwritten ({LIBRARY})" + hint("train@1-all"))


def saved_model(checkpoint):
    import io

    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    return buffer.getvalue()


def test_model_of_another_task(ws, replace):
    checkpoint = torch.load(ws / "models/all/fold_0/model.pt", weights_only=True)
    replace("models/all/fold_0/model.pt", saved_model({**checkpoint, "task": "mask", "num_classes": 3}))
    fails_with(ws, ("ensemble",), "ensemble: models/all/fold_0/model.pt: holds the 'mask' model (3 classes); "
                                  "expected the 'all' model (18 classes)" + hint("train@0-all"))


def test_model_of_another_class_count(ws, replace):
    checkpoint = torch.load(ws / "models/all/fold_0/model.pt", weights_only=True)
    replace("models/all/fold_0/model.pt", saved_model({**checkpoint, "num_classes": 10}))
    fails_with(ws, ("ensemble",), "ensemble: models/all/fold_0/model.pt: holds the 'all' model with 10 classes; "
                                  "that model has 18" + hint("train@0-all"))


def test_model_with_weights_of_another_network(ws, replace):
    checkpoint = torch.load(ws / "models/all/fold_0/model.pt", weights_only=True)
    classifier = ("net.classifier.", "net.heads.")  # heads single / multi
    state = {k: v for k, v in checkpoint["state_dict"].items() if not k.startswith(classifier)}
    replace("models/all/fold_0/model.pt", saved_model({**checkpoint, "state_dict": state}))
    fails_with(ws, ("ensemble",), f"ensemble: models/all/fold_0/model.pt: its weights do not fit a "
                                  f"mobilenetv3_small_050 'all' model of 18 classes ({LIBRARY})" + hint("train@0-all"))


def test_member_list_naming_a_model_that_is_not_there(ws, replace):
    replace("models/all/fold_1/model.pt")
    fails_with(ws, ("predict",), "predict: models/all/fold_1/model.pt: missing, listed in ensemble/members.json"
               + hint("train@1-all"))


def test_member_list_that_is_not_json(ws, replace):
    replace("ensemble/members.json", b'{"members": [')
    fails_with(ws, ("predict",), f"predict: ensemble/members.json: not valid JSON ({LIBRARY})" + hint("ensemble"))


def test_submission_with_a_label_that_is_not_a_class(ws, replace):
    ids = (ws / "data/eval/info.csv").read_text().splitlines()[1:]
    truth = "ImageID,ans\n" + "".join(f"{row.split(',')[0]},0\n" for row in ids)
    replace("data/sample_truth/eval_labels.csv", truth.encode())  # the reference data has no true labels
    lines = (ws / "submission/submission.csv").read_text().splitlines()
    lines[3] = lines[3].split(",")[0] + ",x"
    replace("submission/submission.csv", ("\n".join(lines) + "\n").encode())
    fails_with(ws, ("evaluate",), "evaluate: submission/submission.csv: row 4: ans 'x' is not a class 0..17"
               + hint("predict"))


# --- params.yaml ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, message", [
    ("seed: 42\ntrain:\n  lr: 0.1\n   epochs: 3\n",
     f"params.yaml: line 4, column 10: not valid YAML ({LIBRARY}); `git diff params.yaml` shows the edits"),
    ("seed: 42\ntrain:\n  folds: [0, 1\n",
     f"params.yaml: line 4, column 1: not valid YAML ({LIBRARY} that starts at line 3); "
     "`git diff params.yaml` shows the edits"),
    ("", "params.yaml: empty; expected the blocks seed, data, face_crop, split, train, ... "
         "(`git checkout params.yaml` restores the committed one)"),
    ("- seed\n- train\n", "params.yaml: expected a mapping of stage blocks, got list"),
    (None, "params.yaml: params file not found (run from the repository root, where params.yaml is)"),
])
def test_bad_params_file(ws, replace, text, message):
    replace("params.yaml", None if text is None else text.encode())
    fails_with(ws, ("check_params",), f"check_params: {message}")
    fails_with(ws, ("split",), f"split: {message}")


# --- the way back the messages give ------------------------------------------------------------


def test_the_recovery_the_message_gives_restores_the_file(ws, replace):
    whole = (ws / "crops/train.npy").read_bytes()
    replace("crops/train.npy", whole[:1000])
    assert {"changed outs": {"crops": "modified"}} in dvc_status(ws, "face_crop").get("face_crop", [])
    run(["dvc", "checkout", "--force", "face_crop"], ws)
    assert (ws / "crops/train.npy").read_bytes() == whole
    json.loads((ws / "metrics/face_crop.json").read_text())
    assert dvc_status(ws, "face_crop") == {}  # up to date


def dvc_status(ws, stage):
    """`dvc status <stage> --json`: DVC's machine-readable status ({} when up to date), not its wording."""
    done = run_stage(["dvc", "status", stage, "--json"], ws)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)

"""A user's repo made from this project, in which tests run the real stages and `dvc repro`.

    ws = make_workspace(tmp_path, {"train": {"epochs": 1}})   # the project's git files, params, own git
    make_sample(ws, persons=12, eval_persons=3)                # or write data/ with tests/helpers/fake_layout.py
    run(["dvc", "repro", "evaluate"], ws)                      # asserts exit 0, returns stdout + stderr
    done = run_stage(["python", "-m", "stages.face_crop"], ws)  # CompletedProcess, any exit code
"""
import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from src.models.backbone_weights import PACKAGED_MODELS
from tests.helpers import REPO

# Tiny params for a whole `dvc repro evaluate` in seconds on CPU.
TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 1, "model": "resnet18", "batch_size": 16},
        "face_crop": {"size": [64, 48]}}


def env(extra=None):
    """The test's environment with the venv's bin/ (dvc, python) first on PATH; one torch thread
    unless OMP_NUM_THREADS is set (tiny models on shared CPUs run faster without thread sync)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {"OMP_NUM_THREADS": "1", **os.environ, "PATH": path, "CI": "1", **(extra or {})}


def run_stage(args, cwd, extra_env=None, timeout=600):
    """Run a command in cwd; 'python' means the test's interpreter. Returns the CompletedProcess."""
    args = [sys.executable if arg == "python" else arg for arg in args]
    return subprocess.run(args, cwd=cwd, env=env(extra_env), capture_output=True, text=True, timeout=timeout)


def run(args, cwd, extra_env=None):
    done = run_stage(args, cwd, extra_env)
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout + done.stderr


def merge(base, override):
    for key, value in override.items():
        base[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return base


def write_params(ws, overrides):
    """params.yaml = the repo's params.yaml with overrides merged in (nested dicts merge, rest replaces).
    An overriding train.model without packaged ImageNet weights (the tiny test models) gets
    train.pretrained none and train.frozen_stages 0 (nothing pretrained to keep) unless the overrides say
    otherwise."""
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()), copy.deepcopy(overrides))
    train = overrides.get("train", {})
    if "model" in train and "pretrained" not in train and train["model"] not in PACKAGED_MODELS:
        params["train"]["pretrained"] = "none"
    if params["train"]["pretrained"] == "none" and "frozen_stages" not in train:
        params["train"]["frozen_stages"] = 0
    (Path(ws) / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


# The committed run's results: a workspace with other params starts without them, as a new project would.
RUN_RESULTS = ("dvc.lock", "checks/", "metrics/", "plots/", "dvclive/", "tune/")


def project_files(repo=REPO):
    """The project's files as a clone of its working tree holds them: tracked or untracked-but-not-ignored
    (uncommitted edits included), never what .gitignore keeps out (.venv, data, caches); without RUN_RESULTS."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo,
                            capture_output=True, text=True, check=True).stdout.split("\0")
    return [name for name in listed if name and (repo / name).is_file() and not name.startswith(RUN_RESULTS)]


def make_workspace(ws, overrides=TINY, git=True):
    """A user's repo: the project's own files (its .gitignore, .dvcignore, dvc.yaml, data.dvc, Makefile...)
    with params overridden, committed in a git repo of its own unless git=False."""
    ws = Path(ws)
    for name in project_files():
        (ws / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, ws / name)
    write_params(ws, overrides)
    if git:
        git_commit(ws, "pipeline", init=True)
    return ws


def git_commit(ws, message, init=False):
    if init:
        run(["git", "init", "-q"], ws)
    run(["git", "add", "-A"], ws)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", message], ws)


def make_sample(ws, persons=12, eval_persons=3):
    """A small synthetic sample in data/, tracked by `dvc add` as a user's own data would be."""
    run(["python", "-m", "stages.make_sample", "--out", "data", "--persons", str(persons),
         "--eval-persons", str(eval_persons)], ws)
    run(["dvc", "add", "-q", "data"], ws)


# The run that test_determinism and test_interruption both compare against: built once per session.
REFERENCE = {"split": {"k": 2},
             "train": {"folds": [0, 1], "epochs": 4, "patience": 4, "model": "mobilenetv3_small_050", "batch_size": 8},
             "face_crop": {"size": [32, 24], "detector": "center"}}
_reference = {}


def reference_data(data_dir, size=None):
    """12 persons (2 of each gender x age band: enough for 2 stratified folds) and 4 eval photos,
    written with tests/helpers/fake_layout.py; size (width, height) defaults to fake_layout.SIZE."""
    from tests.helpers.fake_layout import SIZE, make_eval_layout, make_train_layout

    persons = [(f"{i:06d}", ("female", "male")[i % 2], "Asian", (22, 45, 61)[i % 3]) for i in range(1, 13)]
    make_train_layout(data_dir, persons, size=size or SIZE)
    make_eval_layout(data_dir, count=4, size=size or SIZE)


def reference_workspace(ws):
    ws = make_workspace(ws, REFERENCE)
    reference_data(ws / "data")
    return ws


def reference_run(tmp_path_factory):
    """(workspace, dvc output) of one uninterrupted `dvc repro evaluate` with REFERENCE params."""
    if not _reference:
        ws = reference_workspace(tmp_path_factory.mktemp("reference") / "repo")
        _reference["run"] = ws, run(["dvc", "repro", "evaluate"], ws)
    return _reference["run"]

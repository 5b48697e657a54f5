"""A temporary copy of the repo's pipeline, in which tests run the real stages and `dvc repro`.

    ws = make_workspace(tmp_path, {"train": {"epochs": 1}})   # src/, stages/, dvc.yaml, params, own git
    make_sample(ws, persons=12, eval_persons=3)                # or write data/ with tests/fake_layout.py
    run(["dvc", "repro", "evaluate"], ws)                      # asserts exit 0, returns stdout + stderr
    done = run_stage(["python", "-m", "stages.face_crop"], ws)  # CompletedProcess, any exit code
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
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
    """params.yaml = the repo's params.yaml with overrides merged in (nested dicts merge, rest replaces)."""
    params = merge(yaml.safe_load((REPO / "params.yaml").read_text()), overrides)
    (Path(ws) / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return params


def make_workspace(ws, overrides=TINY, git=True):
    """Copy the pipeline files into ws with params overridden; a git repo of its own unless git=False."""
    ws = Path(ws)
    ws.mkdir(parents=True, exist_ok=True)
    for folder in ("src", "stages"):
        shutil.copytree(REPO / folder, ws / folder, ignore=shutil.ignore_patterns("__pycache__"))
    # Top-level csv files are inputs params name (data.relabel: relabel.csv).
    for name in ("dvc.yaml", ".dvc/config", ".dvc/.gitignore", ".dvcignore", *(p.name for p in REPO.glob("*.csv"))):
        (ws / name).parent.mkdir(exist_ok=True)
        shutil.copy(REPO / name, ws / name)
    write_params(ws, overrides)
    if git:
        run(["git", "init", "-q"], ws)
        run(["git", "add", "-A"], ws)
        run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "pipeline"], ws)
    return ws


def make_sample(ws, persons=12, eval_persons=3):
    run(["python", "-m", "stages.make_sample", "--out", "data", "--persons", str(persons),
         "--eval-persons", str(eval_persons)], ws)


# The run that test_determinism and test_interruption both compare against: built once per session.
REFERENCE = {"split": {"k": 2},
             "train": {"folds": [0, 1], "epochs": 4, "patience": 4, "model": "mobilenetv3_small_050", "batch_size": 8},
             "face_crop": {"size": [32, 24], "detector": "center"}}
_reference = {}


def reference_data(data_dir, size=None):
    """12 persons (2 of each gender x age band: enough for 2 stratified folds) and 4 eval photos,
    written with tests/fake_layout.py; size (width, height) defaults to fake_layout.SIZE."""
    from tests.fake_layout import SIZE, make_eval_layout, make_train_layout

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

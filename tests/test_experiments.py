"""The README's experiment section, run as written in a user's repo (tests/helpers/workspace.py) with tiny
params: a committed baseline, two `dvc exp run -S ... evaluate`, the comparisons (`dvc exp show`,
`dvc metrics diff`, `dvc params diff`, `dvc plots diff`), a queued pair run by `dvc queue start -j 2`,
`dvc exp apply` + commit; then a teammate's push, clone and pull: nothing to reproduce.
Also: a key no stage reads fails the run, naming the key meant."""
import json
import time

import pytest

from tests.helpers.workspace import git_commit, make_sample, make_workspace, run, run_stage

pytestmark = pytest.mark.system

# The baseline's lr and tta are set here, not taken from params.yaml: the experiments below change them.
BASE_LR, BASE_TTA = 0.002, ["hflip"]
TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 2, "model": "mobilenetv3_small_050",
                                     "batch_size": 16, "lr": BASE_LR},
        "face_crop": {"size": [32, 24], "detector": "center"},
        "ensemble": {"error_analysis_top": 5, "tta": BASE_TTA}}
QUEUE_TIMEOUT_S = 600
CV, EVAL = "metrics/cv.json", "metrics/eval.json"


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("experiments") / "repo", TINY)
    make_sample(ws, persons=12, eval_persons=2)
    run(["dvc", "repro", "evaluate"], ws)
    git_commit(ws, "baseline")
    return ws


def exp_table(ws):
    """{'workspace' | 'commit' | experiment name: {metrics file: its values}} from `dvc exp show --json`."""
    table = {}
    for commit in run_json(["dvc", "exp", "show", "--json"], ws):
        entries = [("workspace" if commit["rev"] == "workspace" else "commit", commit)] + [
            (exp["name"], exp["revs"][0]) for exp in commit.get("experiments") or []]
        for name, entry in entries:
            files = ((entry.get("data") or {}).get("metrics")) or {}
            table[name] = {path: (data.get("data") or {}) for path, data in files.items()}
    return table


def run_json(args, ws):
    done = run_stage(args, ws)
    assert done.returncode == 0, f"{args}: {done.stderr[-2000:]}"
    return json.loads(done.stdout)


def f1s(table, name):
    return table[name][CV]["f1"], table[name][EVAL]["f1"]


def wait_for_queue(ws, timeout=QUEUE_TIMEOUT_S):
    """`dvc queue status` once nothing is queued or running; fails when that takes over `timeout` s."""
    deadline = time.time() + timeout
    while True:
        status = run(["dvc", "queue", "status"], ws)
        if "Queued" not in status and "Running" not in status:
            return status
        if time.time() > deadline:
            pytest.fail(f"the queue was not done after {timeout} s (`dvc queue start -j 2`):\n{status}")
        time.sleep(5)


def test_readme_experiments_then_a_teammates_clone(repo, tmp_path):
    ws = repo
    run(["dvc", "exp", "run", "-n", "lr-high", "-S", "train.lr=0.01", "evaluate"], ws)
    run(["dvc", "exp", "run", "-n", "no-tta", "-S", "ensemble.tta=[]", "evaluate"], ws)

    table = exp_table(ws)
    assert sorted(table) == ["commit", "lr-high", "no-tta", "workspace"]
    for name in table:
        cv, ev = f1s(table, name)
        assert isinstance(cv, float) and isinstance(ev, float) and 0 <= cv <= 1 and 0 <= ev <= 1, (name, table[name])

    diff = run_json(["dvc", "metrics", "diff", "--json"], ws)  # workspace (no-tta) vs the commit
    # Only changed values are listed (tiny models may score the same F1): the training curves changed.
    changed = [(path, key) for path, values in diff.items() for key, value in values.items() if value.get("diff")]
    assert ("dvclive/all/fold_0/metrics.json", "train.loss") in changed, diff
    params = run_json(["dvc", "params", "diff", "--json"], ws)["params.yaml"]
    assert (params["train.lr"]["old"], params["train.lr"]["new"]) == (BASE_LR, 0.01)
    assert params["ensemble.tta"] == {"old": str(BASE_TTA), "new": "[]"}

    plots = run_json(["dvc", "plots", "diff", "HEAD", "lr-high", "--json"], ws)
    for name in ("Per-class F1 (out-of-fold)", "Confusion matrix (out-of-fold)", "dvclive/all/fold_0/plots/metrics/val/f1.tsv"):
        values = plots["data"][name][0]["content"]["data"]["values"]
        assert {datum["rev"] for datum in values} == {"HEAD", "lr-high"}, name
    missing = {error["source"] for error in plots.get("errors", [])}
    assert all(s.startswith("tune/") for s in missing), missing  # every trained fold's curves load; tune never ran
    run(["dvc", "plots", "diff", "HEAD", "lr-high", "-o", str(tmp_path / "plots")], ws)
    assert (tmp_path / "plots" / "index.html").stat().st_size > 1000

    run(["dvc", "exp", "run", "--queue", "-n", "q-lr", "-S", "train.lr=0.005", "evaluate"], ws)
    run(["dvc", "exp", "run", "--queue", "-n", "q-loss", "-S", "train.loss.name=focal", "evaluate"], ws)
    run(["dvc", "queue", "start", "-j", "2"], ws)
    status = wait_for_queue(ws)
    assert "Failed" not in status, status
    for name in ("q-lr", "q-loss"):
        assert [line for line in status.splitlines() if name in line and "Success" in line], (name, status)
    run(["dvc", "queue", "stop"], ws)
    table = exp_table(ws)
    for name in ("q-lr", "q-loss"):
        assert all(isinstance(v, float) for v in f1s(table, name)), table.get(name)

    run(["dvc", "exp", "apply", "lr-high"], ws)
    git_commit(ws, "lr 0.01")
    assert f1s(exp_table(ws), "commit") == f1s(table, "lr-high")
    assert run_json(["dvc", "status", "--with-deps", "evaluate", "--json"], ws) == {}  # up to date

    remote, clone = tmp_path / "remote", tmp_path / "clone"
    remote.mkdir()
    run(["dvc", "remote", "add", "--local", "-d", "shared", str(remote)], ws)
    run(["dvc", "push"], ws)
    run(["git", "clone", "-q", str(ws), str(clone)], tmp_path)
    run(["dvc", "remote", "add", "--local", "-d", "shared", str(remote)], clone)
    run(["dvc", "pull"], clone)
    assert run_json(["dvc", "status", "--with-deps", "evaluate", "--json"], clone) == {}
    # Plain `dvc status` adds only the on-demand tune stage, never run in this repo (no lock entry).
    assert list(run_json(["dvc", "status", "--json"], clone)) == ["tune"]
    assert "Running stage" not in run(["dvc", "repro", "evaluate"], clone)
    assert (clone / CV).read_text() == (ws / CV).read_text()


def test_a_key_no_stage_reads_fails_naming_the_key_meant(repo):
    done = run_stage(["dvc", "exp", "run", "-S", "+lr=0.001", "evaluate"], repo)
    assert done.returncode != 0
    assert "check_params: params.yaml: unknown key 'lr'; did you mean train.lr?" in done.stdout + done.stderr
    run(["git", "checkout", "params.yaml"], repo)


def test_a_param_named_size_reruns_its_stage_instead_of_reusing_another_runs_outputs(tmp_path):
    # DVC's run-cache key drops every key named `size` or `nfiles` (dvc.utils.dict_filter, meant for
    # output metadata), params included: without checks/params/<stage>.json, an experiment changing only
    # face_crop.size got the previous run's crops restored and recorded under the new size.
    ws = make_workspace(tmp_path / "repo", TINY)
    make_sample(ws, persons=8, eval_persons=1)
    run(["dvc", "repro", "face_crop"], ws)
    git_commit(ws, "crops at 32 x 24")
    run(["dvc", "exp", "run", "-n", "crops-40", "-S", "face_crop.size=[40,28]", "face_crop"], ws)
    import numpy as np
    assert np.load(ws / "crops" / "train.npy", mmap_mode="r").shape[1:] == (40, 28, 3)

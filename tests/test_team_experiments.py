"""A team's experiments, as the README's "Sharing with a team" gives them: Alice's repo (tests/helpers/
workspace.py, tiny params) with a bare git remote `origin` and a DVC remote in the committed .dvc/config;
her baseline run committed (dvc.lock, metrics, plots, dvclive) and pushed; an experiment `dvc exp push`ed.
Bob clones, `dvc exp pull`s it and sees it in `dvc exp show` with Alice's figures, applies it and gets her
files; Alice's `dvc gc -w` after pushing loses nothing the remote cannot give back."""
import json

import pytest

from tests.helpers.workspace import make_sample, make_workspace, run, run_stage

pytestmark = pytest.mark.system

TINY = {"split": {"k": 2}, "train": {"folds": [0, 1], "epochs": 1, "model": "mobilenetv3_small_050",
                                     "batch_size": 16},
        "face_crop": {"size": [32, 24], "detector": "center"}, "ensemble": {"error_analysis_top": 5}}
CV, SUBMISSION, EXP = "metrics/cv.json", "submission/submission.csv", "lr-high"
UP_TO_DATE = "Data and pipelines are up to date"


def git(args, cwd):
    return run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd)


def exp_show(ws):
    """{'commit' | experiment name: (train.lr, metrics/cv.json's values)} from `dvc exp show --json`."""
    done = run_stage(["dvc", "exp", "show", "--json"], ws)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {}
    for commit in json.loads(done.stdout):
        if commit["rev"] == "workspace":
            continue
        entries = [("commit", commit)] + [(exp["name"], exp["revs"][0]) for exp in commit.get("experiments") or []]
        for name, entry in entries:
            data = entry.get("data") or {}
            lr = data["params"]["params.yaml"]["data"]["train"]["lr"]
            rows[name] = lr, data["metrics"][CV]["data"]
    return rows


def test_an_experiment_pushed_by_one_clone_is_pulled_shown_and_applied_in_another(tmp_path):
    origin, store = tmp_path / "origin.git", tmp_path / "dvc-store"
    run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], tmp_path)
    alice = make_workspace(tmp_path / "alice", TINY)
    git(["branch", "-M", "main"], alice)
    git(["remote", "add", "origin", str(origin)], alice)

    # The order for real data: remote first (committed, so every clone has it), then data, then the run.
    run(["dvc", "remote", "add", "-d", "team", str(store)], alice)
    git(["add", ".dvc/config"], alice)
    git(["commit", "-qm", "DVC remote team"], alice)
    make_sample(alice, persons=12, eval_persons=2)  # ends with `dvc add data`
    git(["add", "data.dvc"], alice)
    git(["commit", "-qm", "data"], alice)
    run(["dvc", "repro", "evaluate"], alice)
    git(["add", "-A"], alice)
    git(["commit", "-qm", "baseline"], alice)
    committed = run(["git", "show", "--name-only", "--format=", "HEAD"], alice).split()
    assert {"dvc.lock", CV, "metrics/eval.json", "plots/per_class_f1.csv", "dvclive/all/fold_0/metrics.json"} <= set(committed)
    run(["dvc", "push"], alice)
    git(["push", "-q", "-u", "origin", "main"], alice)

    run(["dvc", "exp", "run", "-n", EXP, "-S", "train.lr=0.01", "evaluate"], alice)
    pushed = run(["dvc", "exp", "push", "origin", EXP], alice)
    assert "Pushed experiment" in pushed and EXP in pushed, pushed
    assert "refs/exps/" in run(["git", "ls-remote", str(origin)], tmp_path)
    in_alice = exp_show(alice)
    assert in_alice[EXP][0] == 0.01 and in_alice["commit"][0] == 0.002
    exp_submission = (alice / SUBMISSION).read_bytes()  # `dvc exp run` leaves the experiment's files in place

    bob = tmp_path / "bob"
    run(["git", "clone", "-q", str(origin), str(bob)], tmp_path)
    assert EXP not in exp_show(bob)
    pulled = run(["dvc", "exp", "pull", "origin", EXP], bob)
    assert "Pulled experiment" in pulled and EXP in pulled, pulled
    in_bob = exp_show(bob)
    assert in_bob == in_alice  # the committed baseline and the experiment, same params and CV figures
    assert isinstance(in_bob[EXP][1]["f1"], float)
    shown = run(["dvc", "exp", "show", "-A", "--csv"], bob)
    assert sum(line.startswith(f"{EXP},") for line in shown.splitlines()) == 1, shown

    run(["dvc", "exp", "apply", EXP], bob)  # `dvc exp pull` brought its cached outputs too
    assert (bob / SUBMISSION).read_bytes() == exp_submission
    assert json.loads((bob / CV).read_text()) == in_alice[EXP][1]
    assert UP_TO_DATE in run(["dvc", "status", "--with-deps", "evaluate"], bob)

    # Alice keeps only her workspace's cache: safe, since the baseline and the experiment are on the remote.
    run(["dvc", "gc", "-w", "-f"], alice)
    git(["reset", "-q", "--hard"], alice)  # back to the committed baseline, whose models gc just dropped
    assert run_stage(["dvc", "checkout"], alice).returncode != 0
    run(["dvc", "pull"], alice)
    assert UP_TO_DATE in run(["dvc", "status", "--with-deps", "evaluate"], alice)
    assert json.loads((alice / CV).read_text()) == in_alice["commit"][1]

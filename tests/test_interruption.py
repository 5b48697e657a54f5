"""A training run killed with SIGKILL resumes from its checkpoint to the result of an uninterrupted run,
and no file is ever seen half-written."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from src.common.atomic import atomic_path, write_json
from tests.helpers.workspace import REFERENCE, env, reference_run, run

pytestmark = pytest.mark.pipeline

EPOCHS = REFERENCE["train"]["epochs"]


def half_written_files(ws):
    return [str(p.relative_to(ws)) for p in ws.rglob("*") if not {".git", ".dvc"} & set(p.relative_to(ws).parts)
            and (".tmp-" in p.name or p.name.endswith(".partial"))]


def kill_after_first_epoch(ws, log_path):
    """Start `dvc repro train@0-all` in its own process group; SIGKILL the group once epoch 1 is saved."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen(["dvc", "repro", "--force", "--single-item", "train@0-all"], cwd=ws, env=env(),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 600
    # The stage prints an epoch's line after that epoch's checkpoint is written.
    while "fold 0 epoch 1/" not in log_path.read_text():
        assert proc.poll() is None, f"dvc repro train@0-all ended before epoch 1:\n{log_path.read_text()[-3000:]}"
        assert time.time() < deadline, "no epoch finished in time"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return log_path.read_text()


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    import shutil

    reference, _ = reference_run(tmp_path_factory)
    ws = tmp_path_factory.mktemp("interrupted") / "repo"
    shutil.copytree(reference, ws, symlinks=True)
    shutil.rmtree(ws / "scratch/checkpoints/all/fold_0")  # the reference's finished checkpoint would skip all epochs
    # A run that never finished before: without the reference's cache (its models and run cache, copied
    # with the workspace), DVC would check the finished outputs out again instead of training.
    shutil.rmtree(ws / ".dvc" / "cache")
    killed_log = kill_after_first_epoch(ws, ws.parent / "killed.log")
    import torch

    saved_epoch = torch.load(ws / "scratch/checkpoints/all/fold_0/last.pt", weights_only=True)["state"]["epoch"]
    out = run(["dvc", "repro", "evaluate"], ws)
    return reference, ws, killed_log, saved_epoch, out


def test_kill_landed_mid_run(resumed):
    _, ws, killed_log, saved_epoch, _ = resumed
    assert 1 <= saved_epoch < EPOCHS, f"killed too late (checkpoint at epoch {saved_epoch}):\n{killed_log}"
    assert f"fold 0 epoch {EPOCHS}/{EPOCHS}" not in killed_log


def test_rerun_resumes_from_the_saved_epoch(resumed):
    _, _, _, saved_epoch, out = resumed
    assert "Running stage 'train@0-all'" in out
    epoch_lines = [line for line in out.splitlines() if line.startswith("all fold 0 epoch ")]
    resumed_epochs = [line.split()[4].rstrip(":") for line in epoch_lines]  # "all fold 0 epoch 2/4: ..."
    assert resumed_epochs == [f"{e}/{EPOCHS}" for e in range(saved_epoch + 1, EPOCHS + 1)]


@pytest.mark.parametrize("output", ["models/all/fold_0/oof_probs.csv", "dvclive/all/fold_0/metrics.json",
                                    "dvclive/all/fold_0/plots/metrics/val/f1.tsv",
                                    "dvclive/all/fold_0/plots/metrics/train/loss.tsv", "submission/submission.csv"])
def test_resumed_run_ends_like_an_uninterrupted_one(resumed, output):
    reference, ws, *_ = resumed
    assert (ws / output).read_bytes() == (reference / output).read_bytes()


def test_resumed_model_weights_equal_the_uninterrupted_ones(resumed):
    import torch

    reference, ws, *_ = resumed
    ours, theirs = (torch.load(w / "models/all/fold_0/model.pt", weights_only=True) for w in (ws, reference))
    assert ours["epoch"] == theirs["epoch"] and ours["state_dict"].keys() == theirs["state_dict"].keys()
    assert all(torch.equal(ours["state_dict"][k], theirs["state_dict"][k]) for k in ours["state_dict"])


def test_no_half_written_file_is_left(resumed):
    _, ws, *_ = resumed
    assert half_written_files(ws) == []


def test_atomic_path_keeps_the_old_file_when_the_block_fails(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"f1": 0.5})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"f1": 0.')  # half of the new content
            raise RuntimeError("crash while writing")
    assert json.loads(target.read_text()) == {"f1": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_a_writer_killed_mid_write_leaves_the_old_file_and_its_temp_is_cleaned_later(tmp_path):
    target = tmp_path / "last.pt"
    target.write_bytes(b"old, complete")
    code = ("import os, signal, sys\nfrom src.common.atomic import atomic_path\n"
            "with atomic_path(sys.argv[1]) as tmp:\n"
            "    tmp.write_bytes(b'half of the new')\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", code, str(target)], cwd=os.getcwd(), env=env())
    assert done.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"old, complete"
    assert len(list(tmp_path.glob(".last.pt.tmp-*"))) == 1  # the dead writer's temp, never read as last.pt
    with atomic_path(target) as tmp:  # the next writer removes the dead writer's temp
        tmp.write_bytes(b"new, complete")
    assert target.read_bytes() == b"new, complete"
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


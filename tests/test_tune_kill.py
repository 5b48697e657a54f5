"""`dvc repro tune` killed with SIGKILL mid-search, then `dvc repro tune` with tune.resume: true: the search
finishes, the trials that had finished are not run again and the unfinished one continues from its checkpoint.
A second killed search, with the unfinished trial's recorded checkpoint deleted as Ray deletes a superseded
one before its snapshot records that, resumes too (src.tuning.lost_checkpoints)."""
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest
import yaml

from ray.tune.utils.serialization import TuneFunctionDecoder

from src.tuning import lost_checkpoints
from tests.helpers.workspace import env, reference_run, run

pytestmark = pytest.mark.system

# Trials one at a time, 12 epochs each (grace_period = max_t: ASHA stops none).
TUNE = {"fold": 0, "num_samples": 3, "max_concurrent": 1, "seed": 0, "n_initial_points": 4, "grace_period": 12,
        "max_t": 12, "reduction_factor": 2, "cpus_per_trial": 1, "gpus_per_trial": 0, "resume": False,
        "address": "", "space": {"lr": {"loguniform": [0.003, 0.03]}}}
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled", "RAY_ADDRESS": ""}


def set_params(ws, tune):
    params = yaml.safe_load((ws / "params.yaml").read_text())
    params["tune"] = tune
    params["train"]["patience"] = 100  # every trial runs all its epochs
    # Classes repeated to 20 rows: epochs of about 1 s, so Tune snapshots each trial running many times
    # (at 0.2 s an epoch a trial could finish between two snapshots: no state to kill in was seen).
    params["train"]["resample"] = {"min_count": 20, "max_count": 0}
    (ws / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def epochs(trial):
    """Tune's progress.csv of a trial: one row per reported epoch (our `epoch`, Tune's counters)."""
    progress = trial / "progress.csv"
    return pd.read_csv(progress) if progress.is_file() and progress.stat().st_size else pd.DataFrame()


def rows_since_restore(trial):
    """The progress rows of a trial's last run: from its last row with iterations_since_restore 1."""
    rows = epochs(trial)
    return rows.iloc[rows.index[rows["iterations_since_restore"] == 1][-1]:]


def finishes_every_trial(ws):
    trials = pd.read_csv(ws / "tune" / "trials.csv")
    assert len(trials) == TUNE["num_samples"] and (trials["status"] == "TERMINATED").all(), trials
    assert (trials["epochs_run"] == TUNE["max_t"]).all() and trials["error"].isna().all(), trials


def snapshot_trials(experiment):
    """[(trial, run metadata JSON)] of Tune's latest experiment snapshot: what a resume restores (Tune
    rewrites the file at least every 10 s and after each trial checkpoint); [] when none can be read yet."""
    snapshot = lost_checkpoints.newest_snapshot(experiment)
    if snapshot is None:
        return []
    try:
        trials = json.loads(snapshot.read_text())["trial_data"]
    except (json.JSONDecodeError, KeyError):  # caught mid-write: look again
        return []
    return [(json.loads(trial), run_metadata) for trial, run_metadata in trials]


def recorded(experiment):
    """{trial id: (status, epoch of its last result)} in the latest snapshot."""
    return {trial["trial_id"]: (trial["status"], (json.loads(run_metadata).get("last_result") or {}).get("epoch", 0))
            for trial, run_metadata in snapshot_trials(experiment)}


def checkpointed(experiment):
    """{trial id: (status, epoch of its latest checkpoint)} in the latest snapshot: the epoch a resume
    continues after. It can lag the last result: a snapshot may be written between a trial's report and
    the registration of that report's checkpoint."""
    states = {}
    for trial, run_metadata in snapshot_trials(experiment):
        manager = lost_checkpoints.checkpoint_manager(TuneFunctionDecoder(allow_cloudpickle=True).decode(run_metadata))
        states[trial["trial_id"]] = (trial["status"], lost_checkpoints.epoch_of(manager and
                                                                                 manager._latest_checkpoint_result))
    return states


def finished_and_running(experiment):
    """(trial ids the snapshot records as finished, trial ids it records running with a saved epoch)."""
    states = recorded(experiment)
    finished = [t for t, (status, epoch) in states.items() if status == "TERMINATED" and epoch == TUNE["max_t"]]
    running = [t for t, (status, epoch) in states.items() if status == "RUNNING" and 1 <= epoch < TUNE["max_t"]]
    return finished, running


def searcher_agrees_with_the_snapshot(experiment):
    """Tune writes experiment_state-<session>.json, then search_gen_state-<session>.json (the searcher's count
    of trials created), and syncs both to the search folder. A kill between the two restores a searcher that
    has forgotten the last trial it created and makes one trial too many: the searcher's count must equal the
    snapshot's trials. (The file is a pickle Tune wrote in this test; a torn copy is read again.)"""
    state = lost_checkpoints.newest_snapshot(experiment)
    searcher = state.with_name(state.name.replace("experiment_state-", "search_gen_state-"))
    try:
        created = pickle.loads(searcher.read_bytes())["counter"]
    except (OSError, EOFError, pickle.UnpicklingError, KeyError, TypeError, ValueError, AttributeError):
        return False
    return created == len(recorded(experiment))


def frozen_in_the_state_to_kill(proc, experiment):
    """Tune has recorded the first trial finished and the second running with a checkpoint (trials created
    since its last snapshot would be lost and replaced by new ones), the searcher's file agreeing with it, and every
    checkpoint the snapshot names still on disk (lost_and_resumed deletes one itself). Checked with the
    run stopped (SIGSTOP), so that no write lands between the check and the SIGKILL; else it goes on."""
    if not all(finished_and_running(experiment)):
        return False
    os.killpg(proc.pid, signal.SIGSTOP)
    if (all(finished_and_running(experiment)) and searcher_agrees_with_the_snapshot(experiment)
            and not lost_checkpoints.lost(experiment)):
        return True
    os.killpg(proc.pid, signal.SIGCONT)
    return False


def snapshot(trial):
    return {str(p.relative_to(trial)): p.stat().st_mtime_ns for p in trial.rglob("checkpoint_*/*")}


def kill_mid_search(tmp_path_factory, name):
    """`dvc repro tune` in a new copy of the reference workspace, SIGKILLed in the state to kill:
    (workspace, its search folder, id of a finished trial, id of the running one, its epoch at the kill)."""
    reference, _ = reference_run(tmp_path_factory)
    ws = tmp_path_factory.mktemp(name) / "repo"
    shutil.copytree(reference, ws, symlinks=True)
    set_params(ws, TUNE)
    experiment = ws / "scratch" / "tune" / "search"
    log = ws.parent / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["dvc", "repro", "tune"], cwd=ws, env=env(RAY_ENV), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 600
    while not frozen_in_the_state_to_kill(proc, experiment):
        assert proc.poll() is None, f"dvc repro tune ended before the state to kill in:\n{log.read_text()[-3000:]}"
        assert time.time() < deadline, "no trial finished while another ran in 600 s"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # On a loaded machine the first moment the state is seen can come after a second trial finished:
    # any finished trial serves; exactly one runs (max_concurrent 1).
    finished, running = finished_and_running(experiment)
    assert len(running) == 1, f"trials recorded running at the kill: {recorded(experiment)}"
    return ws, experiment, finished[0], running[0], recorded(experiment)[running[0]][1]


def resume(ws):
    set_params(ws, {**TUNE, "resume": True})
    return run(["dvc", "repro", "tune"], ws, RAY_ENV)


@pytest.fixture(scope="module")
def killed_and_resumed(tmp_path_factory):
    ws, experiment, finished, running, second_at_kill = kill_mid_search(tmp_path_factory, "tune_kill")
    first_trial = experiment / f"trial_{finished}"
    first_files = snapshot(first_trial)
    out = resume(ws)
    return ws, experiment, first_trial, first_files, experiment / f"trial_{running}", second_at_kill, out


@pytest.fixture(scope="module")
def lost_and_resumed(tmp_path_factory):
    """A second killed search whose running trial's recorded checkpoint is then deleted, as Ray deletes a
    superseded one before its next snapshot (a resume runs where the search ran: Ray 2.60 writes the new
    trials of a moved search folder's resume to its old place)."""
    ws, experiment, _, running, second_at_kill = kill_mid_search(tmp_path_factory, "tune_lost")
    # Ray names a trial's n-th checkpoint checkpoint_<n-1>; this trial has reported one per epoch.
    recorded_checkpoint = experiment / f"trial_{running}" / f"checkpoint_{second_at_kill - 1:06d}"
    assert recorded_checkpoint.is_dir(), sorted(recorded_checkpoint.parent.iterdir())
    shutil.rmtree(recorded_checkpoint)
    return ws, running, second_at_kill, resume(ws)


def test_the_kill_landed_mid_search(killed_and_resumed):
    *_, second_at_kill, _ = killed_and_resumed
    assert 1 <= second_at_kill < TUNE["max_t"], second_at_kill


def test_the_resumed_search_finishes_every_trial(killed_and_resumed):
    ws, *_, out = killed_and_resumed
    assert "tune: resuming the interrupted search" in out and "was deleted by Ray" not in out
    finishes_every_trial(ws)
    assert (ws / "tune" / "best_params.yaml").is_file()


def test_the_finished_trial_was_not_run_again(killed_and_resumed):
    _, experiment, first_trial, first_files, *_ = killed_and_resumed
    assert snapshot(first_trial) == first_files  # no checkpoint written again
    assert len(list(experiment.glob("trial_*"))) == TUNE["num_samples"]


def test_the_unfinished_trial_continued_from_its_checkpoint(killed_and_resumed):
    *_, second_trial, second_at_kill, _ = killed_and_resumed
    # The rows since the restore: the first epoch the resumed trial reported follows a saved one.
    since_restore = rows_since_restore(second_trial)
    assert 2 <= since_restore["epoch"].iloc[0] <= second_at_kill + 1, epochs(second_trial)
    assert since_restore["epoch"].tolist() == list(range(since_restore["epoch"].iloc[0], TUNE["max_t"] + 1))


def test_a_trial_whose_recorded_checkpoint_is_gone_resumes_from_an_older_one_or_restarts(lost_and_resumed):
    ws, second, second_at_kill, out = lost_and_resumed
    said = re.search(rf"trial {second}'s checkpoint of epoch (\d+) was deleted by Ray.*?"
                     r"(resumes from its checkpoint of epoch (\d+)|starts again from epoch 1)", out)
    assert said and int(said[1]) == second_at_kill, out[-3000:]
    start = int(said[3] or 0)
    assert start < second_at_kill
    finishes_every_trial(ws)
    trial = ws / "scratch" / "tune" / "search" / f"trial_{second}"
    assert rows_since_restore(trial)["epoch"].tolist() == list(range(start + 1, TUNE["max_t"] + 1)), epochs(trial)

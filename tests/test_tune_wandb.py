"""tune.wandb: opt-in Weights & Biases logging of the trials through Ray's WandbLoggerCallback.

The real search logs in wandb's offline mode (no account, no API key, no network) inside tmp_path;
the test reads back what wandb wrote for each trial."""
import json
import os
import sys

import pandas as pd
import pytest

from src.tuning import wandb_log
from src.tuning.space import check_tune
from src.config.params import block_config
from tests.test_tune import TINY_TUNE, TRAIN_CONFIG, make_workspace, run_stage

ON = {"project": "tune-test", "group": "tiny"}


@pytest.fixture
def no_wandb_env(monkeypatch):
    """None of the user's W&B settings (key, entity, mode, project...) reach the test."""
    for var in [v for v in os.environ if v.startswith("WANDB_")]:
        monkeypatch.delenv(var)


def wandb_env(root):
    """Offline mode, and wandb's own settings and caches inside root (the runs go to their default folder)."""
    return {"WANDB_MODE": "offline", "WANDB_CONFIG_DIR": str(root / "config"), "WANDB_CACHE_DIR": str(root / "cache"),
            "WANDB_DATA_DIR": str(root / "data")}


# --- the setting -------------------------------------------------------------------------------


@pytest.mark.parametrize("tune", [TINY_TUNE, {**TINY_TUNE, "wandb": {"project": "", "group": "g"}},
                                  {**TINY_TUNE, "wandb": {}}])
def test_off_by_default_adds_no_callback(tune, tmp_path):
    tune = block_config("tune", tune)
    assert wandb_log.settings(tune) is None and wandb_log.callbacks(tune, tmp_path) == []


def test_default_search_passes_no_callback_to_ray(no_wandb_env, monkeypatch, tmp_path):
    """run_search's RunConfig: no callbacks without tune.wandb, the W&B one with it."""
    from src.tuning import search

    seen = []

    class Tuner:
        def __init__(self, trainable, param_space, tune_config, run_config):
            seen.append(run_config.callbacks)

        def fit(self):
            return []

    monkeypatch.setattr(search.tune, "Tuner", Tuner)
    monkeypatch.setenv("WANDB_MODE", "offline")
    domains = {"lr": search.tune.loguniform(0.003, 0.03)}
    search.run_search(None, domains, block_config("tune", TINY_TUNE), tmp_path / "search")
    search.run_search(None, domains, block_config("tune", {**TINY_TUNE, "wandb": ON}), tmp_path / "search")
    from ray.air.integrations.wandb import WandbLoggerCallback

    assert seen[0] in ([], None)
    assert len(seen[1]) == 1 and isinstance(seen[1][0], WandbLoggerCallback)


def test_on_builds_rays_callback_with_project_group_and_forwarded_env(no_wandb_env, monkeypatch, tmp_path):
    from ray.air.integrations.wandb import WandbLoggerCallback

    monkeypatch.setenv("WANDB_MODE", "offline")
    callback, = wandb_log.callbacks(block_config("tune", {**TINY_TUNE, "wandb": ON}), tmp_path / "ray")
    assert isinstance(callback, WandbLoggerCallback)
    assert (callback.project, callback.group) == ("tune-test", "tiny")
    # wandb.init() arguments: the mode, and the folder (beside the experiment by default); no key.
    assert callback.kwargs == {"mode": "offline", "dir": str(tmp_path / "ray")} and (tmp_path / "ray").is_dir()
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "elsewhere"))
    callback, = wandb_log.callbacks(block_config("tune", {**TINY_TUNE, "wandb": {"project": "p", "group": ""}}),
                                   tmp_path / "ray")
    assert callback.kwargs["dir"] == str(tmp_path / "elsewhere")
    assert callback.group is None  # Ray then groups by the experiment name


@pytest.mark.parametrize("value", [{"project": 1}, {"project": "p", "entity": "e"}, "p", ["p"]])
def test_malformed_setting_fails_naming_tune_wandb(value):
    with pytest.raises(ValueError, match=r"^tune block: (unknown key )?'?tune\.wandb"):  # the params check's
        block_config("tune", {**TINY_TUNE, "wandb": value})


def test_on_without_the_wandb_package_fails_naming_tune_wandb(monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # `import wandb` now raises ImportError
    check_tune(block_config("tune", {**TINY_TUNE, "wandb": {"project": "", "group": ""}}), TRAIN_CONFIG)  # off
    with pytest.raises(RuntimeError, match=r"tune\.wandb: W&B logging is on \(project 'tune-test'\) but the "
                                           r"wandb package cannot be imported"):
        check_tune(block_config("tune", {**TINY_TUNE, "wandb": ON}), TRAIN_CONFIG)


# --- a real search, logged offline -------------------------------------------------------------


def read_offline_run(path):
    """An offline run's transaction log (run-<id>.wandb) -> {"run": RunRecord, "history": [{key: value}
    per wandb.log call], "config": {key: value}}. Offline, wandb writes no summary file: everything is
    in this log, a 7-byte ':W&B' header, then 32 KiB blocks of chunks, each a 7-byte header (crc32c,
    length, type 1 full, 2 first, 3 middle, 4 last) and a slice of one serialized wandb Record."""
    from wandb.proto.wandb_internal_pb2 import Record

    data = path.read_bytes()
    assert data[:4] == b":W&B", data[:7]
    found = {"run": None, "history": [], "config": {}}
    pos, block, pending = 7, 32768, b""
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind not in (1, 4):
            continue
        record = Record()
        record.ParseFromString(pending)
        pending = b""
        kind = record.WhichOneof("record_type")
        if kind == "run":
            found["run"] = record.run
        elif kind == "history":
            found["history"].append({item.key or "/".join(item.nested_key): json.loads(item.value_json)
                                     for item in record.history.item})
        elif kind == "config":
            found["config"].update({item.key: json.loads(item.value_json) for item in record.config.update})
    return found


@pytest.mark.pipeline
def test_tune_logs_each_trial_to_an_offline_wandb_run(tmp_path, no_wandb_env):
    tune = {**TINY_TUNE, "num_samples": 2, "max_t": 2, "grace_period": 2, "wandb": ON,
            "space": {"lr": {"loguniform": [0.003, 0.03]}}}
    (tmp_path / "ws").mkdir()
    workspace = make_workspace(tmp_path / "ws", tune=tune)
    root = tmp_path / "wandb_root"
    code, output = run_stage(workspace, env=wandb_env(root))
    assert code == 0, output[-4000:]

    trials = pd.read_csv(workspace / "tune" / "trials.csv", dtype={"trial_id": str})
    assert len(trials) == 2 and (trials["status"] != "ERROR").all(), trials
    # One offline run per trial (wandb names them offline-run-<time>-<run id>), all in wandb/ beside the
    # experiment folder: no partial copies in the trial folders, none left in Ray's session directory.
    found = sorted(workspace.rglob("offline-run-*"))
    runs = {run.name.rsplit("-", 1)[-1]: run for run in found}
    assert len(found) == 2 and set(runs) == set(trials["trial_id"]), (found, trials["trial_id"].tolist())
    assert all(run.parent.name == "wandb" and (run.parent.parent / "search").is_dir() for run in found), found
    for trial in trials.itertuples():
        logged = read_offline_run(runs[trial.trial_id] / f"run-{trial.trial_id}.wandb")
        run = logged["run"]
        assert (run.run_id, run.project, run.run_group) == (trial.trial_id, "tune-test", "tiny")
        assert logged["config"]["lr"] == pytest.approx(trial.lr, rel=1e-12)  # the sampled value
        # One wandb.log per epoch report, at step = epoch, with the values the trial reported to Ray.
        progress, = workspace.rglob(f"trial_{trial.trial_id}/progress.csv")  # wherever the stage keeps Ray's runs
        progress = pd.read_csv(progress)
        history = pd.DataFrame(logged["history"])
        steps = list(range(1, trial.epochs_run + 1))
        assert history["_step"].tolist() == progress["training_iteration"].tolist() == steps
        for key in ("f1", "val_loss", "accuracy", "train_loss", "epoch"):
            assert history[key].tolist() == pytest.approx(progress[key].tolist()), key
        assert history["f1"].max() == pytest.approx(trial.best_f1)

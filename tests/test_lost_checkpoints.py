"""src.tuning.lost_checkpoints on a snapshot written with Ray's own classes and encoder: a trial whose
recorded latest checkpoint is gone is pointed at its newest one still on disk, or at none."""
import json

import pytest
from ray import tune
from ray.train._internal.checkpoint_manager import _CheckpointManager
from ray.train._internal.session import _TrainingResult
from ray.tune.utils.serialization import TuneFunctionDecoder, TuneFunctionEncoder

from src.tuning import lost_checkpoints


def write_search(experiment, f1_by_epoch):
    """One trial 'abc' that reported a checkpoint per epoch, kept as Ray keeps them (num_to_keep=1 by f1:
    the best and the latest), in an experiment_state file shaped as Ray writes it."""
    manager = _CheckpointManager(tune.CheckpointConfig(num_to_keep=1, checkpoint_score_attribute="f1",
                                                       checkpoint_score_order="max"))
    for epoch, f1 in enumerate(f1_by_epoch, start=1):
        folder = experiment / "trial_abc" / f"checkpoint_{epoch - 1:06d}"
        folder.mkdir(parents=True)
        manager.register_checkpoint(_TrainingResult(checkpoint=tune.Checkpoint.from_directory(str(folder)),
                                                    metrics={"f1": f1, "training_iteration": epoch}))
    run_metadata = json.dumps({"checkpoint_manager": manager}, cls=TuneFunctionEncoder)
    state = {"trial_data": [[json.dumps({"trial_id": "abc"}), run_metadata]], "runner_data": {}, "stats": {}}
    (experiment / "experiment_state-2026-12-05_00-00-00.json").write_text(json.dumps(state))
    return experiment / "trial_abc"


def recorded_latest(experiment):
    state = json.loads(lost_checkpoints.newest_snapshot(experiment).read_text())
    manager = TuneFunctionDecoder(allow_cloudpickle=True).decode(state["trial_data"][0][1])["checkpoint_manager"]
    latest = manager.latest_checkpoint_result
    return None if latest is None else latest.metrics["training_iteration"]


def test_nothing_is_rewritten_while_every_recorded_checkpoint_is_there(tmp_path):
    write_search(tmp_path, [0.2, 0.5, 0.4])
    before = lost_checkpoints.newest_snapshot(tmp_path).read_bytes()
    assert lost_checkpoints.lost(tmp_path) == {} and lost_checkpoints.recover(tmp_path) == []
    assert lost_checkpoints.newest_snapshot(tmp_path).read_bytes() == before


@pytest.mark.parametrize("f1_by_epoch, resumes_at", [([0.2, 0.5, 0.4], 2), ([0.2, 0.4, 0.5], 0)])
def test_a_deleted_latest_checkpoint_falls_back_to_the_best_or_to_the_start(tmp_path, f1_by_epoch, resumes_at):
    trial = write_search(tmp_path, f1_by_epoch)
    (trial / "checkpoint_000002").rmdir()  # the latest, deleted as Ray deletes before its next snapshot
    assert lost_checkpoints.lost(tmp_path) == {"abc": (3, resumes_at)}
    [line] = lost_checkpoints.recover(tmp_path)
    assert "checkpoint of epoch 3 was deleted" in line
    assert (f"resumes from its checkpoint of epoch {resumes_at}" if resumes_at else "starts again from epoch 1") in line
    assert recorded_latest(tmp_path) == (resumes_at or None)
    assert lost_checkpoints.lost(tmp_path) == {}

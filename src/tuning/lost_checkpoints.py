"""Before a resume: trials whose recorded checkpoint Ray had already deleted when the search was killed.

Ray deletes a trial's superseded checkpoint as soon as it registers the next one (CheckpointConfig's
num_to_keep) and records the change in its next experiment snapshot (experiment_state-*.json). A kill
between the two leaves a snapshot naming a checkpoint that is gone, and Tuner.restore then fails the trial
("Could not recover from checkpoint as it does not exist"). recover() points each such trial at its newest
checkpoint the snapshot knows that is still on disk, or at none (the trial starts again from epoch 1).

Reads Ray's snapshot format (ray 2.60: run metadata with a pickled _CheckpointManager); only our own
experiment folder is read, the same trust Ray's restore gives it."""
import json
from pathlib import Path

from ray.tune.utils.serialization import TuneFunctionDecoder, TuneFunctionEncoder

from src.common.atomic import atomic_path


def newest_snapshot(experiment):
    """The snapshot Tuner.restore reads: the greatest experiment_state-<timestamp>.json name."""
    return max(Path(experiment).glob("experiment_state-*.json"), default=None)


def on_disk(result, experiment):
    """Whether a checkpoint's folder exists, looked up by its trial folder and name under `experiment`:
    the snapshot's absolute paths are those of where the search ran (Ray remaps them on restore)."""
    path = Path(result.checkpoint.path)
    return (Path(experiment) / path.parent.name / path.name).is_dir()


def epoch_of(result):
    return int(result.metrics.get("training_iteration", 0)) if result is not None else 0


def checkpoint_manager(run_metadata):
    manager = run_metadata.get("checkpoint_manager")
    if manager is not None and not hasattr(manager, "_latest_checkpoint_result"):
        raise RuntimeError(f"tune.resume: Ray's snapshot format changed ({type(manager).__name__} has no "
                           "_latest_checkpoint_result); src/tuning/lost_checkpoints.py reads ray 2.60's")
    return manager


def lost(experiment):
    """{trial id: (epoch of the recorded checkpoint that is gone, epoch it can continue from, 0 = start)}
    for the trials of the newest snapshot whose latest checkpoint is not on disk."""
    snapshot = newest_snapshot(experiment)
    if snapshot is None:
        return {}
    return {trial_id: change for trial_id, _, change in _trials(json.loads(snapshot.read_text()), experiment)
            if change}


def _trials(state, experiment):
    """(trial id, run metadata, change or None) per trial of a snapshot's state; run metadata already
    repaired where change is not None."""
    rows = []
    for trial_json, run_metadata_json in state["trial_data"]:
        run_metadata = TuneFunctionDecoder(allow_cloudpickle=True).decode(run_metadata_json)
        manager = checkpoint_manager(run_metadata)
        latest = manager and manager._latest_checkpoint_result
        change = None
        if latest is not None and not on_disk(latest, experiment):
            manager._checkpoint_results = [r for r in manager._checkpoint_results if on_disk(r, experiment)]
            manager._latest_checkpoint_result = max(manager._checkpoint_results, key=epoch_of, default=None)
            change = (epoch_of(latest), epoch_of(manager._latest_checkpoint_result))
        rows.append((json.loads(trial_json)["trial_id"], run_metadata, change))
    return rows


def recover(experiment):
    """Rewrite the newest snapshot so that no trial names a deleted checkpoint (see the module docstring);
    returns one line per trial changed, for the log."""
    snapshot = newest_snapshot(experiment)
    state = json.loads(snapshot.read_text()) if snapshot else {"trial_data": []}
    rows = _trials(state, experiment)
    if not any(change for *_, change in rows):
        return []
    state["trial_data"] = [[trial_json, json.dumps(run_metadata, indent=2, cls=TuneFunctionEncoder)]
                           for (trial_json, _), (_, run_metadata, _) in zip(state["trial_data"], rows)]
    with atomic_path(snapshot) as tmp:
        tmp.write_text(json.dumps(state, indent=2))
    return [f"tune: trial {trial_id}'s checkpoint of epoch {gone} was deleted by Ray before its snapshot recorded "
            "that (the search was killed in between); it "
            + (f"resumes from its checkpoint of epoch {start}" if start else "starts again from epoch 1")
            for trial_id, _, (gone, start) in (row for row in rows if row[2])]

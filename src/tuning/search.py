"""The Tuner: seeded HyperOptSearch proposes configurations, ASHA stops weak trials early (never the
start trial, params.yaml's own values).

Every trial is reported on each epoch (training_iteration = epoch), keeps its best and last
checkpoint, and a trial that raises is recorded as failed while the search goes on."""
import os
import shutil
from pathlib import Path

from ray import tune
from ray.tune.schedulers import ASHAScheduler, TrialScheduler
from ray.tune.search import ConcurrencyLimiter
from ray.tune.search.hyperopt import HyperOptSearch

from src.tuning import lost_checkpoints, wandb_log
from src.tuning.space import is_point
from src.tuning.trainable import run_trial, trial_scratch

METRIC, MODE = "f1", "max"


def trials_left(grid, num_samples):
    """Trials neither finished nor failed: the search was interrupted (Ctrl-C) and can be resumed.
    Ray marks the trials it stops on an interrupt TERMINATED too; only a finished trial's last result
    (its function returned, or ASHA stopped it) has done=True."""
    return num_samples - sum(1 for r in grid if r.error is not None or (r.metrics or {}).get("done"))


def make_trainable(train, data, seed, cpus, gpus, max_t, experiment, task="all"):
    """run_trial with its data in Ray's object store and its resources attached; experiment: the path
    run_search gets (storage_path/name), which names the trials' scratch folder. gpus > 0: each trial
    trains on the GPU Ray gives it, else on the CPU."""
    fn = tune.with_parameters(run_trial, train=train, data=data, seed=seed, cpus=cpus, max_t=max_t,
                              scratch=str(trial_scratch(experiment)), task=task, device="cuda" if gpus else "cpu")
    return tune.with_resources(fn, {"cpu": cpus, "gpu": gpus})


class ASHAKeepingStart(ASHAScheduler):
    """ASHA that never stops the start trial (params.yaml's own values) early: it is the reference the
    best trial must beat by tune.min_gain, so it trains all its epochs. Its results still count in
    ASHA's rungs, against which the other trials are stopped."""

    def __init__(self, start=None, **kwargs):
        super().__init__(**kwargs)
        self._start = start

    def on_trial_result(self, tune_controller, trial, result):
        action = super().on_trial_result(tune_controller, trial, result)
        if (action == TrialScheduler.STOP and result.get(self._time_attr, 0) < self._max_t
                and is_point(trial.config, self._start)):
            self._num_stopped -= 1
            return TrialScheduler.CONTINUE
        return action


def make_searcher(domains, cfg, start=None):
    # The first n_initial_points configurations are drawn from the seeded random state alone; TPE
    # then also depends on the results, i.e. on which trials finished first.
    # start (src.tuning.space.default_point): params.yaml's own values, evaluated first.
    searcher = HyperOptSearch(metric=METRIC, mode=MODE, random_state_seed=cfg.seed,
                              n_initial_points=cfg.n_initial_points, points_to_evaluate=[start] if start else None)
    return ConcurrencyLimiter(searcher, max_concurrent=cfg.max_concurrent)


def trial_dirname(trial):
    return f"trial_{trial.trial_id}"  # short: Ray's default puts every sampled value in the name


def run_search(trainable, domains, cfg, experiment, start=None):
    """Run (or with cfg.resume, the Tune config's continue) the Ray experiment in folder `experiment` (the path
    make_trainable got); returns the ResultGrid. start: a configuration tried first (make_searcher).
    The trials' scratch folder on this node is removed when the search ends, interrupted or not (its
    checkpoints are in the experiment)."""
    try:
        return fit(trainable, domains, cfg, Path(experiment).resolve(), start)
    finally:
        shutil.rmtree(trial_scratch(experiment), ignore_errors=True)


def fit(trainable, domains, cfg, experiment, start):
    # Keeping the best and last checkpoint forces a state snapshot at every epoch report; Ray then warns
    # at each one that snapshots are frequent. They are small here.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    storage_path, name = experiment.parent, experiment.name
    if cfg.resume and tune.Tuner.can_restore(experiment):
        print(f"tune: resuming the interrupted search in {experiment}", flush=True)
        for line in lost_checkpoints.recover(experiment):
            print(line, flush=True)
        # Failed trials stay failed (their error is the result); unfinished ones continue from their last checkpoint.
        tuner = tune.Tuner.restore(str(experiment), trainable=trainable, resume_unfinished=True,
                                   resume_errored=False, restart_errored=False)
        return tuner.fit()
    if cfg.resume:
        print(f"tune: nothing to resume in {experiment}; starting a new search", flush=True)
    if experiment.exists():
        shutil.rmtree(experiment)  # a new search never mixes with an old one's trials
    tuner = tune.Tuner(
        trainable,
        param_space=domains,
        tune_config=tune.TuneConfig(
            metric=METRIC, mode=MODE, num_samples=cfg.num_samples, search_alg=make_searcher(domains, cfg, start),
            scheduler=ASHAKeepingStart(start, time_attr="training_iteration", max_t=cfg.max_t,
                                       grace_period=cfg.grace_period, reduction_factor=cfg.reduction_factor),
            # Reusing a trial's worker for the next one saves a process start and torch import per trial.
            trial_dirname_creator=trial_dirname, reuse_actors=True),
        run_config=tune.RunConfig(
            name=name, storage_path=str(storage_path),
            # num_to_keep=1 by score: Ray always keeps the latest too, so each trial holds its best and last epoch.
            checkpoint_config=tune.CheckpointConfig(num_to_keep=1, checkpoint_score_attribute=METRIC,
                                                    checkpoint_score_order=MODE),
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            callbacks=wandb_log.callbacks(cfg, storage_path)))  # [] unless tune.wandb.project is set
    return tuner.fit()

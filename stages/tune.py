"""tune stage: search the train block's hyperparameters on one fold with Ray Tune
(seeded HyperOptSearch proposes, ASHA stops weak trials early), training with train_model.

Reads crops/train.{npy,csv}, folds/person_folds.csv, weights/. Writes tune/best_params.yaml (the best
trial's overrides in params.yaml form, or params.yaml's own
values when no trial beats them by tune.min_gain), tune/trials.csv (one row per trial: sampled values, best
F1, epochs run, status, error), metrics/tune.json, and scratch/tune/ (Ray's experiment: every trial's
results and its best and last checkpoint; scratch state, not a DVC output, kept between runs so
`tune.resume: true` continues an interrupted search). Prints the `dvc exp run -S ...` command that
applies the best configuration.
Params: seed, device, train.*, tune.*.

Trials run on the Ray cluster at tune.address or $RAY_ADDRESS when set; otherwise on a local Ray
started for this run that listens on 127.0.0.1 only."""
import argparse
import time
from pathlib import Path

import yaml

from src.common.atomic import atomic_path, write_csv, write_json
from src.common.device import stage_device
from src.config.tree import thaw
from src.data.folds import fold_split
from src.labels.classes import competition_labels
from src.models.backbone_weights import with_backbone
from src.tuning import cluster
from src.tuning.space import check_tune, default_point, to_domains
from stages.plumbing import paths
from stages.plumbing.entry import run
from stages.plumbing.name_checks import load_checked_params


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    started = time.time()
    params = load_checked_params(paths.PARAMS, ("train",))
    cfg, train = params.tune, params.train
    space = check_tune(cfg, train)  # a bad tune block fails before any work
    device = stage_device(params)  # the trials train on Ray's GPUs where it has some, unless this is the CPU
    table, crops = paths.read_crops("train")
    folds = paths.read_folds()
    try:
        train_idx, val_idx = fold_split(table["person"], folds, cfg.fold)
    except ValueError as e:
        raise SystemExit(f"tune.fold: {paths.PERSON_FOLDS}: {e}")
    task = cfg.task
    # Trained on data.age_bins' bands, scored in the competition's (as stages.train).
    labels, scored = table["label"].to_numpy(), competition_labels(table)
    # Copies in memory, handed to the trials through Ray's object store (cluster workers see no files).
    data = {"train_x": crops[train_idx], "train_y": labels[train_idx],
            "val_x": crops[val_idx], "val_y": scored[val_idx]}
    # the pretrained weights travel as bytes too (src.tuning.trainable writes them where it runs)
    backbone = with_backbone(train, paths.WEIGHTS)
    data["backbone"] = Path(backbone.pretrained).read_bytes() if backbone.pretrained else b""

    experiment = paths.TUNE_RUNS / "search"  # Ray's experiment folder (trials, checkpoints)
    ray_info = cluster.connect(cfg.address)
    print(f"tune: Ray {ray_info['mode']} at {ray_info['address']}, nodes {ray_info['nodes']}, "
          f"resources {ray_info['resources']}", flush=True)
    try:
        from src.tuning import results, search  # import ray only once connect() has set its environment

        domains = to_domains(space)
        gpus = cfg.gpus_per_trial if ray_info["resources"].get("GPU") and device.type == "cuda" else 0
        trainable = search.make_trainable(thaw(backbone), data, seed=params.seed + cfg.fold,
                                          cpus=cfg.cpus_per_trial, gpus=gpus, max_t=cfg.max_t,
                                          experiment=experiment, task=task)
        # params.yaml's own train values are the first trial: the best is never worse than them on this fold.
        start = default_point(space, train, cfg.max_t)
        grid = search.run_search(trainable, domains, cfg, experiment, start=start)
    finally:
        cluster.disconnect()
    left = search.trials_left(grid, cfg.num_samples)
    if left > 0:
        raise SystemExit(f"tune: the search was interrupted with {left} of {cfg.num_samples} trials unfinished; "
                         f"set tune.resume: true to continue it from {experiment}")

    keys = list(domains)
    trials = results.trials_table(grid, keys, train, cfg.max_t)
    write_csv(paths.TUNE / "trials.csv", trials)
    best = results.best_trial(trials)
    if best is None:
        raise SystemExit(f"tune: all {len(trials)} trials failed (see {paths.TUNE / 'trials.csv'}); "
                         f"first error: {trials['error'].iloc[0]}")
    chosen, why = results.recommendation(trials, best, start, cfg.min_gain)
    overrides = results.best_params(chosen, keys, train)
    with atomic_path(paths.TUNE / "best_params.yaml") as tmp:
        tmp.write_text(f"# {len(trials)} {task} trials on fold {cfg.fold}; recommended: {why}.\n"
                       f"# Merge into params.yaml or run the command the stage printed.\n"
                       + yaml.safe_dump(overrides, sort_keys=False))
    stats = results.summary(trials, cfg.num_samples, cfg.max_t, chosen)
    write_json(paths.METRICS / "tune.json", stats)

    print(trials.drop(columns=["error"]).to_string(index=False))
    for row in trials[trials["status"] == results.ERROR].itertuples():
        print(f"tune: trial {row.trial_id} failed: {row.error}")
    print(f"tune: {stats['trials']} trials ({stats['trials_failed']} failed, {stats['trials_stopped_early']} "
          f"stopped early by ASHA), {stats['epochs_run']} of {stats['epochs_budget']} epochs run "
          f"({stats['epochs_run_fraction']:.0%}) in {time.time() - started:.0f} s; best val macro F1 "
          f"{stats['best_f1']:.4f} (trial {best['trial_id']}) -> {paths.TUNE / 'best_params.yaml'}")
    print(f"tune: recommended: {why}")
    print(f"tune: apply it with\n  {results.dvc_command(overrides)}")


if __name__ == "__main__":
    run(main)

"""What a search leaves: one row per trial, the best trial's overrides, a summary, a dvc command."""
import json
import math
import shlex
from pathlib import Path

import pandas as pd

from src.tuning.space import as_params, is_point, plain
from src.tuning.trainable import trial_config

TERMINATED, STOPPED_EARLY, ERROR = "TERMINATED", "STOPPED-EARLY", "ERROR"


def error_message(error):
    """The original exception of a failed trial, on one line (Ray wraps it with its traceback)."""
    while getattr(error, "cause", None) is not None and error.cause is not error:
        error = error.cause
    text = str(error).strip()
    if "Traceback (most recent call last)" in text:  # a wrapper without .cause: keep the last line
        text = text.splitlines()[-1]
    return " ".join(f"{type(error).__name__}: {text}".split())


def ran_to_the_end(f1s, epochs, patience):
    """Whether train_model itself ended after these epochs (all epochs, or patience exhausted);
    otherwise the scheduler (ASHA) stopped the trial."""
    best, bad = -1.0, 0
    for f1 in f1s:
        best, bad = (f1, 0) if f1 > best else (best, bad + 1)
    return len(f1s) >= epochs or bad >= patience


def epoch_history(result):
    """The rows a trial reported (one per epoch). Ray's metrics_dataframe reads the trial's result.json,
    which the driver writes buffered: a trial that had finished when the driver was SIGKILLed can be left
    with an empty result.json (seen in tests/test_tune_kill.py) while its progress.csv, written row by
    row, is whole; then that file is read (trials on the local disk; remote storage keeps Ray's answer)."""
    history = result.metrics_dataframe
    if history is not None and not history.empty:
        return history
    progress = Path(str(result.path)) / "progress.csv"
    if result.metrics and progress.is_file() and progress.stat().st_size:
        return pd.read_csv(progress)
    return history


def trials_table(results, keys, train, max_t):
    """results: a Ray ResultGrid. keys: the space's keys. One row per trial, in the grid's (creation) order."""
    rows = []
    for result in results:
        metrics = result.metrics or {}
        config = result.config or {}
        history = epoch_history(result)
        f1s = [] if history is None or "f1" not in history else history["f1"].dropna().tolist()
        cfg = trial_config(train, {k: config[k] for k in keys if k in config}, max_t)
        if result.error is not None:
            status = ERROR
        elif ran_to_the_end(f1s, cfg.epochs, cfg.patience):
            status = TERMINATED
        else:
            status = STOPPED_EARLY
        rows.append({"trial_id": metrics.get("trial_id", str(result.path).rsplit("_", 1)[-1]),
                     **{key: plain(config.get(key)) for key in keys},
                     "best_f1": max(f1s) if f1s else math.nan,
                     "best_epoch": f1s.index(max(f1s)) + 1 if f1s else 0,
                     "epochs_run": len(f1s), "epochs_planned": cfg.epochs, "status": status,
                     "node_ip": metrics.get("node_ip", ""),
                     "error": error_message(result.error) if result.error is not None else ""})
    return pd.DataFrame(rows)


def best_trial(table):
    """The row with the highest validation macro F1 among trials that did not fail; None if all failed."""
    ok = table[(table["status"] != ERROR) & table["best_f1"].notna()]
    return None if ok.empty else ok.loc[ok["best_f1"].idxmax()]


def best_params(row, keys, train):
    return as_params({key: row[key] for key in keys}, train)


def start_trial(table, start):
    """The row of the trial that ran `start` (params.yaml's own values, src.tuning.space.default_point), or None."""
    for _, row in table.iterrows():
        if is_point(row, start):
            return row
    return None


def recommendation(table, best, start, min_gain):
    """(row to recommend, why): best (best_trial's row, not None) when it beats the start trial (params.yaml as it stands) by
    min_gain on the fold, else the start trial: one fold's validation set cannot tell smaller gains from
    the seed's noise, and a recommendation applied as printed should not leave the pipeline worse. The start
    trial runs all its epochs (src.tuning.search.ASHAKeepingStart), so both F1s are of whole trainings."""
    first = start_trial(table, start)
    if first is None or first["status"] == ERROR or pd.isna(first["best_f1"]):
        return best, "the best trial (params.yaml's own values were not among the trials)"
    gain = float(best["best_f1"]) - float(first["best_f1"])
    if best["trial_id"] == first["trial_id"] or gain < min_gain:
        return first, (f"params.yaml's train block as it stands (trial {first['trial_id']}, val macro F1 "
                       f"{first['best_f1']:.4f}): the best trial, {best['trial_id']} at {best['best_f1']:.4f}, "
                       f"beats it by {gain:.4f}, under tune.min_gain {min_gain}")
    return best, (f"the best trial: it beats params.yaml's train block (trial {first['trial_id']}, "
                  f"{first['best_f1']:.4f}) by {gain:.4f} >= tune.min_gain {min_gain}")


def summary(table, num_samples, max_t, recommended=None):
    best = best_trial(table)
    epochs_run = int(table["epochs_run"].sum())
    return {"best_f1": None if best is None else float(best["best_f1"]),
            "best_trial": None if best is None else best["trial_id"],
            "recommended_trial": None if recommended is None else recommended["trial_id"],
            "recommended_f1": None if recommended is None else float(recommended["best_f1"]),
            "trials": len(table), "trials_failed": int((table["status"] == ERROR).sum()),
            "trials_stopped_early": int((table["status"] == STOPPED_EARLY).sum()),
            "epochs_run": epochs_run,
            "epochs_budget": num_samples * max_t,   # every trial run to max_t: what ASHA saves from
            "epochs_run_fraction": round(epochs_run / (num_samples * max_t), 4)}


def _value(value):
    return value if isinstance(value, str) else json.dumps(plain(value))


def dvc_command(params, target="evaluate"):
    """`dvc exp run -S 'train.lr=0.001' -S 'train.loss.name=focal' evaluate` for a {"train": {...}} mapping.

    The target keeps the experiment to the main pipeline: tune depends on the train block too."""
    def flat(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict):
                yield from flat(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    def quote(text):
        return f"'{text}'" if "'" not in text else shlex.quote(text)

    overrides = " ".join(f"-S {quote(f'{key}={_value(value)}')}" for key, value in flat(params, ""))
    return f"dvc exp run {overrides} {target}"

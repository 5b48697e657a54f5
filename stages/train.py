"""train@<fold> stage: train one model on the other folds' persons, select it on this fold.

Reads crops/train.{npy,csv}, folds/person_folds.csv. Writes models/fold_<k>/model.pt (best
epoch by validation macro F1), models/fold_<k>/oof_probs.csv (this fold's out-of-fold class
probabilities), dvclive/fold_<k>/ (per-epoch metrics and plots, summary in metrics.json) and keeps
checkpoints/fold_<k>/last.pt to resume an interrupted run. Params: seed, train.*."""
import argparse
import time

import numpy as np
import pandas as pd
from dvclive import Live

from src.atomic import save_torch, write_csv
from src.manifest import read_manifest
from src.params import load_params
from src.training import checkpoint_payload, train_model
from stages import paths


def fold_rows(fold):
    table = read_manifest(paths.TRAIN_MANIFEST)
    folds = pd.read_csv(paths.PERSON_FOLDS, dtype={"person": str})
    if fold not in set(folds["fold"]):
        raise ValueError(f"--fold {fold}: not a fold of {paths.PERSON_FOLDS} (folds {sorted(set(folds['fold']))})")
    fold_of = table["person"].map(dict(zip(folds["person"], folds["fold"])))
    if fold_of.isna().any():
        raise ValueError(f"{paths.PERSON_FOLDS}: no fold for persons {sorted(table['person'][fold_of.isna()].unique())[:5]}")
    return table, np.flatnonzero(fold_of != fold), np.flatnonzero(fold_of == fold)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold", type=int, required=True, help="the validation fold (0..k-1)")
    fold = parser.parse_args().fold
    params = load_params(paths.PARAMS)
    cfg = params["train"]
    table, train_idx, val_idx = fold_rows(fold)
    crops = np.load(paths.TRAIN_CROPS, mmap_mode="r")
    labels = table["label"].to_numpy()
    started = time.time()

    def report(epoch, metrics, improved):
        print(f"fold {fold} epoch {epoch + 1}/{cfg['epochs']}: train_loss {metrics['train_loss']:.3f} "
              f"val_loss {metrics['val_loss']:.3f} val_f1 {metrics['f1']:.4f} acc {metrics['accuracy']:.4f}"
              + (" *" if improved else ""), flush=True)

    # Fancy indexing copies the fold's crops into memory: random access stays fast during epochs.
    result = train_model(cfg, crops[train_idx], labels[train_idx], crops[val_idx], labels[val_idx],
                         seed=params["seed"] + fold, on_epoch=report,
                         resume_path=paths.CHECKPOINTS / f"fold_{fold}" / "last.pt")

    out = paths.fold_dir(fold)
    save_torch(out / "model.pt", {**checkpoint_payload(cfg, result.best_state),
                                  "fold": fold, "epoch": result.best_epoch, "val_f1": result.best_f1})
    oof = pd.DataFrame(result.val_probs, columns=[f"p{c}" for c in range(result.val_probs.shape[1])])
    oof.insert(0, "row", val_idx)
    oof.insert(1, "label", labels[val_idx])
    write_csv(out / "oof_probs.csv", oof, float_format="%.6f")

    # Logged after training from the full history, so a resumed run still has every epoch.
    with Live(str(paths.fold_live_dir(fold)), dvcyaml=False, save_dvc_exp=False, report=None) as live:
        for metrics in result.history:
            live.log_metric("train/loss", metrics["train_loss"])
            live.log_metric("val/loss", metrics["val_loss"])
            live.log_metric("val/f1", metrics["f1"])
            live.log_metric("val/accuracy", metrics["accuracy"])
            live.log_metric("lr", metrics["lr"], plot=False)
            live.next_step()
        best = result.history[result.best_epoch]
        live.summary.update({"best": {"epoch": result.best_epoch + 1, "f1": best["f1"], "accuracy": best["accuracy"],
                                      **{k: best[k] for k in ("f1_mask", "f1_gender", "f1_age")}},
                             "epochs_run": result.epochs_run})
    print(f"train@{fold}: best val macro F1 {result.best_f1:.4f} at epoch {result.best_epoch + 1}/"
          f"{result.epochs_run} in {time.time() - started:.0f} s -> {out}/model.pt")


if __name__ == "__main__":
    main()

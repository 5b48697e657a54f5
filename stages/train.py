"""train@<fold>-<task> stage: train one model on the other folds' persons, select it on this fold.

task (train.tasks): all = one 18-class model; mask, gender or age = a model of that attribute only
(the ensemble stage combines a fold's three into 18 classes). Reads crops/train.{npy,csv},
folds/person_folds.csv and weights/ (the pretrained backbone). Writes models/<task>/fold_<k>/model.pt
(best epoch by validation macro F1 of the task, in the competition's age bands whatever
data.age_bins trains with), models/<task>/fold_<k>/oof_probs.csv (this fold's
out-of-fold probabilities), dvclive/<task>/fold_<k>/ (per-epoch metrics and plots, summary in
metrics.json; rewritten as each epoch ends, so `dvc exp show` and `dvc plots show` follow a running
experiment) and keeps scratch/checkpoints/<task>/fold_<k>/last.pt (scratch state, not a DVC output)
to resume an interrupted run. Params: seed, device, train.*."""
import argparse
import time

import pandas as pd
from dvclive import Live

from src.common.atomic import save_torch, write_csv
from src.common.device import stage_device
from src.data.folds import fold_split
from src.labels.classes import competition_labels
from src.labels.tasks import TASK_CLASSES
from src.models.backbone_weights import with_backbone
from src.models.fold_model import checkpoint_payload
from src.training.loop import train_model
from stages.plumbing import paths
from stages.plumbing.entry import run
from stages.plumbing.name_checks import load_checked_params


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold", type=int, required=True, help="the validation fold (0..k-1)")
    parser.add_argument("--task", default="all", choices=list(TASK_CLASSES),
                        help="what the model predicts: all 18 classes or one attribute (default all)")
    args = parser.parse_args()
    fold, task = args.fold, args.task
    params = load_checked_params(paths.PARAMS, ("train",))
    device = stage_device(params)
    cfg = with_backbone(params.train, paths.WEIGHTS)  # weights/ file and its normalisation
    table, crops = paths.read_crops("train")
    folds = paths.read_folds()
    try:
        train_idx, val_idx = fold_split(table["person"], folds, fold)
    except ValueError as e:
        raise SystemExit(f"train --fold {fold}: {paths.PERSON_FOLDS}: {e}")
    labels = table["label"].to_numpy()  # the bands of data.age_bins: what the model learns
    competition = competition_labels(table)  # the competition's bands: what selects the best epoch
    started = time.time()

    def report(epoch, metrics, improved):
        print(f"{task} fold {fold} epoch {epoch + 1}/{cfg.epochs}: train_loss {metrics['train_loss']:.3f} "
              f"val_loss {metrics['val_loss']:.3f} val_f1 {metrics['f1']:.4f} acc {metrics['accuracy']:.4f}"
              + (" *" if improved else ""), flush=True)

    members_epochs = cfg.epochs if cfg.members.method != "none" else None  # torchensemble: one history entry

    def write_curves(history):
        write_live(paths.live_dir(fold, task), history, members_epochs)

    # Fancy indexing copies the fold's crops into memory: random access stays fast during epochs.
    result = train_model(cfg, crops[train_idx], labels[train_idx], crops[val_idx], competition[val_idx],
                         seed=params.seed + fold, on_epoch=report, resume_path=paths.checkpoint_file(fold, task),
                         device=device, task=task, on_history=write_curves)

    out = paths.model_dir(fold, task)
    save_torch(out / "model.pt", {**checkpoint_payload(cfg, result.best_state, task),
                                  "fold": fold, "epoch": result.best_epoch, "val_f1": result.best_f1})
    oof = pd.DataFrame(result.val_probs, columns=[f"p{c}" for c in range(result.val_probs.shape[1])])
    oof.insert(0, "row", val_idx)
    oof.insert(1, "label", competition[val_idx])
    write_csv(out / "oof_probs.csv", oof, float_format="%.6f")
    print(f"train@{fold}-{task}: best val macro F1 {result.best_f1:.4f} at epoch {result.best_epoch + 1}/"
          f"{result.epochs_run} in {time.time() - started:.0f} s -> {out}/model.pt")


def write_live(folder, history, epochs_run=None):
    """dvclive's folder of a fold, written anew from every epoch's metrics so far: called as each epoch
    ends (`dvc exp show` / `dvc plots show` follow a running experiment), and a resumed run, whose history
    holds the restored epochs, has every epoch once. The summary's best is the epoch of the highest
    validation macro F1 so far (the first of equals, as train_model selects it)."""
    with Live(str(folder), dvcyaml=False, save_dvc_exp=False, report=None) as live:
        for metrics in history:
            live.log_metric("train/loss", metrics["train_loss"])
            live.log_metric("val/loss", metrics["val_loss"])
            live.log_metric("val/f1", metrics["f1"])
            live.log_metric("val/accuracy", metrics["accuracy"])
            live.log_metric("lr", metrics["lr"], plot=False)
            live.next_step()
        best_epoch = max(range(len(history)), key=lambda e: (history[e]["f1"], -e))
        best = history[best_epoch]
        live.summary.update({"best": {"epoch": best_epoch + 1, "f1": best["f1"], "accuracy": best["accuracy"],
                                      **{k: v for k, v in best.items() if k.startswith("f1_")}},
                             "epochs_run": epochs_run or len(history)})


if __name__ == "__main__":
    run(main)

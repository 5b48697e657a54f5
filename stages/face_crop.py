"""faceCrop stage: cut a face crop at the training size from every train and eval image.

Reads data/ (train + eval layout), writes crops/{train,eval}.npy (uint8 N x H x W x 3),
crops/{train,eval}.csv (one row per crop: image, labels, box, box source), crops/skipped.csv and
metrics/face_crop.json (counts by box source). Params: device, data.*, face_crop.*."""
import argparse
import time

import pandas as pd

from src.common.atomic import write_csv, write_json
from src.common.device import stage_device
from src.config.params import load_params
from src.data.eval_table import read_eval_table
from src.data.relabel import apply_relabel
from src.data.train_table import read_train_table
from src.face_crop.boxes import SOURCES, prior_region
from src.face_crop.crop_images import crop_table
from src.face_crop.detectors import detector_from_params
from stages.plumbing import paths
from stages.plumbing.entry import run


def crop_split(name, table, groups, detector, cfg, on_bad_image, prior=None):
    return crop_table(paths.DATA, table, groups, detector, cfg, paths.CROPS / f"{name}.npy", on_bad_image, prior,
                      desc=f"faceCrop {name}")


def main():
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    params = load_params(paths.PARAMS)
    data_cfg, cfg = params.data, params.face_crop
    started = time.time()
    train_table, skipped = read_train_table(paths.DATA, data_cfg.age_bins, data_cfg.on_bad_image)
    train_table, relabeled = apply_relabel(train_table, data_cfg.relabel, data_cfg.age_bins)
    eval_table = read_eval_table(paths.DATA)
    detector = detector_from_params(cfg, stage_device(params) if cfg.detector == "mtcnn" else None)

    train_crops, train_skipped = crop_split("train", train_table, train_table["person"], detector, cfg,
                                            data_cfg.on_bad_image)
    # Eval photos have no person to borrow a box from: where no face is found, the region where the
    # train set's faces usually are is a far better guess than the centre of the photo.
    prior = prior_region(train_crops) if cfg.prior_fallback else None
    # Eval rows are never dropped: a bad eval image fails the stage whatever on_bad_image says.
    eval_crops, _ = crop_split("eval", eval_table, [None] * len(eval_table), detector, cfg, "error", prior)
    skipped = skipped + train_skipped

    write_csv(paths.TRAIN_MANIFEST, train_crops)
    write_csv(paths.EVAL_MANIFEST, eval_crops)
    write_csv(paths.CROPS / "skipped.csv", pd.DataFrame(skipped, columns=["path", "reason"]))
    metrics = {"skipped_images": len(skipped), "relabeled_images": relabeled}
    for name, frame in (("train", train_crops), ("eval", eval_crops)):
        counts = frame["box_source"].value_counts()
        metrics[name] = {source: int(counts.get(source, 0)) for source in SOURCES}
        metrics[name]["images"] = len(frame)
    write_json(paths.METRICS / "face_crop.json", metrics)
    print(f"faceCrop: {len(train_crops)} train + {len(eval_crops)} eval crops of {list(cfg.size)} "
          f"in {time.time() - started:.0f} s; box sources train {metrics['train']}, eval {metrics['eval']}; "
          f"skipped {len(skipped)}" + (" (see crops/skipped.csv)" if skipped else ""))


if __name__ == "__main__":
    run(main)

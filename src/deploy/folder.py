"""Predict the photos of any folder with the fold ensemble, as the pipeline predicts an eval image.

Faces are cut by the face_crop stage's own code for eval images (src.face_crop.crop_images.crop_table:
the same detector, margin, size and retries, and where no face is found the prior region, else the
centre crop); the classes come from the predict stage's soft vote and decision rule
(src.inference.ensemble.soft_vote, src.inference.decision.decide).

Memory stays flat for any number of photos: crop_table decodes one chunk of face_crop.batch_size photos
at a time and writes the crops to a scratch .npy on disk (10,000 crops of 160 x 120: 0.6 GB of disk),
which the soft vote reads back in batches."""
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from src.face_crop.crop_images import crop_table
from src.inference.decision import decide
from src.inference.ensemble import soft_vote
from src.labels.classes import AGE_NAMES, GENDER_NAMES, MASK_NAMES, NUM_CLASSES, decode_class

PROB_COLUMNS = [f"p{c}" for c in range(NUM_CLASSES)]
BOX_COLUMNS = ["box_source", "x1", "y1", "x2", "y2"]  # as crops/*.csv: the face box in photo pixels (none: centre crop)
COLUMNS = ["path", "class", "mask", "gender", "age", *PROB_COLUMNS, *BOX_COLUMNS, "error"]


def predict_folder(folder, images, detector, face_crop, prior, members, tta, decision, batch_size, device,
                   num_workers=0):
    """The prediction table (see prediction_table) of `images`, paths relative to `folder`.

    face_crop: params.yaml's face_crop block; prior: the fallback face region (src.face_crop.boxes.prior_region)
    or None; members, tta, decision: the loaded fold members and ensemble/members.json's tta and decision."""
    with tempfile.TemporaryDirectory(prefix="predict-crops-") as scratch:
        crops_file = Path(scratch) / "crops.npy"
        # No person to borrow a box from, and an unreadable photo becomes a row with its error, not a failure.
        cropped, unreadable = crop_table(folder, pd.DataFrame({"path": images}), [None] * len(images), detector,
                                         face_crop, crops_file, on_bad_image="skip", prior=prior,
                                         desc="predict: faces")
        crops = np.load(crops_file, mmap_mode="r")
        probs = (soft_vote(members, crops, batch_size, device, tta, num_workers) if len(crops)
                 else np.zeros((0, NUM_CLASSES), np.float32))
        del crops
    return prediction_table(images, cropped, dict(unreadable), probs, decide(decision, probs))


def prediction_table(images, cropped, unreadable, probs, classes):
    """One row per image, in the order of `images`: path, class (0-17), mask, gender and age band (the names
    of src.labels.classes), p0..p17, box_source and box x1..y2; or, for an image in `unreadable`
    ({path: reason}), only its path and the reason in `error`.

    cropped: the crop_table rows (path, box_source, x1..y2) aligned with probs (N x 18) and classes (N)."""
    mask, gender, age = decode_class(np.asarray(classes, dtype=np.int64))
    found = pd.DataFrame({"path": cropped["path"].to_numpy(), "class": pd.array(classes, dtype="Int64"),
                          "mask": np.array(MASK_NAMES, dtype=object)[mask],
                          "gender": np.array(GENDER_NAMES, dtype=object)[gender],
                          "age": np.array(AGE_NAMES, dtype=object)[age]})
    found = pd.concat([found, pd.DataFrame(probs, columns=PROB_COLUMNS)], axis=1)
    for column in BOX_COLUMNS:
        found[column] = cropped[column].to_numpy()
    table = pd.DataFrame({"path": list(images)}).merge(found, on="path", how="left", validate="one_to_one")
    table["error"] = [unreadable.get(path, "") for path in table["path"]]
    missing = table["class"].isna() & (table["error"] == "")
    if missing.any():
        raise ValueError(f"prediction_table: no prediction and no error for {table['path'][missing].tolist()[:5]}")
    return table[COLUMNS]

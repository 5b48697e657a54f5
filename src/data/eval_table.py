"""The eval table: the images to predict, in info.csv order (the submission keeps that order)."""
import os
from pathlib import Path

import pandas as pd

from src.common.errors import BadInputError
from src.data.csv_table import read_csv_table

EVAL_CSV = "eval/info.csv"
EVAL_IMAGES = "eval/images"
CSV_COLUMNS = ("ImageID", "ans")


def read_eval_table(data_dir):
    """DataFrame with columns image_id, path (posix, relative to data_dir), one row per info.csv row.

    Checks only that every listed image exists; decoding is left to the crop stage (load_rgb).
    """
    data_dir = Path(data_dir)
    csv_path = data_dir / EVAL_CSV
    image_ids = read_csv_table(csv_path, CSV_COLUMNS)["ImageID"]

    blank = image_ids.index[image_ids.str.strip() == ""]
    if len(blank):
        raise BadInputError(csv_path, f"empty ImageID on line(s) {[i + 2 for i in blank[:5]]}")
    duplicated = sorted(set(image_ids[image_ids.duplicated()]))
    if duplicated:
        raise BadInputError(csv_path, f"duplicate ImageID(s) ({len(duplicated)}): {duplicated[:5]}")

    on_disk = _list_files(data_dir / EVAL_IMAGES)
    missing = [image_id for image_id in image_ids if image_id not in on_disk]
    if missing:
        raise BadInputError(
            data_dir / EVAL_IMAGES / missing[0],
            f"image listed in {csv_path} does not exist ({len(missing)} missing, first: {missing[:5]})",
        )
    paths = [f"{EVAL_IMAGES}/{image_id}" for image_id in image_ids]
    return pd.DataFrame({"image_id": image_ids, "path": paths})


def _list_files(images_dir):
    # One directory listing instead of 12,600 stat calls; an ImageID with a '/' can never match.
    try:
        with os.scandir(images_dir) as entries:
            return {entry.name for entry in entries if entry.is_file()}
    except FileNotFoundError:
        raise BadInputError(images_dir, "folder does not exist") from None

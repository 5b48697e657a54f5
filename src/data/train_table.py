"""The train table: one row per train image, read from train.csv and the person folders.

train.csv drives the table; each of its rows names a person folder under train/images whose name
repeats the row's id, gender, race and age. The folder, not the id, is the person key: one id can
own two folders with different ages.
"""
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from src.common.errors import BadInputError
from src.data.csv_table import read_csv_table
from src.labels.classes import COMPETITION_AGE_BINS, GENDER_BY_NAME, MASK_BY_STEM, age_band, encode_class

TRAIN_CSV = "train/train.csv"
TRAIN_IMAGES = "train/images"
CSV_COLUMNS = ("id", "gender", "race", "age", "path")
STEMS = tuple(MASK_BY_STEM)  # table order within a person: mask1..mask5, incorrect_mask, normal
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
ON_BAD_IMAGE = ("error", "skip")
TABLE_COLUMNS = ("path", "person", "person_id", "gender", "race", "age", "age_band", "stem", "mask", "label")

FOLDER_PATTERN = "{id}_{gender}_{race}_{age}"
# id: digits with an optional suffix (001498-1); race may not contain '_' so the split is unambiguous.
_FOLDER_RE = re.compile(r"(?P<id>[0-9]+(?:-[0-9A-Za-z]+)?)_(?P<gender>[^_]+)_(?P<race>[^_]+)_(?P<age>[^_]+)")


def read_train_table(data_dir, age_bins=COMPETITION_AGE_BINS, on_bad_image="error"):
    """Return (table, skipped) for the train set under data_dir; see TABLE_COLUMNS.

    on_bad_image="error" raises at the first problem; "skip" leaves out bad or missing images
    inside person folders and lists each as (path, reason) in skipped. Problems with the csv or
    with folder names always raise: they mean the labels themselves cannot be trusted.
    """
    if on_bad_image not in ON_BAD_IMAGE:
        raise ValueError(f"data.on_bad_image must be one of {list(ON_BAD_IMAGE)}, got {on_bad_image!r}")
    age_band(0, age_bins)  # fail on bad bins before scanning thousands of files
    data_dir = Path(data_dir)
    persons = _read_persons(data_dir)

    rows, skipped = [], []
    for person in persons:
        images, problems = _scan_person_folder(data_dir, person["person"])
        if problems and on_bad_image == "error":
            path, reason = problems[0]
            raise BadInputError(data_dir / path, reason)
        skipped.extend(problems)
        rows.extend({**person, "path": path, "stem": stem} for stem, path in images)
    return _build_table(rows, age_bins), skipped


def _read_persons(data_dir):
    """train.csv rows checked against the folder names and the folders on disk, sorted by folder."""
    csv_path = data_dir / TRAIN_CSV
    csv = read_csv_table(csv_path, CSV_COLUMNS)
    duplicated = csv["path"][csv["path"].duplicated(keep=False)]
    if len(duplicated):
        lines = {folder: [i + 2 for i in duplicated.index[duplicated == folder]]  # csv line numbers
                 for folder in duplicated.unique()}
        raise BadInputError(csv_path, f"duplicate path values (folder: csv lines): {lines}")

    images_dir = data_dir / TRAIN_IMAGES
    on_disk = _list_folders(images_dir)
    persons = []
    for line, row in enumerate(csv.to_dict("records"), start=2):  # line 1 is the header
        where = f"line {line} (path={row['path']!r})"
        person = _parse_folder_name(images_dir, row["path"], f"{csv_path.name} {where}")
        for key in ("id", "gender", "race", "age"):
            if row[key] != str(person[key]):
                disagreement = f"{key} {row[key]!r} disagrees with {str(person[key])!r} in folder name {row['path']!r}"
                raise BadInputError(csv_path, f"{where}: {disagreement}")
        if row["path"] not in on_disk:
            raise BadInputError(csv_path, f"{where}: folder {images_dir / row['path']} does not exist")
        persons.append(person)

    unlisted = sorted(on_disk - set(csv["path"]))
    if unlisted:
        raise BadInputError(
            images_dir / unlisted[0],
            f"folder is not listed in {csv_path} ({len(unlisted)} unlisted folder(s), first: {unlisted[:5]})",
        )
    return sorted(persons, key=lambda person: person["person"])


def _list_folders(images_dir):
    """Names of the visible sub-folders; loose files there are not persons and are ignored."""
    try:
        with os.scandir(images_dir) as entries:
            return {entry.name for entry in entries if entry.is_dir() and not entry.name.startswith(".")}
    except FileNotFoundError:
        raise BadInputError(images_dir, "folder does not exist") from None


def _parse_folder_name(images_dir, folder, listed_at):
    match = _FOLDER_RE.fullmatch(folder)
    if match is None:
        problem = f"folder name {folder!r} does not match {FOLDER_PATTERN} (id: digits, optional '-suffix')"
    elif match["gender"] not in GENDER_BY_NAME:
        problem = f"unknown gender {match['gender']!r} in folder name; valid: {list(GENDER_BY_NAME)}"
    elif re.fullmatch("[0-9]+", match["age"]) is None:
        problem = f"age {match['age']!r} in folder name is not an integer ({FOLDER_PATTERN})"
    else:
        fields = match.groupdict()
        return {"person": folder, **fields, "age": int(fields["age"])}
    raise BadInputError(images_dir / folder, f"{problem}; listed at {listed_at}")


def _scan_person_folder(data_dir, folder):
    """Return ([(stem, relative path)] in STEMS order, [(relative path, reason)] problems)."""
    relative = f"{TRAIN_IMAGES}/{folder}"
    by_stem, problems = {}, []
    with os.scandir(data_dir / relative) as entries:
        # Hidden files include macOS litter: ._mask1.jpg (AppleDouble metadata) and .DS_Store.
        names = sorted(entry.name for entry in entries if not entry.name.startswith("."))
    for name in names:
        stem, extension = os.path.splitext(name)
        file = f"{relative}/{name}"
        if extension.lower() not in IMAGE_EXTENSIONS:
            problems.append((file, f"not an image file: extension must be one of {list(IMAGE_EXTENSIONS)}"))
        elif stem not in MASK_BY_STEM:
            problems.append((file, f"unknown file stem {stem!r}; valid stems: {list(STEMS)}"))
        elif stem in by_stem:
            problems.append((file, f"duplicate stem {stem!r}: {by_stem[stem]} and {name}; one file per stem"))
        else:
            by_stem[stem] = name
    missing = [stem for stem in STEMS if stem not in by_stem]
    if missing:
        problems.append((relative, f"missing image(s) {missing}; every person folder needs {list(STEMS)}"))
    images = [(stem, f"{relative}/{by_stem[stem]}") for stem in STEMS if stem in by_stem]
    return images, problems


def _build_table(rows, age_bins):
    table = pd.DataFrame(rows, columns=["path", "person", "id", "gender", "race", "age", "stem"])
    table = table.rename(columns={"id": "person_id"})
    table["gender"] = table["gender"].map(GENDER_BY_NAME).astype(np.int64)
    table["age"] = table["age"].astype(np.int64)
    table["age_band"] = np.asarray(age_band(table["age"].to_numpy(), age_bins), dtype=np.int64)
    table["mask"] = table["stem"].map(MASK_BY_STEM).astype(np.int64)
    table["label"] = encode_class(table["mask"], table["gender"], table["age_band"]).astype(np.int64)
    return table[list(TABLE_COLUMNS)]

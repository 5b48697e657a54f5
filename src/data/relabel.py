"""Label corrections applied to the train table: data.relabel names a csv at the repository root.

Columns target,field,value; lines starting with '#' are comments. target is a person folder
(000001_female_Asian_45: every image of that person) or an image path relative to data/
(train/images/000001_female_Asian_45/incorrect_mask.jpg). field is gender (male | female),
age (an integer; the age band follows data.age_bins) or mask (wear | incorrect | not_wear; images only).
Any bad row fails with the file, its line and the problem. data/ itself is never edited.
"""
import csv
from pathlib import Path

import numpy as np

from src.common.errors import BadInputError
from src.labels.classes import COMPETITION_AGE_BINS, GENDER_BY_NAME, MASK_NAMES, age_band, encode_class

COLUMNS = ["target", "field", "value"]
FIELDS = ("gender", "age", "mask")


def read_relabel(path):
    """[(line number, target, field, value)] of the file; an empty path means no corrections."""
    if not path:
        return []
    path = Path(path)
    if not path.is_file():
        raise BadInputError(path, "relabel file not found (data.relabel)")
    rows = []
    with open(path, newline="") as f:
        lines = [(number, line) for number, line in enumerate(f, start=1)
                 if line.strip() and not line.lstrip().startswith("#")]
    if not lines or next(csv.reader([lines[0][1]])) != COLUMNS:
        raise BadInputError(path, f"the first non-comment line must be the header {','.join(COLUMNS)}")
    for number, line in lines[1:]:
        cells = [cell.strip() for cell in next(csv.reader([line]))]
        if len(cells) != 3:
            raise BadInputError(path, f"line {number}: expected 3 columns {COLUMNS}, got {len(cells)}")
        rows.append((number, *cells))
    return rows


def apply_relabel(table, path, age_bins=COMPETITION_AGE_BINS):
    """Return (corrected copy of the train table, number of images whose label changed)."""
    table = table.copy()
    before = table[list(FIELDS)].to_numpy().copy()  # an image counts as relabeled when one of these changed
    by_person = {person: np.flatnonzero(table["person"].to_numpy() == person) for person in table["person"].unique()}
    by_path = {p: i for i, p in enumerate(table["path"])}
    for number, target, field, value in read_relabel(path):
        where = f"line {number}"
        if target in by_path:
            rows = [by_path[target]]
        elif target in by_person:
            rows = by_person[target]
        else:
            raise BadInputError(path, f"{where}: target {target!r} is neither a person folder nor an image path "
                                      "(relative to data/, e.g. train/images/<folder>/mask1.jpg) of the train set")
        if field not in FIELDS:
            raise BadInputError(path, f"{where}: unknown field {field!r}; valid: {list(FIELDS)}")
        column = table.columns.get_loc(field)
        if field == "gender":
            if value not in GENDER_BY_NAME:
                raise BadInputError(path, f"{where}: gender {value!r} is not one of {list(GENDER_BY_NAME)}")
            table.iloc[rows, column] = GENDER_BY_NAME[value]
        elif field == "age":
            if not value.isdigit() or not 0 <= int(value) <= 150:
                raise BadInputError(path, f"{where}: age {value!r} is not an integer in 0..150")
            table.iloc[rows, column] = int(value)
        else:
            if value not in MASK_NAMES:
                raise BadInputError(path, f"{where}: mask {value!r} is not one of {list(MASK_NAMES)}")
            if target not in by_path:
                raise BadInputError(path, f"{where}: mask is per image; target {target!r} is a person folder")
            table.iloc[rows, column] = MASK_NAMES.index(value)
    table["age_band"] = np.asarray(age_band(table["age"].to_numpy(), age_bins), dtype=np.int64)
    table["label"] = encode_class(table["mask"], table["gender"], table["age_band"]).astype(np.int64)
    changed = (table[list(FIELDS)].to_numpy() != before).any(axis=1)
    return table, int(changed.sum())

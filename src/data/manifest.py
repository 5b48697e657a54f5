"""Read the crops faceCrop wrote: the manifests (one csv row per crop) with the right types (ids stay
strings: '000123') and the crop arrays, checked against each other. A broken file raises BadInputError
naming it."""
import numpy as np
import pandas as pd

from src.common.errors import BadInputError, first_line

TEXT_COLUMNS = {"path": str, "person": str, "person_id": str, "race": str, "stem": str, "image_id": str,
                "box_source": str}


def read_manifest(path, required=("path",)):
    """One row per crop. Fails on a missing, empty or unparsable file or one without the `required` columns."""
    try:
        table = pd.read_csv(path, dtype=TEXT_COLUMNS)
    except FileNotFoundError:
        raise BadInputError(path, "missing") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise BadInputError(path, f"not a readable crop manifest ({first_line(e)})") from None
    absent = [column for column in required if column not in table.columns]
    if absent:
        raise BadInputError(path, f"not a crop manifest: no column {absent} (columns {list(table.columns)})")
    return table


def load_crops(npy_path, csv_path, required=("path",)):
    """(manifest, crops): crops a read-only memory map of N x H x W x 3 uint8, N the manifest's rows."""
    table = read_manifest(csv_path, required)
    try:
        crops = np.load(npy_path, mmap_mode="r")
    except FileNotFoundError:
        raise BadInputError(npy_path, "missing") from None
    except (ValueError, OSError, EOFError) as e:  # a truncated file: "mmap length is greater than file size"
        raise BadInputError(npy_path, f"not a readable crop array, truncated or overwritten "
                                      f"({first_line(e)})") from None
    if crops.ndim != 4 or crops.shape[3] != 3 or crops.dtype != np.uint8:
        raise BadInputError(npy_path, f"expected N x height x width x 3 uint8 crops, got {crops.dtype} "
                                      f"{' x '.join(map(str, crops.shape))}")
    if len(crops) != len(table):
        raise BadInputError(npy_path, f"holds {len(crops)} crops but {csv_path} lists {len(table)}: "
                                      f"the two files are from different faceCrop runs")
    return table, crops


"""Read the crop manifests written by faceCrop with the right types (ids stay strings: '000123')."""
import pandas as pd

TEXT_COLUMNS = {"path": str, "person": str, "person_id": str, "race": str, "stem": str, "image_id": str,
                "box_source": str}


def read_manifest(path):
    return pd.read_csv(path, dtype=TEXT_COLUMNS)

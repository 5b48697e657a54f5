"""Detect, resolve and cut faces for a whole table of images into one uint8 array on disk.

Images are processed in chunks that never split a person, so the "box of another image of the
same person" fallback needs a single pass and each image is decoded once."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from src.common.atomic import atomic_path
from src.common.errors import BadImageError
from src.common.progress import progress
from src.data.images import load_rgb
from src.face_crop.boxes import boxes_frame, crop_region, cut, resolve_boxes


def person_chunks(groups, chunk_size):
    """Index ranges of about chunk_size rows, cut only where the group changes (None = no group)."""
    start = 0
    for i in range(1, len(groups) + 1):
        at_boundary = i == len(groups) or groups[i] is None or groups[i] != groups[i - 1]
        if at_boundary and (i - start >= chunk_size or i == len(groups)):
            yield start, i
            start = i


def crop_faces(data_dir, paths, groups, detector, out_file, size, margin, center_size,
               chunk_size=16, on_bad_image="error", prior=None, desc="faceCrop"):
    """Crop every image of `paths` (relative to data_dir) into `out_file` (.npy, N x H x W x 3 uint8).

    groups: the person of each row (rows of a person contiguous), or None per row for no fallback.
    prior: the fallback face region for images with no box of their own or of their person.
    Returns (manifest of boxes aligned with the kept rows, list of (path, reason) skipped).
    Under on_bad_image="error" a bad image raises naming the file; under "skip" it is counted."""
    groups = list(groups)
    runs = sum(1 for i, g in enumerate(groups) if g is not None and (i == 0 or groups[i - 1] != g))
    if runs != len({g for g in groups if g is not None}):
        raise ValueError("crop_faces: the rows of each person must be contiguous")
    data_dir = Path(data_dir)
    crops = np.lib.format.open_memmap(_scratch(out_file), mode="w+", dtype=np.uint8,
                                      shape=(len(paths), size[0], size[1], 3))
    kept, frames, skipped = [], [], []
    bar = progress(total=len(paths), desc=desc, unit="img")
    with ThreadPoolExecutor(max_workers=2) as pool:
        for start, stop in person_chunks(groups, chunk_size):
            loaded = list(pool.map(lambda p: _load(data_dir / p), paths[start:stop]))
            rows = []
            for offset, result in enumerate(loaded):
                if isinstance(result, BadImageError):
                    if on_bad_image != "skip":
                        raise result
                    skipped.append((paths[start + offset], result.reason))
                else:
                    rows.append(offset)
            images = [loaded[r] for r in rows]
            shapes = [image.shape for image in images]
            boxes, sources, scores = resolve_boxes(detector.detect(images), [groups[start + r] for r in rows],
                                                   shapes, prior)
            for image, box, r in zip(images, boxes, rows):
                region = crop_region(box, image.shape, margin, size, center_size)
                crops[len(kept)] = cut(image, region, size)
                kept.append(start + r)
            frames.append(boxes_frame(boxes, sources, scores, shapes))
            bar.update(stop - start)
    bar.close()
    crops.flush()
    _finish(crops, len(kept), out_file)
    manifest = pd.concat(frames, ignore_index=True) if frames else boxes_frame([], [], [], [])
    manifest.insert(0, "row", kept)
    return manifest, skipped


def _load(path):
    try:
        return load_rgb(path)
    except BadImageError as error:
        return error


def _scratch(out_file):
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    return out_file.with_name(f".{out_file.name}.partial")


def _finish(crops, n_kept, out_file):
    """Move the finished array into place; when images were skipped, keep only the filled rows."""
    scratch = Path(crops.filename)
    if n_kept == len(crops):
        del crops
        scratch.replace(out_file)
        return
    with atomic_path(out_file) as tmp:
        with open(tmp, "wb") as f:
            np.save(f, np.asarray(crops[:n_kept]))
    del crops
    scratch.unlink()


def crop_table(data_dir, table, groups, detector, face_crop, out_file, on_bad_image="error", prior=None,
               desc="faceCrop"):
    """crop_faces over table["path"] with params.yaml's face_crop geometry; returns (the cropped rows of
    table joined with their boxes, skipped [(path, reason)])."""
    manifest, skipped = crop_faces(data_dir, table["path"].tolist(), groups, detector, out_file,
                                   size=face_crop.size, margin=face_crop.margin,
                                   center_size=face_crop.center_size, chunk_size=face_crop.batch_size,
                                   on_bad_image=on_bad_image, prior=prior, desc=desc)
    rows = table.iloc[manifest.pop("row")].reset_index(drop=True)
    return pd.concat([rows, manifest], axis=1), skipped

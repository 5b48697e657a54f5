"""Write a synthetic sample in exactly the folder and CSV layout of the real competition data.

    train/train.csv, train/images/{id}_{gender}_Asian_{age}/{mask1..5,incorrect_mask,normal}.jpg
    eval/info.csv, eval/images/<40 hex>.jpg
    sample_truth/eval_labels.csv, sample_truth/face_boxes.csv   (answers only a sample can have)

Persons are rendered by a process pool in order (imap), each photo from its own generator, so
the bytes written do not depend on the number of workers.
"""
import csv
import multiprocessing
import shutil
import struct
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from src.labels.classes import MASK_BY_STEM, encode_class
from src.sample.people import (ROLE_EVAL, ROLE_TRAIN, STREAM_EVAL_NAMES, STREAM_EVAL_ORDER, make_people,
                               quirk_folders)
from src.sample.photo import IMAGE_STEMS, image_rng, render_photo

JPEG_QUALITY = 92
# What macOS leaves beside each file on a non-Mac disk: a header, then Finder info. Not an image.
APPLE_DOUBLE = (struct.pack(">II16sH", 0x00051607, 0x00020000, b"Mac OS X        ", 2)
                + struct.pack(">III", 9, 50, 3760) + struct.pack(">III", 2, 3810, 286)).ljust(4096, b"\0")


def eval_image_names(persons, seed):
    """{(person index, stem): '<40 hex>.jpg'}: random-looking but seeded names, as in the real eval set."""
    names = {(p.index, stem): np.random.default_rng([seed, STREAM_EVAL_NAMES, p.index, i]).bytes(20).hex() + ".jpg"
             for p in persons for i, stem in enumerate(IMAGE_STEMS)}
    if len(set(names.values())) != len(names):
        raise RuntimeError("eval image names collided")  # 160-bit names: never in practice
    return names


def save_image(image, path):
    if path.suffix == ".png":
        image.save(path, format="PNG")  # no text chunks, so no timestamps
    else:
        image.save(path, format="JPEG", quality=JPEG_QUALITY)


def render_person(task):
    """Render and write one person's 7 photos; returns [(path relative to out, face box)]."""
    out, seed, role, person, files, apple_double = task
    rows = []
    for image_index, (stem, relpath) in enumerate(zip(IMAGE_STEMS, files)):
        image, box = render_photo(person.looks, stem, image_rng(seed, role, person.index, image_index))
        save_image(image, out / relpath)
        if apple_double:
            (out / relpath).with_name("._" + Path(relpath).name).write_bytes(APPLE_DOUBLE)
        rows.append((relpath, box))
    return rows


def write_csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def prepare_out(out, force):
    """Refuse a non-empty folder unless force, which deletes it first."""
    if out.exists() and any(out.iterdir()):
        if not force:
            raise FileExistsError(f"{out} is not empty; pass force (--force) to delete and rewrite it")
        if out.resolve() in (Path.home().resolve(), Path.cwd().resolve(), Path("/")):
            raise ValueError(f"refusing to delete {out}")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def write_sample(out, persons=300, eval_persons=100, seed=0, workers=2, force=False, progress=False):
    """Generate the sample into out; returns a summary dict of what was written."""
    start, out = time.perf_counter(), Path(out)
    prepare_out(out, force)
    train = make_people(persons, seed, ROLE_TRAIN, quirks=True)
    evals = make_people(eval_persons, seed, ROLE_EVAL, quirks=False)
    extensions, apple_double = quirk_folders(train, seed)
    names = eval_image_names(evals, seed)
    tasks = []
    for p in train:
        ext = extensions.get(p.index, ".jpg")
        files = [f"train/images/{p.folder}/{stem}{ext}" for stem in IMAGE_STEMS]
        tasks.append((out, seed, ROLE_TRAIN, p, files, p.index in apple_double))
        (out / "train/images" / p.folder).mkdir(parents=True)
    (out / "eval/images").mkdir(parents=True)
    for p in evals:
        tasks.append((out, seed, ROLE_EVAL, p, [f"eval/images/{names[p.index, s]}" for s in IMAGE_STEMS], False))

    boxes = []
    bar = tqdm(total=len(tasks), unit="person", disable=not progress)
    with multiprocessing.Pool(workers) if workers > 1 else _InProcess() as pool:
        for rows in pool.imap(render_person, tasks, chunksize=1):
            boxes.extend(rows)
            bar.update()
    bar.close()

    write_csv(out / "train/train.csv", ["id", "gender", "race", "age", "path"],
              [(p.id, p.gender, "Asian", p.age, p.folder) for p in train])
    eval_rows = [(names[p.index, stem], encode_class(MASK_BY_STEM[stem], p.gender_label, p.age_band),
                  MASK_BY_STEM[stem], p.gender_label, p.age_band) for p in evals for stem in IMAGE_STEMS]
    order = np.random.default_rng([seed, STREAM_EVAL_ORDER]).permutation(len(eval_rows))
    eval_rows = [eval_rows[i] for i in order]  # the real info.csv is not grouped by person
    write_csv(out / "eval/info.csv", ["ImageID", "ans"], [(row[0], 0) for row in eval_rows])
    write_csv(out / "sample_truth/eval_labels.csv", ["ImageID", "ans", "mask", "gender", "age"], eval_rows)
    write_csv(out / "sample_truth/face_boxes.csv", ["path", "x1", "y1", "x2", "y2"],
              [(path, *(f"{v:.1f}" for v in box)) for path, box in boxes])
    return dict(out=str(out), train_persons=len(train), train_images=len(train) * len(IMAGE_STEMS),
                eval_persons=len(evals), eval_images=len(eval_rows),
                png_folders=sum(e == ".png" for e in extensions.values()),
                jpeg_folders=sum(e == ".jpeg" for e in extensions.values()),
                apple_double_files=len(apple_double) * len(IMAGE_STEMS),
                seconds=round(time.perf_counter() - start, 1))


class _InProcess:
    """Stands in for a Pool when workers <= 1 (simpler to debug and profile)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, items, chunksize=1):
        return map(fn, items)

"""Fake competition layouts for tests: tiny but valid images written with PIL, no binaries in git.

    data_dir = make_train_layout(tmp_path)           # train/train.csv + train/images/<person>/<stem>.jpg
    image_ids = make_eval_layout(tmp_path, count=3)  # eval/info.csv + eval/images/<40 hex>.jpg
"""
import csv
import functools
import hashlib
import io
from pathlib import Path

from PIL import Image

from src.labels.classes import MASK_BY_STEM

STEMS = tuple(MASK_BY_STEM)
# (id, gender, race, age): both genders, and all three age bands under bins (30, 60).
PERSONS = (
    ("000001", "female", "Asian", 45),
    ("000002", "male", "Asian", 22),
    ("000003", "female", "Asian", 60),
    ("000004", "male", "Asian", 58),
)
# The real set's quirks: a suffixed id, and one id owning two folders with different ages.
QUIRKY_PERSONS = PERSONS + (
    ("001498-1", "male", "Asian", 30),
    ("003397", "female", "Asian", 19),
    ("003397", "female", "Asian", 20),
)
SIZE = (24, 32)  # width, height: the real 3:4 portrait shape, small enough to keep tests fast
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "  # what macOS leaves as ._<name>


def folder_name(person_id, gender, race, age):
    return f"{person_id}_{gender}_{race}_{age}"


def write_image(path, size=SIZE, color=(150, 110, 90)):
    """Write a solid-colour image; the format follows the suffix (.png -> PNG, anything else JPEG)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_format = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    path.write_bytes(_encoded(image_format, tuple(size), tuple(color)))
    return path


@functools.lru_cache(maxsize=None)
def _encoded(image_format, size, color):
    # Encoding once per look makes a real-size layout (18,900 files) quick to write.
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=image_format)
    return buffer.getvalue()


def write_person(data_dir, person, extension_by_stem=None, size=SIZE):
    """Write the 7 images of one person; returns the folder. extension_by_stem overrides '.jpg'."""
    person_id, gender, race, age = person
    folder = Path(data_dir) / "train" / "images" / folder_name(*person)
    for index, stem in enumerate(STEMS):
        extension = (extension_by_stem or {}).get(stem, ".jpg")
        # Colour depends on the labels so that a tiny model has something to learn in smoke tests.
        color = (40 * MASK_BY_STEM[stem] + 5 * index, 200 if gender == "female" else 60, min(4 * int(age), 255))
        write_image(folder / f"{stem}{extension}", size, color)
    return folder


def write_train_csv(data_dir, persons, extra_rows=()):
    """Write train/train.csv for persons (id, gender, race, age); extra_rows are raw 5-value rows."""
    path = Path(data_dir) / "train" / "train.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["id", "gender", "race", "age", "path"])
        writer.writerows([*person, folder_name(*person)] for person in persons)
        writer.writerows(extra_rows)
    return path


def make_train_layout(data_dir, persons=PERSONS, extension_by_stem=None, size=SIZE):
    """A clean train layout: csv plus 7 images per person. Returns data_dir as a Path."""
    for person in persons:
        write_person(data_dir, person, extension_by_stem, size)
    write_train_csv(data_dir, persons)
    return Path(data_dir)


def make_quirky_train_layout(data_dir, size=SIZE):
    """QUIRKY_PERSONS with mixed extensions and macOS litter (._ files, .DS_Store) in every folder."""
    extension_by_stem = {"mask2": ".png", "mask4": ".jpeg", "normal": ".JPG"}
    for person in QUIRKY_PERSONS:
        folder = write_person(data_dir, person, extension_by_stem, size)
        (folder / "._mask1.jpg").write_bytes(APPLE_DOUBLE)
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    write_train_csv(data_dir, QUIRKY_PERSONS)
    return Path(data_dir)


def make_eval_layout(data_dir, count=3, size=SIZE):
    """eval/info.csv (blank ans) and one image per row; returns the ImageIDs in csv order."""
    images_dir = Path(data_dir) / "eval" / "images"
    image_ids = [hashlib.sha1(str(i).encode()).hexdigest() + ".jpg" for i in range(count)]
    for i, image_id in enumerate(image_ids):
        write_image(images_dir / image_id, size, color=(20 * i % 256, 100, 150))
    write_eval_csv(data_dir, image_ids)
    return image_ids


def write_eval_csv(data_dir, image_ids):
    path = Path(data_dir) / "eval" / "info.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["ImageID", "ans"])
        writer.writerows([image_id, ""] for image_id in image_ids)
    return path

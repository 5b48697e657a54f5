"""The synthetic sample: real layout, real quirks, exact proportions, determinism, detectable faces."""
import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

from src.labels.classes import MASK_BY_STEM, encode_class
from src.sample.layout import eval_image_names
from src.sample.people import ROLE_EVAL, make_people
from src.sample.photo import IMAGE_STEMS
from tests.helpers import REPO

PERSONS, EVAL_PERSONS, SEED = 22, 3, 3


def make_sample(out, *extra):
    return subprocess.run([sys.executable, "-m", "stages.make_sample", "--out", str(out), *map(str, extra)],
                          cwd=REPO, capture_output=True, text=True, env={**os.environ, "CI": "1"})


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def all_files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "data"
    run = make_sample(out, "--persons", PERSONS, "--eval-persons", EVAL_PERSONS, "--seed", SEED, "--workers", 2)
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.strip().splitlines()) == 1 and "make_sample: wrote" in run.stdout
    return out


@pytest.mark.pipeline
def test_byte_identical_whatever_the_workers(sample, tmp_path):
    again = tmp_path / "again"
    run = make_sample(again, "--persons", PERSONS, "--eval-persons", EVAL_PERSONS, "--seed", SEED, "--workers", 1)
    assert run.returncode == 0, run.stderr
    first, second = all_files(sample), all_files(again)
    assert first.keys() == second.keys()
    assert [k for k in first if first[k] != second[k]] == []


def test_train_layout_and_images(sample):
    rows = read_csv(sample / "train/train.csv")
    assert rows[0] == ["id", "gender", "race", "age", "path"]
    folders = {p.name for p in (sample / "train/images").iterdir()}
    assert sorted(r[4] for r in rows[1:]) == sorted(folders) and len(folders) == PERSONS
    for id_, gender, race, age, path in rows[1:]:
        assert path == f"{id_}_{gender}_{race}_{age}" and gender in ("male", "female") and race == "Asian"
        assert re.fullmatch(r"\d{6}(-1)?", id_)
        images = sorted(p for p in (sample / "train/images" / path).iterdir() if not p.name.startswith("._"))
        assert sorted(p.stem for p in images) == sorted(IMAGE_STEMS)
        for p in images:
            with Image.open(p) as im:
                assert im.size == (384, 512) and im.mode == "RGB"
    assert (sample / "train/train.csv").read_bytes().count(b"\r") == 0


def test_quirks_present(sample):
    rows = read_csv(sample / "train/train.csv")[1:]
    files = list((sample / "train/images").rglob("*"))
    assert any(p.suffix == ".png" for p in files) and any(p.suffix == ".jpeg" for p in files)
    apple = [p for p in files if p.name.startswith("._")]
    assert apple and all(p.stat().st_size == 4096 for p in apple)
    with pytest.raises(UnidentifiedImageError):  # an AppleDouble file is no image
        Image.open(apple[0])
    assert sum(r[0].endswith("-1") for r in rows) == 1
    ages_by_id = {}
    for id_, _, _, age, _ in rows:
        ages_by_id.setdefault(id_, set()).add(age)
    shared = [ages for ages in ages_by_id.values() if len(ages) > 1]
    assert len(shared) == 1 and len(shared[0]) == 2


def test_eval_names_and_truth(sample):
    info = read_csv(sample / "eval/info.csv")
    truth = read_csv(sample / "sample_truth/eval_labels.csv")
    assert info[0] == ["ImageID", "ans"] and truth[0] == ["ImageID", "ans", "mask", "gender", "age"]
    names = [r[0] for r in info[1:]]
    assert all(re.fullmatch(r"[0-9a-f]{40}\.jpg", n) for n in names) and all(r[1] == "0" for r in info[1:])
    assert sorted(names) == sorted(p.name for p in (sample / "eval/images").iterdir())
    assert len(set(names)) == len(names) == 7 * EVAL_PERSONS
    assert [r[0] for r in truth[1:]] == names
    persons = make_people(EVAL_PERSONS, SEED, ROLE_EVAL, quirks=False)
    expected = {name: (MASK_BY_STEM[stem], p.gender_label, p.age_band)
                for p in persons for (index, stem), name in eval_image_names(persons, SEED).items() if index == p.index}
    for name, ans, mask, gender, age in truth[1:]:
        assert (int(mask), int(gender), int(age)) == expected[name]
        assert int(ans) == encode_class(int(mask), int(gender), int(age))


def test_face_boxes_cover_every_image(sample):
    rows = read_csv(sample / "sample_truth/face_boxes.csv")
    assert rows[0] == ["path", "x1", "y1", "x2", "y2"]
    images = {p.relative_to(sample).as_posix() for p in sample.glob("*/images/**/*.*") if not p.name.startswith("._")}
    assert sorted(r[0] for r in rows[1:]) == sorted(images)
    boxes = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    assert (boxes[:, 2] > boxes[:, 0] + 60).all() and (boxes[:, 3] > boxes[:, 1] + 60).all()
    assert (boxes[:, :2] > -10).all() and (boxes[:, 2] < 394).all() and (boxes[:, 3] < 522).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_person_table_proportions(seed):
    persons = make_people(300, seed)
    bands = np.bincount([p.age_band for p in persons], minlength=3)
    assert abs(sum(p.gender == "female" for p in persons) / 300 - 1658 / 2700) < 0.01
    assert np.abs(bands / 300 - np.array([1281, 1227, 192]) / 2700).max() < 0.01
    ages = np.array([p.age for p in persons])
    assert ages.min() >= 18 and ages.max() == 60
    assert all(p.age == 60 for p in persons if p.age_band == 2)
    assert len({p.folder for p in persons}) == 300


def test_refuses_non_empty_out_without_force(tmp_path):
    out = tmp_path / "data"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    run = make_sample(out, "--persons", 2, "--eval-persons", 1)
    assert run.returncode != 0 and "--force" in run.stderr and (out / "keep.txt").exists()
    run = make_sample(out, "--persons", 2, "--eval-persons", 1, "--force")
    assert run.returncode == 0, run.stderr
    assert not (out / "keep.txt").exists() and (out / "train/train.csv").exists()


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h)


@pytest.mark.pipeline
def test_mtcnn_finds_unmasked_faces(sample):
    facenet = pytest.importorskip("facenet_pytorch")
    detector = facenet.MTCNN(keep_all=True, device="cpu")
    rows = [r for r in read_csv(sample / "sample_truth/face_boxes.csv")[1:] if Path(r[0]).stem == "normal"][:10]
    hits = 0
    for path, *box in rows:
        with Image.open(sample / path) as im:
            found, _ = detector.detect(im.convert("RGB"))
        hits += found is not None and max(iou(f, [float(v) for v in box]) for f in found) >= 0.5
    assert hits >= 8, f"MTCNN found {hits} of {len(rows)} unmasked faces"


def test_a_face_low_in_the_photo_pushes_the_body_off_it_without_error():
    """Seed 1's eval person 3, photo mask2: the shoulders start below the photo's bottom edge (PIL refuses
    a rectangle whose bottom is above its top: `make_sample --seed 1` used to stop there)."""
    from src.sample.photo import image_rng, render_photo

    person = make_people(100, 1, ROLE_EVAL, quirks=False)[3]
    photo, box = render_photo(person.looks, "mask2", image_rng(1, ROLE_EVAL, person.index, 1))
    assert photo.size == (384, 512) and box[3] > box[1] + 60

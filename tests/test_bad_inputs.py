"""Bad and odd inputs, run THROUGH THE REAL faceCrop stage (`python -m stages.face_crop`) in workspace copies.

Every file is written here by the test (no binaries in git). Each case is a small data/ layout in a
workspace of its own; the stage processes of all cases run at once in the module fixture (each one
spends its time importing torch), and the tests read their exit code, stderr and outputs.

| input                                   | behaviour                                                         |
|-----------------------------------------|-------------------------------------------------------------------|
| zero-byte image                         | error: '<path>: empty file'; skip: counted + listed               |
| truncated JPEG                          | error: '<path>: truncated or corrupt: ...'; skip: counted + listed |
| text file named .jpg                    | error: '<path>: not an image (cannot identify)'; skip: listed      |
| image over load_rgb's max_pixels (100 MP) | error: '<path>: image too large: WxH pixels'; skip: listed      |
| 8000x8000 image (64 MP, under the limit) | cropped like any other                                           |
| grayscale, RGBA, CMYK, 16-bit PNG, 10x10, PNG named .jpg | cropped (RGB uint8, 16-bit scaled, alpha dropped) |
| EXIF-rotated JPEG                       | cropped upright: load_rgb applies the orientation, faceCrop uses load_rgb |
| person folder with 6 images             | error: '<folder>: missing image(s) [...]'; skip: listed, 6 kept    |
| person folder with 8 images (mask6.jpg) | error: '<file>: unknown file stem'; skip: listed                   |
| mask1.jpg + mask1.png                   | error: '<mask1.png>: duplicate stem'; skip: .png listed, .jpg kept |
| empty train.csv                         | error under both modes: 'train/train.csv: empty file'             |
| train.csv row whose folder is missing   | error under both modes: '... folder ... does not exist'          |
| info.csv with duplicate ImageIDs        | error under both modes: 'eval/info.csv: duplicate ImageID(s)'    |
| bad eval image                          | error under both modes, naming the eval file (no eval row dropped) |
| params.yaml typo `trian.lr` (split stage) | error before any work: "unknown key 'trian.lr'; did you mean ['train.lr', ...]" |
"""
import io
import json
import shutil
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.helpers.fake_layout import PERSONS, folder_name, make_eval_layout, make_train_layout, write_eval_csv
from tests.helpers.workspace import make_workspace, run_stage, write_params

pytestmark = pytest.mark.pipeline

CROP_SIZE = [32, 24]
PARAMS = {"face_crop": {"detector": "center", "size": CROP_SIZE}, "split": {"k": 2}, "train": {"folds": [0, 1]}}
P0, P1 = (f"train/images/{folder_name(*person)}" for person in PERSONS[:2])


# ---- files the cases write -------------------------------------------------------------------

def noise_jpeg(size=(64, 64)):
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(
        buffer, "JPEG")
    return buffer.getvalue()


def encoded(image, image_format, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, image_format, **kwargs)
    return buffer.getvalue()


def png_header_only(width, height):
    """A PNG that declares width x height but holds one row of data: opening it is cheap, decoding is not."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * (3 * width + 1)))
            + chunk(b"IEND", b""))


def exif_rotated_jpeg():
    """Stored 32 wide x 24 high, left half red, right half blue, EXIF orientation 6 (display: turn 90
    degrees clockwise): upright it is 24 wide x 32 high, red on top, blue at the bottom."""
    pixels = np.zeros((24, 32, 3), np.uint8)
    pixels[:, :16] = (220, 20, 20)
    pixels[:, 16:] = (20, 20, 220)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encoded(Image.fromarray(pixels), "JPEG", exif=exif.tobytes(), quality=95)


def write(data, relative, content):
    path = Path(data) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def replace(data, relative, new_name, content):
    (Path(data) / relative).unlink()
    write(data, Path(relative).parent / new_name, content)


def base_layout(data):
    make_train_layout(data, PERSONS[:2])
    make_eval_layout(data, count=2)


# ---- the cases: (mode, edit of the base layout) ------------------------------------------------

def odd_but_valid(data):
    replace(data, f"{P0}/mask1.jpg", "mask1.jpg", encoded(Image.new("L", (24, 32), 90), "JPEG"))
    replace(data, f"{P0}/mask2.jpg", "mask2.png", encoded(Image.new("RGBA", (24, 32), (10, 200, 30, 0)), "PNG"))
    replace(data, f"{P0}/mask3.jpg", "mask3.jpg", encoded(Image.new("CMYK", (24, 32), (0, 120, 200, 10)), "JPEG"))
    sixteen = Image.fromarray(np.full((32, 24), 50000, np.uint16))
    replace(data, f"{P0}/mask4.jpg", "mask4.png", encoded(sixteen, "PNG"))
    replace(data, f"{P0}/mask5.jpg", "mask5.jpg", exif_rotated_jpeg())
    tiny = encoded(Image.new("RGB", (10, 10), (1, 2, 3)), "JPEG")
    replace(data, f"{P0}/incorrect_mask.jpg", "incorrect_mask.jpg", tiny)
    replace(data, f"{P0}/normal.jpg", "normal.jpg", encoded(Image.new("RGB", (24, 32), (200, 100, 0)), "PNG"))
    replace(data, f"{P1}/mask1.jpg", "mask1.png", encoded(Image.new("L", (8000, 8000), 128), "PNG", compress_level=1))


def all_skippable(data):
    write(data, f"{P0}/mask1.jpg", b"")
    write(data, f"{P0}/mask2.jpg", noise_jpeg()[:600])
    write(data, f"{P0}/mask3.jpg", b"id,name\n1,not an image\n")
    replace(data, f"{P0}/mask4.jpg", "mask4.png", png_header_only(20000, 20000))
    (Path(data) / f"{P1}/normal.jpg").unlink()
    write(data, f"{P1}/mask6.jpg", noise_jpeg())
    write(data, f"{P1}/mask1.png", noise_jpeg())


def eval_image(data, content):
    first = sorted((Path(data) / "eval/images").iterdir())[0]
    first.write_bytes(content)
    return f"eval/images/{first.name}"


CASES = {
    # name: (data.on_bad_image, edit, culprit path (relative to data/, None: no failure), problem)
    "zero_byte": ("error", lambda d: write(d, f"{P0}/mask1.jpg", b""), f"{P0}/mask1.jpg", "empty file"),
    "truncated_jpeg": ("error", lambda d: write(d, f"{P0}/mask2.jpg", noise_jpeg()[:600]), f"{P0}/mask2.jpg",
                       "truncated or corrupt"),
    "text_named_jpg": ("error", lambda d: write(d, f"{P0}/mask3.jpg", b"id,name\n1,not an image\n"),
                       f"{P0}/mask3.jpg", "not an image (cannot identify)"),
    "over_max_pixels": ("error", lambda d: replace(d, f"{P0}/mask4.jpg", "mask4.png", png_header_only(20000, 20000)),
                        f"{P0}/mask4.png", "image too large"),
    "six_images": ("error", lambda d: (Path(d) / f"{P1}/normal.jpg").unlink(), P1, "missing image(s) ['normal']"),
    "eight_images": ("error", lambda d: write(d, f"{P1}/mask6.jpg", noise_jpeg()), f"{P1}/mask6.jpg",
                     "unknown file stem 'mask6'"),
    "duplicate_stem": ("error", lambda d: write(d, f"{P1}/mask1.png", noise_jpeg()), f"{P1}/mask1.png",
                       "duplicate stem 'mask1'"),
    # Problems with the csv files or the folders they list are never skipped: the labels are at stake.
    "empty_train_csv": ("skip", lambda d: write(d, "train/train.csv", b""), "train/train.csv", "empty file"),
    "missing_folder": ("skip", lambda d: shutil.rmtree(Path(d) / P1), "train/train.csv", f"{P1} does not exist"),
    "duplicate_image_ids": ("skip", lambda d: write_eval_csv(d, make_eval_layout(d, count=2) * 2),
                            "eval/info.csv", "duplicate ImageID(s)"),
    # An eval row is never dropped: a bad eval image fails the stage even under skip.
    "bad_eval_image": ("skip", lambda d: eval_image(d, noise_jpeg()[:600]), "EVAL", "truncated or corrupt"),
    "odd_but_valid": ("error", odd_but_valid, None, None),
    "skip_all": ("skip", all_skippable, None, None),
}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """name -> (workspace, CompletedProcess) of `python -m stages.face_crop` for every case, and the
    `python -m stages.split` run with a params typo, all started at once."""
    root = tmp_path_factory.mktemp("bad_inputs")
    jobs = {}
    for name, (mode, edit, culprit, _) in CASES.items():
        ws = make_workspace(root / name, {**PARAMS, "data": {"on_bad_image": mode}}, git=False)
        base_layout(ws / "data")
        edit(ws / "data")
        jobs[name] = (ws, ["python", "-m", "stages.face_crop"])
    typo = make_workspace(root / "typo", PARAMS, git=False)
    write_params(typo, {**PARAMS, "trian": {"lr": 0.1}})
    jobs["params_typo"] = (typo, ["python", "-m", "stages.split"])
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = {name: pool.submit(run_stage, args, ws) for name, (ws, args) in jobs.items()}
        return {name: (jobs[name][0], future.result()) for name, future in done.items()}


FAILING = [name for name, case in CASES.items() if case[2] is not None]


@pytest.mark.parametrize("name", FAILING)
def test_bad_input_fails_the_stage_naming_file_and_problem(results, name):
    ws, done = results[name]
    _, _, culprit, problem = CASES[name]
    if culprit == "EVAL":
        culprit = "eval/images/" + sorted((ws / "data/eval/images").iterdir())[0].name
    assert done.returncode != 0, done.stdout
    last_line = done.stderr.strip().splitlines()[-1]
    # One clean line: the stage, the file, the problem; no traceback.
    assert last_line.startswith(f"face_crop: data/{culprit}: ") and problem in last_line, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not (ws / "crops/train.csv").exists() and not (ws / "metrics/face_crop.json").exists()


def test_odd_but_valid_images_are_all_cropped(results):
    ws, done = results["odd_but_valid"]
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = pd.read_csv(ws / "crops/train.csv", dtype=str)
    crops = np.load(ws / "crops/train.npy")
    assert len(manifest) == 14 and crops.shape == (14, *CROP_SIZE, 3) and crops.dtype == np.uint8
    assert json.loads((ws / "metrics/face_crop.json").read_text())["skipped_images"] == 0
    by_path = {path: i for i, path in enumerate(manifest["path"])}
    sizes = {p: (int(w), int(h)) for p, w, h in zip(manifest["path"], manifest["image_w"], manifest["image_h"])}
    assert sizes[f"{P1}/mask1.png"] == (8000, 8000) and sizes[f"{P0}/incorrect_mask.jpg"] == (10, 10)
    # The 16-bit image is scaled (50000/257 = 195), not clipped at 255; grayscale and CMYK become RGB.
    assert abs(int(crops[by_path[f"{P0}/mask4.png"]].mean()) - 195) <= 1
    assert crops[by_path[f"{P0}/mask2.png"]][10, 10].tolist() == [10, 200, 30]  # alpha dropped, colour kept


def test_exif_rotated_photo_is_cropped_upright_by_the_same_load_rgb(results):
    from src.data.images import load_rgb
    from src.face_crop.boxes import crop_region, cut

    ws, done = results["odd_but_valid"]
    assert done.returncode == 0, done.stderr[-3000:]
    manifest = pd.read_csv(ws / "crops/train.csv", dtype=str)
    row = manifest.index[manifest["path"] == f"{P0}/mask5.jpg"][0]
    assert (manifest.loc[row, "image_w"], manifest.loc[row, "image_h"]) == ("24", "32")  # upright size
    crop = np.load(ws / "crops/train.npy")[row].astype(int)
    assert crop[:8, :, 0].mean() > 150 > crop[:8, :, 2].mean()    # red on top
    assert crop[-8:, :, 2].mean() > 150 > crop[-8:, :, 0].mean()  # blue at the bottom
    image = load_rgb(ws / "data" / manifest.loc[row, "path"])
    expected = cut(image, crop_region(None, image.shape, 0.25, CROP_SIZE, [450, 350]), CROP_SIZE)
    assert np.array_equal(crop, expected)


def test_skip_mode_counts_and_lists_every_skipped_file(results):
    ws, done = results["skip_all"]
    assert done.returncode == 0, done.stderr[-3000:]
    skipped = pd.read_csv(ws / "crops/skipped.csv", dtype=str)
    reasons = dict(zip(skipped["path"], skipped["reason"]))
    expected = {f"{P0}/mask1.jpg": "empty file", f"{P0}/mask2.jpg": "truncated or corrupt",
                f"{P0}/mask3.jpg": "not an image", f"{P0}/mask4.png": "image too large",
                P1: "missing image(s) ['normal']", f"{P1}/mask6.jpg": "unknown file stem",
                f"{P1}/mask1.png": "duplicate stem"}
    assert set(reasons) == set(expected)
    for path, reason in expected.items():
        assert reason in reasons[path], (path, reasons[path])
    metrics = json.loads((ws / "metrics/face_crop.json").read_text())
    assert metrics["skipped_images"] == 7 and "skipped 7" in done.stdout
    manifest = pd.read_csv(ws / "crops/train.csv", dtype=str)
    assert metrics["train"]["images"] == len(manifest) == 3 + 6 == len(np.load(ws / "crops/train.npy"))
    assert f"{P1}/mask1.jpg" in set(manifest["path"]) and not set(manifest["path"]) & set(reasons)
    assert metrics["eval"]["images"] == 2


def test_params_typo_stops_a_real_stage_before_any_work(results):
    ws, done = results["params_typo"]
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == "split: params.yaml: unknown key 'trian.lr'; did you mean train.lr?"
    assert "Traceback" not in done.stderr
    assert not (ws / "folds").exists()

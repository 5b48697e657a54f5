"""`python -m stages.predict --images DIR --out FILE.csv` (src/data/image_folder.py, src/deploy/folder.py) and
`--export-onnx DIR` (src/deploy/onnx_export.py): unit checks of the listing, the table and the ONNX graph's
math, then the real commands in a tiny user's repo after `dvc repro evaluate` (pipeline tier)."""
import hashlib
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from src.common.atomic import write_csv
from src.common.errors import BadInputError
from src.data.image_folder import APPLE_DOUBLE, HIDDEN, NOT_IMAGE, image_skip_reason, list_images
from src.deploy.folder import COLUMNS, PROB_COLUMNS, prediction_table
from src.deploy.onnx_export import EnsembleGraph
from src.inference.decision import decide
from src.inference.ensemble import soft_vote
from src.labels.tasks import num_classes
from src.models.networks import build_model
from src.sample.layout import APPLE_DOUBLE as APPLE_DOUBLE_BYTES
from tests.helpers.workspace import TINY, make_sample, make_workspace, run, run_stage


def touch(path, content=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


# --- the listing -----------------------------------------------------------------------------

def test_list_images_walks_subfolders_and_takes_extensions_in_any_case(tmp_path):
    for name in ("b.jpg", "a/c.JPG", "a/deep/er/d.Jpeg", "e.png", "f.PNG"):
        touch(tmp_path / name)
    images, skipped = list_images(tmp_path)
    assert images == ["a/c.JPG", "a/deep/er/d.Jpeg", "b.jpg", "e.png", "f.PNG"] and skipped == []


def test_list_images_lists_every_file_it_leaves_out_with_its_reason(tmp_path):
    for name in ("p.jpg", "a/._p.jpg", "a/.DS_Store", "notes.txt", "a/photo.gif", "jpg", ".git/x.jpg", "a/.hid/y.png"):
        touch(tmp_path / name)
    images, skipped = list_images(tmp_path)
    assert images == ["p.jpg"]
    assert skipped == [(".git", HIDDEN), ("a/.DS_Store", HIDDEN), ("a/._p.jpg", APPLE_DOUBLE), ("a/.hid", HIDDEN),
                       ("a/photo.gif", NOT_IMAGE), ("jpg", NOT_IMAGE), ("notes.txt", NOT_IMAGE)]


def test_skip_reason_by_name():
    assert [image_skip_reason(n) for n in ("x.jpeg", "._x.jpeg", ".x.jpeg", "x.jpeg.txt", "x.tif")] == \
        [None, APPLE_DOUBLE, HIDDEN, NOT_IMAGE, NOT_IMAGE]


def test_list_images_fails_naming_a_missing_folder_or_a_file(tmp_path):
    with pytest.raises(BadInputError, match="folder does not exist"):
        list_images(tmp_path / "nowhere")
    with pytest.raises(BadInputError, match="not a folder"):
        list_images(touch(tmp_path / "p.jpg"))


# --- the table -------------------------------------------------------------------------------

def test_prediction_table_keeps_the_image_order_and_gives_an_unreadable_image_its_error_row(tmp_path):
    probs = np.full((2, 18), 0.01, np.float32)
    probs[0, 17], probs[1, 0] = 0.83, 0.83
    cropped = pd.DataFrame({"path": ["b.jpg", "c.png"], "box_source": ["detected", "center"],
                            "x1": [1.0, np.nan], "y1": [2.0, np.nan], "x2": [3.0, np.nan], "y2": [4.0, np.nan]})
    table = prediction_table(["a.jpg", "b.jpg", "c.png"], cropped, {"a.jpg": "truncated or corrupt: x"}, probs,
                             probs.argmax(1))
    assert list(table.columns) == COLUMNS and table["path"].tolist() == ["a.jpg", "b.jpg", "c.png"]
    write_csv(tmp_path / "out.csv", table)
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[1] == "a.jpg" + "," * (len(COLUMNS) - 2) + ",truncated or corrupt: x"
    assert lines[2].startswith("b.jpg,17,not_wear,female,>=60,0.01,") and lines[2].endswith(",detected,1.0,2.0,3.0,4.0,")
    assert lines[3].startswith("c.png,0,wear,male,<30,0.83,") and lines[3].endswith(",center,,,,,")


def test_prediction_table_refuses_an_image_with_neither_prediction_nor_error():
    empty = pd.DataFrame({c: [] for c in ("path", "box_source", "x1", "y1", "x2", "y2")})
    with pytest.raises(ValueError, match="no prediction and no error"):
        prediction_table(["a.jpg"], empty, {}, np.zeros((0, 18), np.float32), np.zeros(0, np.int64))


# --- the ONNX graph's math, in torch ---------------------------------------------------------------

@pytest.mark.parametrize("tasks", [["all"], ["mask", "gender", "age"]])
def test_ensemble_graph_is_soft_vote_and_decide(tasks, one_torch_thread):
    """What gets exported: the soft vote with TTA of 18-class or mask/gender/age members and the macro_f1 rule."""
    torch.manual_seed(0)
    members = [{t: build_model("test_resnet", num_classes(t), mean=(0.5,) * 3, std=(0.25,) * 3).eval()
                for t in tasks} for _ in range(2)]
    crops = np.random.default_rng(0).integers(0, 256, (6, 32, 24, 3), dtype=np.uint8)
    decision = {"rule": "macro_f1", "age_offsets": [0.0, 0.4, 1.2]}
    want = soft_vote(members, crops, 4, torch.device("cpu"), ["hflip"])
    with torch.no_grad():
        probs, classes = EnsembleGraph(members, ["hflip"], decision)(torch.from_numpy(crops))
    np.testing.assert_allclose(probs.numpy(), want, atol=1e-5)
    np.testing.assert_array_equal(classes.numpy(), decide(decision, probs.numpy()))


# --- the real commands in a user's repo ----------------------------------------------------------------

# The photos folder: name -> how it is made. "eval:i" a byte copy of the i-th eval image, "png:i" the same
# pixels re-encoded as PNG; the rest must be listed (blank, broken) or skipped (AppleDouble, text, hidden).
PHOTOS = {"holiday/copy0.jpg": "eval:0", "holiday/day 2/copy1.JPG": "eval:1", "work/copy2.jpeg": "eval:2",
          "work/deep/er/copy3.png": "png:3", "blank.png": "blank", "broken.jpg": "broken",
          "holiday/._copy0.jpg": "appledouble", "notes.txt": "text", ".thumbs/x.jpg": "eval:4"}
LISTED = ["blank.png", "broken.jpg", "holiday/copy0.jpg", "holiday/day 2/copy1.JPG", "work/copy2.jpeg",
          "work/deep/er/copy3.png"]


def make_photos(ws, folder):
    eval_paths = [ws / "data" / p for p in pd.read_csv(ws / "crops/eval.csv", dtype=str)["path"]]
    for name, kind in PHOTOS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        what, _, index = kind.partition(":")
        if what == "eval":
            shutil.copyfile(eval_paths[int(index)], path)
        elif what == "png":
            Image.open(eval_paths[int(index)]).save(path)
        elif what == "blank":  # no face for MTCNN: the prior region of crops/train.csv's boxes
            Image.fromarray(np.full((512, 384, 3), 128, np.uint8)).save(path)
        elif what == "broken":
            path.write_bytes(eval_paths[0].read_bytes()[:300])
        elif what == "appledouble":
            path.write_bytes(APPLE_DOUBLE_BYTES)
        else:
            path.write_text("not a photo\n")


def digests(ws):
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted((ws / "submission").iterdir())}


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    """(workspace, photos folder, output table, printed output, submission digests before the run) after
    `dvc repro evaluate` with TINY params (MTCNN finds the drawn faces) and one --images run."""
    root = tmp_path_factory.mktemp("predict_folder")
    ws = make_workspace(root / "repo", TINY)
    make_sample(ws, persons=12, eval_persons=3)
    run(["dvc", "repro", "evaluate"], ws)
    before = digests(ws)
    make_photos(ws, root / "photos")
    out = run(["python", "-m", "stages.predict", "--images", str(root / "photos"), "--out", str(root / "p.csv")], ws)
    table = pd.read_csv(root / "p.csv", dtype={"path": str, "error": str}, keep_default_na=False, na_values=[""])
    return ws, root / "photos", table, out, before


@pytest.mark.pipeline
def test_one_row_per_photo_and_skipped_files_counted(predicted):
    _, _, table, out, _ = predicted
    assert list(table.columns) == COLUMNS and table["path"].tolist() == LISTED
    assert ("6 images under" in out and "box sources {'detected': 4, 'prior': 1, 'center': 0}" in out
            and "1 unreadable" in out)
    assert "skipped 3 not taken as photos (1 AppleDouble ._*, 1 hidden, 1 not .jpg/.jpeg/.png)" in out
    readable = table[table["path"] != "broken.jpg"]
    np.testing.assert_allclose(readable[PROB_COLUMNS].sum(axis=1), 1, atol=1e-5)
    assert readable["class"].between(0, 17).all() and (readable["error"].isna()).all()
    broken = table[table["path"] == "broken.jpg"].iloc[0]
    assert broken["error"].startswith("truncated or corrupt") and broken[["class", *PROB_COLUMNS]].isna().all()
    assert table.set_index("path").loc["blank.png", "box_source"] == "prior"


@pytest.mark.pipeline
def test_copies_of_eval_photos_get_the_submissions_crops_classes_and_probabilities(predicted):
    """Same photo, same detector settings: the same box, crop, probabilities and class as the DVC stage's."""
    ws, _, table, _, _ = predicted
    boxes = pd.read_csv(ws / "crops/eval.csv", dtype=str)
    submission = pd.read_csv(ws / "submission/submission.csv")
    probs = np.load(ws / "submission/eval_probs.npy")
    copies = {name: int(kind.split(":")[1]) for name, kind in PHOTOS.items() if name in LISTED and ":" in kind}
    assert len(copies) == 4
    for name, i in copies.items():
        row = table.set_index("path").loc[name]
        assert [row["box_source"], *row[["x1", "y1", "x2", "y2"]]] == \
            [boxes["box_source"][i], *boxes.loc[i, ["x1", "y1", "x2", "y2"]].astype(float)], name
        assert row["class"] == submission["ans"][i], name
        np.testing.assert_array_equal(row[PROB_COLUMNS].to_numpy(float).astype(np.float32), probs[i], err_msg=name)


@pytest.mark.pipeline
def test_images_mode_leaves_every_dvc_output_alone(predicted):
    ws, _, _, _, before = predicted
    assert digests(ws) == before
    assert "up to date" in run(["dvc", "status", "--with-deps", "evaluate"], ws)


@pytest.mark.pipeline
def test_bad_folders_and_missing_models_fail_in_one_line(predicted):
    ws, photos, _, _, _ = predicted
    empty = photos.parent / "no_photos"
    touch(empty / "._a.jpg", APPLE_DOUBLE_BYTES), touch(empty / "readme.md")

    def fails(folder, out="x.csv"):
        done = run_stage(["python", "-m", "stages.predict", "--images", str(folder), "--out", str(out)], ws)
        assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
        return done.stderr.strip().splitlines()[-1]

    assert fails(photos.parent / "nowhere").endswith("nowhere: folder does not exist")
    assert fails(empty).endswith("no_photos: holds no .jpg/.jpeg/.png images "
                                 "(skipped: 1 AppleDouble ._*, 1 not .jpg/.jpeg/.png)")
    assert "lies in the predict stage's output" in fails(photos, ws / "submission/p.csv")
    shutil.move(ws / "ensemble/members.json", ws / "members.json")
    try:
        line = fails(photos)
    finally:
        shutil.move(ws / "members.json", ws / "ensemble/members.json")
    assert line.startswith("predict --images") and "ensemble/members.json: missing" in line
    assert "`dvc repro evaluate` or `dvc pull`" in line


@pytest.mark.pipeline
def test_onnx_export_gives_torchs_probabilities_and_classes(predicted, tmp_path):
    """onnxruntime on every eval crop against the predict stage's own (torch) eval_probs.npy and submission."""
    import json

    from src.deploy.onnx_export import onnx_predict

    ws = predicted[0]
    out = run(["python", "-m", "stages.predict", "--export-onnx", str(tmp_path / "onnx")], ws)
    assert "2 fold members (tta ['hflip'], decision argmax)" in out and "max |probability difference|" in out
    crops = np.load(ws / "crops/eval.npy")
    probs, classes = onnx_predict(tmp_path / "onnx/ensemble.onnx", crops)
    np.testing.assert_allclose(probs, np.load(ws / "submission/eval_probs.npy"), atol=1e-4)
    np.testing.assert_array_equal(classes, pd.read_csv(ws / "submission/submission.csv")["ans"])
    one, _ = onnx_predict(tmp_path / "onnx/ensemble.onnx", crops[:1])  # any batch size
    np.testing.assert_allclose(one, probs[:1], atol=1e-5)
    card = json.loads((tmp_path / "onnx/ensemble.json").read_text())
    assert card["input"]["crops"] == "uint8 N x 64 x 48 x 3, RGB face crops" and len(card["classes"]) == 18
    assert card["face_crop"]["size"] == [64, 48] and len(card["prior_region"]) == 4

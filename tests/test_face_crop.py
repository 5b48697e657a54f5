"""faceCrop: real MTCNN on a real photo, the fallback chain, crop geometry and bad images."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from skimage import data as skimage_data

from src.common.errors import BadImageError
from src.face_crop.boxes import crop_region, cut, prior_region, resolve_boxes
from src.face_crop.crop_images import crop_faces, person_chunks
from src.face_crop.detectors import build_detector
from tests.helpers.fake_layout import write_image

ASTRONAUT_FACE = (181, 62, 268, 172)  # where MTCNN puts Eileen Collins' face in skimage's astronaut photo


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("settings", [dict(min_face_size=20, detect_scale=1.0),   # MTCNN's own defaults
                                      dict(min_face_size=60, detect_scale=0.5)])  # the pipeline's fast defaults
def test_mtcnn_finds_the_astronaut_face(settings):
    photo = skimage_data.astronaut()
    (box, score), = build_detector("mtcnn", **settings).detect([photo])
    assert box is not None and score > 0.95
    assert np.abs(np.array(box) - ASTRONAUT_FACE).max() < 8, box
    assert iou(box, ASTRONAUT_FACE) > 0.85


def test_mtcnn_finds_no_face_in_noise():
    noise = np.random.default_rng(0).integers(0, 255, (512, 384, 3), dtype=np.uint8)
    assert build_detector("mtcnn").detect([noise]) == [(None, pytest.approx(np.nan, nan_ok=True))]


def test_unknown_detector_lists_valid_names():
    with pytest.raises(ValueError, match=r"face_crop.detector.*'center', 'mtcnn'"):
        build_detector("retinaface")


def test_fallback_chain_fills_every_image():
    box_a, box_b = (10, 10, 50, 60), (12, 11, 52, 62)
    detections = [(None, np.nan), (box_a, 0.9), (box_b, 0.99),   # person p: two found, one not
                  (None, np.nan), (None, np.nan),                # person q: none found
                  (None, np.nan)]                                # eval image: no person
    boxes, sources, scores = resolve_boxes(detections, ["p", "p", "p", "q", "q", None])
    assert sources == ["person", "detected", "detected", "center", "center", "center"]
    assert boxes[0] == box_b  # the person's most confident box
    assert boxes[3] is None and boxes[5] is None
    assert scores[1] == 0.9 and np.isnan(scores[0])


def test_prior_region_catches_what_has_no_person():
    manifest = pd.DataFrame({"box_source": ["detected"] * 3 + ["center"], "image_w": [100, 100, 200, 100],
                             "image_h": [200, 200, 400, 200], "x1": [10, 20, 60, np.nan],
                             "y1": [20, 40, 80, np.nan], "x2": [50, 60, 140, np.nan], "y2": [80, 100, 200, np.nan]})
    prior = prior_region(manifest, low=0, high=100)
    assert prior == pytest.approx((0.1, 0.1, 0.7, 0.5))  # relative: the 200x400 image counts like the others
    boxes, sources, _ = resolve_boxes([(None, np.nan)], [None], [(300, 200, 3)], prior)
    assert sources == ["prior"] and boxes[0] == pytest.approx((20, 30, 140, 150))
    assert prior_region(manifest.iloc[3:]) is None  # nothing detected: no prior, the centre crop remains


def test_retry_pass_of_the_shipped_settings_finds_the_masked_faces_the_first_pass_misses():
    """With params.yaml's face_crop settings, on the sample's first 4 persons (seed 0, 28 photos): MTCNN's
    first pass misses masked faces, the retry pass finds every one of them on the face, and the faces the
    first pass found keep their boxes (the retry runs only where none was found)."""
    import yaml

    from src.sample.people import ROLE_TRAIN, make_people
    from src.sample.photo import IMAGE_STEMS, image_rng, render_photo

    cfg = yaml.safe_load((Path(__file__).resolve().parents[1] / "params.yaml").read_text())["face_crop"]
    people = make_people(4, 0)
    photos = [render_photo(people[p].looks, stem, image_rng(0, ROLE_TRAIN, p, i))
              for p in range(4) for i, stem in enumerate(IMAGE_STEMS)]
    images = [np.asarray(image) for image, _ in photos]
    shipped = {"min_face_size": cfg["min_face_size"], "detect_scale": cfg["detect_scale"]}
    first_pass = build_detector("mtcnn", retry_thresholds=[], **shipped).detect(images)
    retried = build_detector("mtcnn", retry_thresholds=cfg["retry_thresholds"], **shipped).detect(images)
    missed = [i for i, (box, _) in enumerate(first_pass) if box is None]
    # How many masked faces the first pass misses varies with the CPU (MTCNN's last bits: 9 of 24 on the
    # machine that wrote this): some must be missed for the retry to be tested, and only masked ones.
    masked = [i for i in range(len(images)) if IMAGE_STEMS[i % 7] != "normal"]
    assert missed and set(missed) <= set(masked), missed
    assert all(retried[i][0] is not None and iou(retried[i][0], photos[i][1]) > 0.5 for i in missed)
    assert all(np.array_equal(retried[i][0], box) for i, (box, _) in enumerate(first_pass) if box is not None)


def test_crop_region_keeps_output_aspect_and_margin():
    x1, y1, x2, y2 = crop_region((100, 100, 200, 220), (512, 384, 3), margin=0.25, out_size=(128, 96),
                                 center_size=(450, 350))
    assert (y2 - y1) / (x2 - x1) == pytest.approx(128 / 96)
    assert x2 - x1 == pytest.approx(100 * 1.5)            # width grown by the margin on both sides
    assert y2 - y1 == pytest.approx(150 * 128 / 96)      # height grown further to the output aspect
    assert ((x1 + x2) / 2, (y1 + y2) / 2) == (150, 160)   # centred on the face
    cx1, cy1, cx2, cy2 = crop_region(None, (512, 384, 3), 0.25, (128, 96), (450, 350))
    assert (cx1 + cx2) / 2 == 192 and (cy1 + cy2) / 2 == 256 and cy2 - cy1 >= 450


def test_cut_pads_outside_the_image():
    image = np.full((40, 30, 3), 200, np.uint8)
    patch = cut(image, (-10, -10, 20, 30), (40, 30))
    assert patch.shape == (40, 30, 3)
    assert patch[0, 0].tolist() == [0, 0, 0] and patch[-1, -1].tolist() == [200, 200, 200]


def test_person_chunks_never_split_a_person():
    groups = ["a"] * 7 + ["b"] * 7 + ["c"] * 7
    assert list(person_chunks(groups, 10)) == [(0, 14), (14, 21)]
    assert list(person_chunks([None] * 5, 2)) == [(0, 2), (2, 4), (4, 5)]


class FindsEveryOther:
    """A stand-in detector with a known answer, to check the chain around it."""

    def detect(self, images):
        return [((5.0, 5.0, 20.0, 25.0), 0.99) if i % 2 else (None, np.nan) for i in range(len(images))]


def test_crop_faces_writes_every_row_and_counts_skips(tmp_path):
    paths = [f"img{i}.jpg" for i in range(5)]
    for p in paths:
        write_image(tmp_path / p, size=(30, 40))
    (tmp_path / "img2.jpg").write_bytes(b"")  # unreadable
    out = tmp_path / "crops.npy"
    with pytest.raises(BadImageError, match="img2.jpg"):
        crop_faces(tmp_path, paths, ["p"] * 5, FindsEveryOther(), out, (16, 12), 0.1, (450, 350))
    assert not out.exists()  # nothing half-written left behind
    manifest, skipped = crop_faces(tmp_path, paths, ["p"] * 5, FindsEveryOther(), out, (16, 12), 0.1, (450, 350),
                                   on_bad_image="skip")
    assert [path for path, _ in skipped] == ["img2.jpg"] and "empty" in skipped[0][1]
    assert manifest["row"].tolist() == [0, 1, 3, 4]
    assert np.load(out).shape == (4, 16, 12, 3)
    assert manifest["box_source"].tolist() == ["person", "detected", "person", "detected"]

"""Box geometry: the fallback chain, margins, aspect ratio and the crop itself."""
import cv2
import numpy as np
import pandas as pd

SOURCES = ("detected", "person", "prior", "center")


def resolve_boxes(detections, persons, image_shapes=None, prior=None):
    """Fill every image with a box: its own detection, else the best detection among the same
    person's images, else the data set's prior face region (when given), else None (centre crop).
    Returns (boxes, sources, scores).

    persons: one group key per image, or None for images with no person (eval).
    prior: (x1, y1, x2, y2) as fractions of the image width/height (see prior_region)."""
    best_by_person = {}
    for (box, score), person in zip(detections, persons):
        if box is not None and person is not None:
            if person not in best_by_person or score > best_by_person[person][1]:
                best_by_person[person] = (box, score)
    boxes, sources, scores = [], [], []
    for (box, score), person in zip(detections, persons):
        if box is not None:
            boxes.append(box), sources.append("detected"), scores.append(score)
        elif person in best_by_person:
            boxes.append(best_by_person[person][0]), sources.append("person"), scores.append(float("nan"))
        elif prior is not None:
            h, w = image_shapes[len(boxes)][:2]
            boxes.append((prior[0] * w, prior[1] * h, prior[2] * w, prior[3] * h))
            sources.append("prior"), scores.append(float("nan"))
        else:
            boxes.append(None), sources.append("center"), scores.append(float("nan"))
    return boxes, sources, scores


def prior_region(manifest, low=10, high=90):
    """Where faces usually are, from the detected boxes of a manifest: the 10th percentile of the
    left/top edges to the 90th of the right/bottom ones, as fractions of each image's size.
    None when nothing was detected."""
    found = manifest[manifest["box_source"] == "detected"]
    if found.empty:
        return None
    w, h = found["image_w"].to_numpy(float), found["image_h"].to_numpy(float)
    return (float(np.percentile(found["x1"] / w, low)), float(np.percentile(found["y1"] / h, low)),
            float(np.percentile(found["x2"] / w, high)), float(np.percentile(found["y2"] / h, high)))


def crop_region(box, image_shape, margin, out_size, center_size):
    """The region to cut: the face box grown by `margin` (fraction of its size on each side) and
    widened to the output aspect ratio; or, without a box, the centre region `center_size`
    (h, w, given for a 512x384 image and scaled to this image)."""
    img_h, img_w = image_shape[:2]
    out_h, out_w = out_size
    if box is None:
        h, w = center_size[0] * img_h / 512, center_size[1] * img_w / 384
        cx, cy = img_w / 2, img_h / 2
    else:
        x1, y1, x2, y2 = box
        w, h = (x2 - x1) * (1 + 2 * margin), (y2 - y1) * (1 + 2 * margin)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    # Grow the short side so the region has the output's aspect ratio (no stretching).
    if h / w < out_h / out_w:
        h = w * out_h / out_w
    else:
        w = h * out_w / out_h
    return cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2


def cut(image, region, out_size):
    """Cut `region` (may reach outside the image: padded with black) and resize to out_size (h, w)."""
    x1, y1, x2, y2 = (int(round(v)) for v in region)
    img_h, img_w = image.shape[:2]
    pad = max(0, -x1, -y1, x2 - img_w, y2 - img_h)
    if pad:
        image = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        x1, y1, x2, y2 = x1 + pad, y1 + pad, x2 + pad, y2 + pad
    patch = image[y1:y2, x1:x2]
    return cv2.resize(patch, (out_size[1], out_size[0]), interpolation=cv2.INTER_AREA)


def boxes_frame(boxes, sources, scores, image_shapes):
    """Manifest columns: image size, box x1..y2 (NaN for centre crops), box source and score."""
    coords = np.array([b if b is not None else (np.nan,) * 4 for b in boxes], dtype=float).reshape(-1, 4)
    frame = pd.DataFrame(coords, columns=["x1", "y1", "x2", "y2"]).round(1)
    frame.insert(0, "image_w", [shape[1] for shape in image_shapes])
    frame.insert(1, "image_h", [shape[0] for shape in image_shapes])
    frame["box_source"], frame["box_score"] = sources, np.round(scores, 4)
    return frame

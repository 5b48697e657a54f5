"""Box geometry: the fallback chain, margins, aspect ratio and the crop itself."""
import cv2
import numpy as np
import pandas as pd

SOURCES = ("detected", "person", "center")


def resolve_boxes(detections, persons):
    """Fill every image with a box: its own detection, else the best detection among the same
    person's images, else None (centre crop). Returns (boxes, sources, scores).

    persons: one group key per image, or None for images with no person (eval)."""
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
        else:
            boxes.append(None), sources.append("center"), scores.append(float("nan"))
    return boxes, sources, scores


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


def boxes_frame(boxes, sources, scores):
    """Manifest columns for the boxes: x1..y2 (NaN for centre crops), source and score."""
    coords = np.array([b if b is not None else (np.nan,) * 4 for b in boxes], dtype=float).reshape(-1, 4)
    frame = pd.DataFrame(coords, columns=["x1", "y1", "x2", "y2"]).round(1)
    frame["box_source"], frame["box_score"] = sources, np.round(scores, 4)
    return frame

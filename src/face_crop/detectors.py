"""Face detectors by name. Each takes a list of HxWx3 uint8 RGB images and returns one
(box, score) per image: box = (x1, y1, x2, y2) in that image's pixels, or None when no face."""
import cv2
import numpy as np

from src.common.factory import pick


class MtcnnDetector:
    """facenet-pytorch's MTCNN (weights ship inside the wheel: no download).

    The image pyramid is the cost on CPU, not the batch size, so detection runs on a copy scaled by
    `detect_scale` with `min_face_size` in full-size pixels; boxes are scaled back.
    Images with no face at `thresholds` get a second pass at the lower `retry_thresholds`: masks
    hide the nose and mouth that MTCNN's later stages score, and an eval image has no other photo of
    its person to borrow a box from. At 0.1 the retry finds 81 of the 93 eval faces of the default
    sample that a 0.3/0.3/0.4 retry missed. Empty `retry_thresholds` disables the retry."""

    def __init__(self, min_face_size=60, detect_scale=0.5, thresholds=(0.6, 0.7, 0.7),
                 retry_thresholds=(0.1, 0.1, 0.1), device=None):
        from facenet_pytorch import MTCNN

        if not 0 < detect_scale <= 1:
            raise ValueError(f"face_crop.detect_scale must be in (0, 1], got {detect_scale}")
        device = device or "cpu"  # the stages pass params.yaml's device (src.common.device.stage_device)
        self.scale = detect_scale
        self.thresholds, self.retry_thresholds = list(thresholds), list(retry_thresholds)
        # MTCNN's smallest face is counted in the pixels of the image it sees (the scaled copy).
        self.mtcnn = MTCNN(keep_all=True, select_largest=False, device=device, post_process=False,
                           min_face_size=max(12, round(min_face_size * detect_scale)),
                           thresholds=list(thresholds))

    def detect(self, images):
        results = self._detect(images, self.thresholds)
        missed = [i for i, (box, _) in enumerate(results) if box is None]
        if missed and self.retry_thresholds:
            for i, result in zip(missed, self._detect([images[i] for i in missed], self.retry_thresholds)):
                results[i] = result
        return results

    def _detect(self, images, thresholds):
        self.mtcnn.thresholds = thresholds
        results = [(None, float("nan"))] * len(images)
        # MTCNN batches need one image size: group by shape (real sets are nearly all 384x512).
        by_shape = {}
        for i, image in enumerate(images):
            by_shape.setdefault(image.shape, []).append(i)
        for shape, indices in by_shape.items():
            batch = np.stack([self._scaled(images[i]) for i in indices])
            boxes, probs = self.mtcnn.detect(batch)
            for i, image_boxes, image_probs in zip(indices, boxes, probs):
                if image_boxes is None:
                    continue
                best = int(np.argmax(image_probs))  # sorted by probability already; argmax is explicit
                results[i] = (tuple(float(v) / self.scale for v in image_boxes[best]), float(image_probs[best]))
        return results

    def _scaled(self, image):
        if self.scale == 1:
            return image
        h, w = image.shape[:2]
        return cv2.resize(image, (round(w * self.scale), round(h * self.scale)), interpolation=cv2.INTER_AREA)


class CenterDetector:
    """No detection: every image falls through to the centre crop."""

    def detect(self, images):
        return [(None, float("nan"))] * len(images)


DETECTORS = {"mtcnn": MtcnnDetector, "center": CenterDetector}


def build_detector(name, **kwargs):
    cls = pick("face_crop.detector", DETECTORS, name, "detector")
    return cls(**kwargs) if cls is MtcnnDetector else cls()


def detector_from_params(face_crop, device=None):
    """The detector params.yaml's face_crop block names, with its settings, on `device` (a torch device)."""
    return build_detector(face_crop.detector, min_face_size=face_crop.min_face_size,
                          detect_scale=face_crop.detect_scale, retry_thresholds=face_crop.retry_thresholds,
                          device=device)

"""Decoding one image file into the HxWx3 uint8 RGB array every later stage expects."""
import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from src.common.errors import BadImageError

MAX_PIXELS = 100_000_000  # a face photo is 0.2 MP; anything this big is a mistake or a decompression bomb
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def load_rgb(path, max_pixels=MAX_PIXELS):
    """Return the image at path as an HxWx3 uint8 array, upright (EXIF orientation applied).

    Any failure, including a truncated file, raises BadImageError(path, reason).
    """
    path = os.fspath(path)
    try:
        if os.path.getsize(path) == 0:
            raise BadImageError(path, "empty file")
    except OSError as error:
        raise BadImageError(path, f"cannot read: {error.strerror}") from None
    try:
        # PIL warns above MAX_IMAGE_PIXELS and raises above twice that; we give our own message instead.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise BadImageError(path, f"image too large: {width}x{height} pixels, limit {max_pixels:,}")
                image.load()  # decode everything now so a truncated file fails here, not in a worker later
                return _to_rgb_array(ImageOps.exif_transpose(image), path)
    except BadImageError:
        raise
    except UnidentifiedImageError:
        raise BadImageError(path, "not an image (cannot identify)") from None
    except Image.DecompressionBombError:  # PIL refuses over twice its limit, before we see the size
        raise BadImageError(path, f"image too large: over {2 * Image.MAX_IMAGE_PIXELS:,} pixels") from None
    except Exception as error:  # PIL raises OSError, ValueError, SyntaxError, struct.error... for bad data
        raise BadImageError(path, f"truncated or corrupt: {error}") from None


def _to_rgb_array(image, path):
    if image.mode in _SIXTEEN_BIT_MODES:
        # PIL's own conversion clips 16-bit values at 255; scale the full range instead.
        values = np.clip(np.asarray(image, dtype=np.float64), 0, 65535)
        gray = np.round(values / 257.0).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2))
    if image.mode != "RGB":
        try:
            image = image.convert("RGB")  # alpha is dropped: the stored colour under it is kept
        except ValueError:
            raise BadImageError(path, f"unsupported image mode {image.mode!r}") from None
    return np.array(image, dtype=np.uint8)  # a copy: writable, unlike np.asarray on a PIL image

import pickle
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from src.common.errors import BadImageError, BadInputError
from src.data.images import MAX_PIXELS, load_rgb
from tests.helpers.fake_layout import write_image

RED = (255, 0, 0)


def bad_image_reason(path, **kwargs):
    with pytest.raises(BadImageError) as caught:
        load_rgb(path, **kwargs)
    assert caught.value.path == str(path)
    return caught.value.reason


def png_header_only(path, width, height):
    """A PNG that claims width x height but holds no pixels: tests the size guard without the memory."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"") + chunk(b"IEND", b""))
    return path


def assert_rgb(array, height, width):
    assert array.shape == (height, width, 3) and array.dtype == np.uint8 and array.flags.writeable


# --- images that load ------------------------------------------------------------------------


def test_jpeg_and_png_load_as_rgb(tmp_path):
    jpeg = load_rgb(write_image(tmp_path / "a.jpg", (6, 4), RED))
    png = load_rgb(write_image(tmp_path / "a.png", (6, 4), RED))
    assert_rgb(jpeg, 4, 6)
    assert_rgb(png, 4, 6)
    assert (png == RED).all()
    assert np.abs(jpeg.astype(int) - RED).max() < 10  # JPEG is lossy


@pytest.mark.parametrize(
    "mode, color, expected",
    [("L", 90, (90, 90, 90)), ("LA", (90, 0), (90, 90, 90)), ("RGBA", (10, 20, 30, 0), (10, 20, 30)), ("P", 0, (0, 0, 0))],
)
def test_other_modes_become_rgb(tmp_path, mode, color, expected):
    path = tmp_path / f"{mode}.png"
    Image.new(mode, (3, 2), color).save(path)
    array = load_rgb(path)
    assert_rgb(array, 2, 3)
    assert (array == expected).all()


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (8, 8), (0, 255, 255, 0)).save(path)  # no cyan, full magenta and yellow: red
    array = load_rgb(path)
    assert_rgb(array, 8, 8)
    assert np.abs(array.astype(int) - RED).max() < 10


def test_16_bit_png_is_scaled_to_8_bit_not_clipped(tmp_path):
    path = tmp_path / "deep.png"
    Image.fromarray(np.array([[0, 65535], [128 * 257, 1000]], dtype=np.uint16)).save(path)
    assert Image.open(path).mode == "I;16"
    array = load_rgb(path)
    assert_rgb(array, 2, 2)
    assert array[:, :, 0].tolist() == [[0, 255], [128, 4]]  # clipping would give 255 for 1000
    assert (array[:, :, 0] == array[:, :, 2]).all()


def test_exif_orientation_is_applied(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: rotate 90 degrees clockwise to view
    Image.new("RGB", (20, 10), RED).save(path, exif=exif)
    assert_rgb(load_rgb(path), 20, 10)


def test_content_decides_not_the_extension(tmp_path):
    path = tmp_path / "really_a_png.jpg"
    Image.new("RGB", (3, 3), RED).save(path, format="PNG")
    assert (load_rgb(path) == RED).all()


# --- images that fail with a clear reason -------------------------------------------------------


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    assert bad_image_reason(path) == "empty file"


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "note.jpg"
    path.write_text("not a picture")
    assert bad_image_reason(path) == "not an image (cannot identify)"


def test_truncated_jpeg_fails_at_load_time(tmp_path):
    path = tmp_path / "cut.jpg"
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])
    assert bad_image_reason(path).startswith("truncated or corrupt: ")


def test_missing_file(tmp_path):
    assert "cannot read" in bad_image_reason(tmp_path / "nowhere.jpg")


def test_image_over_the_pixel_limit(tmp_path):
    path = write_image(tmp_path / "small.png", (24, 32))
    assert bad_image_reason(path, max_pixels=100) == "image too large: 24x32 pixels, limit 100"


@pytest.mark.parametrize("width, height", [(12_000, 10_000), (20_000, 20_000)], ids=["PIL warns", "PIL raises"])
def test_huge_image_gets_our_message_not_a_decompression_bomb_warning(tmp_path, width, height):
    path = png_header_only(tmp_path / "huge.png", width, height)
    assert width * height > MAX_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reason = bad_image_reason(path)
    assert reason.startswith("image too large") and "ecompression" not in reason


# --- the error types ----------------------------------------------------------------------------


def test_errors_carry_path_and_reason_and_survive_pickling():
    error = BadImageError("a/b.jpg", "empty file")
    assert isinstance(error, BadInputError) and isinstance(error, ValueError)
    assert str(error) == "a/b.jpg: empty file" and (error.path, error.reason) == ("a/b.jpg", "empty file")
    copy = pickle.loads(pickle.dumps(error))  # DataLoader workers pickle exceptions
    assert type(copy) is BadImageError and str(copy) == str(error)

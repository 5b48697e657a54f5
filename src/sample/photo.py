"""One synthetic photo: background + person (+ mask) + pose jitter + camera effects.

Everything random comes from the generator passed in, so a photo is a pure function of
(seed, person, image name) whatever process renders it.
"""
import numpy as np
from PIL import Image

from src.sample.background import HEIGHT, WIDTH, camera_effects, make_background
from src.sample.faces import SS, FaceGeometry, draw_person, hairline_y
from src.sample.masks import draw_mask
from src.sample.people import STREAM_IMAGE

# The 7 photos of each person, in the order that keys their generators.
IMAGE_STEMS = ("mask1", "mask2", "mask3", "mask4", "mask5", "incorrect_mask", "normal")
MAX_SHIFT = 0.15  # face centre moves up to this share of the image size


def image_rng(seed, role, person_index, image_index):
    return np.random.default_rng([seed, STREAM_IMAGE, role, person_index, image_index])


def render_photo(looks, stem, rng):
    """(RGB image 384x512, true face box (x1, y1, x2, y2) in its pixels) for one photo."""
    background = make_background(rng)
    fw = looks.face_size * rng.uniform(0.88, 1.12)
    fh = fw * looks.aspect
    cx = WIDTH * (0.5 + rng.uniform(-MAX_SHIFT, MAX_SHIFT))
    cy = HEIGHT * (0.42 + rng.uniform(-0.7 * MAX_SHIFT, 0.7 * MAX_SHIFT))
    angle = rng.uniform(-9, 9)  # degrees, counter-clockwise as PIL rotates
    geom = FaceGeometry(cx * SS, cy * SS, fw * SS, fh * SS, looks.jaw, rng.uniform(-1, 1))
    layer = Image.new("RGBA", (WIDTH * SS, HEIGHT * SS), (0, 0, 0, 0))
    draw_person(layer, geom, looks, rng)
    if stem.startswith("mask"):
        draw_mask(layer, geom, "worn", rng)
    elif stem == "incorrect_mask":
        draw_mask(layer, geom, "below_nose" if rng.random() < 0.6 else "chin", rng)
    # Premultiplied alpha keeps the transparent surround from bleeding dark edges in.
    layer = layer.convert("RGBa").reduce(SS).rotate(angle, Image.BILINEAR, center=(cx, cy)).convert("RGBA")
    background.paste(layer, (0, 0), layer)
    photo = camera_effects(background, rng)
    return photo, face_box(FaceGeometry(cx, cy, fw, fh, looks.jaw, 0), looks, angle)


def face_box(geom, looks, angle):
    """Box of the face from the hairline (or mid forehead if bald) to the chin, after rotation."""
    top = max(hairline_y(looks), -0.72)
    points = np.array([(x - geom.cx, max(y, geom.cy + top * geom.fh) - geom.cy) for x, y in geom.outline(60)])
    theta = np.deg2rad(angle)
    dx, dy = points[:, 0], points[:, 1]
    xs = geom.cx + dx * np.cos(theta) + dy * np.sin(theta)
    ys = geom.cy - dx * np.sin(theta) + dy * np.cos(theta)
    return (round(float(xs.min()), 1), round(float(ys.min()), 1), round(float(xs.max()), 1), round(float(ys.max()), 1))

"""Cluttered backgrounds and camera effects for the synthetic photos.

The background is busy on purpose (gradients, blotches, shapes) so that a model gains from
cropping the face, as on real phone photos taken in rooms.
"""
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 384, 512


def random_colour(rng, low=0, high=256):
    """A colour, often muted towards grey like painted walls and furniture."""
    colour = rng.uniform(low, high, 3)
    colour = colour.mean() + rng.uniform(0.3, 1.0) * (colour - colour.mean())
    return tuple(int(v) for v in colour)


def make_background(rng):
    """An RGB image: a two-colour gradient with blotches, then random shapes on top.

    The smooth part is computed on a coarse grid and upsampled: it has no fine detail anyway,
    and this keeps a photo within a few milliseconds.
    """
    h, w = HEIGHT // 8, WIDTH // 8
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xs / w + np.sin(angle) * ys / h
    ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-6)
    c0, c1 = np.array(random_colour(rng, 40, 235)), np.array(random_colour(rng, 40, 235))
    coarse = c0 + ramp[..., None] * (c1 - c0)
    grid = Image.fromarray(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8))
    blotches = np.asarray(grid.resize((w, h), Image.BICUBIC))
    coarse += (blotches.astype(np.float32) - 128) * 0.3
    image = Image.fromarray(np.clip(coarse, 0, 255).astype(np.uint8), "RGB").resize((WIDTH, HEIGHT), Image.BICUBIC)
    draw_clutter(ImageDraw.Draw(image), rng)
    return image


def draw_clutter(draw, rng):
    """Furniture-like rectangles, round objects, lines and polygons in random colours."""
    for _ in range(int(rng.integers(10, 26))):
        kind = rng.integers(5)
        x0, y0 = rng.uniform(-60, WIDTH), rng.uniform(-60, HEIGHT)
        w, h = rng.uniform(15, 180), rng.uniform(15, 220)
        colour = random_colour(rng, 20, 240)
        if kind == 0:
            draw.rectangle([x0, y0, x0 + w, y0 + h], fill=colour)
        elif kind == 1:
            draw.ellipse([x0, y0, x0 + w, y0 + w * rng.uniform(0.5, 1.5)], fill=colour)
        elif kind == 2:
            draw.line([x0, y0, x0 + rng.uniform(-200, 200), y0 + rng.uniform(-200, 200)],
                      fill=colour, width=int(rng.integers(2, 12)))
        elif kind == 3:
            points = [(x0 + rng.uniform(0, w), y0 + rng.uniform(0, h)) for _ in range(int(rng.integers(3, 6)))]
            draw.polygon(points, fill=colour)
        else:  # a framed picture or window
            draw.rectangle([x0, y0, x0 + w, y0 + h], outline=colour, width=int(rng.integers(3, 10)))


def camera_effects(image, rng):
    """Blur, lighting from one side, white balance, contrast and sensor noise: what varies per shot."""
    image = image.filter(ImageFilter.BoxBlur(rng.uniform(0.4, 1.1)))
    img = np.asarray(image, dtype=np.float32)
    contrast, brightness = rng.uniform(0.75, 1.2), rng.uniform(-30, 30)
    side = 1 + np.linspace(-1, 1, WIDTH, dtype=np.float32) * rng.uniform(-0.18, 0.18)
    gain = (side[:, None] * rng.uniform(0.9, 1.1, 3).astype(np.float32))[None]  # 1 x W x 3
    # (img - 128) * contrast + 128 + brightness, then the gains: one multiply and one add.
    img *= gain * contrast
    img += gain * (128 * (1 - contrast) + brightness)
    # Uniform byte noise is ~5x cheaper than Gaussian and looks the same at this strength.
    noise = np.frombuffer(rng.bytes(img.size), dtype=np.int8).reshape(img.shape)
    img += noise * np.float32(rng.uniform(1.5, 5.0) / 74)
    return Image.fromarray(np.clip(img, 0, 255, out=img).astype(np.uint8), "RGB")

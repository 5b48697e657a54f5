"""Face masks: worn over nose and mouth, or pulled down (the 'incorrect' state).

The mask is an outline that follows the face's jaw, filled with one of several fabrics.
Mask state is meant to be the easy attribute, so masks are large and clearly coloured.
"""
import numpy as np
from PIL import Image, ImageDraw

from src.sample.faces import blend, shade

# Relative (top at the middle, top at the sides, bottom) of each way of wearing the mask.
PLACEMENTS = {
    "worn": (0.0, 0.1, 1.04),  # nose bridge to under the chin
    "below_nose": (0.4, 0.44, 1.06),  # nostrils free, mouth covered
    "chin": (0.72, 0.74, 1.3),  # mouth free, mask on chin and neck
}
FABRICS = ("white_surgical", "blue_surgical", "black", "patterned", "kf94", "cloth")
CLOTH_COLOURS = ((236, 170, 190), (40, 50, 90), (150, 150, 150), (215, 200, 170), (90, 140, 90), (180, 60, 60))


def mask_outline(geom, placement):
    """Layer points of the mask outline: a nose peak on top, sides along the jaw, round bottom."""
    top_mid, top_side, bottom = PLACEMENTS[placement]
    margin = 0.06 * geom.fw

    def half(y):
        return max(geom.half_width(min(y, 0.97)) + margin, 0.42 * geom.fw)

    top = [(geom.cx + t * half(top_side), geom.cy + (top_side + (top_mid - top_side) * (1 - t * t)) * geom.fh)
           for t in np.linspace(-1, 1, 9)]
    ys = np.linspace(top_side, bottom - 0.08, 7)
    right = [(geom.cx + half(y), geom.cy + y * geom.fh) for y in ys]
    base = [(geom.cx + 0.5 * t * half(bottom - 0.08), geom.cy + (bottom - 0.04 * t * t) * geom.fh)
            for t in np.linspace(1, -1, 7)]
    left = [(geom.cx - half(y), geom.cy + y * geom.fh) for y in ys[::-1]]
    return top + right + base + left


def fabric_patch(size, fabric, rng, scale):
    """An RGB patch of fabric; scale is the face half-width, so pleats and dots fit the face."""
    w, h = size
    if fabric == "white_surgical":
        base, line = (236, 238, 240), (200, 204, 210)
    elif fabric == "blue_surgical":
        base, line = (130, 180, 215), (95, 145, 185)
    elif fabric == "black":
        base, line = (28, 28, 32), (48, 48, 54)
    elif fabric == "kf94":
        base, line = blend((238, 238, 238), (120, 120, 125), rng.uniform(0, 0.6)), (170, 170, 175)
    else:
        base = CLOTH_COLOURS[int(rng.integers(len(CLOTH_COLOURS)))] if fabric == "cloth" else \
            tuple(int(v) for v in rng.integers(30, 230, 3))
        line = shade(base, 0.75)
    base = shade(base, rng.uniform(0.92, 1.05))
    patch = Image.new("RGB", size, base)
    draw = ImageDraw.Draw(patch)
    width = max(2, int(0.04 * scale))
    if fabric in ("white_surgical", "blue_surgical"):  # pleats across the mask
        for y in np.linspace(0.3, 0.75, 3) * h:
            draw.line([(0, y), (w / 2, y + 0.04 * h), (w, y)], fill=line, width=width)
    elif fabric == "patterned":
        accent, step = tuple(int(v) for v in rng.integers(0, 256, 3)), max(6, int(rng.uniform(0.12, 0.25) * scale))
        style = rng.integers(3)
        for i, y in enumerate(range(0, h, step)):
            if style == 0:  # dots
                for x in range((i % 2) * step // 2, w, step):
                    draw.ellipse([x, y, x + step * 0.45, y + step * 0.45], fill=accent)
            elif style == 1:  # stripes
                draw.rectangle([0, y, w, y + step * 0.4], fill=accent)
            else:  # checks
                for x in range((i % 2) * step, w, 2 * step):
                    draw.rectangle([x, y, x + step, y + step], fill=accent)
    else:  # kf94 / cloth / black: a seam down the middle
        draw.line([(w / 2, 0), (w / 2, h)], fill=line, width=width)
    return patch


def draw_mask(layer, geom, placement, rng):
    """Paste a mask of a random fabric onto the layer, with ear loops to the ears."""
    fabric = FABRICS[int(rng.integers(len(FABRICS)))]
    outline = mask_outline(geom, placement)
    xs, ys = [p[0] for p in outline], [p[1] for p in outline]
    x0, y0, x1, y1 = int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1
    stencil = Image.new("L", (x1 - x0, y1 - y0), 0)
    ImageDraw.Draw(stencil).polygon([(x - x0, y - y0) for x, y in outline], fill=255)
    patch = fabric_patch(stencil.size, fabric, rng, geom.fw)
    layer.paste(patch, (x0, y0), stencil)
    draw = ImageDraw.Draw(layer)
    edge = shade(patch.getpixel((patch.width // 2, 2)), 0.7)
    draw.line(outline + outline[:1], fill=edge, width=max(2, int(0.03 * geom.fw)))
    if fabric in ("white_surgical", "blue_surgical"):  # the nose wire shows as a stiff top band
        draw.line(outline[:9], fill=shade(edge, 1.2), width=max(2, int(0.06 * geom.fw)))
    loop = (245, 245, 245) if fabric != "black" else (30, 30, 30)
    # outline = 9 top points (left to right), 7 right side, 7 bottom, 7 left side (bottom up)
    for top_corner, bottom_corner, side in ((outline[0], outline[23], -1), (outline[8], outline[15], 1)):
        ear_top, ear_bottom = geom.at(side * 1.02, -0.15, False), geom.at(side * 1.02, 0.2, False)
        draw.line([top_corner, ear_top], fill=loop, width=max(2, int(0.035 * geom.fw)))
        draw.line([bottom_corner, ear_bottom], fill=loop, width=max(2, int(0.035 * geom.fw)))

"""Draw one person (shoulders, neck, hair, face) on a transparent layer.

Coordinates of face parts are given relative to the face: x in face half-widths, y in face
half-heights from the face centre. The layer is drawn at SS times the output size and reduced
afterwards, which antialiases the edges for free.
"""
import math
from dataclasses import dataclass

import numpy as np
from PIL import ImageDraw

SS = 2  # supersampling factor of the person layer


def shade(colour, factor):
    return tuple(min(255, max(0, int(c * factor))) for c in colour)


def blend(a, b, t):
    return tuple(int(round((1 - t) * x + t * y)) for x, y in zip(a, b))


@dataclass
class FaceGeometry:
    """Where the face is on the layer (layer pixels) and its shape."""
    cx: float
    cy: float
    fw: float  # half width
    fh: float  # half height
    jaw: float  # 0 pointy .. 1 square
    turn: float  # -1..1: facial features shifted sideways, a cheap head turn

    def half_width(self, y):
        """Face half-width (layer px) at relative height y (-1 top of skull .. 1 chin)."""
        s = min(1.0, max(-1.0, y))
        c = math.sqrt(max(0.0, 1 - s * s))
        if s <= 0:
            return self.fw * c
        squareness, width_at_jaw = 1.0 - 0.5 * self.jaw, 0.78 + 0.2 * self.jaw
        return self.fw * c ** squareness * (1 - (1 - width_at_jaw) * s * s)

    def at(self, x, y, feature=True):
        """Layer point of relative (x, y); features move with the head turn, the outline doesn't."""
        return (self.cx + (x + (0.12 * self.turn if feature else 0)) * self.fw, self.cy + y * self.fh)

    def box(self, x0, y0, x1, y1, feature=True):
        (a, b), (c, d) = self.at(x0, y0, feature), self.at(x1, y1, feature)
        return [min(a, c), min(b, d), max(a, c), max(b, d)]

    def outline(self, n=40):
        ys = np.linspace(-1, 1, n)
        right = [(self.cx + self.half_width(y), self.cy + y * self.fh) for y in ys]
        left = [(self.cx - self.half_width(y), self.cy + y * self.fh) for y in ys[::-1]]
        return right + left


def draw_person(layer, geom, looks, rng):
    """Body, hair and face of one person onto an RGBA layer; rng varies the expression."""
    draw = ImageDraw.Draw(layer)
    skin = looks.skin
    draw_body(draw, geom, looks, layer.size[1])
    draw_back_hair(draw, geom, looks)
    for side in (-1, 1):  # ears
        draw.ellipse(geom.box(side * 0.92, -0.2, side * 1.1, 0.22, feature=False), fill=shade(skin, 0.9))
    draw.polygon(geom.outline(), fill=shade(skin, 0.88))  # darker rim: the face's rounding
    inner = FaceGeometry(geom.cx, geom.cy - 0.02 * geom.fh, geom.fw * 0.92, geom.fh * 0.95, geom.jaw, 0)
    draw.polygon(inner.outline(), fill=skin)
    if looks.beard:
        draw_beard(draw, geom, looks)
    draw_wrinkles(draw, geom, looks, rng)
    draw_eyes(draw, geom, looks, rng)
    draw_nose(draw, geom, skin)
    draw_mouth(draw, geom, looks, rng)
    draw_front_hair(draw, geom, looks, rng)


def draw_body(draw, geom, looks, bottom):
    skin, clothes, fw, fh = looks.skin, looks.clothes, geom.fw, geom.fh
    neck_top, shoulder_y = geom.cy + 0.4 * fh, geom.cy + 1.45 * fh
    draw.rectangle([geom.cx - 0.45 * fw, neck_top, geom.cx + 0.45 * fw, shoulder_y + fw], fill=shade(skin, 0.8))
    half = 2.5 * fw
    draw.ellipse([geom.cx - half, shoulder_y, geom.cx + half, shoulder_y + 1.6 * fw], fill=clothes)
    if shoulder_y + 0.8 * fw < bottom:  # a face low in a large photo can push the body off the layer
        draw.rectangle([geom.cx - half, shoulder_y + 0.8 * fw, geom.cx + half, bottom], fill=clothes)
    if looks.clothes_pattern == 1:  # stripes
        for y in np.arange(shoulder_y + 0.9 * fw, bottom, 0.25 * fw):
            draw.line([geom.cx - half, y, geom.cx + half, y], fill=shade(clothes, 0.6), width=int(0.08 * fw))
    # The V of the neckline starts above the clothes' top edge so no seam shows across the neck.
    neckline = [(geom.cx - 0.5 * fw, shoulder_y - 0.05 * fw), (geom.cx + 0.5 * fw, shoulder_y - 0.05 * fw),
                (geom.cx, shoulder_y + 0.7 * fw)]
    draw.polygon(neckline, fill=shade(skin, 0.8))
    if looks.clothes_pattern == 2:  # white shirt collar
        for side in (-1, 1):
            draw.polygon([(geom.cx + side * 0.5 * fw, shoulder_y), (geom.cx + side * 0.05 * fw, shoulder_y + 0.75 * fw),
                          (geom.cx + side * 0.9 * fw, shoulder_y + 0.45 * fw)], fill=(235, 235, 230))


def hairline_y(looks):
    return -0.6 - 0.25 * looks.hairline


def draw_back_hair(draw, geom, looks):
    """Hair behind the head: long hair falls past the jaw onto the shoulders."""
    if looks.hair_length < 0.6 or looks.bun:
        return
    end = -0.1 + 0.95 * looks.hair_length
    spread = 1.18 + 0.12 * min(looks.hair_length, 1.5)
    draw.ellipse(geom.box(-1.18, -1.22, 1.18, 0.4, feature=False), fill=looks.hair)
    tips = [geom.at(x, end + 0.06 * (i % 2), feature=False) for i, x in enumerate(np.linspace(spread, -spread, 9))]
    draw.polygon([geom.at(-1.18, -0.3, False), geom.at(1.18, -0.3, False)] + tips, fill=looks.hair)


def draw_front_hair(draw, geom, looks, rng):
    """Hair cap with sideburns, optional fringe, side strands for long hair, a bun on top."""
    hair, top, line = looks.hair, -1.1 - 0.08 * min(looks.hair_length, 1.0), hairline_y(looks)
    if looks.hair_length < 0.15:  # buzz cut: a thin, lighter cap
        hair = blend(hair, looks.skin, 0.35)
    arc = [geom.at(1.06 * np.cos(t), line + (line - top) * np.sin(t), False) for t in np.linspace(0, -np.pi, 15)]
    temples = [geom.at(-0.86, -0.12, False), geom.at(-0.72, line + 0.08, False),
               geom.at(0.72, line + 0.08, False), geom.at(0.86, -0.12, False)]
    draw.polygon([geom.at(1.06, -0.12, False)] + arc + [geom.at(-1.06, -0.12, False)] + temples, fill=hair)
    if looks.fringe > 0:
        low = line + looks.fringe * (-0.3 - line)
        xs = np.linspace(0.75, -0.75, 9)
        tips = [geom.at(x, low - 0.05 * ((i % 2) + rng.uniform(0, 0.5)), False) for i, x in enumerate(xs)]
        draw.polygon([geom.at(-0.8, line - 0.05, False), geom.at(0.8, line - 0.05, False)] + tips, fill=hair)
    if looks.hair_length > 0.95 and not looks.bun:
        end = min(-0.1 + 0.95 * looks.hair_length, 0.75)
        for side in (-1, 1):
            strand = [geom.at(side * 0.75, line, False), geom.at(side * 1.2, line + 0.1, False),
                      geom.at(side * 1.25, end, False), geom.at(side * 0.88, end, False),
                      geom.at(side * 0.8, 0.0, False)]
            draw.polygon(strand, fill=hair)
    if looks.bun:
        draw.ellipse(geom.box(-0.35, top - 0.45, 0.35, top + 0.1, feature=False), fill=hair)


def draw_eyes(draw, geom, looks, rng):
    """Whites, iris, pupil and lid line: the contrast a face detector keys on."""
    gaze, openness = rng.uniform(-0.05, 0.05), rng.uniform(0.75, 1.0)
    brow_colour = shade(looks.hair, 0.85) if sum(looks.hair) < 450 else shade(looks.hair, 0.6)
    for side in (-1, 1):
        x, y = side * 0.4, -0.08
        draw.ellipse(geom.box(x - 0.2, y - 0.075 * openness, x + 0.2, y + 0.075 * openness), fill=(240, 238, 232))
        ix = x + gaze
        draw.ellipse(geom.box(ix - 0.085, y - 0.065, ix + 0.085, y + 0.065), fill=looks.iris)
        draw.ellipse(geom.box(ix - 0.04, y - 0.03, ix + 0.04, y + 0.03), fill=(12, 10, 10))
        lid = [geom.at(x + t * 0.22, y - 0.08 * openness * np.sqrt(max(0, 1 - t * t))) for t in np.linspace(-1, 1, 9)]
        draw.line(lid, fill=(35, 25, 25), width=max(2, int(0.045 * geom.fw)))
        brow_y = -0.28
        inner, outer = geom.at(side * 0.14, brow_y + 0.02), geom.at(side * 0.62, brow_y + 0.03)
        peak = geom.at(side * 0.42, brow_y - 0.04)
        thick = looks.brow * geom.fw
        draw.polygon([inner, peak, outer, (outer[0], outer[1] + thick * 0.5), (peak[0], peak[1] + thick),
                      (inner[0], inner[1] + thick * 1.1)], fill=brow_colour)


def draw_nose(draw, geom, skin):
    dark = shade(skin, 0.72)
    draw.line([geom.at(0.1, -0.02), geom.at(0.13, 0.22), geom.at(0.16, 0.3)], fill=shade(skin, 0.85),
              width=max(2, int(0.06 * geom.fw)))
    draw.ellipse(geom.box(-0.14, 0.2, 0.14, 0.36), fill=shade(skin, 0.93))
    for side in (-1, 1):
        draw.ellipse(geom.box(side * 0.13 - 0.055, 0.3, side * 0.13 + 0.055, 0.35), fill=dark)
        start, end = (100, 230) if side < 0 else (-50, 80)  # PIL angles run clockwise from 3 o'clock
        draw.arc(geom.box(side * 0.11 - 0.09, 0.22, side * 0.11 + 0.09, 0.36), start, end,
                 fill=dark, width=max(2, int(0.035 * geom.fw)))


def draw_mouth(draw, geom, looks, rng):
    width, smile, open_ = rng.uniform(0.26, 0.34), rng.uniform(-0.02, 0.05), rng.uniform(0, 0.04)
    y = 0.56
    upper = [geom.at(-width, y - smile), geom.at(-0.1, y - 0.07), geom.at(0, y - 0.05), geom.at(0.1, y - 0.07),
             geom.at(width, y - smile), geom.at(0, y + 0.005)]
    lower = [geom.at(-width, y - smile), geom.at(0, y + 0.005 + open_), geom.at(width, y - smile),
             geom.at(0.12, y + 0.09 + open_), geom.at(-0.12, y + 0.09 + open_)]
    draw.polygon(lower, fill=looks.lips)
    draw.polygon(upper, fill=shade(looks.lips, 0.88))
    draw.line([geom.at(-width, y - smile), geom.at(0, y + 0.005 + open_ / 2), geom.at(width, y - smile)],
              fill=(70, 30, 30), width=max(2, int(0.04 * geom.fw)))


def draw_beard(draw, geom, looks):
    stubble = blend(looks.skin, shade(looks.hair, 0.8), 0.3 + 0.35 * looks.beard)
    jaw = [geom.at(x, y, False) for x, y in [(-0.8, 0.35), (-0.4, 0.7), (0.4, 0.7), (0.8, 0.35)]]
    chin = [(geom.cx + geom.half_width(y) * 0.95 * s, geom.cy + y * geom.fh)
            for s, ys in ((1, np.linspace(0.35, 1, 6)), (-1, np.linspace(1, 0.35, 6))) for y in ys]
    draw.polygon(jaw + chin, fill=stubble)  # from the mouth line down around the chin
    draw.polygon([geom.at(-0.3, 0.45), geom.at(0.3, 0.45), geom.at(0.34, 0.52), geom.at(-0.34, 0.52)], fill=stubble)


def draw_wrinkles(draw, geom, looks, rng):
    """Forehead lines, crow's feet, eye bags and nose-to-mouth folds, deeper with age."""
    w = looks.wrinkles
    if w < 0.05:
        return
    colour = shade(looks.skin, 1 - 0.25 * w)
    width = max(1, int((0.015 + 0.025 * w) * geom.fw))
    for k in range(int(round(w * 4))):
        y = -0.42 - 0.08 * k
        if y > hairline_y(looks) + 0.05:
            draw.arc(geom.box(-0.5, y - 0.05, 0.5, y + 0.15), 200, 340, fill=colour, width=width)
    for side in (-1, 1):
        for dy in (-0.05, 0.0, 0.05)[: 1 + int(w * 2.5)]:
            draw.line([geom.at(side * 0.64, -0.08 + dy * 0.5), geom.at(side * 0.76, -0.08 + dy * 1.8)],
                      fill=colour, width=width)
        draw.arc(geom.box(side * 0.4 - 0.16, -0.06, side * 0.4 + 0.16, 0.06), 20, 160, fill=colour, width=width)
        fold = [geom.at(side * 0.2, 0.3), geom.at(side * 0.3, 0.42), geom.at(side * 0.36, 0.6)]  # nose to mouth
        draw.line(fold, fill=colour, width=width)

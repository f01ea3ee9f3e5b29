"""Procedural toy faces with known attributes, drawn in a western ``cartoon`` style or an ``anime`` style.

A face is described by a :class:`FaceRecord`: one categorical value per attribute in :data:`ATTRIBUTES` (face
shape, skin tone, hair style and colour, eye shape and colour, mouth, glasses, background) plus a :class:`Jitter`
of continuous nuisance parameters (a few pixels of shift, a few percent of scale and brightness, the shirt colour)
that make images varied without making any attribute ambiguous. Every value is chosen to stay readable at 64 px.

The two styles draw the same record:

- ``cartoon``: flat colours and thick dark outlines; round-ish outlined eyes with a coloured iris and a pupil,
  eyebrows, a hooked nose line and an outlined mouth; the hair is a smooth cap with a swept fringe.
- ``anime``: large eyes with a thick upper lash line, a tall iris in the eye colour with a darker top and white
  highlights; a pointed chin; a fringe of pointed bangs over the forehead (and locks beside the face for the long
  styles); a dot of a nose and a tiny mouth; blush; thin lines in a darker shade of the fill; cel shading (a flat
  shadow band on the face and neck, a shadow under the bangs, darker back hair and a light ring on the hair).

How a face is made: the attributes that shape the drawing (style, face shape, hair style, eye shape, mouth,
glasses) give a *sketch*, a cached list of drawing calls in image units whose colours are named roles ("skin",
"hair_line", ...). A record's palette fills in the roles (skin tone, hair, eye and background colours, with their
brightness jitter), its shift and zoom place the sketch on a canvas of at least 256 px and at least twice the output
size, Pillow's ``ImageDraw`` draws it, and a box filter averages the canvas down to the output size, so every size is
anti-aliased. An image is a pure function of (record, style, size). This module needs only numpy and Pillow.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Literal, cast

import numpy as np
from PIL import Image, ImageDraw

from genzoo.errors import ConfigError

__all__ = [
    "ATTRIBUTES",
    "SIZES",
    "STYLES",
    "FaceRecord",
    "Jitter",
    "codes_array",
    "random_records",
    "render",
    "render_many",
]

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "face_shape": ("round", "oval", "square"),
    "skin_tone": ("light", "tan", "brown", "dark"),
    "hair_style": ("short", "long", "bob", "spiky", "pigtails"),
    "hair_color": ("black", "brown", "blonde", "red", "blue", "pink"),
    "eye_shape": ("round", "almond", "sleepy"),
    "eye_color": ("brown", "blue", "green", "violet"),
    "mouth": ("smile", "open", "neutral"),
    "glasses": ("no", "yes"),
    "background": ("blue", "green", "yellow", "purple", "gray"),
}
"""Attribute name -> its allowed values, in a fixed order (the order of :func:`codes_array` columns)."""

STYLES: tuple[str, ...] = ("cartoon", "anime")
SIZES: tuple[int, ...] = (16, 32, 64, 128, 256, 512)

RGB = tuple[int, int, int]
Style = Literal["cartoon", "anime"]
Points = np.ndarray | Sequence[tuple[float, float]]

# --------------------------------------------------------------------------------------------------- the record


@dataclass(frozen=True)
class Jitter:
    """Nuisance parameters, each in [-1, 1]; zero is the canonical face. Not attributes: they only add variety."""

    dx: float = 0.0  # horizontal shift, up to _SHIFT of the image width
    dy: float = 0.0  # vertical shift
    scale: float = 0.0  # zoom, up to _ZOOM
    skin: float = 0.0  # brightness of the skin colour, up to _BRIGHTNESS
    hair: float = 0.0  # brightness of the hair colour
    background: float = 0.0  # brightness of the background colour
    shirt: float = 0.0  # picks one of the shirt colours


_SHIFT = 0.035
_ZOOM = 0.05
_BRIGHTNESS = 0.05


@dataclass(frozen=True)
class FaceRecord:
    """One face: a value of every attribute in :data:`ATTRIBUTES` (same field order) and its nuisance jitter."""

    face_shape: str
    skin_tone: str
    hair_style: str
    hair_color: str
    eye_shape: str
    eye_color: str
    mouth: str
    glasses: str
    background: str
    jitter: Jitter = field(default_factory=Jitter)

    def __post_init__(self) -> None:
        for name, values in ATTRIBUTES.items():
            value = getattr(self, name)
            if value not in values:
                raise ValueError(f"{name}={value!r} is not one of {', '.join(values)}")

    def attributes(self) -> dict[str, str]:
        """The categorical attributes (no jitter), in :data:`ATTRIBUTES` order."""
        return {name: getattr(self, name) for name in ATTRIBUTES}

    def codes(self) -> dict[str, int]:
        """The index of each attribute's value in its :data:`ATTRIBUTES` tuple."""
        return {name: ATTRIBUTES[name].index(getattr(self, name)) for name in ATTRIBUTES}

    @classmethod
    def from_codes(cls, codes: Sequence[int] | Mapping[str, int], jitter: Jitter | None = None) -> FaceRecord:
        """The record with these value indices (a sequence in :data:`ATTRIBUTES` order, or a name -> index map)."""
        if not isinstance(codes, Mapping):
            if len(codes) != len(ATTRIBUTES):
                raise ValueError(f"expected {len(ATTRIBUTES)} codes ({', '.join(ATTRIBUTES)}), got {len(codes)}")
            codes = dict(zip(ATTRIBUTES, codes, strict=True))
        values = {}
        for name, allowed in ATTRIBUTES.items():
            code = int(codes[name])
            if not 0 <= code < len(allowed):
                raise ValueError(f"{name} code {code} is out of range 0..{len(allowed) - 1}")
            values[name] = allowed[code]
        return cls(**values, jitter=jitter or Jitter())


assert tuple(f.name for f in fields(FaceRecord)) == (*ATTRIBUTES, "jitter"), "FaceRecord fields != ATTRIBUTES"


def random_records(n: int, seed: int) -> list[FaceRecord]:
    """``n`` records, each attribute uniform over its values independently, jitter uniform in [-1, 1].

    Deterministic from ``seed``; a longer list starts with the shorter one (``random_records(10, s)`` is a prefix
    of ``random_records(100, s)``).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    code_rng, jitter_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    sizes = np.array([len(values) for values in ATTRIBUTES.values()])
    codes = code_rng.integers(0, sizes, size=(n, len(sizes)))
    jitters = jitter_rng.uniform(-1.0, 1.0, size=(n, len(fields(Jitter))))
    return [FaceRecord.from_codes(c.tolist(), Jitter(*j.tolist())) for c, j in zip(codes, jitters, strict=True)]


def codes_array(records: Sequence[FaceRecord]) -> np.ndarray:
    """The value indices of ``records``: an ``(N, len(ATTRIBUTES))`` int64 array, columns in ATTRIBUTES order."""
    rows = [list(record.codes().values()) for record in records]
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(ATTRIBUTES))


# --------------------------------------------------------------------------------------------------- colours

_SKIN: dict[str, RGB] = {
    "light": (255, 224, 200),
    "tan": (234, 180, 130),
    "brown": (178, 116, 74),
    "dark": (102, 64, 46),
}
_HAIR: dict[str, RGB] = {
    "black": (34, 32, 40),
    "brown": (128, 76, 34),
    "blonde": (246, 212, 92),
    "red": (210, 56, 36),
    "blue": (46, 104, 224),
    "pink": (246, 122, 192),
}
_IRIS: dict[str, RGB] = {
    "brown": (122, 66, 22),
    "blue": (36, 122, 240),
    "green": (40, 170, 60),
    "violet": (150, 64, 214),
}
_BACKGROUND: dict[str, RGB] = {
    "blue": (150, 200, 246),
    "green": (170, 226, 158),
    "yellow": (250, 228, 120),
    "purple": (204, 180, 240),
    "gray": (196, 196, 196),
}
_SHIRTS: tuple[RGB, ...] = ((52, 62, 116), (124, 40, 52), (32, 110, 110), (72, 72, 78), (104, 112, 48))
_INK: RGB = (36, 28, 34)
_WHITE: RGB = (255, 255, 255)


def _shade(color: RGB, factor: float) -> RGB:
    r, g, b = (min(255, max(0, round(c * factor))) for c in color)
    return r, g, b


def _mix(color: RGB, other: RGB, t: float) -> RGB:
    r, g, b = (round(c * (1 - t) + o * t) for c, o in zip(color, other, strict=True))
    return r, g, b


def _palette(record: FaceRecord, style: Style) -> dict[str, RGB]:
    """The colour of every role a sketch may name, for this record in this style."""
    j = record.jitter
    background = _shade(_BACKGROUND[record.background], 1 + _BRIGHTNESS * j.background)
    skin = _shade(_SKIN[record.skin_tone], 1 + _BRIGHTNESS * j.skin)
    skin_shadow = _mix(_shade(skin, 0.84), (190, 80, 110), 0.12)
    hair = _shade(_HAIR[record.hair_color], 1 + _BRIGHTNESS * j.hair)
    iris = _IRIS[record.eye_color]
    shirt = _SHIRTS[min(len(_SHIRTS) - 1, int((j.shirt + 1) / 2 * len(_SHIRTS)))]
    anime = style == "anime"
    return {
        "background": background,
        "halo": _mix(background, _WHITE, 0.35),
        "skin": skin,
        "skin_shadow": skin_shadow,
        "skin_line": _mix(skin_shadow, (70, 28, 30), 0.7) if anime else _INK,
        "blush": _mix(skin, (250, 110, 130), 0.35),
        "hair": hair,
        "hair_shadow": _shade(hair, 0.8),
        "hair_light": _mix(hair, _WHITE, 0.45),
        "hair_line": _mix(hair, _INK, 0.7) if anime else _INK,
        "brow": _mix(hair, _INK, 0.45 if anime else 0.3),
        "iris": iris,
        "iris_shadow": _shade(iris, 0.62),
        "pupil": _shade(iris, 0.3) if anime else _INK,
        "shirt": shirt,
        "shirt_line": _shade(shirt, 0.5) if anime else _INK,
        "ink": _INK,
        "white": _WHITE,
        "mouth": (128, 30, 40),
        "mouth_line": (80, 26, 36),
        "tongue": (232, 110, 120),
        "frame": (50, 40, 60) if anime else (30, 30, 40),
        "tie": _WHITE if anime else (230, 60, 80),
    }


# --------------------------------------------------------------------------------------------------- sketches


@dataclass(frozen=True, eq=False)
class _Op:
    """One drawing call in image units (0..1 across the canvas). Colours are palette roles, widths image units."""

    kind: Literal["polygon", "line", "ellipse", "rectangle"]
    points: np.ndarray  # the vertices, or for an ellipse / rectangle the two corners of its box
    fill: str | None = None
    outline: str | None = None
    width: float = 0.0


class _Sketch:
    """Collects the drawing calls of one face; geometry only, so it is shared by every face with the same shapes."""

    def __init__(self) -> None:
        self.ops: list[_Op] = []

    def polygon(self, points: Points, fill: str | None, outline: str | None = None, width: float = 0.0) -> None:
        self.ops.append(_Op("polygon", np.asarray(points, dtype=float), fill, outline, width))

    def line(self, points: Points, color: str, width: float) -> None:
        self.ops.append(_Op("line", np.asarray(points, dtype=float), color, None, width))

    def ellipse(
        self,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        fill: str | None,
        outline: str | None = None,
        width: float = 0.0,
    ) -> None:
        self.ops.append(_Op("ellipse", np.array([(cx - rx, cy - ry), (cx + rx, cy + ry)]), fill, outline, width))

    def rectangle(self, x0: float, y0: float, x1: float, y1: float, fill: str) -> None:
        self.ops.append(_Op("rectangle", np.array([(x0, y0), (x1, y1)]), fill))


class _Pen:
    """Draws sketch ops on an image with a palette, applying the record's shift and zoom."""

    def __init__(self, image: Image.Image, jitter: Jitter, palette: Mapping[str, RGB]) -> None:
        size = image.width
        zoom = 1.0 + _ZOOM * jitter.scale
        self._draw = ImageDraw.Draw(image)
        self._palette = palette
        self._scale = size * zoom
        self._offset = np.array([0.5 + _SHIFT * jitter.dx - 0.5 * zoom, 0.5 + _SHIFT * jitter.dy - 0.5 * zoom]) * size

    def draw(self, op: _Op) -> None:
        xy = (op.points * self._scale + self._offset).ravel().tolist()
        fill = self._palette[op.fill] if op.fill else None
        outline = self._palette[op.outline] if op.outline else None
        width = max(1, round(op.width * self._scale))
        if op.kind == "polygon":
            if fill is not None:
                self._draw.polygon(xy, fill=fill)
            if outline is not None:  # a closed stroke centred on the edge (Pillow's own wide outline is slow)
                self._draw.line(xy + xy[:2], fill=outline, width=width, joint="curve")
        elif op.kind == "line":
            self._draw.line(xy, fill=fill, width=width, joint="curve")
        elif op.kind == "ellipse":
            self._draw.ellipse(xy, fill=fill, outline=outline, width=width)
        else:
            self._draw.rectangle(xy, fill=fill)


def _smooth(points: np.ndarray, iterations: int = 2) -> np.ndarray:
    """Chaikin corner cutting of an open polyline (the end points stay put)."""
    for _ in range(iterations):
        a, b = points[:-1], points[1:]
        cut = np.empty((2 * len(a), 2))
        cut[0::2] = 0.75 * a + 0.25 * b
        cut[1::2] = 0.25 * a + 0.75 * b
        points = np.vstack([points[:1], cut, points[-1:]])
    return points


def _ellipse_points(cx: float, cy: float, rx: float, ry: float, n: int = 24) -> np.ndarray:
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.column_stack([cx + rx * np.cos(t), cy + ry * np.sin(t)])


# --------------------------------------------------------------------------------------------------- head and body

_CX, _CY = 0.5, 0.45  # the centre of the head
_LINE: dict[str, float] = {"cartoon": 0.016, "anime": 0.009}  # outline width


@dataclass(frozen=True)
class _Head:
    """The head outline: half-width ``a`` and half-height ``b`` around (_CX, _CY), a superellipse of power ``top``
    above eye level and ``(1 - y**chin) ** (1 / taper)`` below it (taper 2 is round, taper 1 a pointed chin)."""

    a: float
    b: float
    top: float
    chin: float
    taper: float
    jaw: float = 1.0  # the part below eye level is ``jaw * b`` tall

    def unit(self, t: Points, scale: float = 1.0) -> np.ndarray:
        """Outline points in head units (x, y in [-1, 1]); ``t`` in [-pi, pi] runs from the chin (-pi) up the
        left side, over the top (0), down the right side to the chin (pi)."""
        t = np.asarray(t, dtype=float)
        y = -np.cos(t)
        ay = np.minimum(np.abs(y), 1.0)
        upper = (1 - ay**self.top) ** (1 / self.top)
        lower = (1 - ay**self.chin) ** (1 / self.taper)
        x = np.sign(t) * np.where(y < 0, upper, lower)
        return np.column_stack([x, np.where(y < 0, y, self.jaw * y)]) * scale

    def at(self, points: Points) -> np.ndarray:
        """Head units -> image units."""
        return np.asarray(points, dtype=float) * (self.a, self.b) + (_CX, _CY)

    def outline(self, grow: float = 0.0, n: int = 64) -> np.ndarray:
        """The closed outline in image units, pushed out by ``grow`` image units (negative shrinks it)."""
        unit = self.unit(np.linspace(-np.pi, np.pi, n, endpoint=False))
        return unit * (self.a + grow, self.b + grow) + (_CX, _CY)


_HEADS: dict[tuple[str, str], _Head] = {
    ("cartoon", "round"): _Head(0.25, 0.26, top=2.0, chin=2.0, taper=2.0),
    ("cartoon", "oval"): _Head(0.205, 0.29, top=2.0, chin=2.0, taper=2.0),
    ("cartoon", "square"): _Head(0.25, 0.27, top=3.0, chin=5.0, taper=5.0),
    ("anime", "round"): _Head(0.25, 0.26, top=2.0, chin=2.4, taper=1.0, jaw=1.22),
    ("anime", "oval"): _Head(0.205, 0.30, top=2.0, chin=2.0, taper=0.9, jaw=1.1),
    ("anime", "square"): _Head(0.25, 0.27, top=3.0, chin=5.0, taper=1.0, jaw=1.18),
}


def _sketch_face(s: _Sketch, head: _Head, style: Style) -> None:
    line = _LINE[style]
    s.polygon(head.outline(), "skin_line")
    if style == "cartoon":
        s.polygon(head.outline(-line), "skin")
        return
    # Cel shading: the face in shadow, then a lit copy shrunk towards the upper left leaves a band right and below.
    inner = head.outline(-line)
    s.polygon(inner, "skin_shadow")
    light = np.array([_CX - 0.3 * head.a, _CY - 0.45 * head.b])
    s.polygon(light + 0.92 * (inner - light), "skin")


def _sketch_ears(s: _Sketch, head: _Head, style: Style) -> None:
    rx, ry = (0.04, 0.06) if style == "cartoon" else (0.03, 0.05)
    for side in (-1, 1):
        x = _CX + side * (head.a - 0.005)
        s.ellipse(x, _CY + 0.02, rx, ry, "skin", "skin_line", _LINE[style])
        s.ellipse(x + side * 0.008, _CY + 0.025, rx * 0.4, ry * 0.5, "skin_shadow")


def _sketch_body(s: _Sketch, head: _Head, style: Style) -> None:
    line = _LINE[style]
    neck_top, neck_bottom, neck_w = _CY + 0.5 * head.b, 0.84, 0.08
    s.ellipse(0.5, 1.0, 0.31, 0.18, "shirt", "shirt_line", line)
    s.rectangle(_CX - neck_w - line, neck_top, _CX + neck_w + line, neck_bottom, "skin_line")
    s.rectangle(_CX - neck_w, neck_top, _CX + neck_w, neck_bottom, "skin")
    s.ellipse(_CX, neck_bottom, neck_w + line, 0.03, "skin", "skin_line", line)
    if style == "anime":
        chin = head.outline(0.02)  # the chin's shadow on the neck
        chin = chin[chin[:, 1] > _CY + 0.4 * head.b]
        chin[:, 0] = np.clip(chin[:, 0], _CX - neck_w, _CX + neck_w)
        s.polygon(chin, "skin_shadow")
        for side in (-1, 1):  # a white sailor collar
            s.polygon([(_CX, 0.93), (_CX + side * 0.12, 0.8), (_CX + side * 0.21, 0.85)], "white", "shirt_line", line)


# --------------------------------------------------------------------------------------------------- hair


def _fringe(style: Style, hair_style: str) -> np.ndarray:
    """The lower edge of the front hair over the forehead, head units, from the right temple to the left."""
    if style == "cartoon":
        points = {
            "short": [(0.95, -0.3), (0.65, -0.6), (0.2, -0.72), (-0.1, -0.58), (-0.55, -0.5), (-0.95, -0.3)],
            "long": [(0.95, -0.2), (0.6, -0.5), (0.1, -0.8), (-0.1, -0.8), (-0.6, -0.5), (-0.95, -0.2)],
            "bob": [(0.97, -0.2), (0.93, -0.48), (0.85, -0.5), (-0.85, -0.5), (-0.93, -0.48), (-0.97, -0.2)],
            "spiky": [
                (0.95, -0.3),
                (0.7, -0.45),
                (0.5, -0.62),
                (0.3, -0.45),
                (0.05, -0.65),
                (-0.2, -0.45),
                (-0.45, -0.62),
                (-0.7, -0.45),
                (-0.95, -0.3),
            ],
            "pigtails": [(0.95, -0.3), (0.6, -0.55), (0.05, -0.6), (-0.05, -0.6), (-0.6, -0.55), (-0.95, -0.3)],
        }[hair_style]
        return np.array(points) if hair_style == "spiky" else _smooth(np.array(points))
    # anime bangs: pointed locks whose tips hang to the eyebrows, their roots high on the forehead
    tips = {
        "short": [(0.62, -0.32), (0.18, -0.4), (-0.3, -0.34), (-0.7, -0.3)],
        "long": [(0.7, -0.25), (0.35, -0.3), (-0.12, -0.26), (-0.5, -0.36), (-0.8, -0.2)],
        "bob": [(0.72, -0.28), (0.36, -0.3), (0.0, -0.3), (-0.36, -0.3), (-0.72, -0.28)],
        "spiky": [(0.75, -0.2), (0.45, -0.3), (0.12, -0.2), (-0.2, -0.32), (-0.5, -0.22), (-0.8, -0.26)],
        "pigtails": [(0.65, -0.3), (0.28, -0.34), (-0.28, -0.34), (-0.65, -0.3)],
    }[hair_style]
    roots = [(a[0] + b[0]) / 2 for a, b in itertools.pairwise(tips)]
    points = [(0.96, -0.3)]
    for tip, root in zip(tips, roots, strict=False):
        points += [tip, (root, -0.6)]
    return np.array([*points, tips[-1], (-0.96, -0.3)])


def _hair_top(head: _Head, hair_style: str) -> np.ndarray:
    """The outer edge of the front hair, head units, from the left side over the top to the right side."""
    if hair_style != "spiky":
        return head.unit(np.linspace(-1.75, 1.75, 25), scale=1.13)
    radius = np.where(np.arange(13) % 2 == 1, 1.55, 1.1)  # every other point is the tip of a spike
    spikes = head.unit(np.linspace(-1.3, 1.3, 13)) * radius[:, None]
    return np.vstack([head.unit(np.linspace(-1.75, -1.4, 3), 1.1), spikes, head.unit(np.linspace(1.4, 1.75, 3), 1.1)])


def _front_hair(head: _Head, style: Style, hair_style: str) -> np.ndarray:
    """The front hair polygon in image units: the outer edge, down the right temple, the fringe, up the left."""
    right = head.unit(np.linspace(1.75, 1.3, 4))
    left = head.unit(np.linspace(-1.3, -1.75, 4))
    return head.at(np.vstack([_hair_top(head, hair_style), right, _fringe(style, hair_style), left]))


def _back_hair(head: _Head, style: Style, hair_style: str) -> list[np.ndarray]:
    """Hair behind the head (and neck), as polygons in image units."""
    top = head.unit(np.linspace(-np.pi / 2, np.pi / 2, 17), scale=1.16)
    anime = style == "anime"
    if hair_style == "long":
        ends = [(1.45, 2.5), (1.1, 2.2), (0.8, 2.45), (-0.8, 2.45), (-1.1, 2.2)] if anime else [(1.45, 2.5)]
        return [head.at(np.vstack([top, [(1.3, 0.9)], ends, [(-1.45, 2.5), (-1.3, 0.9)]]))]
    if hair_style == "bob":
        ends = [(1.12, 0.88), (0.95, 0.7), (-0.95, 0.7), (-1.12, 0.88)] if anime else [(1.16, 0.8), (-1.16, 0.8)]
        return [head.at(np.vstack([top, [(1.22, 0.6)], ends, [(-1.22, 0.6)]]))]
    if hair_style == "pigtails":
        length = 1.1 if anime else 0.85
        return [head.at(_ellipse_points(side * 1.5, 0.3 + 0.2 * length, 0.36, length)) for side in (-1, 1)]
    return []


def _side_locks(head: _Head, hair_style: str) -> list[np.ndarray]:
    """Anime locks hanging in front of the cheeks for the longer styles, image units."""
    end = {"long": 0.75, "bob": 0.6, "pigtails": 0.35}.get(hair_style)
    if end is None:
        return []
    return [
        head.at([(side * 1.0, -0.4), (side * 1.06, 0.2), (side * 0.86, end), (side * 0.8, -0.2)]) for side in (-1, 1)
    ]


def _sketch_back_hair(s: _Sketch, head: _Head, style: Style, hair_style: str) -> None:
    line = _LINE[style]
    for polygon in _back_hair(head, style, hair_style):
        s.polygon(polygon, "hair" if style == "cartoon" else "hair_shadow", "hair_line", line)
    if hair_style == "pigtails":  # hair ties
        for x, y in head.at([(-1.3, -0.3), (1.3, -0.3)]):
            s.ellipse(x, y, 0.03, 0.03, "tie", "hair_line", line)


def _sketch_front_hair(s: _Sketch, head: _Head, style: Style, hair_style: str) -> None:
    line = _LINE[style]
    if style == "anime":  # the bangs' shadow on the forehead
        fringe = head.at(_fringe(style, hair_style))
        s.polygon(np.vstack([fringe, fringe[::-1] + np.array([0.0, 0.035])]), "skin_shadow")
    s.polygon(_front_hair(head, style, hair_style), "hair", "hair_line", line)
    if style == "anime":  # locks beside the face and a ring of light on the hair
        for lock in _side_locks(head, hair_style):
            s.polygon(lock, "hair", "hair_line", line)
        s.line(head.at(head.unit(np.linspace(-0.9, 0.5, 9), scale=0.82)), "hair_light", 0.022)


# --------------------------------------------------------------------------------------------------- eyes


@dataclass(frozen=True)
class _Eye:
    """An eye centred at (x, y) with half-size (rx, ry), between ``upper(u)`` and ``lower(u)``, u = (x - cx) / rx."""

    x: float
    y: float
    rx: float
    ry: float
    shape: str
    side: int  # -1 for the eye on the left of the image, +1 on the right

    def bounds(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = np.clip(u, -1.0, 1.0)
        round_ = np.sqrt(1 - u**2)
        if self.shape == "almond":  # a lens, its outer corner turned up
            tilt = 0.3 * self.ry * u * self.side
            return self.y - self.ry * round_**0.7 - tilt, self.y + 0.8 * self.ry * (1 - u**2) - tilt
        upper = self.y - self.ry * round_
        if self.shape == "sleepy":  # a heavy, nearly flat lid over the top
            upper = np.maximum(upper, self.y - 0.15 * self.ry + 0.1 * self.ry * u**2)
        return upper, self.y + self.ry * round_

    def outline(self, n: int = 17) -> np.ndarray:
        u = np.linspace(-1.0, 1.0, n)
        upper, lower = self.bounds(u)
        x = self.x + self.rx * u
        return np.vstack([np.column_stack([x, upper]), np.column_stack([x, lower])[::-1]])

    def upper(self, n: int = 13) -> np.ndarray:
        u = np.linspace(-1.0, 1.0, n)
        return np.column_stack([self.x + self.rx * u, self.bounds(u)[0]])

    def disc(self, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
        """An ellipse cut to the eye (exact for ellipses narrower than the eye)."""
        points = _ellipse_points(cx, cy, rx, ry)
        upper, lower = self.bounds((points[:, 0] - self.x) / self.rx)
        return np.column_stack([points[:, 0], np.clip(points[:, 1], upper, lower)])


_EYE_SIZE: dict[tuple[str, str], tuple[float, float]] = {
    ("cartoon", "round"): (0.06, 0.07),
    ("cartoon", "almond"): (0.075, 0.045),
    ("cartoon", "sleepy"): (0.065, 0.07),
    ("anime", "round"): (0.07, 0.09),
    ("anime", "almond"): (0.08, 0.06),
    ("anime", "sleepy"): (0.075, 0.09),
}


def _eyes(style: Style, shape: str) -> tuple[_Eye, _Eye]:
    rx, ry = _EYE_SIZE[style, shape]
    dx, y = (0.1, _CY) if style == "cartoon" else (0.11, _CY + 0.06)
    return _Eye(_CX - dx, y, rx, ry, shape, -1), _Eye(_CX + dx, y, rx, ry, shape, 1)


def _sketch_cartoon_eye(s: _Sketch, eye: _Eye) -> None:
    line = _LINE["cartoon"]
    if eye.shape == "sleepy":  # the closed part of the eye: a lid
        s.ellipse(eye.x, eye.y, eye.rx, eye.ry, "skin_shadow", "ink", line)
    s.polygon(eye.outline(), "white")
    iris = min(0.036, 0.8 * eye.ry)
    iy = eye.y + (0.015 if eye.shape == "sleepy" else 0.0)
    s.polygon(eye.disc(eye.x, iy, iris, iris), "iris")
    s.polygon(eye.disc(eye.x, iy, 0.4 * iris, 0.4 * iris), "pupil")
    s.polygon(eye.outline(), None, "ink", line)
    if eye.shape == "sleepy":
        s.line(eye.upper(), "ink", 1.6 * line)


def _sketch_anime_eye(s: _Sketch, eye: _Eye) -> None:
    line = _LINE["anime"]
    s.ellipse(eye.x + eye.side * 0.015, eye.y + eye.ry + 0.03, 0.04, 0.016, "blush")
    s.polygon(eye.outline(), "white")
    ix, iy, irx, iry = eye.x, eye.y + 0.1 * eye.ry, 0.68 * eye.rx, 0.95 * eye.ry
    iris = eye.disc(ix, iy, irx, iry)
    s.polygon(iris, "iris")
    s.polygon(np.column_stack([iris[:, 0], np.minimum(iris[:, 1], iy - 0.25 * iry)]), "iris_shadow")  # cel shading
    s.polygon(eye.disc(ix, iy + 0.05 * iry, 0.45 * irx, 0.5 * iry), "pupil")
    s.polygon(eye.disc(ix - 0.35 * irx * eye.side, iy - 0.3 * iry, 0.32 * irx, 0.26 * iry), "white")
    s.polygon(eye.disc(ix + 0.35 * irx * eye.side, iy + 0.45 * iry, 0.15 * irx, 0.12 * iry), "white")
    # the lash line: thick along the top, flicked out at the outer corner; a thin stroke under the outer half
    lash = eye.upper()
    s.line(lash, "ink", 2.2 * line)
    corner = lash[-1] if eye.side > 0 else lash[0]
    s.polygon(corner + np.array([(-0.02 * eye.side, -0.006), (0.025 * eye.side, -0.02), (0.0, 0.012)]), "ink")
    u = np.linspace(0.2, 0.95, 6) * eye.side
    s.line(np.column_stack([eye.x + eye.rx * u, eye.bounds(u)[1]]), "skin_line", 0.8 * line)


def _sketch_brows(s: _Sketch, eyes: tuple[_Eye, _Eye], style: Style) -> None:
    for eye in eyes:
        u = np.linspace(-0.9, 0.9, 7)
        if style == "cartoon":
            y = eye.y - 0.105 - 0.015 * (1 - u**2)
            s.line(np.column_stack([eye.x + eye.rx * u, y]), "brow", 0.022)
        else:
            u = u * 0.7 + 0.1 * eye.side
            y = eye.y - eye.ry - 0.05 - 0.01 * (1 - u**2) + 0.006 * u * eye.side
            s.line(np.column_stack([eye.x + eye.rx * u, y]), "brow", 0.012)


# --------------------------------------------------------------------------------------------------- the rest


def _sketch_nose(s: _Sketch, style: Style) -> None:
    if style == "cartoon":
        u = np.linspace(-1.0, 1.0, 9)
        y = _CY + 0.09 + 0.028 * np.sqrt(1 - u**2)
        s.line(np.column_stack([_CX + 0.035 * u, y]), "ink", 1.2 * _LINE[style])
    else:
        s.line([(_CX + 0.004, _CY + 0.15), (_CX - 0.006, _CY + 0.16)], "skin_line", 1.2 * _LINE[style])


def _sketch_mouth(s: _Sketch, style: Style, mouth: str) -> None:
    line = _LINE[style]
    y, half = (_CY + 0.18, 0.07) if style == "cartoon" else (_CY + 0.22, 0.05)
    if mouth == "open":
        ry = 0.8 * half
        s.ellipse(_CX, y, 0.75 * half, ry, "mouth", "ink" if style == "cartoon" else "skin_line", line)
        s.ellipse(_CX, y + 0.45 * ry, 0.45 * half, 0.35 * ry, "tongue")
        return
    if style == "cartoon":
        depth, width, color = (0.45 * half if mouth == "smile" else 0.0), 1.3 * line, "ink"
    else:  # a tiny mouth: a curve for a smile, a short dash when neutral
        depth, width, color = (0.55 * half if mouth == "smile" else 0.0), 0.02, "mouth_line"
        half = half if mouth == "smile" else 0.5 * half
    u = np.linspace(-1.0, 1.0, 11)
    s.line(np.column_stack([_CX + half * u, y - 0.5 * depth + depth * (1 - u**2)]), color, width)


def _sketch_glasses(s: _Sketch, eyes: tuple[_Eye, _Eye], head: _Head, style: Style) -> None:
    width = 0.016 if style == "cartoon" else 0.012
    rx, ry = (0.085, 0.075) if style == "cartoon" else (0.09, 0.07)
    for eye in eyes:
        cy = eye.y + (0.01 if style == "anime" else 0.0)
        if style == "cartoon":  # round frames
            s.ellipse(eye.x, cy, rx, ry, None, "frame", width)
        else:  # square frames with a glint
            box = np.array([(-1, -1), (1, -1), (1, 0.7), (0.8, 1), (-0.8, 1), (-1, 0.7)]) * (rx, ry) + (eye.x, cy)
            s.polygon(box, None, "frame", width)
            s.line([(eye.x + 0.2 * rx, cy - 0.7 * ry), (eye.x + 0.7 * rx, cy - 0.2 * ry)], "white", 0.01)
        outer = eye.x + eye.side * rx
        s.line([(outer, cy - 0.3 * ry), (_CX + eye.side * (head.a + 0.01), cy - 0.4 * ry)], "frame", width)
    y = eyes[0].y - 0.2 * ry
    s.line([(eyes[0].x + rx, y), (_CX, y - 0.015), (eyes[1].x - rx, y)], "frame", width)


@functools.cache
def _sketch(
    style: Style, face_shape: str, hair_style: str, eye_shape: str, mouth: str, glasses: str
) -> tuple[_Op, ...]:
    """Every drawing call of a face, back to front. Depends only on the attributes that shape the drawing."""
    s = _Sketch()
    head = _HEADS[style, face_shape]
    eyes = _eyes(style, eye_shape)
    if style == "anime":  # a soft light behind the head
        s.ellipse(_CX, _CY, 0.4, 0.4, "halo")
    _sketch_back_hair(s, head, style, hair_style)
    _sketch_body(s, head, style)
    if hair_style in ("short", "spiky", "pigtails"):
        _sketch_ears(s, head, style)
    _sketch_face(s, head, style)
    for eye in eyes:
        (_sketch_cartoon_eye if style == "cartoon" else _sketch_anime_eye)(s, eye)
    if style == "cartoon":
        _sketch_brows(s, eyes, style)
    _sketch_nose(s, style)
    _sketch_mouth(s, style, mouth)
    _sketch_front_hair(s, head, style, hair_style)
    if style == "anime":  # anime eyebrows show through the bangs
        _sketch_brows(s, eyes, style)
    if glasses == "yes":
        _sketch_glasses(s, eyes, head, style)
    for op in s.ops:
        op.points.flags.writeable = False
    return tuple(s.ops)


# --------------------------------------------------------------------------------------------------- rendering


def _check(style: str, size: int) -> tuple[Style, int]:
    """The validated (style, size), or a ValueError (ConfigError) that says what is allowed."""
    if style not in STYLES:
        raise ConfigError(f"unknown toon style {style!r}; choose one of: {', '.join(STYLES)}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or int(size) not in SIZES:
        raise ConfigError(
            f"toon image size must be a power of two from 16 to 512 ({', '.join(map(str, SIZES))}), got {size!r}"
        )
    return cast(Style, style), int(size)


def _supersampling(size: int) -> int:
    """How many canvas pixels per output pixel: at least 2, and a canvas of at least 256 px."""
    return max(2, 256 // size)


def _render(record: FaceRecord, style: Style, size: int) -> Image.Image:
    palette = _palette(record, style)
    canvas = size * _supersampling(size)
    image = Image.new("RGB", (canvas, canvas), palette["background"])
    pen = _Pen(image, record.jitter, palette)
    for op in _sketch(style, record.face_shape, record.hair_style, record.eye_shape, record.mouth, record.glasses):
        pen.draw(op)
    return image.reduce(canvas // size)  # a box filter: the mean of each block of canvas pixels


def render(record: FaceRecord, style: str = "cartoon", size: int = 64) -> np.ndarray:
    """The face as a ``(size, size, 3)`` uint8 RGB array. ``size`` is a power of two from 16 to 512."""
    return np.array(_render(record, *_check(style, size)))


def render_many(
    records: Sequence[FaceRecord], style: str, size: int, progress: Callable[[int], None] | None = None
) -> np.ndarray:
    """Render ``records`` into an ``(N, size, size, 3)`` uint8 array; ``progress(done)`` is called now and then
    (every 256 faces and after the last)."""
    checked_style, size = _check(style, size)
    out = np.empty((len(records), size, size, 3), dtype=np.uint8)
    for i, record in enumerate(records):
        out[i] = np.asarray(_render(record, checked_style, size))
        if progress is not None and ((i + 1) % 256 == 0 or i + 1 == len(records)):
            progress(i + 1)
    return out

"""Pictures as PNG files: rows of ``[0, 1]`` image tensors tiled by torchvision's ``make_grid``, and uint8 images
tiled without torch (for ``genzoo data preview``, which must stay quick).

A grid says what it shows: each row may carry a label (``("to anime", images)``), drawn in a margin on its left,
and a grid may have column labels above it and a title; all of them are also kept in the PNG's text chunks
(``genzoo:rows``, ``genzoo:columns``, ``genzoo:title``, and ``genzoo:box``, where the images are), which
``read_grid`` reads back and report.html shows as the figure's caption.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from genzoo.io import atomic_write

if TYPE_CHECKING:
    from torch import Tensor

PAD = 2
"""White pixels between and around the images of a grid."""
SMALL = 400
"""Grids narrower than this are written twice as large (nearest neighbour), so that small images can be seen."""
FONT_SIZE = 13
"""Pixels of the labels' font (Pillow's own, so every machine draws them alike)."""
INK = (40, 40, 40)

Row = Union["Tensor", tuple[str, "Tensor"]]
"""A row of a grid: images ``(N, 3, H, W)`` in ``[0, 1]``, or ``(label, images)``."""


@dataclass(frozen=True)
class GridText:
    """What a grid's PNG says about itself: row labels (top to bottom), column labels, title, and where the images
    are (``x, y, width, height`` in its pixels)."""

    rows: list[str]
    columns: list[str]
    title: str
    box: tuple[int, int, int, int]

    def caption(self) -> str:
        """One sentence naming the rows (and columns) top to bottom, for a figure's caption or alt text."""
        parts = [self.title] if self.title else []
        if self.rows:
            parts.append("rows, top to bottom: " + "; ".join(self.rows))
        if self.columns:
            parts.append("columns, left to right: " + "; ".join(self.columns))
        return ". ".join(parts)


def to_uint8(images: Tensor | np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` float tensors in ``[0, 1]`` or ``(N, H, W, 3)`` uint8 arrays → ``(N, H, W, 3)`` uint8."""
    if isinstance(images, np.ndarray):
        return images
    array = images.detach().float().clamp(0, 1).mul(255).round().to("cpu").numpy().astype(np.uint8)
    return array.transpose(0, 2, 3, 1)


def save_png(image: Image.Image, path: Path, text: dict[str, str] | None = None) -> Path:
    """Write ``image`` atomically as PNG, with ``text`` in its text chunks."""
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_itxt(key, value)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    atomic_write(Path(path), buffer.getvalue())
    return Path(path)


def _scale(picture: np.ndarray) -> int:
    return 2 if picture.shape[1] < SMALL else 1


def grid_picture(rows: Sequence[Tensor], columns: int | None = None) -> np.ndarray:
    """Rows of ``[0, 1]`` images ``(N, 3, H, W)`` as one uint8 ``(H, W, 3)`` picture (``make_grid``), a row under
    the other; shorter rows end in white. With ``columns``, the images of all rows are wrapped into rows of that many
    instead."""
    import torch
    from torchvision.utils import make_grid

    if columns is not None:
        rows = list(torch.cat(list(rows)).split(columns))
    width = max(len(r) for r in rows)
    cells = [torch.cat([r.float(), r.new_ones((width - len(r), *r.shape[1:]))]) for r in rows]
    picture = make_grid(torch.cat(cells).detach().float().cpu().clamp(0, 1), nrow=width, padding=PAD, pad_value=1.0)
    return picture.mul(255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def paired_rows(top: Tensor, bottom: Tensor, labels: tuple[str, str], columns: int = 8) -> list[Row]:
    """Images ``top`` above their counterparts ``bottom`` (inputs and reconstructions, inputs and translations),
    ``columns`` to a row, the rows labelled ``labels``."""
    rows: list[Row] = []
    for i in range(0, len(top), columns):
        rows += [(labels[0], top[i : i + columns]), (labels[1], bottom[i : i + columns])]
    return rows


def save_grid(
    rows: Sequence[Row],
    path: Path,
    columns: int | None = None,
    *,
    column_labels: Sequence[str] = (),
    title: str = "",
) -> Path:
    """``grid_picture`` of the rows, written as one PNG (enlarged twice when it is small), with each labelled row's
    label in a margin on its left, ``column_labels`` above the columns and ``title`` above all (see ``GridText``).
    With ``columns`` the images are rewrapped, so rows cannot be labelled."""
    labels = [row[0] if isinstance(row, tuple) else "" for row in rows]
    images = [row[1] if isinstance(row, tuple) else row for row in rows]
    if columns is not None and any(labels):
        raise ValueError("rows rewrapped into `columns` cannot keep their labels")
    return _write_grid(grid_picture(images, columns), path, labels if any(labels) else [], list(column_labels), title)


def _write_grid(array: np.ndarray, path: Path, rows: list[str], columns: list[str], title: str) -> Path:
    """The tiled ``array`` enlarged when small, framed with its labels, written with them in its text chunks."""
    scale = _scale(array)
    picture = Image.fromarray(array)
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    labelled, box = _with_labels(picture, rows, columns, title)
    text = {
        "genzoo:rows": json.dumps(rows),
        "genzoo:columns": json.dumps(columns),
        "genzoo:title": title,
        "genzoo:box": json.dumps(box),
    }
    return save_png(labelled, path, text=text)


def _font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=FONT_SIZE)


def _with_labels(
    picture: Image.Image, rows: list[str], columns: list[str], title: str
) -> tuple[Image.Image, list[int]]:
    """``picture`` (the tiled images) in a white frame that holds the row labels on its left, the column labels and
    title above; returns it and the box of the images in it."""
    if not (rows or columns or title):
        return picture, [0, 0, picture.width, picture.height]
    font, gap = _font(), 6
    line = FONT_SIZE + gap
    left = max((int(font.getlength(label)) for label in rows), default=0)
    left = left + 2 * gap if left else 0
    top = (line if title else 0) + (line if columns else 0)
    framed = Image.new("RGB", (picture.width + left, picture.height + top + (gap if top else 0)), "white")
    y0 = top + (gap if top else 0)
    framed.paste(picture, (left, y0))
    draw = ImageDraw.Draw(framed)
    if title:
        draw.text((left + gap, gap // 2), title, fill=INK, font=font)
    n_rows, n_columns = max(len(rows), 1), max(len(columns), 1)
    if columns:
        step = picture.width / n_columns
        for i, label in enumerate(columns):
            x = left + step * (i + 0.5) - font.getlength(label) / 2
            draw.text((max(left, x), top - line + gap // 2), label, fill=INK, font=font)
    if rows:
        step = picture.height / n_rows
        for i, label in enumerate(rows):
            draw.text((gap, y0 + step * (i + 0.5)), label, fill=INK, font=font, anchor="lm")
    return framed, [left, y0, picture.width, picture.height]


def read_grid(path: Path) -> GridText | None:
    """What a grid PNG written by ``save_grid`` says about itself, or None for any other picture."""
    try:
        with Image.open(path) as image:
            chunks = dict(getattr(image, "text", {}) or {})
    except (OSError, ValueError):
        return None
    if "genzoo:box" not in chunks:
        return None
    try:
        x, y, w, h = (int(v) for v in json.loads(chunks["genzoo:box"]))
        return GridText(
            rows=[str(v) for v in json.loads(chunks.get("genzoo:rows", "[]"))],
            columns=[str(v) for v in json.loads(chunks.get("genzoo:columns", "[]"))],
            title=str(chunks.get("genzoo:title", "")),
            box=(x, y, w, h),
        )
    except (ValueError, TypeError):
        return None


def save_sheet(images: np.ndarray, path: Path, columns: int, title: str = "") -> Path:
    """uint8 ``(N, H, W, 3)`` images as one PNG of ``columns`` per row under ``title``, laid out as ``save_grid``
    does, without torch."""
    n, h, w = images.shape[:3]
    rows = (n + columns - 1) // columns
    picture = np.full((rows * (h + PAD) + PAD, columns * (w + PAD) + PAD, 3), 255, np.uint8)
    for i, image in enumerate(images):
        y, x = PAD + (i // columns) * (h + PAD), PAD + (i % columns) * (w + PAD)
        picture[y : y + h, x : x + w] = image
    return _write_grid(picture, path, [], [], title)

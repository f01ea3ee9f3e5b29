"""Pictures as PNG files: rows of ``[0, 1]`` image tensors tiled by torchvision's ``make_grid``, and uint8 images
tiled without torch (for ``genzoo data preview``, which must stay quick)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from genzoo.io import atomic_write

if TYPE_CHECKING:
    from torch import Tensor

PAD = 2
"""White pixels between and around the images of a grid."""
SMALL = 400
"""Grids narrower than this are written twice as large (nearest neighbour), so that small images can be seen."""


def to_uint8(images: Tensor | np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` float tensors in ``[0, 1]`` or ``(N, H, W, 3)`` uint8 arrays → ``(N, H, W, 3)`` uint8."""
    if isinstance(images, np.ndarray):
        return images
    array = images.detach().float().clamp(0, 1).mul(255).round().to("cpu").numpy().astype(np.uint8)
    return array.transpose(0, 2, 3, 1)


def save_png(picture: np.ndarray, path: Path, scale: int = 1) -> Path:
    """Write a uint8 ``(H, W, 3)`` picture atomically as PNG, optionally enlarged ``scale`` times (nearest)."""
    image = Image.fromarray(picture)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
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


def save_grid(rows: Sequence[Tensor], path: Path, columns: int | None = None) -> Path:
    """``grid_picture`` of the rows, written as one PNG (enlarged twice when it is small)."""
    array = grid_picture(rows, columns)
    return save_png(array, path, _scale(array))


def save_sheet(images: np.ndarray, path: Path, columns: int) -> Path:
    """uint8 ``(N, H, W, 3)`` images as one PNG of ``columns`` per row, laid out as ``save_grid`` does, without
    torch."""
    n, h, w = images.shape[:3]
    rows = (n + columns - 1) // columns
    picture = np.full((rows * (h + PAD) + PAD, columns * (w + PAD) + PAD, 3), 255, np.uint8)
    for i, image in enumerate(images):
        y, x = PAD + (i // columns) * (h + PAD), PAD + (i % columns) * (w + PAD)
        picture[y : y + h, x : x + w] = image
    return save_png(picture, path, _scale(picture))

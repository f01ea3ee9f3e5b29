"""Image grids: rows of ``[0, 1]`` tensors (or uint8 arrays) tiled into one PNG."""

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


def to_uint8(images: Tensor | np.ndarray) -> np.ndarray:
    """``(N, 3, H, W)`` float tensors in ``[0, 1]`` or ``(N, H, W, 3)`` uint8 arrays → ``(N, H, W, 3)`` uint8."""
    if isinstance(images, np.ndarray):
        return images
    array = images.detach().float().clamp(0, 1).mul(255).round().to("cpu").numpy().astype(np.uint8)
    return array.transpose(0, 2, 3, 1)


def grid(rows: Sequence[Tensor | np.ndarray], pad: int = 2, columns: int | None = None) -> np.ndarray:
    """Rows of images tiled into one uint8 picture with ``pad`` white pixels between them.

    With ``columns``, a single batch is wrapped into rows of that many images instead.
    """
    arrays = [to_uint8(r) for r in rows]
    if columns is not None:
        flat = np.concatenate(arrays)
        arrays = [flat[i : i + columns] for i in range(0, len(flat), columns)]
    h, w = arrays[0].shape[1:3]
    ncol = max(len(a) for a in arrays)
    out = np.full((len(arrays) * (h + pad) + pad, ncol * (w + pad) + pad, 3), 255, np.uint8)
    for r, row in enumerate(arrays):
        for c, image in enumerate(row):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            out[y : y + h, x : x + w] = image
    return out


def save_png(picture: np.ndarray, path: Path, scale: int = 1) -> Path:
    """Write a uint8 picture atomically as PNG, optionally enlarged ``scale`` times (nearest neighbour)."""
    image = Image.fromarray(picture)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write(Path(path), buffer.getvalue())
    return Path(path)


def save_grid(rows: Sequence[Tensor | np.ndarray], path: Path, columns: int | None = None) -> Path:
    """Rows of images (see ``grid``) as one PNG, enlarged twice when it is small."""
    picture = grid(rows, columns=columns)
    scale = 2 if picture.shape[1] < 400 else 1
    return save_png(picture, path, scale)

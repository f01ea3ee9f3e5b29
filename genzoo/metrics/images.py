"""Where the compared images come from: a model's samples or translations, and real faces of a domain.

Models are asked for images in chunks (one generator for all chunks, so a seed repeats the same images) and every
result is moved to the CPU as float ``[0, 1]`` NCHW. Real images stay uint8 arrays until the judge reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from genzoo.data.core import ImageSet
from genzoo.data.render import render_set, stream_seed
from genzoo.data.tensors import image_tensor
from genzoo.data.toon import ATTRIBUTES, STYLES
from genzoo.models.base import GenerativeModel

GENERATE_CHUNK = 250
TRANSLATE_CHUNK = 64
REFERENCE_STREAM = "eval-reference"


def is_toon(images: ImageSet) -> bool:
    """Whether ``images`` are built-in toon faces with their attribute records (what the judge knows)."""
    return images.domain in STYLES and images.attributes is not None and dict(images.schema) == ATTRIBUTES


@torch.no_grad()
def generate(model: GenerativeModel, n: int, seed: int, conditions: dict[str, np.ndarray] | None = None) -> Tensor:
    """``n`` samples of ``model`` from ``seed`` (with per-image ``conditions`` for a conditional model)."""
    generator = torch.Generator().manual_seed(seed)
    parts = []
    for i in range(0, n, GENERATE_CHUNK):
        k = min(GENERATE_CHUNK, n - i)
        if conditions is None:
            images = model.sample(k, generator)
        else:
            chunk: dict[str, Sequence[int]] = {a: v[i : i + k].tolist() for a, v in conditions.items()}
            images = model.sample(k, generator, chunk)
        parts.append(images.float().cpu())
    return torch.cat(parts)


@torch.no_grad()
def translate(model: GenerativeModel, images: np.ndarray, to: str) -> Tensor:
    """uint8 ``images`` translated by ``model`` into domain ``to``."""
    parts = [
        model.translate(image_tensor(images[i : i + TRANSLATE_CHUNK], model.device), to=to).float().cpu()
        for i in range(0, len(images), TRANSLATE_CHUNK)
    ]
    return torch.cat(parts) if parts else torch.zeros(0, 3, images.shape[1], images.shape[2])


def fresh_render(images: ImageSet, n: int) -> np.ndarray | None:
    """``n`` new faces in the style and size of built-in ``images`` (a record stream of their own, cached), or None
    for images the renderer did not draw."""
    if not is_toon(images):
        return None
    style, size = images.domain, images.size
    return render_set(style, n, stream_seed(0, f"{REFERENCE_STREAM}/{style}"), size, "reference").images[:]

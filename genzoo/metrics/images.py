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
from genzoo.data.toon import ATTRIBUTES, STYLES
from genzoo.models.base import GenerativeModel, image_tensor

GENERATE_CHUNK = 250
TRANSLATE_CHUNK = 64
REFERENCE_STREAM = "eval-reference"


def is_toon(images: ImageSet) -> bool:
    """Whether ``images`` are built-in toon faces with their attribute records (what the judge knows)."""
    return images.domain in STYLES and images.attributes is not None and dict(images.schema) == ATTRIBUTES


def random_conditions(values: dict[str, list[str]], n: int, seed: int) -> dict[str, np.ndarray]:
    """One uniformly drawn value index per image for every conditioned attribute, from ``seed``."""
    rng = np.random.default_rng(seed)
    return {a: rng.integers(0, len(v), size=n) for a, v in values.items()}


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
    import PIL

    from genzoo.data import toon
    from genzoo.data.core import cached
    from genzoo.judge import record_seed
    from genzoo.judge.cache import renderer_hash

    style, size = images.domain, images.size

    def build() -> ImageSet:
        records = toon.random_records(n, record_seed(0, f"{REFERENCE_STREAM}/{style}"))
        return ImageSet(toon.render_many(records, style, size), style, toon.codes_array(records), dict(ATTRIBUTES))

    parts = {"renderer": renderer_hash(), "pillow": PIL.__version__, "stream": REFERENCE_STREAM}
    parts |= {"style": style, "n": n, "size": size}
    return cached(parts, build, f"{style}-{size}px-reference").images

"""The built-in data sets, ``cartoon`` and ``anime``: procedurally rendered toon faces with known attributes, the
same records drawn in two styles (``genzoo.data.render`` draws them). Registering them imports neither NumPy nor
Pillow, so that `genzoo data list` stays quick."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genzoo.config import DataConfig
from genzoo.registry import register_dataset

if TYPE_CHECKING:
    from genzoo.data.core import Progress, Split


@register_dataset("cartoon", description="Procedural western cartoon faces with known attributes.", has_attributes=True)
def cartoon(config: DataConfig, image_size: int, progress: Progress | None = None) -> Split:
    from genzoo.data.render import load_toon

    return load_toon("cartoon", config, image_size, progress)


@register_dataset("anime", description="The same procedural faces drawn in anime style.", has_attributes=True)
def anime(config: DataConfig, image_size: int, progress: Progress | None = None) -> Split:
    from genzoo.data.render import load_toon

    return load_toon("anime", config, image_size, progress)

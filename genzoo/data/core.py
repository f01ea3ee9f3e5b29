"""Decoded image sets and their cache.

Images are kept as uint8 arrays ``(N, H, W, 3)``, the smallest form that loses nothing; models convert a batch at a
time. A set may carry attributes: integer codes ``(N, K)`` with the names and values they index, either the built-in
renderer's face attributes or, for an image folder with sub-folders, a single attribute ``class``. Decoded sets are
cached as safetensors files (no pickle) in ``cache_dir()``, which ``GENZOO_HOME`` moves.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genzoo.io import atomic_write

Progress = Callable[[str, int, int], None]
"""``progress(description, done, total)``: how long-running data work reports where it is."""


@dataclass
class ImageSet:
    """Images of one domain, with optional attribute codes."""

    images: np.ndarray
    domain: str
    attributes: np.ndarray | None = None
    schema: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    def subset(self, index: np.ndarray) -> ImageSet:
        attrs = None if self.attributes is None else self.attributes[index]
        return ImageSet(self.images[index], self.domain, attrs, self.schema, self.skipped)


@dataclass
class Split:
    """The training and held-out images of a data set."""

    train: ImageSet
    heldout: ImageSet


def genzoo_home() -> Path:
    """Where genzoo keeps its cache: ``$GENZOO_HOME``, or the platform's user cache directory."""
    if env := os.environ.get("GENZOO_HOME"):
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("genzoo", appauthor=False))


def cache_dir() -> Path:
    return genzoo_home() / "data"


def cache_key(parts: Mapping[str, object]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def save_cached(path: Path, image_set: ImageSet, info: Mapping[str, object]) -> None:
    from safetensors.numpy import save

    arrays = {"images": np.ascontiguousarray(image_set.images)}
    if image_set.attributes is not None:
        arrays["attributes"] = np.ascontiguousarray(image_set.attributes)
    meta = {
        "domain": image_set.domain,
        "schema": json.dumps(image_set.schema),
        "skipped": json.dumps(image_set.skipped),
        "info": json.dumps(info, default=str),
    }
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs time next run
        atomic_write(path, save(arrays, metadata=meta))


def load_cached(path: Path) -> ImageSet | None:
    """The cached set at ``path``, or None when it is missing or unreadable (then it is rebuilt)."""
    if not path.is_file():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            images = f.get_tensor("images")
            attrs = f.get_tensor("attributes") if "attributes" in f.keys() else None  # noqa: SIM118
        schema = {k: tuple(v) for k, v in json.loads(meta["schema"]).items()}
        return ImageSet(images, meta["domain"], attrs, schema, json.loads(meta.get("skipped", "[]")))
    except Exception:  # any damage: rebuild
        return None


def cached(parts: Mapping[str, object], build: Callable[[], ImageSet], name: str) -> ImageSet:
    """``build()`` once, then read it back from the cache on every later call with the same ``parts``."""
    path = cache_dir() / f"{name}-{cache_key(parts)}.safetensors"
    hit = load_cached(path)
    if hit is not None:
        return hit
    image_set = build()
    save_cached(path, image_set, parts)
    return image_set

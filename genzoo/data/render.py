"""Rendering sets of toon faces: the record streams, the renderer's hash, and rendered sets cached like any data.

Training faces of each style come from their own seed stream, so the two styles never share a record (unpaired
training); held-out faces come from one shared stream, so held-out record *i* is the same face in both styles
(paired ground truth for evaluation). Rendered sets are cached; the cache key includes the renderer's source, so a
change to the drawing code re-renders. The judge's faces and the evaluation's reference faces come from streams
of their own, drawn the same way.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import PIL

from genzoo.config import DataConfig
from genzoo.data import toon
from genzoo.data.core import ImageSet, Progress, Split, cached


@functools.cache
def renderer_hash() -> str:
    """Short hash of the face renderer's source: part of every cache key of rendered faces (data sets, the judge and
    its faces, evaluation references), so that a change to the drawing code renders them again."""
    return hashlib.sha256(Path(toon.__file__).read_bytes()).hexdigest()[:12]


def stream_seed(seed: int, stream: str) -> int:
    """The record seed of the named stream of faces: different names give unrelated records (the data sets' training
    and held-out faces, the judge's faces, evaluation references)."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{stream}".encode()).digest()[:4], "little")


def render_set(style: str, n: int, seed: int, size: int, part: str, progress: Progress | None = None) -> ImageSet:
    """``n`` faces of ``style`` from record seed ``seed`` at ``size`` px, with their attributes; rendered once, then
    read from the cache. ``part`` (train, held-out, …) names them in the progress bar and the cache file."""

    def build() -> ImageSet:
        records = toon.random_records(n, seed)
        report = (lambda done: progress(f"rendering {part} {style} faces", done, n)) if progress else None
        images = toon.render_many(records, style, size, progress=report)
        return ImageSet(images, style, toon.codes_array(records), dict(toon.ATTRIBUTES))

    parts = {"renderer": renderer_hash(), "pillow": PIL.__version__, "style": style, "n": n, "seed": seed, "size": size}
    return cached(parts, build, f"{style}-{size}px-{part}")


def load_toon(style: str, config: DataConfig, image_size: int, progress: Progress | None = None) -> Split:
    train_seed, heldout_seed = stream_seed(config.seed, style), stream_seed(config.seed, "heldout")
    train = render_set(style, config.train_size, train_seed, image_size, "train", progress)
    heldout = render_set(style, config.heldout_size, heldout_seed, image_size, "held-out", progress)
    return Split(train, heldout)

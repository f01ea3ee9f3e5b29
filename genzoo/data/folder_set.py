"""A folder of the user's images as a ``Split``: decoded once, cached, split deterministically into train/held-out."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from genzoo.config import DataConfig
from genzoo.data.core import ImageSet, Progress, Split, cached
from genzoo.data.folder import (
    UnreadableImage,
    display_path,
    find_images,
    load_folder,
    load_image,
    skipped_summary,
    split_heldout,
)
from genzoo.errors import DataError


def _listing(root: Path, files: list[Path]) -> list[tuple[str, int, int]]:
    out = []
    for f in files:
        try:
            st = f.stat()
        except OSError:  # a dangling link or a link loop: listed here, then reported as unreadable
            st = f.lstat()
        out.append((os.fsencode(f.relative_to(root)).hex(), st.st_size, st.st_mtime_ns))
    return out


def load_folder_split(root: Path, config: DataConfig, image_size: int, progress: Progress | None = None) -> Split:
    """Every readable image below ``root`` at ``image_size``; unreadable ones skipped (or fatal with ``strict``)."""
    root = root.expanduser().resolve() if root.exists() else root
    files = find_images(root)
    domain = display_path(root.name or root)  # a label: shown, and stored as UTF-8 text

    def build() -> ImageSet:
        report = (lambda done, total: progress(f"reading {domain}", done, total)) if progress else None
        folder = load_folder(root, image_size, strict=config.strict, progress=report)
        skipped = [skipped_summary(folder.skipped)] if folder.skipped else []
        if folder.labels is None:
            return ImageSet(folder.images, domain, skipped=skipped)
        return ImageSet(
            folder.images, domain, folder.labels[:, None].astype(np.int64), {"class": folder.classes}, skipped
        )

    parts = {"root": str(root), "size": image_size, "strict": config.strict, "files": _listing(root, files)}
    everything = cached(parts, build, f"folder-{image_size}px")
    train_idx, heldout_idx = split_heldout(len(everything), config.heldout_fraction, config.seed)
    return Split(everything.subset(train_idx), everything.subset(heldout_idx))


def read_images(paths: list[Path], size: int) -> np.ndarray:
    """The given image files (folders read whole) at ``size``, ``(N, size, size, 3)`` uint8; unreadable is an error."""
    files: list[Path] = []
    for p in paths:
        files += find_images(p) if p.is_dir() else [p]
    out = []
    for f in files:
        if not f.is_file():
            raise DataError(
                f"The image '{display_path(f)}' does not exist. Check the path for typos, or give an image file or a "
                "folder of images."
            )
        try:
            out.append(load_image(f, size))
        except UnreadableImage:
            raise  # its message names the file, the reason and what to do
    return np.stack(out)

"""A folder of the user's images as a ``Split``: decoded once (in parallel) into a cache file, split
deterministically into train and held-out images.

The cache is keyed by the folder, the image size, ``strict`` and the list of files with their sizes and modification
times: an edited folder is decoded again, an untouched one opens at once. Attributes come from first-level
sub-folders (one attribute, ``class``) or from an ``attributes.csv`` in the folder (a ``file`` column with each
image's path relative to the folder, one column per attribute).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from genzoo.config import DataConfig
from genzoo.data.core import ImageSet, Progress, Split, cache_path, decode_target, keep_decoded, read_cache
from genzoo.data.folder import (
    Skipped,
    UnreadableImage,
    classes_of,
    decode_files,
    display_path,
    find_images,
    image_names,
    load_image,
    nothing_readable_message,
    skipped_summary,
    split_heldout,
)
from genzoo.errors import DataError

ATTRIBUTES_FILE = "attributes.csv"


def _listing(root: Path, names: list[str]) -> list[tuple[str, int, int]]:
    """``(name as hex bytes, size, mtime)`` of each file ``root/name``: what the cache key holds of a folder."""
    head = os.path.join(str(root), "")
    out = []
    for name in names:
        full = head + name
        try:
            st = os.stat(full)
        except OSError:  # a dangling link or a link loop: listed here, then reported as unreadable
            st = os.lstat(full)
        out.append((os.fsencode(name).hex(), st.st_size, st.st_mtime_ns))
    return out


def load_folder_split(root: Path, config: DataConfig, image_size: int, progress: Progress | None = None) -> Split:
    """Every readable image below ``root`` at ``image_size``; unreadable ones skipped (or fatal with ``strict``)."""
    root = root.expanduser().resolve() if root.exists() else root
    names = image_names(root)
    parts: dict[str, object] = {
        "root": str(root),
        "size": image_size,
        "strict": config.strict,
        "files": _listing(root, names),
        "attributes": _listing(root, [ATTRIBUTES_FILE]) if (root / ATTRIBUTES_FILE).is_file() else None,
    }
    path = cache_path(parts, f"folder-{image_size}px")
    everything = read_cache(path) or _decode(root, names, image_size, config, progress, path)
    train_idx, heldout_idx = split_heldout(len(everything), config.heldout_fraction, config.seed)
    return Split(everything.subset(train_idx), everything.subset(heldout_idx))


def _decode(
    root: Path, names: list[str], size: int, config: DataConfig, progress: Progress | None, path: Path
) -> ImageSet:
    """Decode ``files`` into the cache file ``path`` and return it, read from that file. The pixels go to a scratch
    file beside it first (so a folder larger than the memory decodes too); where the cache cannot be written, into
    memory."""
    files = [root / name for name in names]
    domain = display_path(root.name or root)  # a label: shown, and stored as UTF-8 text
    report = (lambda done, total: progress(f"decoding {domain}", done, total)) if progress else None
    with decode_target(path, len(files), size) as out:
        failed = decode_files(
            files, size, out, strict=config.strict, progress=report, workers=config.workers, root=root
        )
        relative = [Path(name) for name in names]
        kept = np.array([i for i in range(len(files)) if i not in failed], dtype=np.int64)
        skipped = [Skipped(relative[i], reason) for i, reason in sorted(failed.items())]
        if not len(kept):
            raise DataError(nothing_readable_message(root, skipped))
        notes = [skipped_summary(skipped)] if skipped else []
        attributes, schema = _attributes(root, [relative[i] for i in kept])
        codes = None
        if attributes is not None:
            codes = np.zeros((len(files), attributes.shape[1]), np.int64)
            codes[kept] = attributes
        return keep_decoded(path, out, kept, domain, codes, schema, notes)


def _attributes(root: Path, relative: list[Path]) -> tuple[np.ndarray | None, dict[str, tuple[str, ...]]]:
    """The images' attribute codes and their schema: from ``attributes.csv`` when the folder has one, else one
    attribute ``class`` from first-level sub-folders (when there are at least two), else none."""
    table = root / ATTRIBUTES_FILE
    if table.is_file():
        return read_attributes(table, relative)
    classes, class_of = classes_of(relative)
    if not classes:
        return None, {}
    return np.array([[class_of[p.parts[0]]] for p in relative], dtype=np.int64), {"class": classes}


def read_attributes(table: Path, relative: list[Path]) -> tuple[np.ndarray, dict[str, tuple[str, ...]]]:
    """Attribute codes of the images ``relative`` (paths relative to the folder) from a CSV with a ``file`` column
    and one column per attribute; each attribute's values are its distinct entries, sorted."""
    where = display_path(table)
    try:
        with table.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(
            f"{where} cannot be read as CSV ({exc}). Fix it, or remove it to train without attributes."
        ) from None
    columns = [c for c in (rows[0].keys() if rows else []) if c != "file"]
    if not rows or "file" not in rows[0] or not columns:
        raise DataError(
            f"{where} needs a header row with a `file` column (each image's path, relative to the folder) and one "
            "column per attribute, e.g. `file,hair,glasses`; it has "
            f"{', '.join(rows[0]) if rows else 'no rows'}. Fix it, or remove it to train without attributes."
        )
    by_file = {Path(r["file"]).as_posix(): r for r in rows}
    missing = [p for p in relative if p.as_posix() not in by_file]
    if missing:
        raise DataError(
            f"{where} has no row for {len(missing)} of the {len(relative)} images (e.g. {display_path(missing[0])}). "
            "Add a row for every image, or move the images without attributes out of the folder."
        )
    schema = {c: tuple(sorted({(by_file[p.as_posix()][c] or "").strip() for p in relative})) for c in columns}
    codes = np.array(
        [[schema[c].index((by_file[p.as_posix()][c] or "").strip()) for c in columns] for p in relative],
        dtype=np.int64,
    )
    return codes, schema


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

"""Hugging Face data sets as genzoo data: ``--data hf:NAME[#column][@split]``.

``NAME`` is a hub repository (``user/anime-faces``), read through the ``datasets`` library and its local cache (so it
works offline once downloaded, with ``HF_DATASETS_OFFLINE=1``), or a local directory: one written by
``Dataset.save_to_disk`` or a folder of data files ``datasets`` can load. ``#column`` names the image column (by
default the first column of images), ``@split`` the split (default ``train``). Columns of class labels become
attributes, as a folder's sub-folders do.

The images are decoded once, in parallel, into a cache file like a folder's, keyed by the data set's
fingerprint, split, column and image size; then split deterministically into train and held-out images. The
``datasets`` package is the optional extra ``genzoo[hf]``.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genzoo.config import DataConfig
from genzoo.data.core import ImageSet, Progress, Split, cache_path, decode_target, keep_decoded, read_cache
from genzoo.data.folder import Skipped, UnreadableImage, decode, decode_rows, skipped_summary, split_heldout
from genzoo.errors import DataError

if TYPE_CHECKING:
    from datasets import Dataset

PREFIX = "hf:"
INSTALL = "pip install 'genzoo[hf]'"


@dataclass(frozen=True)
class HubName:
    """``hf:NAME#column@split`` taken apart."""

    name: str
    column: str | None = None
    split: str = "train"

    @classmethod
    def parse(cls, text: str) -> HubName:
        match = re.fullmatch(r"hf:(?P<name>[^#@]+)(#(?P<column>[^#@]+))?(@(?P<split>[^#@]+))?", text.strip())
        if match is None:
            raise DataError(
                f"{text!r} is not a Hugging Face data set name: write hf:NAME, hf:NAME#column or hf:NAME@split, e.g. "
                "`--data hf:user/anime-faces#image@train` (NAME a hub repository or a local directory)."
            )
        return cls(match["name"], match["column"], match["split"] or "train")

    @property
    def label(self) -> str:
        """The domain name shown and stored: the data set's last path part."""
        return Path(self.name.rstrip("/")).name or self.name


def is_hub(name: str | None) -> bool:
    return name is not None and name.startswith(PREFIX)


def absolute(name: str) -> str:
    """``hf:./local/dir…`` with the directory made absolute (a hub repository name is kept)."""
    ref = HubName.parse(name)
    path = Path(ref.name).expanduser()
    if not path.exists():
        return name
    suffix = name[len(PREFIX) + len(ref.name) :]
    return f"{PREFIX}{path.resolve()}{suffix}"


def open_dataset(ref: HubName) -> Dataset:
    """The split of the data set ``ref`` names, as a ``datasets.Dataset``; every way this can fail is one message."""
    try:
        import datasets
    except ImportError as exc:
        raise DataError(
            f"--data {PREFIX}… reads Hugging Face data sets with the `datasets` package, which is not installed "
            f"({exc}). Install it with `{INSTALL}`, or use an image folder."
        ) from None
    path = Path(ref.name).expanduser()
    try:
        if path.is_dir() and ((path / "state.json").is_file() or (path / "dataset_dict.json").is_file()):
            loaded: Any = datasets.load_from_disk(str(path))
        else:
            loaded = datasets.load_dataset(str(path) if path.is_dir() else ref.name)
    except (FileNotFoundError, ValueError, OSError, ConnectionError) as exc:
        where = "directory" if path.is_dir() else "hub repository (looked for in the local cache too)"
        raise DataError(
            f"The Hugging Face data set {ref.name!r} could not be loaded as a {where}: {_first_line(exc)}. Check the "
            f"name; a hub data set must have been downloaded once (then HF_DATASETS_OFFLINE=1 reads it offline)."
        ) from None
    if isinstance(loaded, datasets.DatasetDict):
        if ref.split not in loaded:
            raise DataError(
                f"The Hugging Face data set {ref.name!r} has no split {ref.split!r}; it has {', '.join(loaded)}. "
                f"Choose one with {PREFIX}{ref.name}@SPLIT."
            )
        loaded = loaded[ref.split]
    return loaded


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def image_column(dataset: Dataset, ref: HubName) -> str:
    """The column of images: the one named, else the first whose feature is an image."""
    from datasets import Image

    images = [name for name, feature in dataset.features.items() if isinstance(feature, Image)]
    if ref.column is not None:
        if ref.column not in dataset.features:
            raise DataError(
                f"The Hugging Face data set {ref.name!r} has no column {ref.column!r}; its columns: "
                f"{', '.join(dataset.features)}."
            )
        if ref.column not in images:
            raise DataError(
                f"Column {ref.column!r} of {ref.name!r} does not hold images (it holds "
                f"{dataset.features[ref.column]!r}); image columns: {', '.join(images) or 'none'}."
            )
        return ref.column
    if not images:
        raise DataError(
            f"The Hugging Face data set {ref.name!r} has no image column (columns: {', '.join(dataset.features)}). "
            f"Name the column that holds the images with {PREFIX}{ref.name}#COLUMN."
        )
    return images[0]


def labels(dataset: Dataset) -> tuple[np.ndarray | None, dict[str, tuple[str, ...]]]:
    """Codes and value names of every class-label column (the data set's attributes), or none."""
    from datasets import ClassLabel

    columns = [name for name, feature in dataset.features.items() if isinstance(feature, ClassLabel)]
    if not columns:
        return None, {}
    schema = {c: tuple(dataset.features[c].names) for c in columns}
    codes = np.stack([np.asarray(dataset[c], dtype=np.int64) for c in columns], axis=1)
    return codes, schema


def load_hub_split(name: str, config: DataConfig, image_size: int, progress: Progress | None = None) -> Split:
    """The images of ``hf:NAME#column@split`` at ``image_size``, split into train and held-out images."""
    ref = HubName.parse(name)
    dataset = open_dataset(ref)
    column = image_column(dataset, ref)
    parts = {
        "hf": ref.name,
        "fingerprint": dataset._fingerprint,
        "split": ref.split,
        "column": column,
        "size": image_size,
        "strict": config.strict,
    }
    path = cache_path(parts, f"hf-{image_size}px")
    everything = read_cache(path) or _decode(dataset, column, ref, image_size, config, progress, path)
    train_idx, heldout_idx = split_heldout(len(everything), config.heldout_fraction, config.seed)
    return Split(everything.subset(train_idx), everything.subset(heldout_idx))


def _read_row(dataset: Dataset, column: str, label: str, size: int, index: int) -> np.ndarray:
    """Row ``index``'s image at ``size``, decoded from its stored bytes as a folder's files are."""
    item = dataset[index][column]
    if item is None or (not item.get("bytes") and not item.get("path")):
        raise UnreadableImage(Path(f"{label}[{index}]"), "no image in this row")
    where = Path(f"{label}[{index}]")
    if item.get("bytes"):
        return decode(where, io.BytesIO(item["bytes"]), size)
    with open(item["path"], "rb") as file:
        return decode(where, file, size)


def _decode(
    dataset: Dataset,
    column: str,
    ref: HubName,
    size: int,
    config: DataConfig,
    progress: Progress | None,
    path: Path,
) -> ImageSet:
    from datasets import Image

    raw = dataset.cast_column(column, Image(decode=False)).select_columns([column])
    report = (lambda done, total: progress(f"decoding {ref.label}", done, total)) if progress else None
    with decode_target(path, len(raw), size) as out:
        read = functools.partial(_read_row, raw, column, ref.label, size)
        failed = decode_rows(
            len(raw),
            read,
            out,
            strict=config.strict,
            progress=report,
            workers=config.workers,
            name=lambda i: f"{ref.label}[{i}]",
        )
        kept = np.array([i for i in range(len(raw)) if i not in failed], dtype=np.int64)
        skipped = [Skipped(Path(f"{ref.label}[{i}]"), reason) for i, reason in sorted(failed.items())]
        if not len(kept):
            raise DataError(
                f"None of the {len(raw)} images of {ref.name!r} could be read ({skipped_summary(skipped)})."
            )
        notes = [skipped_summary(skipped)] if skipped else []
        codes, schema = labels(dataset)
        return keep_decoded(path, out, kept, ref.label, codes, schema, notes)

"""``genzoo data preview`` and ``genzoo data export``: a data set's images as a grid, or as PNG files + CSV."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np

from genzoo.config import DataConfig
from genzoo.data import toon
from genzoo.data.folder import UnreadableImage, display_path, find_images, load_image
from genzoo.data.loading import load_data
from genzoo.errors import DataError
from genzoo.registry import datasets


def _builtin_style(name: str) -> str | None:
    if name in toon.STYLES and name in datasets and datasets.get(name).source == "built-in":
        return name
    return None


def preview_images(name: str, n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` images of a data set, ``(n, size, size, 3)`` uint8: a built-in style rendered directly, the first ``n``
    readable files of an image folder (without decoding the rest), the first ``n`` training images of another set."""
    style = _builtin_style(name)
    if style is not None:
        return toon.render_many(toon.random_records(n, seed), style, size)
    path = Path(name).expanduser()
    if name not in datasets and path.is_dir():
        images = []
        for file in find_images(path):
            with contextlib.suppress(UnreadableImage):
                images.append(load_image(file, size))
            if len(images) == n:
                break
        if not images:
            raise DataError(f"None of the images in '{display_path(path)}' could be read; `genzoo train` lists why.")
        return np.stack(images)
    split = load_data(DataConfig(name=name, heldout_fraction=0.0), size)
    return split.train.images[:n]


def export(name: str, folder: Path, n: int, size: int, seed: int = 0) -> Path:
    """Write ``n`` rendered faces as ``00000.png``… and their attributes as ``attributes.csv``; return the CSV."""
    from PIL import Image

    style = _builtin_style(name)
    if style is None:
        raise DataError(f"Only the built-in data sets can be exported ({', '.join(toon.STYLES)}); {name!r} is not one.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        records = toon.random_records(n, seed)
        images = toon.render_many(records, style, size)
        names = [f"{i:05d}.png" for i in range(n)]
        for file, image in zip(names, images, strict=True):
            Image.fromarray(image).save(folder / file)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["file", *toon.ATTRIBUTES])
        for file, record in zip(names, records, strict=True):
            writer.writerow([file, *record.attributes().values()])
        (folder / "attributes.csv").write_text(buffer.getvalue())
    except OSError as exc:
        raise DataError(f"Cannot write to {folder}: {exc.strerror or exc}. Choose a folder you can write to.") from None
    return folder / "attributes.csv"

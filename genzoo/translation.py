"""Translation as a Python API: translate tensors or image files with a translator (a CycleGAN). The CLI's
``translate`` calls these.

>>> model = genzoo.load("cyclegan-resnet")                              # newest finished run
>>> anime = translate(model, images, to="anime")                        # [0, 1] NCHW in and out
>>> translate_files("cyclegan-resnet", [Path("faces/")], to="anime")    # → translated/*.png
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from genzoo.data.folder import IMAGE_EXTENSIONS, exif_transpose, find_images, load_image, to_rgb
from genzoo.data.tensors import image_tensor
from genzoo.errors import DataError
from genzoo.images import Row, paired_rows, save_grid, to_uint8
from genzoo.models.base import GenerativeModel
from genzoo.models.loading import load
from genzoo.runs import DEFAULT_ROOT

DEFAULT_OUT = Path("translated")
CHUNK = 16
GRID_LIMIT = 64


# ---- tensors -------------------------------------------------------------------------------------------------------


def translate(model: GenerativeModel, images: torch.Tensor, to: str, batch_size: int = CHUNK) -> torch.Tensor:
    """``[0, 1]`` images (NCHW, the model's size) translated into domain ``to``, in ``[0, 1]``, on the CPU."""
    model.eval()
    with torch.no_grad():
        parts = [model.translate(chunk.to(model.device), to).cpu() for chunk in images.split(batch_size)]
    return torch.cat(parts) if parts else images.new_zeros((0, *images.shape[1:]))


# ---- files ---------------------------------------------------------------------------------------------------------


@dataclass
class Job:
    """One image to translate: where it is read from and where the result goes."""

    source: Path
    target: Path


def plan(inputs: Sequence[Path], out: Path | None) -> list[Job]:
    """Input files (folders read whole, recursively) and their output paths.

    One input file with an ``out`` that ends like an image (``x.png``) writes that file; otherwise ``out`` (default
    ``translated/``) is a folder, and each result is ``<stem>.png`` (below a folder input: its relative path).
    """
    if not inputs:
        raise DataError("Give at least one image or folder to translate.")
    found: list[tuple[Path, Path]] = []
    for path in inputs:
        if path.is_dir():
            found += [(f, f.relative_to(path).with_suffix(".png")) for f in find_images(path)]
        elif path.is_file():
            found.append((path, Path(path.stem + ".png")))
        else:
            raise DataError(f"Image {path} does not exist. Give image files or folders of images.")
    if out is not None and out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir():
        if len(inputs) == 1 and len(found) == 1 and not inputs[0].is_dir():
            return [Job(found[0][0], out)]
        raise DataError(
            f"--out {out} names one image file, but {len(found)} images were given; give a folder instead, "
            f"e.g. --out {DEFAULT_OUT}/."
        )
    folder = out if out is not None else DEFAULT_OUT
    return [Job(src, folder / rel) for src, rel in _unique(found)]


def replaced(jobs: Sequence[Job], grid: Path | None = None) -> list[Path]:
    """The files that translating ``jobs`` (and writing ``grid``) would replace."""
    targets = [job.target for job in jobs] + ([grid] if grid is not None else [])
    return [path for path in targets if path.exists()]


def _unique(found: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Output names made unique: a second ``x.png`` becomes ``x-2.png``."""
    seen: set[Path] = set()
    out = []
    for src, rel in found:
        name, k = rel, 1
        while name in seen:
            k += 1
            name = rel.with_name(f"{rel.stem}-{k}{rel.suffix}")
        seen.add(name)
        out.append((src, name))
    return out


def read_input(path: Path, size: int, keep_size: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """One image at ``size``×``size`` (uint8 RGB) and its original (width, height).

    By default the central square is cropped (as for training). With ``keep_size`` the whole picture is resized to a
    square instead, so that nothing is lost when the result is scaled back to the original size.
    """
    cropped = load_image(path, size)  # decodes robustly; an unusable file raises a clear UnreadableImage
    if not keep_size:
        return cropped, (size, size)
    with Image.open(path) as image:  # the same orientation and colour handling as load_image
        rgb = to_rgb(path, exif_transpose(image))
        original = rgb.size
        whole = rgb.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(whole, dtype=np.uint8), original


def write_image(picture: np.ndarray, path: Path, size: tuple[int, int]) -> None:
    """Save a uint8 RGB picture, resized to ``size`` (width, height) when it differs."""
    image = Image.fromarray(picture)
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot write {path}: {exc}. Choose another --out.") from None


def translate_files(
    source: str | Path,
    inputs: Sequence[Path],
    to: str,
    *,
    out: Path | None = None,
    keep_size: bool = False,
    grid: Path | None = None,
    device: str = "cpu",
    root: Path = DEFAULT_ROOT,
    average: bool = True,
    overwrite: bool = False,
) -> list[Path]:
    """Translate image files (or folders) into domain ``to`` with the model at ``source`` (a model name, run directory
    or .safetensors file); returns the written files.

    Images are read, translated and written ``CHUNK`` at a time, so memory stays small for any number of files; a
    wrong ``to`` fails before anything is written, an unreadable file stops the command with its name. The model's
    weight average is used where it has one, unless ``average`` is False. A file the results (or the grid) would
    replace is refused, before the model is loaded, unless ``overwrite``.
    """
    jobs = plan(inputs, out)
    existing = replaced(jobs, grid)
    if existing and not overwrite:
        more = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise DataError(
            f"Translating would replace {existing[0]}{more}, written before. Nothing was written: give another --out "
            f"(or --grid), or --overwrite to replace them."
        )
    model = load(source, device=device, root=root, average=average)
    size = model.config.image_size
    shown: list[torch.Tensor] = []
    for start in range(0, len(jobs), CHUNK):
        chunk = jobs[start : start + CHUNK]
        read = [read_input(job.source, size, keep_size) for job in chunk]
        x = image_tensor(np.stack([array for array, _ in read]))
        y = translate(model, x, to)
        for job, picture, (_, original) in zip(chunk, to_uint8(y), read, strict=True):
            write_image(picture, job.target, original if keep_size else (size, size))
        if grid is not None and start < GRID_LIMIT:
            shown += [x, y]
    if grid is not None:
        save_grid(_grid_rows(shown, to), grid)
    return [job.target for job in jobs]


def _grid_rows(pairs: list[torch.Tensor], to: str) -> list[Row]:
    """Inputs above their translations, eight to a row, at most ``GRID_LIMIT`` images, each row labelled."""
    x, y = torch.cat(pairs[0::2])[:GRID_LIMIT], torch.cat(pairs[1::2])[:GRID_LIMIT]
    return paired_rows(x, y, ("input", f"to {to}"))

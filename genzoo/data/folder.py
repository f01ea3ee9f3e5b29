"""Read a user's image folder: find the images, decode them robustly, and say which files could not be used.

Only numpy and Pillow are imported (never torch), so the CLI can import this module quickly.

* :func:`find_images` lists every image file below a folder (recursively, deterministic order, hidden files and
  folders ignored, directory symlinks followed once each, so symlink loops are harmless).
* :func:`load_image` decodes one file to a ``(size, size, 3)`` uint8 RGB array: EXIF orientation applied, first frame
  of an animation, transparency composited on white, 16-bit scaled to 8-bit, the shorter side resized to ``size`` and
  the centre cropped. A file that cannot be used raises :class:`UnreadableImage` with a short ``reason``.
* :func:`load_folder` decodes a whole folder, skipping (and recording) unreadable files, with first-level
  sub-folders as class labels.
* :func:`split_heldout` and :func:`skipped_summary` are small helpers for training and for messages.

Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` and ``Image.MAX_IMAGE_PIXELS`` are read, never changed: truncated files
and decompression bombs are reported as unreadable rather than half-decoded.
"""

from __future__ import annotations

import functools
import math
import os
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from genzoo.errors import DataError

__all__ = [
    "IMAGE_EXTENSIONS",
    "FolderImages",
    "Skipped",
    "exif_transpose",
    "find_images",
    "image_names",
    "load_folder",
    "load_image",
    "skipped_summary",
    "split_heldout",
    "to_rgb",
]

IMAGE_EXTENSIONS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"})

_EXIF_ORIENTATION = 0x0112
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_MIN_SIDE = 2
_REDUCING_GAP = 3.0
_SUMMARY_LIMIT = 3

REASON_EMPTY = "empty file"
REASON_NOT_IMAGE = "not an image"
REASON_CORRUPT = "truncated or corrupt image"
REASON_BOMB = "larger than Pillow's decompression-bomb limit"


@dataclass
class Skipped:
    """A file that was found but could not be used, and why (a short human reason)."""

    path: Path
    reason: str


@dataclass
class FolderImages:
    """The decoded contents of an image folder.

    ``labels[i]`` indexes ``classes`` and comes from the first-level sub-folder of ``paths[i]``; ``labels`` is None
    (and ``classes`` empty) when fewer than two class folders hold images or when some images sit directly in root.
    """

    images: np.ndarray
    paths: list[Path]
    labels: np.ndarray | None
    classes: tuple[str, ...]
    skipped: list[Skipped] = field(default_factory=list)


class UnreadableImage(DataError):
    """One image file that cannot be decoded. ``reason`` is short ("empty file"); ``str()`` is a full message."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(
            f"Cannot use the image '{display_path(path)}': {reason}. Check that it opens in an image viewer, "
            "then re-save it as PNG or JPEG, or remove it."
        )


def display_path(path: Path | str) -> str:
    """``path`` as printable text: bytes that are not valid UTF-8 in a file name are shown as ``\\xe9`` escapes."""
    return os.fsencode(path).decode("utf-8", errors="backslashreplace")


# --------------------------------------------------------------------------------------------------------------------
# Finding files


def find_images(root: Path) -> list[Path]:
    """Every image file below ``root`` (recursively), sorted; each returned path starts with ``root``.

    Directory symlinks are followed but each real directory is visited once; names starting with "." are ignored.
    Raises :class:`DataError` when ``root`` is missing, is not a folder, or holds no images.
    """
    root = _check_folder(root)
    return [root / name for name in image_names(root)]


def image_names(root: Path) -> list[str]:
    """The images of :func:`find_images` as paths relative to ``root`` (strings, ``os.sep`` between parts), sorted
    part by part. Strings, because a 100k-image folder is listed at every run: as ``Path`` objects that alone took
    seconds."""
    root = _check_folder(root)
    errors: list[OSError] = []
    found = list(_walk_images(root, errors))
    if not found:
        raise DataError(_no_images_message(root, errors))
    found.sort(key=lambda name: name.replace(os.sep, "\0"))  # "\0" sorts below any character of a name
    return found


def _check_folder(root: Path | str) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise DataError(
            f"The image folder '{display_path(root)}' does not exist. Check the path for typos, or pass the folder "
            "that contains your images."
        )
    if not root.is_dir():
        raise DataError(
            f"'{display_path(root)}' is a file, not a folder. Pass the folder that contains your images (they may "
            "sit in sub-folders, one per class)."
        )
    return root


def _walk_images(root: Path, errors: list[OSError]) -> Iterator[str]:
    """Non-hidden image files below ``root`` relative to it, following directory symlinks but entering each real
    directory once."""
    top = str(root)
    prefix = os.path.join(top, "")
    seen: set[tuple[int, int]] = {_dir_id(top)}
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True, onerror=errors.append):
        kept = []
        for name in sorted(dirnames):
            if name.startswith("."):
                continue
            try:
                ident = _dir_id(os.path.join(dirpath, name))
            except OSError as error:
                errors.append(error)
                continue
            if ident not in seen:
                seen.add(ident)
                kept.append(name)
        dirnames[:] = kept  # os.walk descends only into these
        base = dirpath[len(prefix) :] + os.sep if dirpath != top else ""
        for name in filenames:
            # the suffix: from the last "." (a name without one yields a single character, never an extension)
            if not name.startswith(".") and name[name.rfind(".") :].lower() in IMAGE_EXTENSIONS:
                yield base + name


def _dir_id(path: Path | str) -> tuple[int, int]:
    stat = os.stat(path)  # follows symlinks, so a link and its target share an id
    return stat.st_dev, stat.st_ino


def _no_images_message(root: Path, errors: list[OSError]) -> str:
    extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
    message = (
        f"No images found in '{display_path(root)}'. Looked for files ending in {extensions} (any letter case) in "
        "the folder and all its sub-folders, ignoring hidden files and folders (names starting with '.'). Point to "
        "the folder that holds your images, or convert them to one of these formats."
    )
    if errors:
        first = errors[0]
        message += f" Some folders could not be read, e.g. '{display_path(first.filename or '')}': {first.strerror}."
    return message


# --------------------------------------------------------------------------------------------------------------------
# Decoding one image


def load_image(path: Path, size: int) -> np.ndarray:
    """Decode one image file into a ``(size, size, 3)`` uint8 RGB array.

    The EXIF orientation is applied, animations give their first frame, transparent pixels become white, 16-bit
    images are scaled (not clipped) to 8 bit, then the shorter side is resized to ``size`` and the centre cropped.
    Raises :class:`UnreadableImage` (a :class:`DataError`) with a short ``reason`` when the file cannot be used.
    """
    _check_size(size)
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise UnreadableImage(path, REASON_EMPTY)
        with open(path, "rb") as file:
            return decode(path, file, size)
    except OSError as error:  # opening or reading the file itself, not decoding it
        raise UnreadableImage(path, f"cannot open file ({error.strerror or error})") from error


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise DataError(f"The image size must be a positive whole number of pixels, got {size!r}.")


def decode(path: Path, file: IO[bytes], size: int) -> np.ndarray:
    """Decode an image from an open binary ``file`` (``path`` names it in messages); see ``load_image``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's chatter about odd EXIF etc. would drown a 10k-image load
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(file) as image:
                _check_dimensions(path, image.size)
                _draft(image, size)
                image.load()  # decodes everything now, so truncation raises here
                rgb = to_rgb(path, exif_transpose(image))
                return np.asarray(_resize_crop(rgb, size), dtype=np.uint8)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise UnreadableImage(path, REASON_BOMB) from error
        except UnidentifiedImageError as error:
            raise UnreadableImage(path, REASON_NOT_IMAGE) from error
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, KeyError) as error:
            # Pillow's decoders report damaged data with any of these
            raise UnreadableImage(path, REASON_CORRUPT) from error


def _check_dimensions(path: Path, dims: tuple[int, int]) -> None:
    width, height = dims
    if width < _MIN_SIDE or height < _MIN_SIDE:
        raise UnreadableImage(path, f"too small ({width}x{height})")


def _draft(image: Image.Image, size: int) -> None:
    """Let JPEG decode at a reduced scale (much faster for photos) while staying at least as large as needed."""
    if image.format not in ("JPEG", "MPO"):
        return
    width, height = image.size
    scale = size / min(width, height)
    if scale < 1:
        image.draft(None, (math.ceil(width * scale), math.ceil(height * scale)))


def exif_transpose(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a damaged EXIF block leaves the (good) pixels as stored rather than losing them."""
    try:
        if image.getexif().get(_EXIF_ORIENTATION, 1) in range(2, 9):
            return ImageOps.exif_transpose(image)
    except Exception:
        pass
    return image


def to_rgb(path: Path, image: Image.Image) -> Image.Image:
    """Any decoded mode -> 8-bit RGB: 16-bit scaled by 1/257, transparency composited on white."""
    if image.mode in _SIXTEEN_BIT_MODES:
        return _sixteen_bit_to_rgb(image)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        return _flatten_on_white(image.convert("RGBA"))
    if image.mode == "RGB":
        return image
    try:
        return image.convert("RGB")
    except ValueError as error:
        raise UnreadableImage(path, f"unsupported colour mode {image.mode}") from error


def _sixteen_bit_to_rgb(image: Image.Image) -> Image.Image:
    values = np.asarray(image).astype(np.int64)
    grey = (np.clip(values, 0, 65535) + 128) // 257  # round(v * 255 / 65535)
    return Image.fromarray(grey.astype(np.uint8), mode="L").convert("RGB")


def _flatten_on_white(rgba: Image.Image) -> Image.Image:
    pixels = np.asarray(rgba).astype(np.uint32)
    alpha = pixels[..., 3:]
    rgb = (pixels[..., :3] * alpha + 255 * (255 - alpha) + 127) // 255
    return Image.fromarray(rgb.astype(np.uint8), mode="RGB")


def _resize_crop(image: Image.Image, size: int) -> Image.Image:
    """Resize the central square (side = the shorter side) to ``size`` x ``size`` in one resampling pass."""
    width, height = image.size
    if (width, height) == (size, size):
        return image
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    return image.resize(
        (size, size),
        Image.Resampling.LANCZOS,
        box=(left, top, left + side, top + side),
        reducing_gap=_REDUCING_GAP,
    )


# --------------------------------------------------------------------------------------------------------------------
# Loading a folder


def load_folder(
    root: Path,
    size: int,
    *,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 0,
) -> FolderImages:
    """Decode every image below ``root`` to ``(N, size, size, 3)`` uint8 RGB in memory, skipping files that cannot
    be read.

    With ``strict=True`` the first unreadable file raises :class:`DataError` instead. ``progress(done, total)`` is
    called as files are done. ``workers`` processes decode in parallel (0: one per CPU core, at most 8). Raises
    :class:`DataError` when no file could be read.
    """
    _check_size(size)
    root = _check_folder(root)
    files = find_images(root)
    images = np.empty((len(files), size, size, 3), dtype=np.uint8)
    failed = decode_files(files, size, images, strict=strict, progress=progress, workers=workers, root=root)
    relative = [path.relative_to(root) for path in files]
    kept = [i for i in range(len(files)) if i not in failed]
    skipped = [Skipped(relative[i], reason) for i, reason in sorted(failed.items())]
    if not kept:
        raise DataError(nothing_readable_message(root, skipped))
    classes, class_of = classes_of(relative)
    labels = np.array([class_of[relative[i].parts[0]] for i in kept], dtype=np.int64) if classes else None
    return FolderImages(
        images=images[kept] if skipped else images,
        paths=[relative[i] for i in kept],
        labels=labels,
        classes=classes,
        skipped=skipped,
    )


# --------------------------------------------------------------------------------------------------------------------
# Decoding many files in parallel


MAX_WORKERS = 8
_CHUNK_FILES = 64


def decode_workers(workers: int = 0) -> int:
    """How many processes decode: ``workers``, or for 0 one per CPU core this process may use, at most 8."""
    if workers > 0:
        return workers
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def decode_files(
    files: list[Path],
    size: int,
    out: np.ndarray,
    *,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 0,
    root: Path | None = None,
) -> dict[int, str]:
    """Decode ``files[i]`` into ``out[i]``; see ``decode_rows``. ``strict`` names the file relative to ``root``."""

    def name(index: int) -> Path:
        return files[index].relative_to(root) if root is not None else files[index]

    return decode_rows(
        len(files),
        functools.partial(_load_file, files, size),
        out,
        strict=strict,
        progress=progress,
        workers=workers,
        name=name,
    )


def _load_file(files: list[Path], size: int, index: int) -> np.ndarray:
    return load_image(files[index], size)


_READ: Callable[[int], np.ndarray] | None = None
"""The row reader of the decoding under way; forked workers inherit it (see ``decode_rows``)."""


def decode_rows(
    count: int,
    read: Callable[[int], np.ndarray],
    out: np.ndarray,
    *,
    strict: bool = False,
    progress: Callable[[int, int], None] | None = None,
    workers: int = 0,
    name: Callable[[int], Path | str] = str,
) -> dict[int, str]:
    """Fill ``out[i]`` (an array, or a memory map of a file, ``(count, size, size, 3)`` uint8) with ``read(i)``; return
    the rows that could not be read (``read`` raised ``UnreadableImage``), index → short reason. ``strict`` raises at
    the first such row instead, naming it with ``name(i)``.

    Several processes read at once (``workers``, 0: one per core). They are forked like PyTorch's data-loader
    workers, so ``read`` and what it reads are inherited rather than sent, nothing is imported again and no
    ``if __name__ == "__main__"`` is needed; a memory-mapped ``out`` is written by the workers directly, other arrays
    receive each piece's rows. Where processes cannot be forked, threads read.
    """
    global _READ
    chunks = [range(i, min(i + _CHUNK_FILES, count)) for i in range(0, count, _CHUNK_FILES)]
    target = (str(out.filename), out.shape, int(out.offset)) if isinstance(out, np.memmap) else None
    failed: dict[int, str] = {}
    done = 0
    _READ = read
    try:
        with _executor(decode_workers(workers), len(chunks)) as pool:
            jobs = [pool.submit(_read_chunk, chunk.start, chunk.stop, target) for chunk in chunks]
            for job, chunk in zip(jobs, chunks, strict=True):
                rows, errors = job.result()
                if rows is not None:
                    out[chunk.start : chunk.stop] = rows
                for index, reason in errors:
                    if strict:
                        for other in jobs:
                            other.cancel()
                        raise _strict_error(Path(name(index)), reason)
                    failed[index] = reason
                done += len(chunk)
                if progress is not None:
                    progress(done, count)
    finally:
        _READ = None
    if isinstance(out, np.memmap):
        out.flush()
    return failed


def _executor(workers: int, jobs: int) -> Executor:
    import multiprocessing

    if workers <= 1 or jobs <= 1:
        return ThreadPoolExecutor(1)
    if "fork" in multiprocessing.get_all_start_methods():
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    return ThreadPoolExecutor(workers)


def _read_chunk(
    start: int, stop: int, target: tuple[str, tuple[int, ...], int] | None
) -> tuple[np.ndarray | None, list[tuple[int, str]]]:
    """Rows ``start:stop`` through the inherited reader: into the memory-mapped file ``target`` when given (then no
    rows are returned), else into a new array that is returned. Unreadable rows stay black and are listed."""
    assert _READ is not None
    rows: np.ndarray | None = None
    errors = []
    for index in range(start, stop):
        try:
            image = _READ(index)
        except UnreadableImage as error:
            errors.append((index, error.reason))
            continue
        if rows is None:
            rows = np.zeros((stop - start, *image.shape), np.uint8)
        rows[index - start] = image
    if target is None or rows is None:
        return rows, errors
    filename, shape, byte_offset = target
    mapped = np.memmap(filename, dtype=np.uint8, mode="r+", offset=byte_offset, shape=shape)
    mapped[start:stop] = rows
    mapped.flush()
    del mapped
    return None, errors


def classes_of(relative: list[Path]) -> tuple[tuple[str, ...], dict[str, int]]:
    """Class names from first-level sub-folders: only when every image is in one and there are at least two."""
    if any(len(path.parts) < 2 for path in relative):
        return (), {}
    names = tuple(sorted({path.parts[0] for path in relative}))
    if len(names) < 2:
        return (), {}
    return names, {name: index for index, name in enumerate(names)}


def _strict_error(path: Path, reason: str) -> DataError:
    return DataError(
        f"Cannot use the image '{display_path(path)}': {reason}. Strict mode stops at the first unreadable file; "
        "fix or remove it, or turn strict mode off to skip unreadable files and continue."
    )


def nothing_readable_message(root: Path, skipped: list[Skipped]) -> str:
    return (
        f"None of the {len(skipped)} image files in '{display_path(root)}' could be read ("
        f"{skipped_summary(skipped)}). Check that the files are real PNG/JPEG/BMP/WebP/GIF images that open in an "
        "image viewer, or point to another folder."
    )


# --------------------------------------------------------------------------------------------------------------------
# Helpers


def split_heldout(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Split ``range(n)`` into sorted ``(train_idx, heldout_idx)`` int64 arrays, the same for the same arguments.

    The held-out part has ``round(n * fraction)`` items, but at least 1 when ``n >= 2`` and ``fraction > 0``, and
    never all of them (training keeps at least one). ``fraction`` must lie in [0, 0.9].
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if not 0.0 <= fraction <= 0.9:
        raise DataError(
            f"The held-out fraction must be between 0 and 0.9, got {fraction!r}. Use e.g. 0.1 to keep 10% of the "
            "images for evaluation, or 0 to train on all of them."
        )
    count = round(n * fraction)
    if n >= 2 and fraction > 0:
        count = max(count, 1)
    count = min(count, max(n - 1, 0))
    order = np.random.default_rng(seed & 0xFFFF_FFFF_FFFF_FFFF).permutation(n)
    return np.sort(order[count:]).astype(np.int64), np.sort(order[:count]).astype(np.int64)


def skipped_summary(skipped: list[Skipped], limit: int = _SUMMARY_LIMIT) -> str:
    """One line such as "skipped 4 unreadable files: a.png (empty file), ..., and 1 more"; "" when none."""
    if not skipped:
        return ""
    head = f"skipped {len(skipped)} unreadable {'file' if len(skipped) == 1 else 'files'}"
    shown = [f"{display_path(item.path)} ({item.reason})" for item in skipped[: max(limit, 0)]]
    if not shown:
        return head
    if len(skipped) > len(shown):
        shown.append(f"and {len(skipped) - len(shown)} more")
    return f"{head}: " + ", ".join(shown)

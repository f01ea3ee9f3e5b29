"""Decoded image sets and their cache.

Images are uint8 ``(N, H, W, 3)``, the smallest form that loses nothing; models convert a batch at a time. A set may
carry attributes: integer codes ``(N, K)`` with the names and values they index, either the built-in renderer's face
attributes or, for an image folder, one attribute ``class`` (sub-folders) or the columns of its ``attributes.csv``.

Decoded sets are cached as safetensors files (no pickle) in ``cache_dir()``, which ``GENZOO_HOME`` moves. A cached set
is read from its file a batch at a time: only the rows a batch asks for, with positioned reads
(``genzoo.data.rowfile``), every process (torchrun's included) sharing the pages through the operating system's page
cache, and a set larger than the memory trains all the same. ``ImageArray`` is that lazily read array; a split of a
set is a list of its rows, not a copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genzoo.data.rowfile import RowFile, open_rows, reads
from genzoo.io import atomic_file

Progress = Callable[[str, int, int], None]
"""``progress(description, done, total)``: how long-running data work reports where it is."""

CHUNK_BYTES = 64 * 2**20
"""Rows are copied in pieces of about this size when a cache file is written: memory stays small for any set."""


class ImageArray:
    """uint8 images ``(N, H, W, 3)`` read on demand: rows of ``base`` (an array in memory, or a cache file read a row
    at a time: a ``RowFile`` or a memory map), or of a subset of them (``rows``). Indexing returns an ordinary array
    holding only the rows asked for."""

    def __init__(self, base: np.ndarray | RowFile, rows: np.ndarray | None = None) -> None:
        if base.ndim != 4 or base.shape[-1] != 3 or base.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (N, H, W, 3); got {base.dtype} {base.shape}")
        self.base, self.rows = base, rows

    def __len__(self) -> int:
        return len(self.base) if self.rows is None else len(self.rows)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self), *self.base.shape[1:])  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.base.dtype

    @property
    def mapped(self) -> bool:
        """Whether the rows are read from a file (positioned reads or a memory map) rather than held in memory."""
        return isinstance(self.base, RowFile | np.memmap)

    def __getitem__(self, key: int | slice | np.ndarray | list[int]) -> np.ndarray:
        if isinstance(self.base, RowFile):  # reads make new arrays, in the order asked
            return self.base[key if self.rows is None else self.rows[key]]
        if self.rows is None and isinstance(key, int | np.integer | slice):
            return np.array(self.base[key], copy=True)
        index = np.asarray(key, dtype=np.int64) if self.rows is None else self.rows[key]
        if isinstance(index, np.ndarray) and len(index) > 1 and (np.diff(index) < 0).any():
            order = np.argsort(index, kind="stable")  # read the file forwards, then put the rows in the asked order
            out = np.empty((len(index), *self.base.shape[1:]), np.uint8)
            out[order] = self.base[index[order]]
            return out
        return np.array(self.base[index], copy=True)

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype)

    def subset(self, index: np.ndarray) -> ImageArray:
        """The rows ``index`` of these images, without reading them."""
        index = np.asarray(index, dtype=np.int64)
        return ImageArray(self.base, index if self.rows is None else self.rows[index])


@dataclass
class ImageSet:
    """Images of one domain, with optional attribute codes."""

    images: ImageArray
    domain: str
    attributes: np.ndarray | None = None
    schema: dict[str, tuple[str, ...]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.images, np.ndarray):  # an array in memory is welcome too
            self.images = ImageArray(self.images)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    def subset(self, index: np.ndarray) -> ImageSet:
        attrs = None if self.attributes is None else self.attributes[index]
        return ImageSet(self.images.subset(index), self.domain, attrs, self.schema, self.skipped)


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


def cache_path(parts: Mapping[str, object], name: str) -> Path:
    """Where the set described by ``parts`` is cached: ``name-<key>.safetensors`` in ``cache_dir()``."""
    return cache_dir() / f"{name}-{cache_key(parts)}.safetensors"


# ---- cache files: safetensors, written in pieces, read a batch at a time ---------------------------------------


def write_cache(
    path: Path,
    images: np.ndarray | ImageArray,
    domain: str,
    attributes: np.ndarray | None = None,
    schema: Mapping[str, tuple[str, ...]] | None = None,
    skipped: list[str] | None = None,
    rows: np.ndarray | None = None,
) -> None:
    """Write a set as a safetensors file (``images`` uint8, ``attributes`` int64), atomically; with ``rows``, only
    those rows of ``images``. Rows are copied a piece at a time, so a set larger than the memory can be written."""
    rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)
    shape = (len(rows), *images.shape[1:])
    image_bytes = int(np.prod(shape))
    header: dict[str, Any] = {"images": {"dtype": "U8", "shape": list(shape), "data_offsets": [0, image_bytes]}}
    codes = None
    if attributes is not None:
        codes = np.ascontiguousarray(np.asarray(attributes, dtype="<i8")[rows])
        header["attributes"] = {
            "dtype": "I64",
            "shape": list(codes.shape),
            "data_offsets": [image_bytes, image_bytes + codes.nbytes],
        }
    header["__metadata__"] = {
        "domain": domain,
        "schema": json.dumps({k: list(v) for k, v in (schema or {}).items()}),
        "skipped": json.dumps(skipped or []),
    }
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned, as safetensors writes it
    per_chunk = max(1, CHUNK_BYTES // max(1, int(np.prod(shape[1:]))))
    with atomic_file(path) as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for start in range(0, len(rows), per_chunk):
            f.write(np.ascontiguousarray(images[rows[start : start + per_chunk]]).tobytes())
        if codes is not None:
            f.write(codes.tobytes())


def read_cache(path: Path) -> ImageSet | None:
    """The cached set at ``path``, its images read from the file as they are asked for, or None when it is missing or
    unreadable (then it is rebuilt)."""
    how = reads()  # before the try: a wrong GENZOO_CACHE_READS is the user's to fix, not a damaged file to rebuild
    try:
        with path.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        start = 8 + length
        meta, desc = header["__metadata__"], header["images"]
        if desc["dtype"] != "U8" or len(desc["shape"]) != 4:
            return None
        begin, end = desc["data_offsets"]
        shape = tuple(desc["shape"])
        if end - begin != int(np.prod(shape)) or path.stat().st_size < start + end:
            return None
        images = open_rows(path, start + begin, shape, how) if end else None
        attrs = None
        if "attributes" in header:
            a_begin, a_end = header["attributes"]["data_offsets"]
            raw = np.fromfile(path, dtype="<i8", count=(a_end - a_begin) // 8, offset=start + a_begin)
            attrs = raw.reshape(header["attributes"]["shape"]).astype(np.int64)
        schema = {k: tuple(v) for k, v in json.loads(meta["schema"]).items()}
        array = images if images is not None else np.zeros(shape, np.uint8)
        return ImageSet(ImageArray(array), meta["domain"], attrs, schema, json.loads(meta.get("skipped", "[]")))
    except (OSError, ValueError, KeyError, TypeError, struct.error):  # missing or damaged: rebuild
        return None


@contextlib.contextmanager
def decode_target(path: Path, count: int, size: int) -> Iterator[np.ndarray]:
    """A ``(count, size, size, 3)`` uint8 array to decode a set into before it is cached at ``path``: a memory-mapped
    scratch file beside that cache file (so a set larger than the memory decodes too), removed afterwards; or an
    array in memory where the scratch file cannot be made."""
    scratch = path.with_name(f".{path.name}.decode.tmp")
    shape = (count, size, size, 3)
    made: Path | None = scratch
    try:
        scratch.parent.mkdir(parents=True, exist_ok=True)
        out: np.ndarray = np.memmap(scratch, mode="w+", dtype=np.uint8, shape=shape)
    except OSError:
        made, out = None, np.empty(shape, np.uint8)
    try:
        yield out
    finally:
        del out
        if made is not None:
            with contextlib.suppress(OSError):  # where a mapped file cannot be removed, it is overwritten next time
                made.unlink(missing_ok=True)


def keep_decoded(
    path: Path,
    out: np.ndarray,
    kept: np.ndarray,
    domain: str,
    codes: np.ndarray | None,
    schema: Mapping[str, tuple[str, ...]],
    notes: list[str],
) -> ImageSet:
    """The rows ``kept`` of the decoded ``out`` (``codes``: a row of attribute codes per row of ``out``) as a set:
    written to the cache file ``path`` and read from it, or, where it cannot be written, in memory."""
    with contextlib.suppress(OSError):
        write_cache(path, out, domain, codes, schema, notes, rows=kept)
        cached_set = read_cache(path)
        if cached_set is not None:
            return cached_set
    return ImageSet(out[kept], domain, None if codes is None else codes[kept], dict(schema), notes)


def cached(parts: Mapping[str, object], build: Callable[[], ImageSet], name: str) -> ImageSet:
    """``build()`` once, then read it back from the cache (a batch at a time) on every later call with the same
    ``parts``. A cache that cannot be written only costs time: the built set is returned as it is."""
    path = cache_path(parts, name)
    hit = read_cache(path)
    if hit is not None:
        return hit
    built = build()
    with contextlib.suppress(OSError):
        write_cache(path, built.images, built.domain, built.attributes, built.schema, built.skipped)
        return read_cache(path) or built
    return built

"""Rows of a cache file read with positioned reads: a batch costs the disk the bytes of its rows and nothing more.

A decoded set's images lie in its cache file as one contiguous uint8 array, a row per image. ``RowFile`` reads the
rows a batch asks for straight into the batch's buffer (``os.preadv``; one read per run of consecutive rows), with
the kernel's read-ahead switched off for the file (``posix_fadvise(POSIX_FADV_RANDOM)``). A memory map did the same
job before, but every page fault there brought in the kernel's read-ahead window around the row (up to several MB
per 49 KB row at 128 px), so the disk read about twenty times what training used and the process's file-backed
resident memory grew to the whole file (docs/data.md has the measurements, ``benchmarks/bench_data.py memory``).
Nothing here is mapped, so a process's resident memory holds only its batches; the pages read stay in the
operating system's page cache, shared by every process (torchrun's included) and reclaimed under pressure.

``GENZOO_CACHE_READS`` chooses another way for comparison or for a platform where positioned reads are slow:
``mmap`` (the memory map, the kernel's read-ahead) or ``mmap-random`` (the memory map advised for random access).
"""

from __future__ import annotations

import mmap
import os
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from genzoo.errors import ConfigError, DataError

READS_VARIABLE = "GENZOO_CACHE_READS"
READS = ("pread", "mmap", "mmap-random")
"""How cached rows are read: positioned reads (the default), a memory map, or a memory map advised for random
access."""


def reads() -> str:
    """The way of reading cached rows ``GENZOO_CACHE_READS`` names (default ``pread``); one paragraph when unknown."""
    how = os.environ.get(READS_VARIABLE, "").strip().lower() or "pread"
    if how not in READS:
        raise ConfigError(
            f"{READS_VARIABLE}={how!r} is not a way genzoo reads its cache files. Use one of {', '.join(READS)}, or "
            "unset it for the default (pread)."
        )
    return how


def open_rows(path: Path, offset: int, shape: tuple[int, ...], how: str) -> np.ndarray | RowFile:
    """The uint8 array of ``shape`` at byte ``offset`` of ``path``, read the way ``how`` (one of ``READS``) says."""
    if how == "pread":
        return RowFile(path, offset, shape)
    mapped = np.memmap(path, dtype=np.uint8, mode="r", offset=offset, shape=shape)
    handle = getattr(mapped, "_mmap", None)
    if how == "mmap-random" and handle is not None and hasattr(mmap, "MADV_RANDOM"):
        handle.madvise(mmap.MADV_RANDOM)
    return mapped


class RowFile:
    """A read-only uint8 array ``shape`` stored row after row at byte ``offset`` of the file ``path``. Indexing it
    with an int, a slice or an index array reads just those rows into a new array, in the order asked."""

    def __init__(self, path: Path, offset: int, shape: tuple[int, ...]) -> None:
        self.path, self.offset, self.shape = Path(path), int(offset), tuple(int(s) for s in shape)
        self.dtype = np.dtype(np.uint8)
        self.ndim = len(self.shape)
        self.row_bytes = int(np.prod(self.shape[1:]))
        self._fd: int | None = None
        self._pid = -1
        self._lock = threading.Lock()  # only where there is no os.preadv: seek and read must not interleave

    def __len__(self) -> int:
        return self.shape[0]

    def __getstate__(self) -> dict[str, Any]:  # a copy in another process opens the file afresh
        state = self.__dict__.copy()
        state.update(_fd=None, _pid=-1, _lock=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _descriptor(self) -> int:
        """The file, opened once per process (a forked child opens its own), read-ahead off."""
        if self._fd is None or self._pid != os.getpid():
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
            weakref.finalize(self, os.close, fd)
            self._fd, self._pid = fd, os.getpid()
        return self._fd

    def __getitem__(self, key: int | np.integer | slice | np.ndarray | list[int]) -> np.ndarray:
        n = len(self)
        if isinstance(key, int | np.integer):
            index = int(key) + (n if key < 0 else 0)
            if not 0 <= index < n:
                raise IndexError(f"row {key} of {n}")
            return self.take(np.array([index]))[0]
        if isinstance(key, slice):
            return self.take(np.arange(n)[key])
        index = np.asarray(key, dtype=np.int64)
        index = np.where(index < 0, index + n, index)
        if len(index) and (index.min() < 0 or index.max() >= n):
            raise IndexError(f"rows {int(index.min())}…{int(index.max())} of {n}")
        return self.take(index)

    def take(self, index: np.ndarray) -> np.ndarray:
        """Rows ``index`` (valid, any order) as a new ``(len(index), *shape[1:])`` array: one read per run of
        consecutive rows, straight into the array."""
        out = np.empty((len(index), *self.shape[1:]), np.uint8)
        if not len(index):
            return out
        flat = out.reshape(len(index), self.row_bytes)
        breaks = np.flatnonzero(np.diff(index) != 1) + 1
        fd = self._descriptor()
        for first, last in zip([0, *breaks.tolist()], [*breaks.tolist(), len(index)], strict=True):
            position = self.offset + int(index[first]) * self.row_bytes
            self._read_into(fd, memoryview(flat[first:last]).cast("B"), position)
        return out

    def _read_into(self, fd: int, view: memoryview, position: int) -> None:
        done = 0
        while done < len(view):
            if hasattr(os, "preadv"):
                got = os.preadv(fd, [view[done:]], position + done)
            else:  # Windows: no positioned reads; one reader at a time
                with self._lock:
                    os.lseek(fd, position + done, os.SEEK_SET)
                    got = os.readv(fd, [view[done:]]) if hasattr(os, "readv") else _read_copy(fd, view[done:])
            if got == 0:
                raise DataError(
                    f"The cache file {self.path} ends before the rows asked for: it was truncated while in use. "
                    "Delete it (genzoo decodes the data again) and start the run again."
                )
            done += got


def _read_copy(fd: int, view: memoryview) -> int:
    data = os.read(fd, len(view))
    view[: len(data)] = data
    return len(data)

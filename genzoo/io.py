"""Writing files atomically, so that a crash never leaves half a file under its final name.

Every file genzoo writes (checkpoints, ``config.json``, ``summary.json``, pictures, caches) goes through
``atomic_write``: the bytes go to a temporary file in the same folder, are flushed and ``fsync``-ed, and the temporary
file is renamed over the target. The module imports no third-party library.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

TEMP_SUFFIX = ".tmp"


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file to write ``path`` through: a temporary file in the same folder, flushed, ``fsync``-ed and renamed over
    ``path`` when the block ends; removed when it raises. For writes too large to hold in memory at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600 files; a run should be as readable as any other file
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.errno is not None:  # name the file meant, not the temporary one
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that ``path`` is either the old file or the complete new one."""
    with atomic_file(path) as f:
        f.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: Path, payload: Any) -> Path:
    """``payload`` as indented JSON, written atomically."""
    atomic_write(Path(path), (json.dumps(payload, indent=2, default=_jsonable) + "\n").encode())
    return Path(path)


def _jsonable(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)

"""Errors a user can cause. The CLI prints them as one paragraph and exits non-zero, without a traceback."""

from __future__ import annotations


class GenzooError(Exception):
    """A mistake in what the user asked for: bad input, a wrong name, missing weights.

    The message says what was wrong and what to do about it. ``exit_code`` is what the CLI exits with.
    """

    exit_code: int = 2
    label: str = "error"  # how the CLI introduces the message


class UnknownNameError(GenzooError, KeyError):
    """A model, loss or data-set name that is not registered."""

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class ConfigError(GenzooError, ValueError):
    """A configuration value, file or ``--set`` override that does not validate."""


class DataError(GenzooError):
    """Images or a data folder that cannot be used."""


class CheckpointError(GenzooError):
    """A weights file or run directory that is missing, corrupt, or of another model or config."""


class CapabilityError(GenzooError):
    """A command asked of a model that cannot serve it (e.g. ``sample`` on a translator)."""


class StorageError(GenzooError, OSError):
    """The disk is full: a file could not be written. Still an ``OSError``, for code that catches those."""

    exit_code = 1


def disk_full(exc: OSError) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full."""
    import errno

    return exc.errno in {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}

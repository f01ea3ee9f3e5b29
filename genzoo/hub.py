"""Models on the Hugging Face Hub: ``hf:owner/repo[@revision]`` names a model wherever a run, a weights file or a
model name is accepted.

A genzoo Hub repository (``genzoo push`` writes one) holds ``model.safetensors`` (inference-only weights, the same
kind of file as released weights: self-describing, so nothing else is needed to load it), ``config.json`` (the
model's name, its config, and the distribution that provides it) and a ``README.md`` model card. Files come through
huggingface_hub's cache (``hf_hub_download``), so a repository downloaded once loads offline (``HF_HUB_OFFLINE=1``);
a cached file whose name in the cache is its sha256 (as huggingface_hub stores large files) is checked against it.
Every way this can fail is one ``CheckpointError``: no such repository or revision, not a genzoo repository, a model
whose plugin is not installed (naming the package), no network and not cached. This module imports no torch.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genzoo.checkpoint import CheckpointInfo, read_header, sha256_of
from genzoo.errors import CheckpointError
from genzoo.registry import models

PREFIX = "hf:"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CARD_FILE = "README.md"
LIBRARY = "genzoo"
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class HubRef:
    """``hf:owner/repo[@revision]`` taken apart."""

    repo_id: str
    revision: str | None = None

    @classmethod
    def parse(cls, text: str) -> HubRef:
        body = text.strip().removeprefix(PREFIX)
        repo_id, _, revision = body.partition("@")
        if not _REPO.fullmatch(repo_id) or (revision == "" and "@" in body):
            raise CheckpointError(
                f"{text!r} is not a Hub model name: write hf:OWNER/REPO or hf:OWNER/REPO@REVISION (a branch, tag or "
                f"commit), e.g. hf:someone/genzoo-cyclegan-resnet."
            )
        return cls(repo_id, revision or None)

    def __str__(self) -> str:
        return f"{PREFIX}{self.repo_id}{'@' + self.revision if self.revision else ''}"


def is_hub(source: object) -> bool:
    return isinstance(source, str) and source.startswith(PREFIX)


def _offline() -> bool:
    from huggingface_hub import constants

    check = getattr(constants, "is_offline_mode", None)
    return bool(check()) if callable(check) else bool(constants.HF_HUB_OFFLINE)


def download(ref: HubRef, filename: str) -> Path:
    """``filename`` of the repository ``ref``, from huggingface_hub's cache or downloaded into it."""
    try:
        from huggingface_hub import errors, hf_hub_download
    except ImportError:  # pragma: no cover - a dependency of genzoo; only a broken environment lacks it
        raise CheckpointError(
            f"Loading {ref} needs huggingface_hub, which is missing here: `pip install huggingface_hub`."
        ) from None
    try:
        return Path(hf_hub_download(ref.repo_id, filename, revision=ref.revision, library_name=LIBRARY))
    except errors.LocalEntryNotFoundError as exc:  # not cached, and offline or unreachable
        raise _not_here(ref, filename, exc) from None
    except errors.RepositoryNotFoundError:
        raise CheckpointError(
            f"There is no repository {ref.repo_id} on the Hugging Face Hub, or it is private or gated and you are not "
            f"logged in (`hf auth login`). Check the name (hf:OWNER/REPO)."
        ) from None
    except errors.RevisionNotFoundError:
        raise CheckpointError(
            f"{ref.repo_id} has no revision {ref.revision!r}. Give an existing branch, tag or commit after @, or "
            f"leave it out for main."
        ) from None
    except errors.EntryNotFoundError:
        if filename == WEIGHTS_FILE:
            raise _not_genzoo(ref) from None
        raise
    except (errors.OfflineModeIsEnabled, OSError) as exc:  # the network, after the Hub's own answers above
        raise _not_here(ref, filename, exc) from None


def _not_here(ref: HubRef, filename: str, exc: BaseException) -> CheckpointError:
    """A file that is neither cached nor downloadable now; a cached repository without the weights is no genzoo
    repository."""
    if filename == WEIGHTS_FILE and _cached_snapshot(ref) is not None:
        return _not_genzoo(ref)
    why = "HF_HUB_OFFLINE is set" if _offline() else f"the Hub could not be reached ({type(exc).__name__})"
    return CheckpointError(
        f"{ref} is not in the local Hugging Face cache and {why}. Connect to the network once (without "
        f"HF_HUB_OFFLINE) to download it; afterwards it loads offline."
    )


def _not_genzoo(ref: HubRef, why: str = f"it has no {WEIGHTS_FILE}") -> CheckpointError:
    return CheckpointError(
        f"{ref} is not a genzoo repository: {why}. A genzoo repository is written by `genzoo push` (or "
        f"`genzoo.push`); check the name."
    )


def _cached_snapshot(ref: HubRef) -> Path | None:
    """The cached snapshot folder of ``ref``'s revision, when huggingface_hub's cache holds one."""
    from huggingface_hub import constants

    root = Path(constants.HF_HUB_CACHE) / f"models--{ref.repo_id.replace('/', '--')}"
    revision = ref.revision or "main"
    ref_file = root / "refs" / revision
    commit = ref_file.read_text().strip() if ref_file.is_file() else revision
    snapshot = root / "snapshots" / commit
    return snapshot if snapshot.is_dir() else None


def _check_blob(path: Path, ref: HubRef) -> None:
    """A file huggingface_hub keeps under its sha256 (large files) must have that sha256."""
    blob = path.resolve().name
    if re.fullmatch(r"[0-9a-f]{64}", blob) and sha256_of(path) != blob:
        raise CheckpointError(
            f"The cached {WEIGHTS_FILE} of {ref} does not match its sha256 (a damaged or interrupted download): "
            f"delete it from the cache ({path.resolve()}) and load it again, or `hf cache delete`."
        )


def repo_config(ref: HubRef) -> dict[str, Any]:
    """The repository's ``config.json`` ({} when it has none or it is unreadable)."""
    from huggingface_hub import errors

    try:
        config = json.loads(download(ref, CONFIG_FILE).read_text(encoding="utf-8"))
    except (CheckpointError, errors.EntryNotFoundError, OSError, ValueError):  # optional: its absence changes nothing
        return {}
    return config if isinstance(config, dict) else {}


def fetch(source: str) -> CheckpointInfo:
    """The header of the weights ``hf:owner/repo[@revision]`` names, downloaded (or found in the cache) and checked;
    a model that is not registered here is refused with the package that provides it."""
    ref = HubRef.parse(source)
    path = download(ref, WEIGHTS_FILE)
    _check_blob(path, ref)
    try:
        header = read_header(path)
    except CheckpointError as exc:
        raise _not_genzoo(ref, f"its {WEIGHTS_FILE} is not a genzoo checkpoint ({exc})") from None
    if header.model not in models:
        config = repo_config(ref)
        package = config.get("distribution") or "the plugin that provides it"
        raise CheckpointError(
            f"{ref} holds weights of {header.model!r}, a model this installation does not have: it comes from "
            f"{package}. Install it (`pip install {package}`) and load it again."
            if config.get("distribution")
            else f"{ref} holds weights of {header.model!r}, a model this installation does not have; the repository "
            f"does not say which package provides it. Install the genzoo plugin that registers {header.model!r}."
        )
    return header

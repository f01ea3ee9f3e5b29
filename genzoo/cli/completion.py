"""Shell-completion callbacks: registry names (models, data sets) and a translator's domains, without torch.

Typer calls these with the word being completed (and the command's context) each time the user presses Tab, so
they read names only: registry names come from the torch-free registration modules and the installed plugins'
metadata, a checkpoint's domains from its header. Arguments that also take paths complete matching paths too.
"""

from __future__ import annotations

from pathlib import Path

import typer

from genzoo.errors import GenzooError
from genzoo.registry import datasets, models
from genzoo.runs import resolve_weights

CHECKPOINT_SUFFIX = ".safetensors"


def _matching(names: list[str], incomplete: str) -> list[str]:
    return [n for n in names if n.startswith(incomplete)]


def _paths(incomplete: str, *, files: bool) -> list[str]:
    """Directories (and, with ``files``, checkpoint files) whose path starts with ``incomplete``."""
    typed = Path(incomplete or ".")
    folder, stem = (typed, "") if incomplete.endswith("/") or not incomplete else (typed.parent, typed.name)
    try:
        children = sorted(folder.iterdir())
    except OSError:
        return []
    out = []
    for child in children:
        hidden = child.name.startswith(".") and not stem.startswith(".")
        if hidden or not child.name.startswith(stem):
            continue
        shown = str(child) if incomplete else child.name
        if child.is_dir():
            out.append(shown + "/")
        elif files and child.suffix == CHECKPOINT_SUFFIX:
            out.append(shown)
    return out


def complete_models(incomplete: str) -> list[str]:
    """Registered model names (built-in and plugins) starting with ``incomplete``."""
    return _matching(models.names(), incomplete)


def complete_translators(incomplete: str) -> list[str]:
    """Registered models that can translate."""
    return _matching([e.name for e in models.entries() if "translate" in e.capabilities], incomplete)


def complete_sources(incomplete: str) -> list[str]:
    """What a MODEL|RUN|FILE argument takes: model names, then folders and ``.safetensors`` files."""
    return complete_models(incomplete) + _paths(incomplete, files=True)


def complete_datasets(incomplete: str) -> list[str]:
    """Registered data-set names starting with ``incomplete``."""
    return _matching(datasets.names(), incomplete)


def complete_data(incomplete: str) -> list[str]:
    """What ``--data`` and ``--to`` take: data-set names, then image folders."""
    return complete_datasets(incomplete) + _paths(incomplete, files=False)


def complete_domains(ctx: typer.Context, incomplete: str) -> list[str]:
    """The domains of the translator named by the command's SOURCE argument, read from its checkpoint header;
    the registered data-set names when there is no such checkpoint yet."""
    source = ctx.params.get("source")
    domains: list[str] = []
    if source:
        try:
            header = resolve_weights(source)
        except (GenzooError, OSError):
            header = None
        if header is not None:
            domains = [str(d) for d in header.config.get("domains") or header.extra.get("domains") or []]
    return _matching(domains, incomplete) if domains else complete_datasets(incomplete)

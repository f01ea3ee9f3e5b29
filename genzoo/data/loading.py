"""``load_data``: a ``DataConfig`` in, train and held-out images out; ``load_domains``: all the data of a run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from genzoo.config import DataConfig
from genzoo.data import hub
from genzoo.data.core import Progress, Split
from genzoo.data.folder_set import load_folder_split
from genzoo.errors import DataError
from genzoo.registry import datasets


@dataclass(frozen=True)
class Domains:
    """The data of a run: its ``source`` data set (``data.name``) and, for a translator, the ``target`` one
    (``data.to``). Training batches carry them as ``Batch.x`` and ``Batch.y``."""

    source: Split
    target: Split | None = None

    @property
    def names(self) -> list[str]:
        """The domains' names, source first."""
        return [self.source.train.domain] + ([self.target.train.domain] if self.target is not None else [])


def with_absolute_paths(config: DataConfig) -> DataConfig:
    """``config`` with image-folder paths (and local ``hf:`` directories) made absolute, so that a saved run finds its
    data from anywhere; registered names and hub repositories are kept."""

    def absolute(name: str | None) -> str | None:
        if name is None or name in datasets:
            return name
        if hub.is_hub(name):
            return hub.absolute(name)
        path = Path(name).expanduser()
        return str(path.resolve()) if path.exists() else name

    return config.model_copy(update={"name": absolute(config.name), "to": absolute(config.to)})


def load_data(
    config: DataConfig, image_size: int, *, domain: str | None = None, progress: Progress | None = None
) -> Split:
    """Train and held-out images of ``config.name`` (or of ``domain`` when given): a registered set or a folder."""
    name = domain or config.name
    if name in datasets:
        return datasets.get(name).load(config, image_size, progress)
    if hub.is_hub(name):
        return hub.load_hub_split(name, config, image_size, progress)
    path = Path(name).expanduser()
    if path.exists() or os.sep in name or name.startswith("."):
        return load_folder_split(path, config, image_size, progress)
    raise DataError(
        datasets.unknown_message(name).replace("`genzoo list`", "`genzoo data list`")
        + " A folder of images works too (give its path), and a Hugging Face data set (hf:NAME)."
    )


def check_data_name(name: str) -> None:
    """Refuse, as ``load_data`` would, a data name that is neither registered, nor ``hf:…``, nor an existing
    folder, without loading anything."""
    if name in datasets:
        return
    if hub.is_hub(name):
        hub.HubName.parse(name)
        return
    path = Path(name).expanduser()
    if path.is_dir():
        return
    if path.exists():
        raise DataError(f"'{name}' is a file, not a folder. Pass the folder that contains your images.")
    if os.sep in name or name.startswith("."):
        raise DataError(f"The image folder '{name}' does not exist. Check the path for typos.")
    raise DataError(
        datasets.unknown_message(name).replace("`genzoo list`", "`genzoo data list`")
        + " A folder of images works too (give its path), and a Hugging Face data set (hf:NAME)."
    )


def load_domains(config: DataConfig, image_size: int, progress: Progress | None = None) -> Domains:
    """The source data set of ``config`` and, when ``config.to`` names one, the target data set, at ``image_size``."""
    source = load_data(config, image_size, progress=progress)
    target = load_data(config, image_size, domain=config.to, progress=progress) if config.to is not None else None
    return Domains(source, target)

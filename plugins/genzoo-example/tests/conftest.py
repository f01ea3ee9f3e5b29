"""A private GENZOO_HOME, plugins switched on, and the tiny training settings of genzoo's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

TINY = [
    "image_size=16",
    "width=8",
    "latent_dim=8",
    "train_size=64",
    "heldout_size=16",
    "batch_size=16",
    "log_every=2",
    "preview_every=4",
    "checkpoint_every=4",
    "train.precision=fp32",
]
"""Overrides that make a run take a second or two on a CPU."""


@pytest.fixture(autouse=True, scope="session")
def genzoo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("genzoo-home")
    os.environ["GENZOO_HOME"] = str(home)
    os.environ.pop("GENZOO_DISABLE_PLUGINS", None)  # these tests need the installed plugin
    return home

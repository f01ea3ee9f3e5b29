"""Shell completion of model, data-set and domain names, without importing torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from genzoo.cli.completion import complete_data, complete_datasets, complete_domains, complete_models, complete_sources


def test_model_and_dataset_names() -> None:
    assert complete_models("vae-") == ["vae-conv", "vae-mlp"]
    assert complete_models("nothing") == []
    assert complete_datasets("") == ["anime", "cartoon"]
    assert complete_datasets("c") == ["cartoon"]


def test_paths_follow_the_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "model.safetensors").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    (tmp_path / ".hidden").mkdir()
    assert complete_data("ca") == ["cartoon", "cats/"]
    assert complete_sources("") == [*complete_models(""), "cats/"]
    assert complete_sources("cats/") == ["cats/model.safetensors"]
    assert complete_data("missing/") == []


def _context(**params: Any) -> Any:
    return SimpleNamespace(params=params)


def test_domains_come_from_the_checkpoint(tiny_run: Path) -> None:
    assert complete_domains(_context(source=str(tiny_run)), "") == ["cartoon"]  # the run's training data
    assert complete_domains(_context(source=str(tiny_run)), "x") == []
    assert complete_domains(_context(source="no-such-run"), "an") == ["anime"]  # no weights: the data sets
    assert complete_domains(_context(), "") == ["anime", "cartoon"]


def test_shell_protocol_without_torch() -> None:
    code = (
        "import atexit, sys; atexit.register(lambda: print('torch' in sys.modules));from genzoo.cli import main; main()"
    )
    env = {**os.environ, "_GENZOO_COMPLETE": "complete_bash", "COMP_WORDS": "genzoo train vae-", "COMP_CWORD": "2"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.stdout.split() == ["vae-conv", "vae-mlp", "False"], out.stderr

"""The judge: trained on first use and cached under a key that follows the renderer, reads any size, deterministic.

These tests use tiny judges (16 px, a few hundred faces, seconds to train); the accuracy of the real judge is
measured by `genzoo judge train`, not here.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import genzoo.judge
from genzoo.data import toon
from genzoo.judge import HEADS, cached_judge, judge_info, load_judge, train_judge
from genzoo.judge.cache import judge_path
from genzoo.models.base import image_tensor
from tests.conftest import TINY_JUDGE, cli_fails, cli_ok

SMALLER = dataclasses.replace(TINY_JUDGE, train_per_style=64, heldout_per_style=16, epochs=1)


def test_trained_on_first_use_then_read_from_the_cache() -> None:
    config = dataclasses.replace(SMALLER, seed=1)
    assert cached_judge(config) is None and judge_info(config) is None
    judge = load_judge(config, progress=False)
    path = judge_path(config)
    assert path.is_file() and judge.info is not None and judge.info.path == path
    written = path.stat().st_mtime_ns
    again = load_judge(config, progress=False)
    assert path.stat().st_mtime_ns == written  # read, not retrained
    for name, tensor in judge.net.state_dict().items():
        assert torch.equal(tensor, again.net.state_dict()[name]), name
    info = judge_info(config)
    assert info is not None and list(info.accuracy) == list(HEADS)
    assert set(info.accuracy_by_style) == set(toon.STYLES)
    assert all(0 <= a <= 1 for a in info.accuracy.values())
    assert info.heldout_per_style == 16 and info.precision in {"bf16", "fp32"}


def test_training_is_deterministic() -> None:
    config = dataclasses.replace(SMALLER, seed=2)
    first = train_judge(config, progress=False).net.state_dict()
    second = train_judge(config, force=True, progress=False).net.state_dict()
    for name, tensor in first.items():
        assert torch.equal(tensor, second[name]), name


def test_a_renderer_change_means_a_new_judge(monkeypatch: pytest.MonkeyPatch) -> None:
    before = judge_path(TINY_JUDGE)
    assert cached_judge(TINY_JUDGE) is not None  # conftest trained it
    monkeypatch.setattr("genzoo.judge.cache.renderer_hash", lambda: "a-new-renderer")
    assert judge_path(TINY_JUDGE) != before
    assert cached_judge(TINY_JUDGE) is None


def test_a_damaged_cache_file_is_retrained() -> None:
    config = dataclasses.replace(SMALLER, seed=3)
    load_judge(config, progress=False)
    path = judge_path(config)
    path.write_bytes(path.read_bytes()[:-100])
    assert cached_judge(config) is None
    assert load_judge(config, progress=False).info is not None and judge_info(config) is not None


def test_reading_images_of_any_size_and_form() -> None:
    judge = load_judge(progress=False)
    records = toon.random_records(6, 5)
    small = toon.render_many(records, "anime", 16)
    large = toon.render_many(records, "anime", 64)
    from_array = judge.read(small)
    from_tensor = judge.read(image_tensor(small))
    np.testing.assert_allclose(from_array.features, from_tensor.features)
    resized = judge.read(large)
    assert len(from_array) == len(resized) == 6
    assert resized.features.shape == (6, TINY_JUDGE.features)
    for head, values in HEADS.items():
        assert resized.codes[head].shape == (6,)
        assert ((resized.codes[head] >= 0) & (resized.codes[head] < len(values))).all()
        assert ((1 / len(values) <= resized.confidence[head] + 1e-6) & (resized.confidence[head] <= 1)).all()
    assert len(judge.read(np.zeros((0, 16, 16, 3), np.uint8))) == 0


def test_judge_commands(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    config = dataclasses.replace(SMALLER, seed=4)
    monkeypatch.setattr(genzoo.judge, "DEFAULT_CONFIG", config)
    assert "genzoo judge train" in cli_fails(runner, "judge", "info")
    out = cli_ok(runner, "judge", "train")
    for head in HEADS:
        assert head in out
    assert "cartoon" in out and "anime" in out
    assert "already trained" in cli_ok(runner, "judge", "train")
    info = json.loads(cli_ok(runner, "judge", "info", "--json"))
    assert set(info["accuracy"]) == set(HEADS) and info["min_accuracy"] == min(info["accuracy"].values())
    assert info["path"] == str(judge_path(config)) and info["config"]["seed"] == 4
    assert "trained in" in cli_ok(runner, "judge", "info")
    from genzoo.cli import app

    result = runner.invoke(app, ["judge", "train", "--force", "--json"])  # the progress bar goes to stderr
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == info["accuracy"]  # deterministic


def test_judge_info_does_not_import_torch(genzoo_home: Path) -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from genzoo.cli import app; r = CliRunner();"
        "r.invoke(app, ['judge', 'info']); r.invoke(app, ['judge', '--help']); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

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
from tests.conftest import TINY, TINY_JUDGE, cli_fails, cli_ok

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


def test_judge_commands(runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = dataclasses.replace(SMALLER, seed=4)
    monkeypatch.setattr(genzoo.judge, "DEFAULT_CONFIG", config)
    assert "genzoo judge train --out" in cli_fails(runner, "judge", "info")
    out = cli_ok(runner, "judge", "train")
    for head in HEADS:
        assert head in out
    assert "cartoon" in out and "anime" in out and "feature scale" in out and "--judge" in out
    assert "exists already" in cli_ok(runner, "judge", "train")
    info = json.loads(cli_ok(runner, "judge", "info", "--json"))
    assert set(info["accuracy"]) == set(HEADS) and info["min_accuracy"] == min(info["accuracy"].values())
    assert info["path"] == str(judge_path(config)) and info["config"]["seed"] == 4 and info["feature_scale"] > 0
    assert info["precision"] == "fp32" and info["pillow"]
    assert "trained in" in cli_ok(runner, "judge", "info")
    from genzoo.cli import app

    result = runner.invoke(app, ["judge", "train", "--force", "--json"])  # the progress bar goes to stderr
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == info["accuracy"]  # deterministic


def test_a_judge_of_ones_own(
    runner: CliRunner, tmp_path: Path, tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`judge train --set … --out FILE` makes one; `eval --judge FILE` and GENZOO_JUDGE measure with it."""
    mine = tmp_path / "mine.safetensors"
    fields = [f"--set={k}={v}" for k, v in dataclasses.asdict(SMALLER).items() if k != "seed"]
    cli_ok(runner, "judge", "train", *fields, "--set", "seed=7", "--out", str(mine))
    card = json.loads(cli_ok(runner, "judge", "info", str(mine), "--json"))
    assert card["config"]["seed"] == 7 and card["path"] == str(mine)
    result = json.loads(cli_ok(runner, "eval", str(tiny_run), "-n", "8", "--judge", str(mine), "--json"))
    assert result["judge"]["path"] == str(mine) and result["fd"] > 0
    monkeypatch.setenv("GENZOO_JUDGE", str(mine))
    assert json.loads(cli_ok(runner, "judge", "info", "--json"))["path"] == str(mine)
    assert json.loads(cli_ok(runner, "eval", str(tiny_run), "-n", "8", "--json"))["judge"]["path"] == str(mine)
    monkeypatch.setenv("GENZOO_JUDGE", str(tmp_path / "missing.safetensors"))
    message = cli_fails(runner, "eval", str(tiny_run), "-n", "8")
    assert "missing.safetensors (from $GENZOO_JUDGE) is not a judge file" in message
    done = genzoo.train("vae-conv", overrides=TINY, steps=2, out=tmp_path / "run").run_dir  # the run is kept
    heldout = json.loads((done / "summary.json").read_text())["heldout"]
    assert heldout["judge"] is None and "(from $GENZOO_JUDGE) is not a judge file" in heldout["not_applicable"]["judge"]
    monkeypatch.delenv("GENZOO_JUDGE")
    not_one = str(tiny_run / "config.json")
    assert "not a judge file" in cli_fails(runner, "eval", str(tiny_run), "--judge", not_one)
    assert "the judge has no such field" in cli_fails(runner, "judge", "train", "--set", "depth=3")
    assert "epochs is a int" in cli_fails(runner, "judge", "train", "--set", "epochs=many")
    assert "is a folder" in cli_fails(runner, "judge", "train", "--out", str(tmp_path))


# ---- the judge genzoo ships -----------------------------------------------------------------------------------------


def test_the_shipped_judge_is_the_default_and_reads_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    """The judge of ``JudgeConfig()`` comes with the package: loaded, never trained, drawn by today's renderer."""
    from genzoo.data.render import renderer_hash
    from genzoo.judge import SHIPPED, JudgeConfig

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("the shipped judge was trained")

    monkeypatch.setattr("genzoo.judge.training.train_and_save", no_training)
    monkeypatch.setattr(genzoo.judge, "DEFAULT_CONFIG", JudgeConfig())
    info = judge_info()
    assert info is not None and info.path == SHIPPED and info.config == JudgeConfig()
    assert info.renderer == renderer_hash(), (
        "the face renderer changed since the shipped judge was trained: make it again with "
        "`genzoo judge train --force --out genzoo/judge/judge-64px.safetensors`, and update docs/metrics.md's table"
    )
    assert info.min_accuracy >= 0.98 and info.feature_scale > 0 and info.precision == "fp32"
    assert set(info.accuracy_by_size) == {32, 16}
    judge = load_judge()
    records = toon.random_records(32, 123)
    for style in toon.STYLES:
        reading = judge.read(toon.render_many(records, style, 64))
        codes = toon.codes_array(records)
        for k, head in enumerate(toon.ATTRIBUTES):
            assert (reading.codes[head] == codes[:, k]).mean() >= 0.9, (style, head)
        assert float(np.mean(reading.scaled() ** 2)) == pytest.approx(1.0, abs=0.3)  # the unit KID reads


def test_eval_and_training_measure_with_the_shipped_judge_and_train_none(
    runner: CliRunner, tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from genzoo.judge import SHIPPED, JudgeConfig

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a judge was trained")

    monkeypatch.setattr("genzoo.judge.training.train_and_save", no_training)
    monkeypatch.setattr(genzoo.judge, "DEFAULT_CONFIG", JudgeConfig())
    result = json.loads(cli_ok(runner, "eval", str(tiny_run), "-n", "8", "--json"))
    assert result["judge"]["path"] == str(SHIPPED) and result["judge"]["size"] == 64 and result["fd"] > 0
    sets = [arg for s in TINY for arg in ("--set", s)]
    out = cli_ok(runner, "train", "vae-conv", "--steps", "2", "--out", str(tmp_path / "run"), *sets)
    assert "fd " in out and "(real " in out and "valid_share" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())["heldout"]
    assert summary["judge"]["path"] == str(SHIPPED) and summary["not_applicable"] == {}


def test_a_missing_shipped_judge_is_one_paragraph(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from genzoo.errors import GenzooError
    from genzoo.judge import JudgeConfig

    monkeypatch.setattr("genzoo.judge.cache.SHIPPED", tmp_path / "judge-64px.safetensors")
    monkeypatch.setattr("genzoo.judge.SHIPPED", tmp_path / "judge-64px.safetensors")
    with pytest.raises(GenzooError, match="Reinstall genzoo"):
        load_judge(JudgeConfig())


def test_judge_info_does_not_import_torch(genzoo_home: Path) -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from genzoo.cli import app; r = CliRunner();"
        "r.invoke(app, ['judge', 'info']); r.invoke(app, ['judge', '--help']); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

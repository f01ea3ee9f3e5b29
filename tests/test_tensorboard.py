"""``--log tensorboard``: scalars and previews beside metrics.jsonl, no doubled steps after a resume."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import genzoo
from tests.conftest import TINY, cli_fails, cli_ok

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def _events(run: Path) -> EventAccumulator:
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def test_scalars_and_previews_follow_metrics_jsonl(tmp_path: Path, runner: CliRunner) -> None:
    run = tmp_path / "run"
    cli_ok(runner, "train", "vae-conv", "--steps", "8", "--log", "tensorboard", "--out", str(run), "-q",
           *[a for o in TINY for a in ("--set", o)])  # fmt: skip
    events = _events(run)
    tags = events.Tags()
    assert {"loss", "recon", "kl", "beta", "epoch", "seconds", "lr/vae"} <= set(tags["scalars"])
    lines = genzoo.runs.RunDir(run).read_metrics()
    assert [e.step for e in events.Scalars("loss")] == [m["step"] for m in lines] == [2, 4, 6, 8]
    assert [e.value for e in events.Scalars("loss")] == pytest.approx([m["loss"] for m in lines], rel=1e-6)
    assert [e.step for e in events.Images("preview")] == [4, 8]


def test_a_resumed_run_has_no_doubled_steps(tmp_path: Path) -> None:
    run = tmp_path / "run"
    genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=6, out=run, log=["tensorboard"])
    (run / "checkpoints" / "step-0000006.safetensors").unlink()  # as if killed after logging step 6
    genzoo.train(resume=run, steps=8, log=["tensorboard"])  # continues from step 4
    loss = _events(run).Scalars("loss")
    lines = genzoo.runs.RunDir(run).read_metrics()
    assert [e.step for e in loss] == [m["step"] for m in lines] == [2, 4, 6, 8]
    assert [e.value for e in loss] == pytest.approx([m["loss"] for m in lines], rel=1e-6)


def test_missing_package_and_unknown_logger_are_explained(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = cli_fails(runner, "train", "vae-conv", "--steps", "2", "--log", "wandb", "--out", str(tmp_path / "a"))
    assert "tensorboard" in text and "wandb" in text
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # as if the extra were not installed
    text = cli_fails(
        runner, "train", "vae-conv", "--steps", "2", "--log", "tensorboard", "--out", str(tmp_path / "b"),
        *[a for o in TINY for a in ("--set", o)],
    )  # fmt: skip
    assert "genzoo[tensorboard]" in text
    assert not (tmp_path / "b" / "tensorboard").exists()

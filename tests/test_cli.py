from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from genzoo.images import read_grid
from tests.conftest import TINY, cli_fails, cli_ok


def test_help_and_list_do_not_import_torch() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from genzoo.cli import app; r = CliRunner();"
        "assert r.invoke(app, ['--help']).exit_code == 0; assert r.invoke(app, ['list']).exit_code == 0;"
        "assert r.invoke(app, ['info', 'vae-conv']).exit_code == 0;"
        "assert r.invoke(app, ['data', 'list']).exit_code == 0;"
        "print('torch' in sys.modules, 'torchvision' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_list(runner: CliRunner) -> None:
    out = cli_ok(runner, "list")
    assert "vae-conv" in out and "vae-mlp" in out and "built-in" in out
    rows = json.loads(cli_ok(runner, "list", "*-mlp", "--json"))
    assert [r["name"] for r in rows] == ["vae-mlp"]
    assert rows[0]["capabilities"] == "encode, reconstruct, sample"
    assert {r["name"] for r in json.loads(cli_ok(runner, "list", "--kind", "losses", "--json"))} >= {
        "mse",
        "bce",
        "linear",
    }
    assert "--kind 'nope' is not one of" in cli_fails(runner, "list", "--kind", "nope")


def test_info_file_run_and_name(runner: CliRunner, tiny_run: Path) -> None:
    payload = json.loads(cli_ok(runner, "info", str(tiny_run / "model.safetensors"), "--json"))
    assert {"model", "config", "version", "step"} <= set(payload)
    assert payload["model"] == "vae-conv" and payload["step"] == 8 and payload["config"]["latent_dim"] == 8
    assert "vae-conv" in cli_ok(runner, "info", str(tiny_run))
    assert json.loads(cli_ok(runner, "info", "vae-conv", "--json"))["family"] == "vae"


def test_train_sample_reconstruct_eval_plot(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_run: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    sets = [a for s in TINY for a in ("--set", s)]
    out = cli_ok(runner, "train", "vae-conv", "--data", "cartoon", "--steps", "4", "--quiet", *sets)
    assert "done 4 steps" in out
    done = next(line for line in out.splitlines() if line.startswith("done"))
    assert re.search(r"fd [\d.]+ \(real [\d.]+\)", done) and re.search(r"valid_share \d+ % \(real \d+ %\)", done)
    assert "kid×10³" in done
    runs = list(Path("runs").iterdir())
    assert len(runs) == 1 and runs[0].name.startswith("vae-conv-")
    # a model name resolves to its newest finished run
    cli_ok(runner, "sample", "vae-conv", "-n", "12", "--out", "s.png")
    assert Image.open("s.png").size[0] > 8 * 16
    assert read_grid(Path("s.png")).title == "12 samples of vae-conv, seed 0"  # type: ignore[union-attr]
    cli_ok(runner, "reconstruct", str(runs[0]), "--out", "r.png", "-n", "8")
    assert Image.open("r.png").size[1] > 2 * 16
    assert read_grid(Path("r.png")).rows == ["input", "reconstruction"]  # type: ignore[union-attr]
    Image.new("RGB", (40, 30), "red").save("mine.jpg")
    cli_ok(runner, "reconstruct", str(runs[0] / "model.safetensors"), "mine.jpg", "--out", "r2.png")
    result = json.loads(cli_ok(runner, "eval", str(runs[0]), "--json"))
    assert 0 < result["heldout_mse"] < 1 and result["heldout_images"] == 16
    assert "heldout_mse" in cli_ok(runner, "eval", str(runs[0]))
    cli_ok(runner, "plot", str(tiny_run), "--out", "curves.png")
    assert Image.open("curves.png").size[0] > 300
    resumed = cli_ok(runner, "train", "--resume", str(runs[0]), "--steps", "6", "--quiet")
    assert "done 6 steps" in resumed


def test_user_mistakes_give_one_message(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert "Did you mean 'vae-conv'" in cli_fails(runner, "train", "vae-cnv")
    assert "no field 'latnt'" in cli_fails(runner, "train", "vae-conv", "--set", "latnt=3")
    assert "write key=value" in cli_fails(runner, "train", "vae-conv", "--set", "oops")
    assert "No finished run of vae-conv" in cli_fails(runner, "sample", "vae-conv", "--weights", "local")
    assert "does not exist" in cli_fails(runner, "sample", "nowhere/model.safetensors")
    assert "does not exist" in cli_fails(runner, "train", "vae-conv", "--data", "./no-such-folder", "--quiet")
    assert "not a genzoo run directory" in cli_fails(runner, "plot", str(tmp_path))
    Path("fake.pth").write_bytes(b"\x80\x02not a checkpoint")
    assert "never unpickles" in cli_fails(runner, "info", "fake.pth")


def test_capability_refused(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A model that only reconstructs: `sample` names what it can do instead. Also: a model is a registration."""
    import torch

    from genzoo import checkpoint
    from genzoo.config import ModelConfig
    from genzoo.models.base import GenerativeModel
    from genzoo.registry import models, register_model

    class Identity(GenerativeModel):
        def __init__(self, config: ModelConfig) -> None:
            super().__init__(config)
            self.scale = torch.nn.Parameter(torch.ones(()))

        def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.scale

    register_model(
        "test-identity", family="test", description="x ↦ x", capabilities={"reconstruct"}, config=ModelConfig
    )(Identity)
    try:
        path = checkpoint.save(
            tmp_path / "id.safetensors",
            model_name="test-identity",
            config=ModelConfig().model_dump(),
            weights=Identity(ModelConfig()).state_dict(),
        )
        message = cli_fails(runner, "sample", str(path), "--out", str(tmp_path / "x.png"))
        assert "test-identity cannot sample. It can: reconstruct." in message
    finally:
        del models._entries["test-identity"]


def test_data_commands(runner: CliRunner, tmp_path: Path) -> None:
    assert "cartoon" in cli_ok(runner, "data", "list")
    cli_ok(runner, "data", "preview", "cartoon", "--out", str(tmp_path / "grid.png"), "-n", "16", "--size", "32")
    assert Image.open(tmp_path / "grid.png").size[0] >= 8 * 32
    assert read_grid(tmp_path / "grid.png").title == "16 cartoon images, 32 px, seed 0"  # type: ignore[union-attr]
    cli_ok(runner, "data", "export", "cartoon", str(tmp_path / "faces"), "-n", "5", "--size", "32")
    files = sorted(p.name for p in (tmp_path / "faces").iterdir())
    assert files == ["00000.png", "00001.png", "00002.png", "00003.png", "00004.png", "attributes.csv"]
    rows = list(csv.DictReader((tmp_path / "faces" / "attributes.csv").open()))
    assert len(rows) == 5 and {"file", "hair_color", "glasses"} <= set(rows[0])
    assert Image.open(tmp_path / "faces" / "00000.png").size == (32, 32)
    # an exported folder trains like any image folder
    cli_ok(
        runner, "data", "preview", str(tmp_path / "faces"), "--out", str(tmp_path / "g2.png"), "-n", "4", "--size", "16"
    )


def test_python_m_genzoo(tmp_path: Path) -> None:
    env = {**os.environ, "GENZOO_DISABLE_PLUGINS": "1"}
    out = subprocess.run([sys.executable, "-m", "genzoo", "--version"], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and out.stdout.startswith("genzoo ")
    if shutil.which("genzoo"):
        out = subprocess.run(["genzoo", "train", "vae-cnv"], capture_output=True, text=True, env=env)
        assert out.returncode == 2 and "Traceback" not in out.stderr and "Did you mean" in out.stderr


def test_train_on_a_folder_with_a_corrupt_image(runner: CliRunner, tmp_path: Path) -> None:
    folder = tmp_path / "faces"
    folder.mkdir()
    for i in range(40):
        Image.new("RGB", (24, 20), (i * 6, 100, 200 - i * 4)).save(folder / f"{i:02d}.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    sets = [a for s in [*TINY, "train_size=1", "batch_size=8"] for a in ("--set", s)]
    out = cli_ok(
        runner,
        "train",
        "vae-conv",
        "--data",
        str(folder),
        "--steps",
        "2",
        "--quiet",
        "--out",
        str(tmp_path / "run"),
        *sets,
    )
    assert "skipped 1 unreadable file: broken.png" in " ".join(out.split())
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["heldout"]["heldout_images"] == 4  # 10 % of the 40 readable images
    message = cli_fails(
        runner,
        "train",
        "vae-conv",
        "--data",
        str(folder),
        "--steps",
        "2",
        "--quiet",
        "--strict",
        "--out",
        str(tmp_path / "run2"),
        *sets,
    )
    assert "broken.png" in message


def test_unwritable_output_is_one_message(runner: CliRunner, tmp_path: Path, tiny_run: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder is expected")
    message = cli_fails(runner, "sample", str(tiny_run), "--out", str(blocker / "s.png"), code=1)
    assert str(blocker) in message and "writable" in message


def test_error_messages_keep_their_brackets(tmp_path: Path, runner: CliRunner) -> None:
    """Messages quote config syntax such as ``attributes=[glasses]``; the CLI must print it, not read it as markup."""
    text = cli_fails(
        runner, "train", "acgan", "--steps", "2", "--set", "attributes=[beard]", "--out", str(tmp_path / "a"),
        *[a for o in TINY for a in ("--set", o)],
    )  # fmt: skip
    assert "`--set attributes=[face_shape]`" in text

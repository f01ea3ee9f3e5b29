"""CUT: contrastive unpaired translation, trained by the one Trainer, translating both ways (its exact resume is in
test_kill_resume.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.checkpoint import AVERAGE_PREFIX
from genzoo.models.cut.model import encoder_features, patch_nce
from tests.conftest import TRANSLATOR_TINY_RUN, cli_fails, cli_ok

pytestmark = pytest.mark.usefixtures("one_thread")

CUT_TINY = [
    "image_size=32",
    "width=4",
    "disc_width=4",
    "n_blocks=2",
    "nce_patches=16",
    "nce_dim=8",
    *TRANSLATOR_TINY_RUN,
]


@pytest.fixture(scope="module")
def cut_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cut") / "run"
    sets = [*CUT_TINY, "ema=0.9"]
    return genzoo.train("cut", data="cartoon", to="anime", overrides=sets, steps=8, out=out).run_dir


def test_patch_nce_rewards_the_patch_at_the_same_place() -> None:
    torch.manual_seed(0)
    keys = F.normalize(torch.randn(2, 16, 8), dim=-1)
    assert patch_nce(keys, keys, 0.07) < 0.01  # each patch finds itself
    assert patch_nce(keys, keys.roll(1, dims=1), 0.07) > 5  # … and the wrong patch is punished


def test_encoder_features_have_the_channels_of_their_layers() -> None:
    model = genzoo.create("cut", image_size=32, width=4, n_blocks=2)
    features = encoder_features(model.G_AB, torch.rand(2, 3, 32, 32), [0, 1, 2, 3, 4])
    assert [tuple(f.shape[1:]) for f in features] == [(3, 32, 32), (4, 32, 32), (8, 16, 16), (16, 8, 8), (16, 8, 8)]


def test_a_cut_run_translates_both_ways_with_its_average(cut_run: Path, runner: CliRunner, tmp_path: Path) -> None:
    lines = [json.loads(line) for line in (cut_run / "metrics.jsonl").read_text().splitlines()]
    assert {"adv_A", "adv_B", "nce_A", "nce_B", "nce_idt_A", "nce_idt_B", "D_A", "D_B"} <= set(lines[-1])
    weights = checkpoint.load_tensors(cut_run / "model.safetensors")
    assert {k.split(".")[0] for k in weights} == {
        "G_AB",
        "G_BA",
        "D_A",
        "D_B",
        "H_AB",
        "H_BA",
        "average/G_AB",
        "average/G_BA",
    }
    model = genzoo.load(cut_run)
    assert model.weights == "average" and model.domains == ("cartoon", "anime")
    x = torch.rand(2, 3, 32, 32)
    for to in ("anime", "cartoon"):
        y = model.translate(x, to=to)
        assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    result = json.loads(cli_ok(runner, "eval", str(cut_run), "--json", "-n", "8"))
    assert set(result["translation"]) == {"cartoon->anime", "anime->cartoon"}
    assert "cut cannot sample. It can: translate. Use `genzoo translate`" in cli_fails(runner, "sample", str(cut_run))
    assert (cut_run / "translations.png").is_file() and any(AVERAGE_PREFIX in k for k in weights)


def test_fastcut_leaves_out_the_identity_terms(tmp_path: Path) -> None:
    sets = [*CUT_TINY, "nce_identity=false", "nce_weight=10"]
    run = genzoo.train("cut", data="cartoon", to="anime", overrides=sets, steps=2, out=tmp_path / "r")
    assert "nce_idt_A" not in run.last_metrics and "nce_A" in run.last_metrics


def test_a_wrong_layer_is_refused() -> None:
    with pytest.raises(genzoo.GenzooError, match="nce_layers takes 0 to 4"):
        genzoo.create("cut", image_size=32, width=4, nce_layers=[5])

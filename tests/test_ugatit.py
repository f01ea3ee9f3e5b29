"""U-GAT-IT: attention, AdaLIN, its discriminators, and a run trained by the one Trainer that translates both ways,
previews where it attends and resumes exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.errors import ConfigError
from genzoo.images import read_grid
from genzoo.models.ugatit.model import LIN, AdaLIN, Attention, _mix
from tests.conftest import TRANSLATOR_TINY_RUN, cli_fails, cli_ok

pytestmark = pytest.mark.usefixtures("one_thread")

UG_TINY = ["image_size=32", "width=4", "disc_width=4", "n_blocks=1", "disc_layers=2", *TRANSLATOR_TINY_RUN]


@pytest.fixture(scope="module")
def ugatit_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ugatit") / "run"
    return genzoo.train("ugatit", data="cartoon", to="anime", overrides=[*UG_TINY, "ema=0.9"], steps=8, out=out).run_dir


def test_adalin_mixes_instance_and_layer_norm_by_rho() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 5, 5) * torch.tensor([1.0, 4.0, 9.0]).view(1, 3, 1, 1) + 2
    by_image = _mix(x, torch.ones(1))
    assert torch.allclose(by_image.mean((2, 3)), torch.zeros(2, 3), atol=1e-5)  # every channel of every image
    assert torch.allclose(by_image.std((2, 3), unbiased=False), torch.ones(2, 3), atol=1e-3)
    by_layer = _mix(x, torch.zeros(1))
    assert torch.allclose(by_layer.mean((1, 2, 3)), torch.zeros(2), atol=1e-5)
    assert by_layer[:, 2].std() > 2 * by_layer[:, 0].std()  # layer norm keeps the channels' relative scale
    gamma, beta = torch.full((2, 3), 2.0), torch.full((2, 3), -1.0)
    norm = AdaLIN(3)
    assert torch.allclose(norm(x, gamma, beta), 2 * _mix(x, torch.tensor(0.9)) - 1, atol=1e-6)


def test_attention_weighs_channels_by_its_classifiers() -> None:
    attention = Attention(4, torch.nn.Identity(), lambda m: m)
    x = torch.rand(2, 4, 3, 3)
    attended, logits, heatmap = attention(x)
    assert attended.shape == x.shape and logits.shape == (2, 2) and heatmap.shape == (2, 1, 3, 3)
    with torch.no_grad():
        attention.gap_fc.weight.zero_()
        attention.gmp_fc.weight.zero_()
    attended, logits, _ = attention(x)
    assert torch.equal(logits, torch.zeros(2, 2))  # no weight on any channel: no class evidence …
    assert torch.allclose(attended, attention.fuse.bias.view(1, -1, 1, 1).expand_as(attended))  # … nothing attended


def test_the_networks_have_the_papers_shapes() -> None:
    model = genzoo.create("ugatit", image_size=64, width=8, disc_width=4, n_blocks=2)
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    out, logits, heatmap = model.G_AB.attend(x)
    assert out.shape == x.shape and logits.shape == (2, 2) and heatmap.shape == (2, 1, 16, 16)
    shapes = [tuple(o.shape) for o in model.D_A(x)]
    assert shapes == [(2, 1, 2, 2), (2, 2), (2, 1, 14, 14), (2, 2)]  # global down to 4×4, local 2 layers; attention
    assert model.config.global_layers == 4


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"disc_scales": 2}, "disc_scales=2 is not one of its settings"),
        ({"norm": "batch"}, "norm='batch' is not one of its settings"),
        ({"r1": 1.0}, "r1=1.0 is not one of its settings"),
        ({"image_size": 16}, "image_size"),
    ],
)
def test_settings_it_does_not_have_are_refused(setting: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        genzoo.create("ugatit", **setting)


def test_a_ugatit_run_translates_both_ways_and_previews_its_attention(
    ugatit_run: Path, runner: CliRunner, tmp_path: Path
) -> None:
    last = [json.loads(line) for line in (ugatit_run / "metrics.jsonl").read_text().splitlines()][-1]
    assert {"adv_A", "adv_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "cam_A", "cam_B", "D_A", "D_B"} <= set(last)
    weights = checkpoint.load_tensors(ugatit_run / "model.safetensors")
    rhos = [v for k, v in weights.items() if k.endswith(".rho") and not k.startswith("average/")]
    assert rhos and all(float(r.min()) >= 0 and float(r.max()) <= 1 for r in rhos)  # clipped after every step
    model = genzoo.load(ugatit_run)
    assert model.weights == "average" and model.domains == ("cartoon", "anime")
    x = torch.rand(2, 3, 32, 32)
    for to in ("anime", "cartoon"):
        y = model.translate(x, to=to)
        assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1
    preview = sorted((ugatit_run / "previews").glob("*.png"))[-1]
    assert read_grid(preview).rows == [  # type: ignore[union-attr]
        "cartoon", "attention (to anime)", "to anime", "anime", "attention (to cartoon)", "to cartoon",
    ]  # fmt: skip
    result = json.loads(cli_ok(runner, "eval", str(ugatit_run), "--json", "-n", "8"))
    assert set(result["translation"]) == {"cartoon->anime", "anime->cartoon"}
    assert "ugatit cannot sample" in cli_fails(runner, "sample", str(ugatit_run))
    exported = tmp_path / "ugatit.safetensors"
    cli_ok(runner, "export", str(ugatit_run), str(exported))
    kept = {k.split(".")[0] for k in checkpoint.load_tensors(exported)}
    assert kept == {"G_AB", "G_BA"}  # the average of the generators, without discriminators


def test_a_resumed_ugatit_run_continues_exactly(ugatit_run: Path, tmp_path: Path) -> None:
    """Stopped after its step-4 checkpoint and resumed, it ends as the uninterrupted run: the weights, spectral
    norms' power-iteration vectors and moving average included. (Stopped, not a 4-step run extended: the LR
    schedule depends on the run's length.)"""
    stopped = tmp_path / "stopped"
    shutil.copytree(ugatit_run, stopped)
    for leftover in ("model.safetensors", "summary.json", "checkpoints/step-0000008.safetensors"):
        (stopped / leftover).unlink()
    assert genzoo.train(resume=stopped).steps == 8
    a = checkpoint.load_tensors(ugatit_run / "model.safetensors")
    b = checkpoint.load_tensors(stopped / "model.safetensors")
    assert any(k.endswith("._u") for k in a) and any(k.startswith("average/") for k in a)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_lin_starts_as_layer_norm() -> None:
    x = torch.randn(2, 3, 4, 4) * 3 + 1
    assert torch.allclose(LIN(3)(x), _mix(x, torch.zeros(1)))

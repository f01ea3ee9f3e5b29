"""The moving average of weights the Trainer keeps for families that ask (a GAN's generator): its arithmetic, its
place in checkpoints, and which weights loading, sampling and evaluation use."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.checkpoint import AVERAGE_PREFIX
from genzoo.models.average import STATISTICS_SEED, WARMUP, WeightAverage
from tests.conftest import TINY, cli_ok


def test_the_average_follows_the_weights_with_a_rising_decay() -> None:
    torch.manual_seed(0)
    model = genzoo.create("dcgan", image_size=16, width=4, latent_dim=6)
    average = WeightAverage(model, decay=0.99)
    assert set(average.params) == {f"generator.{k}" for k, _ in model.generator.named_parameters()}
    key = "generator.net.0.weight"
    before = average.params[key].clone()
    with torch.no_grad():
        model.generator.net[0].weight.add_(1.0)
    average.update(model, step=0)
    weight = 1 - min(0.99, 1 / WARMUP)  # the first step moves the average most of the way
    assert torch.allclose(average.params[key], before + weight)
    average.update(model, step=10_000)  # late: the full decay
    assert torch.allclose(average.params[key], before + weight + (1 - weight) * (1 - 0.99))
    buffer = "generator.net.1.running_mean"
    assert torch.equal(average.buffers[buffer], model.generator.net[1].running_mean)  # buffers are copied


def test_the_average_is_saved_with_its_own_batchnorm_statistics(gan_runs: dict[str, Path]) -> None:
    """Saved (and drawn with), the average carries the statistics of its own weights, not of the trained ones: the
    same as computing them again from the fixed seed; the trained model is left exactly as it was."""
    for name in ("dcgan", "acgan"):
        weights = checkpoint.load_tensors(gan_runs[name] / "model.safetensors")
        means = [k for k in weights if k.startswith(AVERAGE_PREFIX) and k.endswith("running_mean")]
        assert means, name
        model = genzoo.load(gan_runs[name])
        model.refresh_statistics(torch.Generator().manual_seed(STATISTICS_SEED))
        again = model.state_dict()
        for key in means:
            assert torch.allclose(weights[key], again[key.removeprefix(AVERAGE_PREFIX)], atol=1e-6), key
        trained = {k: v for k, v in weights.items() if not k.startswith(AVERAGE_PREFIX)}
        assert any(not torch.allclose(weights[k], trained[k.removeprefix(AVERAGE_PREFIX)]) for k in means)

        raw = genzoo.load(gan_runs[name], average=False).train()
        average = WeightAverage(raw, decay=0.9)
        average.update(raw, step=0)
        before = {k: v.clone() for k, v in raw.state_dict().items()}
        momenta = [m.momentum for m in raw.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        saved = average.state_dict(raw)
        assert all(torch.equal(before[k], v) for k, v in raw.state_dict().items())
        assert raw.generator.training and momenta == [
            m.momentum for m in raw.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)
        ]
        assert saved.keys() == {AVERAGE_PREFIX + k for k in (*average.params, *average.buffers)}


def test_a_gan_run_keeps_the_average_and_loading_uses_it(gan_runs: dict[str, Path]) -> None:
    weights = checkpoint.load_tensors(gan_runs["dcgan"] / "model.safetensors")
    averaged = {k.removeprefix(AVERAGE_PREFIX): v for k, v in weights.items() if k.startswith(AVERAGE_PREFIX)}
    assert averaged and all(k.startswith("generator.") for k in averaged)
    assert checkpoint.read_header(gan_runs["dcgan"] / "model.safetensors").num_parameters == sum(
        v.numel() for k, v in weights.items() if not k.startswith(AVERAGE_PREFIX)
    )
    model, raw = genzoo.load(gan_runs["dcgan"]), genzoo.load(gan_runs["dcgan"], average=False)
    assert (model.weights, raw.weights) == ("average", "raw")
    for name, value in model.state_dict().items():
        expected = averaged.get(name, weights[name])
        assert torch.equal(value, expected), name
    assert torch.equal(raw.state_dict()["generator.net.0.weight"], weights["generator.net.0.weight"])
    assert not torch.equal(genzoo.sample(model, 4), genzoo.sample(raw, 4))


def test_a_model_without_an_average_loads_its_trained_weights(tiny_run: Path) -> None:
    weights = checkpoint.load_tensors(tiny_run / "model.safetensors")
    assert not any(k.startswith(AVERAGE_PREFIX) for k in weights)
    assert genzoo.load(tiny_run).weights == "raw"


def test_a_gan_checkpoint_of_the_earlier_layout_loads_its_average(gan_runs: dict[str, Path], tmp_path: Path) -> None:
    """Earlier GAN checkpoints held the average as a submodule of the model, ``generator_ema``."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    source = gan_runs["acgan"] / "model.safetensors"
    with safe_open(str(source), framework="pt") as f:
        meta = f.metadata()
        renamed = {k.replace(AVERAGE_PREFIX + "generator.", "generator_ema."): f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    old = tmp_path / "old.safetensors"
    save_file(renamed, str(old), metadata=meta)
    now, before = genzoo.load(source), genzoo.load(old)
    assert all(torch.equal(a, b) for a, b in zip(now.state_dict().values(), before.state_dict().values(), strict=True))
    assert before.weights == "average"


def test_the_commands_take_raw_weights(runner: CliRunner, gan_runs: dict[str, Path], tmp_path: Path) -> None:
    run = str(gan_runs["dcgan"])
    cli_ok(runner, "sample", run, "-n", "4", "--out", str(tmp_path / "a.png"))
    cli_ok(runner, "sample", run, "-n", "4", "--out", str(tmp_path / "r.png"), "--raw-weights")
    assert (tmp_path / "a.png").read_bytes() != (tmp_path / "r.png").read_bytes()
    average = json.loads(cli_ok(runner, "eval", run, "--json", "-n", "8"))
    raw = json.loads(cli_ok(runner, "eval", run, "--json", "-n", "8", "--raw-weights"))
    assert (average["weights"], raw["weights"]) == ("average", "raw")
    assert average["fd"] != raw["fd"]


def test_no_average_when_the_decay_is_zero(tmp_path: Path) -> None:
    run = genzoo.train("dcgan", data="cartoon", overrides=[*TINY, "ema=0"], steps=2, out=tmp_path / "r")
    assert not any(k.startswith(AVERAGE_PREFIX) for k in checkpoint.load_tensors(run.run_dir / "model.safetensors"))

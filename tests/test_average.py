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


def test_an_average_that_follows_the_learning_rate() -> None:
    """Each step's share scales with the averaged weights' LR over its initial value: the same numbers while the
    rate is constant, half the share at half the rate, and no move at all at a rate of zero."""
    from genzoo.models.schedules import linear_decay

    torch.manual_seed(0)
    model = genzoo.create("cyclegan-resnet", image_size=32, width=4, disc_width=4, n_blocks=1, ema=0.99)
    optimizers = model.configure_optimizers()
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizers["G"], linear_decay(4, 0.5))
    plain, follows = WeightAverage(model, 0.99), WeightAverage(model, 0.99, optimizers)
    key = next(iter(follows.params))
    weight = model.get_parameter(key)
    rates = []
    for step in range(4):
        rates.append(follows.rate())
        with torch.no_grad():
            weight.add_(1.0)
        before = follows.params[key].clone()
        plain.update(model, step)
        follows.update(model, step, rates[-1])
        share = (1 - min(0.99, (1 + step) / (WARMUP + step))) * rates[-1]
        assert torch.allclose(follows.params[key] - before, share * (weight.detach() - before), atol=1e-6)
        if rates[-1] == 1.0:
            assert torch.equal(plain.params[key], follows.params[key])  # constant rate: the very same average
        optimizers["G"].step()
        scheduler.step()
    assert rates == [1.0, 1.0, 1.0, 0.5]
    assert WeightAverage(model, 0.99).rate() == 1.0  # without the optimizers it does not follow
    for group in optimizers["G"].param_groups:
        group["lr"] = 0.0
    standing = follows.params[key].clone()
    follows.update(model, 10, follows.rate())
    assert torch.equal(follows.params[key], standing)  # a rate of zero leaves the average where it stands


def test_a_run_whose_average_follows_the_rate_resumes_exactly(tmp_path: Path) -> None:
    """Up to the decay the average is the plain one to the bit (so a run can take the option from there); after it,
    another; and a run stopped halfway through the decay and resumed ends as the uninterrupted one."""
    import shutil

    from tests.conftest import CG_TINY

    def run(out: Path, *more: str) -> Path:
        overrides = [*CG_TINY, "ema=0.9", "decay_start=0.5", *more]
        result = genzoo.train("cyclegan-resnet", data="cartoon", to="anime", overrides=overrides, steps=8, out=out)
        return result.run_dir

    def averaged(path: Path) -> dict[str, torch.Tensor]:
        return {k: v for k, v in checkpoint.load_tensors(path).items() if k.startswith(AVERAGE_PREFIX)}

    plain, follows = run(tmp_path / "plain"), run(tmp_path / "follows", "ema_follows_lr=true")
    half = "checkpoints/step-0000004.safetensors"
    a, b = averaged(plain / half), averaged(follows / half)
    assert a and all(torch.equal(a[k], b[k]) for k in a)
    a, b = averaged(plain / "model.safetensors"), averaged(follows / "model.safetensors")
    assert any(not torch.equal(a[k], b[k]) for k in a)

    stopped = tmp_path / "stopped"
    shutil.copytree(follows, stopped)
    for leftover in ("model.safetensors", "summary.json", "checkpoints/step-0000008.safetensors"):
        (stopped / leftover).unlink()
    genzoo.train(resume=stopped)
    a, b = (checkpoint.load_tensors(run / "model.safetensors") for run in (follows, stopped))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.models.base import Batch
from genzoo.models.vae import KLSchedule
from genzoo.registry import get_loss
from genzoo.trainer import StepContext
from tests.conftest import TINY, cli_ok, single_thread


def test_reconstruction_losses_match_their_definitions() -> None:
    torch.manual_seed(0)
    logits, target = torch.randn(4, 3, 8, 8), torch.rand(4, 3, 8, 8)
    mse = get_loss("mse", "reconstruction")(logits, target)
    assert mse.item() == pytest.approx(((torch.sigmoid(logits) - target) ** 2).sum().item() / 4, rel=1e-5)
    bce = get_loss("bce", "reconstruction")(logits, target)
    p = torch.sigmoid(logits)
    manual = -(target * p.log() + (1 - target) * (1 - p).log()).sum() / 4
    assert bce.item() == pytest.approx(manual.item(), rel=1e-4)
    perfect = get_loss("mse", "reconstruction")(torch.full((1, 3, 2, 2), 50.0), torch.ones(1, 3, 2, 2))
    assert perfect.item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    "kind,steps,expected",
    [
        ("constant", [0, 10, 1000], [1.0, 1.0, 1.0]),
        ("linear", [0, 50, 100, 500], [0.0, 0.5, 1.0, 1.0]),
        ("cyclical", [0, 25, 50, 99, 100, 125], [0.0, 0.5, 1.0, 1.0, 0.0, 0.5]),
    ],
)
def test_kl_schedules(kind: str, steps: list[int], expected: list[float]) -> None:
    schedule = KLSchedule(kind=kind, warmup_steps=100, cycle_steps=100, ratio=0.5)
    fn = get_loss(kind, "kl_schedule")
    assert [fn(s, schedule) for s in steps] == pytest.approx(expected)


@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_conv_vae_shapes_at_every_size(size: int) -> None:
    model = genzoo.create("vae-conv", image_size=size, width=4, latent_dim=6).eval()
    x = torch.rand(2, 3, size, size)
    assert model.encode(x).shape == (2, 6)
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    assert genzoo.sample(model, 3).shape == (3, 3, size, size)


def test_mlp_vae_shapes() -> None:
    model = genzoo.create("vae-mlp", image_size=16, hidden=[32, 16], latent_dim=5).eval()
    assert model.reconstruct(torch.rand(2, 3, 16, 16)).shape == (2, 3, 16, 16)
    assert model.encode(torch.rand(2, 3, 16, 16)).shape == (2, 5)


def test_sampling_is_seeded() -> None:
    model = genzoo.create("vae-conv", image_size=16, width=4, latent_dim=6).eval()
    assert torch.equal(genzoo.sample(model, 4, seed=1), genzoo.sample(model, 4, seed=1))
    assert not torch.equal(genzoo.sample(model, 4, seed=1), genzoo.sample(model, 4, seed=2))


@pytest.mark.parametrize("precision", [None, torch.bfloat16])
def test_train_step_logs_every_term_and_changes_weights(precision: torch.dtype | None) -> None:
    model = genzoo.create("vae-conv", image_size=16, width=4, latent_dim=6, kl_weight=0.5).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), precision, total_steps=10)
    logs = model.train_step(Batch(torch.rand(8, 3, 16, 16)), ctx)
    assert set(logs) == {"loss", "recon", "kl", "beta"}
    assert all(math.isfinite(float(v)) for v in logs.values())
    assert float(logs["loss"]) == pytest.approx(float(logs["recon"]) + 0.5 * float(logs["kl"]), rel=1e-4)
    changed = [k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])]
    assert "encoder.0.weight" in changed and "decoder.0.weight" in changed
    assert all(p.grad is None for p in model.parameters())  # ctx.step cleared the gradients


# ---- the adversarial term (adv_weight) ------------------------------------------------------------------------------


def test_without_the_adversarial_term_a_vae_has_no_discriminator() -> None:
    model = genzoo.create("vae-conv", image_size=16, width=4, latent_dim=6)
    assert model.discriminator is None and set(model.configure_optimizers()) == {"vae"}
    assert not any(k.startswith("discriminator") for k in model.state_dict())


@pytest.mark.parametrize("name", ["vae-conv", "vae-mlp"])
def test_the_adversarial_step_trains_a_discriminator_and_weighs_its_term_adaptively(name: str) -> None:
    """loss = recon + beta·KL + adv_weight·adv_scale·adv_G, where adv_scale makes the adversarial gradient at the
    decoder's last layer adv_weight times the reconstruction's; the discriminator has its own optimizer and learns."""
    torch.manual_seed(0)
    size = {"vae-mlp": {"hidden": [32]}, "vae-conv": {"width": 4}}[name]
    model = genzoo.create(name, image_size=16, latent_dim=6, kl_weight=0.5, adv_weight=0.3, **size).train()
    optimizers = model.configure_optimizers()
    d_params = {id(p) for p in model.discriminator.parameters()}
    assert not d_params & {id(p) for g in optimizers["vae"].param_groups for p in g["params"]}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ctx = StepContext(optimizers, torch.device("cpu"), None, total_steps=10)
    logs = {k: float(v) for k, v in model.train_step(Batch(torch.rand(8, 3, 16, 16)), ctx).items()}
    assert {"adv_G", "adv_scale", "loss_D", "d_real", "d_fake"} <= set(logs)
    assert all(math.isfinite(v) for v in logs.values()) and logs["adv_scale"] > 0
    expected = logs["recon"] + 0.5 * logs["kl"] + 0.3 * logs["adv_scale"] * logs["adv_G"]
    assert logs["loss"] == pytest.approx(expected, rel=1e-4)
    changed = {k for k, v in model.state_dict().items() if v.is_floating_point() and not torch.equal(v, before[k])}
    assert any(k.startswith("discriminator.") for k in changed) and any(k.startswith("decoder.") for k in changed)
    assert all(p.grad is None for p in model.parameters())


def test_the_adversarial_gradient_is_the_discriminators_and_its_share_of_the_decoders_is_adv_weight() -> None:
    """The surrogate that carries the term into the decoder gives the gradient of the term itself, taken through
    the discriminator; weighted, its norm at the decoder's last layer is adv_weight times the reconstruction's."""
    torch.manual_seed(0)
    model = genzoo.create("vae-conv", image_size=16, width=4, latent_dim=6, adv_weight=0.3).train()
    model.discriminator.eval()  # its spectral norms keep their vectors, so that both ways see one discriminator
    optimizers = {"vae": torch.optim.SGD(model.parameters(), lr=0.0)}
    optimizers["discriminator"] = torch.optim.SGD(model.discriminator.parameters(), lr=0.0)
    ctx = StepContext(optimizers, torch.device("cpu"), None, total_steps=10)
    x = torch.rand(8, 3, 16, 16)
    logits, _, _ = model(x)
    recon = get_loss("mse", "reconstruction")(logits, x)
    torch.manual_seed(1)
    weight, surrogate, logs = model._adversarial_term(x, logits, recon, ctx)
    last = [p for p in model.decoder.parameters() if p.dim() > 1][-1]
    (g_surrogate,) = torch.autograd.grad(weight * surrogate, last, retain_graph=True)
    (g_recon,) = torch.autograd.grad(recon, last, retain_graph=True)
    assert float(g_surrogate.norm()) == pytest.approx(0.3 * float(g_recon.norm()), rel=1e-3)

    torch.manual_seed(1)  # the same prior draws
    z = torch.randn(8, 6)
    fakes = torch.cat([logits, model.decoder(z)]).sigmoid() * 2 - 1
    direct = weight * model.adversarial(model.discriminator(fakes), True, False)
    assert float(direct.detach()) == pytest.approx(0.3 * float(logs["adv_scale"] * logs["adv_G"]), rel=1e-5)
    (g_direct,) = torch.autograd.grad(direct, last)
    assert torch.allclose(g_surrogate, g_direct, rtol=1e-4, atol=1e-7)


def test_an_adversarial_vae_run_exports_without_its_discriminator_and_resumes_exactly(
    tmp_path: Path, runner: CliRunner
) -> None:
    overrides = [*TINY, "adv_weight=0.5", "disc_width=4"]
    with single_thread():
        whole = genzoo.train("vae-conv", data="cartoon", overrides=overrides, steps=8, out=tmp_path / "whole")
        half = genzoo.train("vae-conv", data="cartoon", overrides=overrides, steps=4, out=tmp_path / "half")
        resumed = genzoo.train(resume=half.run_dir, steps=8)
    a = checkpoint.load_tensors(whole.run_dir / "model.safetensors")
    b = checkpoint.load_tensors(resumed.run_dir / "model.safetensors")
    assert any(k.startswith("discriminator.") for k in a)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    last = json.loads((whole.run_dir / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"adv_G", "loss_D", "adv_scale"} <= set(last)

    exported = tmp_path / "vae.safetensors"
    cli_ok(runner, "export", str(whole.run_dir), str(exported), "--fp32")
    assert {k.split(".")[0] for k in checkpoint.load_tensors(exported)} == {"encoder", "decoder"}
    model = genzoo.load(exported)
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(model.reconstruct(x), genzoo.load(whole.run_dir).reconstruct(x), atol=1e-6)


def test_decay_start_decays_the_learning_rate_to_zero_and_resumes_exactly(tmp_path: Path) -> None:
    """decay_start=0.5: the rate holds for the first half, falls linearly to zero at the last step, and a run
    stopped after its step-4 checkpoint and resumed ends as the uninterrupted one."""
    overrides = [*TINY, "decay_start=0.5"]
    with single_thread():
        whole = genzoo.train("vae-conv", data="cartoon", overrides=overrides, steps=8, out=tmp_path / "whole")
    logged = [json.loads(line) for line in (whole.run_dir / "metrics.jsonl").read_text().splitlines()]
    rates = {r["step"]: r["lr"]["vae"] for r in logged if "lr" in r}
    assert rates[2] == pytest.approx(2e-3) and rates[8] == pytest.approx(0.0)
    assert list(rates.values()) == sorted(rates.values(), reverse=True) and rates[6] < rates[4] <= 2e-3

    stopped = tmp_path / "stopped"
    shutil.copytree(whole.run_dir, stopped)
    for leftover in ("model.safetensors", "summary.json", "checkpoints/step-0000008.safetensors"):
        (stopped / leftover).unlink()
    with single_thread():
        assert genzoo.train(resume=stopped).steps == 8
    a = checkpoint.load_tensors(whole.run_dir / "model.safetensors")
    b = checkpoint.load_tensors(stopped / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

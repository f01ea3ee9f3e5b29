from __future__ import annotations

import math

import pytest
import torch

import genzoo
from genzoo.models.base import Batch
from genzoo.models.vae import KLSchedule
from genzoo.registry import get_loss
from genzoo.trainer import StepContext


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

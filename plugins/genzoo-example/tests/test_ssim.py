from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import TINY
from genzoo_example.ssim import dssim

import genzoo
from genzoo.errors import ConfigError
from genzoo.registry import get_loss, loss_names


def test_registered_as_a_reconstruction_loss() -> None:
    assert "ssim" in loss_names("reconstruction")


def test_zero_for_identical_images_positive_otherwise() -> None:
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert dssim(x, x).abs().max().item() == 0
    noisy = (x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    assert dssim(noisy, x).mean().item() > 0.01


def test_registered_function_takes_logits() -> None:
    loss = get_loss("ssim", "reconstruction")
    target = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(2)).clamp(0.05, 0.95)
    assert loss(torch.logit(target), target).item() == pytest.approx(0, abs=1e-3)
    assert loss(torch.zeros_like(target), target).item() > 1  # a grey image: summed over 768 pixels


def test_vae_conv_trains_with_ssim(tmp_path: Path) -> None:
    result = genzoo.train(
        "vae-conv", data="cartoon", overrides=[*TINY, "recon_loss=ssim"], steps=4, out=tmp_path / "run"
    )
    assert result.steps == 4 and result.last_metrics["recon"] > 0
    assert genzoo.load(tmp_path / "run").config.recon_loss == "ssim"


def test_unknown_loss_names_ssim_among_the_allowed() -> None:
    with pytest.raises(ConfigError, match="ssim"):
        genzoo.run_config("vae-conv", overrides=["recon_loss=nope"])

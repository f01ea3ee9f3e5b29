from __future__ import annotations

from pathlib import Path

import torch
from conftest import TINY
from genzoo_example.resvae import ResVAEConfig

import genzoo
from genzoo.registry import BUILTIN, models


def test_registered_through_its_entry_point() -> None:
    entry = models.get("resvae")
    assert entry.config is ResVAEConfig
    assert entry.capabilities == {"sample", "reconstruct", "encode"}
    assert entry.source.startswith("genzoo-example ")
    assert entry.source != BUILTIN


def test_builds_at_its_smallest_size_and_round_trips_shapes() -> None:
    size = ResVAEConfig.min_image_size
    model = genzoo.create("resvae", image_size=size, width=8, latent_dim=8, blocks=2).eval()
    x = torch.rand(3, 3, size, size)
    assert model.encode(x).shape == (3, 8)
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    assert model.sample(2, torch.Generator().manual_seed(0)).shape == (2, 3, size, size)
    blocks = [m for m in model.modules() if type(m).__name__ == "ResBlock"]
    assert len(blocks) == 2 * 2 * 2  # two blocks per resolution, two resolutions, encoder and decoder


def test_trains_a_few_steps(tmp_path: Path) -> None:
    result = genzoo.train("resvae", data="cartoon", overrides=TINY, steps=4, out=tmp_path / "run")
    assert result.steps == 4
    assert set(result.last_metrics) >= {"loss", "recon", "kl"}
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last_metrics.values())
    loaded = genzoo.load(tmp_path / "run")
    assert type(loaded).__name__ == "ResVAE" and loaded.config.blocks == 1

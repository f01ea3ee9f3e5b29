"""The residual encoder and decoder; training and sampling are genzoo's VAE's, unchanged."""

from __future__ import annotations

from torch import Tensor, nn

from genzoo.models.vae.model import BOTTOM, VAE, _widths
from genzoo_example.resvae import ResVAEConfig


def _norm(channels: int) -> nn.GroupNorm:
    """Group norm (independent of the batch size) with groups of at most 8 channels."""
    return nn.GroupNorm(max(1, channels // 8), channels)


class ResBlock(nn.Module):
    """``x + f(x)`` with ``f`` = norm, activation, 3×3 convolution, twice; keeps shape and channels."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(channels),
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            _norm(channels),
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def encoder(config: ResVAEConfig) -> nn.Module:
    """Image → ``2 * latent_dim`` (mean and log-variance), halving the side down to 4×4."""
    widths = _widths(config)
    channels = widths[0]
    layers: list[nn.Module] = [nn.Conv2d(3, channels, 3, padding=1)]
    for w in widths:
        layers += [*(ResBlock(channels) for _ in range(config.blocks)), nn.Conv2d(channels, w, 4, 2, 1)]
        channels = w
    layers += [nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(channels * BOTTOM * BOTTOM, 2 * config.latent_dim)]
    return nn.Sequential(*layers)


def decoder(config: ResVAEConfig) -> nn.Module:
    """Latent vector → image logits, doubling the side from 4×4 to ``image_size``."""
    widths = _widths(config)[::-1]
    layers: list[nn.Module] = [
        nn.Linear(config.latent_dim, widths[0] * BOTTOM * BOTTOM),
        nn.Unflatten(1, (widths[0], BOTTOM, BOTTOM)),
    ]
    for w_in, w_out in zip(widths, [*widths[1:], widths[-1]], strict=True):
        layers += [*(ResBlock(w_in) for _ in range(config.blocks)), nn.ConvTranspose2d(w_in, w_out, 4, 2, 1)]
    layers += [_norm(widths[-1]), nn.LeakyReLU(0.2), nn.Conv2d(widths[-1], 3, 3, padding=1)]
    return nn.Sequential(*layers)


class ResVAE(VAE):
    """genzoo's VAE (step, KL schedule, sampling, encoding) with residual networks."""

    config: ResVAEConfig

    def __init__(self, config: ResVAEConfig) -> None:
        super().__init__(config, encoder(config), decoder(config))

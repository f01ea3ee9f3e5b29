"""VAE networks and the VAE's training and sampling code."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genzoo.models.base import Batch, GenerativeModel, Row, StepContext
from genzoo.models.vae import ConvVAEConfig, MLPVAEConfig, VAEConfig
from genzoo.registry import get_loss

BOTTOM = 4  # the convolutional VAE downsamples to 4×4


def _widths(config: ConvVAEConfig) -> list[int]:
    steps = (config.image_size // BOTTOM).bit_length() - 1
    return [min(config.width * 2**i, config.max_width) for i in range(steps)]


def conv_encoder(config: ConvVAEConfig) -> nn.Module:
    layers: list[nn.Module] = []
    channels = 3
    for w in _widths(config):
        layers += [nn.Conv2d(channels, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.LeakyReLU(0.2)]
        channels = w
    layers += [nn.Flatten(), nn.Linear(channels * BOTTOM * BOTTOM, 2 * config.latent_dim)]
    return nn.Sequential(*layers)


def conv_decoder(config: ConvVAEConfig) -> nn.Module:
    widths = _widths(config)[::-1]
    layers: list[nn.Module] = [
        nn.Linear(config.latent_dim, widths[0] * BOTTOM * BOTTOM),
        nn.Unflatten(1, (widths[0], BOTTOM, BOTTOM)),
        nn.LeakyReLU(0.2),
    ]
    for w_in, w_out in zip(widths, [*widths[1:], 3], strict=True):
        layers.append(nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=w_out == 3))
        if w_out != 3:
            layers += [nn.BatchNorm2d(w_out), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


def mlp_encoder(config: MLPVAEConfig) -> nn.Module:
    sizes = [3 * config.image_size**2, *config.hidden]
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers, nn.Linear(sizes[-1], 2 * config.latent_dim))


def mlp_decoder(config: MLPVAEConfig) -> nn.Module:
    sizes = [config.latent_dim, *config.hidden[::-1]]
    layers: list[nn.Module] = []
    for a, b in itertools.pairwise(sizes):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2)]
    out = 3 * config.image_size**2
    return nn.Sequential(*layers, nn.Linear(sizes[-1], out), nn.Unflatten(1, (3, config.image_size, config.image_size)))


class VAE(GenerativeModel):
    """A Gaussian-latent VAE whose decoder outputs logits (images are their sigmoid)."""

    config: VAEConfig

    def __init__(self, config: VAEConfig, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__(config)
        self.encoder = encoder
        self.decoder = decoder
        self.recon_loss = get_loss(config.recon_loss, "reconstruction")
        self.kl_factor = get_loss(config.kl_schedule.kind, "kl_schedule")

    @property
    def channels_last_on_cpu(self) -> bool:
        """The convolutional VAE's layers train faster channels-last on the CPU (benchmarks/bench_layout.py); the
        fully connected one's have no layout."""
        return any(isinstance(m, nn.Conv2d) for m in self.encoder.modules())

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        logvar = logvar.clamp(-30.0, 20.0)  # exp() must stay finite while the KL weight is still near zero
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"vae": torch.optim.Adam(self.parameters(), lr=self.config.lr)}

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        with ctx.autocast():
            logits, mu, logvar = self(batch.x)
        mu, logvar = mu.float(), logvar.float()
        recon = self.recon_loss(logits.float(), batch.x)
        kl = (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)).mean()
        beta = self.config.kl_weight * self.kl_factor(ctx.global_step, self.config.kl_schedule)
        loss = recon + beta * kl
        ctx.backward(loss)
        ctx.step("vae")
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach(), "beta": torch.tensor(beta)}

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, conditions: dict[str, Sequence[int]] | None = None) -> Tensor:
        z = torch.randn(n, self.config.latent_dim, generator=generator).to(self.device)
        return self.decode(z)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @torch.no_grad()
    def decode(self, z: Tensor, conditions: dict[str, Sequence[int]] | None = None) -> Tensor:
        return torch.sigmoid(self.decoder(z)).float()

    @torch.no_grad()
    def encode(self, x: Tensor) -> Tensor:
        return self.encoder(x).chunk(2, dim=1)[0]

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        return self.decode(self.encode(x))

    def preview(self, batch: Batch, generator: torch.Generator) -> list[Row]:
        """Rows: held-out images, their reconstructions, and samples from the prior."""
        rows = (("input", batch.x), ("reconstruction", self.reconstruct(batch.x)))
        return [*rows, ("sample", self.sample(len(batch.x), generator))]

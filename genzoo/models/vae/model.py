"""VAE networks and the VAE's training and sampling code.

One training step: the encoder's mean and log-variance, a reparameterised code, its reconstruction; the loss is the
reconstruction loss (summed over an image's pixels, averaged over the batch) plus ``beta`` times the KL divergence
from the prior. With ``adv_weight`` above 0 (a VAE-GAN; Larsen et al., 2016) the step also decodes a batch of prior
samples, a spectrally normalised DCGAN discriminator learns to tell real images from the reconstructions and the
prior samples (``loss_D``), and the VAE's loss gains ``lambda * adv_G``, the generator's side of ``adv_loss``.
``lambda`` is the adaptive weight of Esser et al. (2021): ``adv_weight`` times the ratio of the reconstruction loss's
gradient norm at the decoder's last layer to the adversarial term's there (``adv_scale``), so that ``adv_weight``
is the adversarial share of that gradient whatever the image size or the reconstruction loss.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from genzoo.models.base import Batch, GenerativeModel, Row, StepContext
from genzoo.models.layers import ConvDiscriminator, doubling_widths
from genzoo.models.schedules import linear_decay
from genzoo.models.vae import ConvVAEConfig, MLPVAEConfig, VAEConfig
from genzoo.registry import get_loss

BOTTOM = 4  # the convolutional VAE downsamples to 4×4
MAX_DISC_WIDTH = 256
ADV_SCALE_MAX = 1e4  # the adaptive weight's bound, for steps where the adversarial gradient vanishes


def _widths(config: ConvVAEConfig) -> list[int]:
    return doubling_widths(config.image_size, config.width, config.max_width, BOTTOM)


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


def discriminator(config: VAEConfig) -> ConvDiscriminator:
    """The adversarial term's discriminator: the DCGAN one, spectrally normalised, ``disc_width`` channels first."""
    widths = doubling_widths(config.image_size, config.disc_width, MAX_DISC_WIDTH, BOTTOM)
    return ConvDiscriminator(widths, 1, spectral=True)


class VAE(GenerativeModel):
    """A Gaussian-latent VAE whose decoder outputs logits (images are their sigmoid)."""

    config: VAEConfig
    training_only = ("discriminator",)

    def __init__(self, config: VAEConfig, encoder: nn.Module, decoder: nn.Module) -> None:
        super().__init__(config)
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator(config) if config.adv_weight > 0 else None
        self.recon_loss = get_loss(config.recon_loss, "reconstruction")
        self.kl_factor = get_loss(config.kl_schedule.kind, "kl_schedule")
        self.adversarial = get_loss(config.adv_loss, "gan")

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
        vae = itertools.chain(self.encoder.parameters(), self.decoder.parameters())
        optimizers = {"vae": torch.optim.Adam(vae, lr=self.config.lr)}
        if self.discriminator is not None:  # the DCGAN recipe's Adam betas for the discriminator
            optimizers["discriminator"] = torch.optim.Adam(
                self.discriminator.parameters(), lr=self.config.disc_lr, betas=(0.5, 0.999)
            )
        return optimizers

    def configure_schedulers(
        self, optimizers: dict[str, torch.optim.Optimizer], total_steps: int
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """Constant learning rates, or (``decay_start`` below 1) a linear decay to zero over the last steps."""
        if self.config.decay_start >= 1:
            return {}
        decay = linear_decay(total_steps, self.config.decay_start)
        return {name: torch.optim.lr_scheduler.LambdaLR(o, decay) for name, o in optimizers.items()}

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        with ctx.autocast():
            logits, mu, logvar = self(batch.x)
        mu, logvar = mu.float(), logvar.float()
        recon = self.recon_loss(logits.float(), batch.x)
        kl = (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)).mean()
        beta = self.config.kl_weight * self.kl_factor(ctx.global_step, self.config.kl_schedule)
        loss = recon + beta * kl
        logs = {"recon": recon.detach(), "kl": kl.detach(), "beta": torch.tensor(beta)}
        if self.discriminator is None:
            ctx.backward(loss)
        else:
            weight, surrogate, adv_logs = self._adversarial_term(batch.x, logits, recon, ctx)
            ctx.backward(loss + weight * surrogate)
            loss = loss.detach() + weight * adv_logs["adv_G"]
            logs.update(adv_logs)
        ctx.step("vae")
        return {"loss": loss.detach(), **logs}

    def _adversarial_term(
        self, x: Tensor, logits: Tensor, recon: Tensor, ctx: StepContext
    ) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """One discriminator step on real images against this step's reconstructions and as many prior samples,
        then the VAE's side of the adversarial term: its adaptive weight (the module's docstring), a surrogate
        that carries its gradient into the decoder, and what to log.

        The term's gradient goes through the discriminator once: ``g``, its gradient at the decoder's images, is
        carried on by the surrogate ``(fakes * g).sum()``, whose gradient there is exactly ``g`` (its value means
        nothing: the log has the term's own, ``adv_G``). Under fp16 the gradients are taken of the scaled losses,
        as ``ctx.backward`` takes them, so that none underflows; their ratio is the same."""
        assert self.discriminator is not None
        z = torch.randn(len(x), self.latent_dim, device=x.device)
        with ctx.autocast():
            fakes = torch.cat([logits, self.decoder(z)]).float().sigmoid() * 2 - 1  # the discriminator's [-1, 1]
            real_out, fake_out = self.discriminator(x * 2 - 1), self.discriminator(fakes.detach())
        loss_d = self.adversarial(real_out.float(), True, True) + self.adversarial(fake_out.float(), False, True)
        ctx.backward(loss_d)
        ctx.step("discriminator")

        judged = fakes.detach().requires_grad_(True)
        self.discriminator.requires_grad_(False)  # the VAE's side needs no discriminator weight gradients
        try:
            with ctx.autocast():
                adv = self.adversarial(self.discriminator(judged).float(), True, False)
            loss_scale = ctx.scaler.get_scale() if ctx.scaler is not None else 1.0
            (g,) = torch.autograd.grad(adv * loss_scale, judged)
        finally:
            self.discriminator.requires_grad_(True)
        surrogate = (fakes * (g / loss_scale)).sum()
        last = [p for p in self.decoder.parameters() if p.dim() > 1][-1]
        (g_recon,) = torch.autograd.grad(recon * loss_scale, last, retain_graph=True)
        (g_adv,) = torch.autograd.grad(surrogate * loss_scale, last, retain_graph=True)
        scale = (g_recon.norm() / (g_adv.norm() + 1e-4)).clamp(max=ADV_SCALE_MAX).detach()
        logs = {
            "adv_G": adv.detach(),
            "adv_scale": scale,
            "loss_D": loss_d.detach(),
            "d_real": real_out.float().mean().detach(),
            "d_fake": fake_out.float().mean().detach(),
        }
        return self.config.adv_weight * scale, surrogate, logs

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

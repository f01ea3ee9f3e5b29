"""The VAE family: ``vae-conv`` (convolutional) and ``vae-mlp`` (fully connected).

Registered here without importing torch; the networks are in ``genzoo.models.vae.model``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from genzoo.config import Config, GanLoss, KLScheduleKind, ModelConfig, ReconLoss
from genzoo.registry import Preset, builtin_release, register_model

if TYPE_CHECKING:
    from genzoo.models.vae.model import VAE


class KLSchedule(Config):
    """How the KL weight grows: ``kind`` is a registered ``kl_schedule`` (constant, linear, cyclical)."""

    kind: KLScheduleKind = Field("constant", description="Registered kl_schedule: constant, linear, cyclical, …")
    warmup_steps: int = Field(1000, gt=0, description="linear: steps to reach the full KL weight.")
    cycle_steps: int = Field(1000, gt=0, description="cyclical: length of one cycle in steps.")
    ratio: float = Field(0.5, gt=0, le=1, description="cyclical: share of a cycle spent rising.")


class VAEConfig(ModelConfig):
    """Fields shared by the VAEs."""

    latent_dim: int = Field(128, gt=0, description="Size of the latent code.")
    recon_loss: ReconLoss = Field("mse", description="Registered reconstruction loss: mse, bce, or a plugin's.")
    kl_weight: float = Field(0.25, ge=0, description="Weight of the KL term (beta); 1 is the plain ELBO.")
    kl_schedule: KLSchedule = Field(KLSchedule(), description="How the KL weight grows over training.")
    lr: float = Field(2e-3, gt=0, description="Adam learning rate.")
    decay_start: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of the training steps after which the learning rate decays linearly to zero; 1: constant.",
    )
    adv_weight: float = Field(
        0.0,
        ge=0,
        description="Adversarial term (a VAE-GAN, docs/vae.md): a discriminator tells real images from "
        "reconstructions and prior samples, and the VAE learns to pass it; its gradient at the decoder's last layer "
        "is this share of the reconstruction loss's (Esser et al.'s adaptive weight). 0: off, no discriminator.",
    )
    adv_loss: GanLoss = Field("hinge", description="Registered GAN loss of the adversarial term.")
    disc_width: int = Field(
        16, gt=0, description="Adversarial term: channels of the discriminator's first layer, doubled at each step."
    )
    disc_lr: float = Field(2e-4, gt=0, description="Adversarial term: the discriminator's Adam learning rate.")


class ConvVAEConfig(VAEConfig):
    width: int = Field(
        16,
        gt=0,
        description="Channels of the first convolution; doubled at each downsampling. 16: a third of the time a step "
        "of 32 for the same FD at the default 3,000 steps (measured in docs/results.md).",
    )
    max_width: int = Field(256, gt=0, description="Cap on the channels of any layer.")


class MLPVAEConfig(VAEConfig):
    image_size: int = Field(32, description="Side of the square images in pixels: a power of two.")
    lr: float = Field(1e-3, gt=0, description="Adam learning rate (2e-3 diverges with bce and KL warm-up).")
    hidden: list[int] = Field([1024, 512], min_length=1, description="Widths of the hidden layers of the encoder.")


CAPABILITIES = {"sample", "reconstruct", "encode"}
CURVE_GROUPS = {
    "total (ELBO)": ["loss"],
    "reconstruction": ["recon"],
    "KL": ["kl"],
    "adversarial": ["adv_G", "loss_D"],
    "discriminator output (logits)": ["d_real", "d_fake"],
}


ZOO_CONV: Preset = {
    "model": {"width": 32, "decay_start": 0.5},
    "train": {"steps": 30_000},
    "data": {"name": "cartoon"},
}
"""The released vae-conv's recipe (docs/zoo.md): the width measured to reconstruct best within the budget (32:
docs/results.md's trade-off table), for ten times the budget's steps, with the translators' linear decay of the
learning rate to zero over the second half (measured at this length against a constant rate: lower held-out MSE and
FD at every later point, docs/results.md)."""
ZOO_MLP: Preset = {"train": {"steps": 30_000}, "data": {"name": "cartoon"}}
"""The released vae-mlp's recipe: the defaults for ten times the budget's steps."""


@register_model(
    "vae-conv",
    family="vae",
    description="Convolutional VAE; any power-of-two size of at least 16 px.",
    capabilities=CAPABILITIES,
    config=ConvVAEConfig,
    train_defaults={"steps": 3000, "batch_size": 64},
    curve_groups=CURVE_GROUPS,
    presets={"zoo": ZOO_CONV},
    release=builtin_release("vae-conv", "17f23d5fbb6bfa5b599a5fb59a320aa90106d26952772f9aab99a467c6fd062b"),
)
def vae_conv(config: ConvVAEConfig) -> VAE:
    from genzoo.models.vae.model import VAE, conv_decoder, conv_encoder

    return VAE(config, conv_encoder(config), conv_decoder(config))


@register_model(
    "vae-mlp",
    family="vae",
    description="Fully connected VAE; small images (32 px by default).",
    capabilities=CAPABILITIES,
    config=MLPVAEConfig,
    train_defaults={"steps": 3000, "batch_size": 64},
    curve_groups=CURVE_GROUPS,
    presets={"zoo": ZOO_MLP},
    release=builtin_release("vae-mlp", "82db769a1168909ddfc36f37382c93ac9e67b0483f76f951c5fb153b8244308b"),
)
def vae_mlp(config: MLPVAEConfig) -> VAE:
    from genzoo.models.vae.model import VAE, mlp_decoder, mlp_encoder

    return VAE(config, mlp_encoder(config), mlp_decoder(config))

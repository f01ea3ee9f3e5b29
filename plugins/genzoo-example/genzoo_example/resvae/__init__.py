"""The ``resvae`` model: config and registration, without importing torch (the networks are in ``model.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from genzoo.models.vae import CURVE_GROUPS, ConvVAEConfig
from genzoo.registry import register_model

if TYPE_CHECKING:
    from genzoo_example.resvae.model import ResVAE


class ResVAEConfig(ConvVAEConfig):
    """The convolutional VAE's fields (``width``, ``max_width``, ``latent_dim``, ``recon_loss``, KL settings, …)
    plus the number of residual blocks at each resolution."""

    blocks: int = Field(1, ge=1, le=8, description="Residual blocks before each down- and upsampling.")


@register_model(
    "resvae",
    family="vae",
    description="Convolutional VAE with residual blocks at every resolution (example plugin).",
    capabilities={"sample", "reconstruct", "encode"},
    config=ResVAEConfig,
    train_defaults={"steps": 3000, "batch_size": 64},
    curve_groups=CURVE_GROUPS,
)
def resvae(config: ResVAEConfig) -> ResVAE:
    from genzoo_example.resvae.model import ResVAE  # torch is imported here, when a model is built

    return ResVAE(config)

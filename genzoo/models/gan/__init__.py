"""The GAN family: ``dcgan`` (unconditional DCGAN) and ``acgan`` (auxiliary-classifier GAN, attribute-conditional).

Registered here without importing torch; the networks and the training step are in ``genzoo.models.gan.model``.

An ``acgan`` conditions on a subset of the data's attributes (``attributes``): built-in faces have the attributes of
``genzoo.data.toon.ATTRIBUTES``; an image folder with one sub-folder per class has the single attribute ``class``.
``adapt_to_data`` checks the names against the training data and stores each attribute's value names in ``values``,
so that a checkpoint's config alone rebuilds the networks and lets ``--attr hair_color=blue`` be read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from genzoo.config import DiscBlur, GanLoss, ModelConfig, R1Every, R1Weight
from genzoo.errors import ConfigError
from genzoo.registry import Preset, builtin_release, register_model

if TYPE_CHECKING:
    from genzoo.models.gan.model import ACGAN, DCGAN


class GANConfig(ModelConfig):
    """Fields shared by the GANs; the defaults are the DCGAN paper's (Radford et al., 2016) where it has one."""

    image_size: int = Field(
        32, description="Side of the square images in pixels: a power of two (32 by default: see docs/gan.md)."
    )
    latent_dim: int = Field(100, gt=0, description="Size of the generator's noise vector z.")
    g_arch: Literal["dcgan", "resnet"] = Field(
        "dcgan",
        description="Generator: dcgan (stride-2 transposed convolutions, the paper's) or resnet (residual blocks "
        "that upsample by nearest neighbour, then 3×3 convolutions; Miyato et al., 2018; docs/gan.md).",
    )
    width: int = Field(32, gt=0, description="Channels of the generator's last and the discriminator's first layer.")
    max_width: int = Field(512, gt=0, description="Cap on the channels of any layer.")
    gan_loss: GanLoss = Field("vanilla", description="Registered GAN loss: vanilla, lsgan, hinge, or a plugin's.")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate of the generator (and the discriminator's default).")
    d_lr: float | None = Field(None, gt=0, description="Adam learning rate of the discriminator; None: `lr`.")
    d_arch: Literal["dcgan", "resnet"] = Field(
        "dcgan",
        description="Discriminator: dcgan (stride-2 convolutions, the paper's) or resnet (residual blocks that "
        "average-pool, then a sum over positions; Miyato et al., 2018; spectrally normalised, docs/gan.md).",
    )
    d_norm: Literal["batch", "spectral"] = Field(
        "batch",
        description="Discriminator normalisation: batch (the DCGAN paper) or spectral (Miyato et al.; no BatchNorm).",
    )
    d_blur: DiscBlur = "off"
    d_steps: int = Field(
        1,
        ge=1,
        description="Discriminator updates per generator update (SNGAN's n_dis): every step updates the "
        "discriminator on its batch, every d_steps-th step the generator too, so `steps` counts batches.",
    )
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1.")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2.")
    ema: float = Field(
        0.999, ge=0, lt=1, description="Decay of the generator's weight average that samples; 0: no average."
    )
    d_augment: list[Literal["color", "translation", "cutout"]] = Field(
        [], description="Differentiable augmentation of what the discriminator sees (DiffAugment), e.g. [translation]."
    )
    r1: R1Weight = 0.0
    r1_every: R1Every = 16

    @model_validator(mode="after")
    def _residual_discriminator_is_spectral(self) -> GANConfig:
        if self.d_arch == "resnet" and (self.d_norm != "spectral" or self.d_blur != "off"):
            raise ValueError(
                "the residual discriminator (d_arch=resnet) is SNGAN's: spectrally normalised, with average pooling "
                f"for its downsampling; set d_norm=spectral (not {self.d_norm!r}) and leave d_blur at 'off'"
            )
        return self


class DCGANConfig(GANConfig):
    """An unconditional DCGAN."""


ATTRIBUTE_HINT = "built-in faces have attributes; an image folder has the attribute `class` when it has sub-folders"


class ACGANConfig(GANConfig):
    """A DCGAN whose generator takes attribute values and whose discriminator also classifies them."""

    data_fields: ClassVar[tuple[str, ...]] = ("values",)

    attributes: list[str] = Field(
        ["hair_color", "glasses"],
        min_length=1,
        description="Attributes to condition on: built-in face attributes, or `class` for an image folder.",
    )
    values: dict[str, list[str]] = Field(
        {}, description="Value names of each conditioned attribute; filled from the training data."
    )
    embedding: Literal["cbn", "sum", "concat"] = Field(
        "cbn",
        description="cbn: conditional BatchNorm in the generator, z enters alone (docs/gan.md); sum: latent-sized "
        "embeddings added to z; concat: one embedding per attribute beside z.",
    )
    embed_dim: int = Field(16, gt=0, description="Size of each attribute embedding with embedding=concat.")
    cls_weight: float = Field(1.0, ge=0, description="Weight of the auxiliary classification loss.")
    twin: bool = Field(
        False, description="Add TAC-GAN's twin classifier against look-alike faces within a condition (docs/gan.md)."
    )

    @field_validator("attributes")
    @classmethod
    def _distinct(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("names an attribute twice")
        return v

    def adapt_to_data(self, info: Mapping[str, Any]) -> ACGANConfig:
        """Check ``attributes`` against the data's schema and store their value names (idempotent)."""
        schema: Mapping[str, list[str]] = info.get("attributes") or {}
        domain = ", ".join(info.get("domains", [])) or "the training data"
        if not schema:
            raise ConfigError(
                f"acgan needs images with attributes, and {domain} has none ({ATTRIBUTE_HINT} with images in at "
                f"least two of them). Train dcgan for unconditional samples."
            )
        unknown = [a for a in self.attributes if a not in schema]
        if unknown:
            raise ConfigError(
                f"acgan cannot condition on {', '.join(map(repr, unknown))}: {domain} has no such attribute. "
                f"Valid attributes: {', '.join(schema)}. Choose with e.g. `--set attributes=[{next(iter(schema))}]`."
            )
        values = {a: [str(v) for v in schema[a]] for a in self.attributes}
        return self if values == self.values else self.model_copy(update={"values": values})

    def value_names(self) -> dict[str, list[str]]:
        """Value names of every conditioned attribute, in ``attributes`` order.

        Before training has filled ``values``, built-in face attributes fall back to the renderer's schema, so that
        ``genzoo.create("acgan")`` works without data.
        """
        from genzoo.data.toon import ATTRIBUTES

        out = {}
        for a in self.attributes:
            if a in self.values:
                out[a] = list(self.values[a])
            elif a in ATTRIBUTES:
                out[a] = list(ATTRIBUTES[a])
            else:
                raise ConfigError(
                    f"acgan does not know the values of attribute {a!r}: train it on data that has it (which fills "
                    f"`values`), or give them, e.g. `values={{{a}: [cats, dogs]}}`."
                )
        return out


CAPABILITIES = {"sample"}
DCGAN_CURVES = {"losses": ["loss_G", "loss_D"], "discriminator output (logits)": ["d_real", "d_fake"]}
ACGAN_CURVES = {
    "losses": ["loss_G", "loss_D"],
    "adversarial": ["adv_G", "adv_D"],
    "auxiliary classification": ["cls_real", "cls_fake", "cls_twin"],
    "classifier accuracy on real": ["acc_real"],
    "discriminator output (logits)": ["d_real", "d_fake"],
}
TRAIN_DEFAULTS: dict[str, object] = {"steps": 3000, "batch_size": 64}
ZOO: Preset = {
    "model": {"image_size": 64, "d_norm": "spectral", "gan_loss": "hinge", "beta1": 0.0, "beta2": 0.9},
    "train": {"steps": 30_000},
    "data": {"name": "cartoon"},
}
"""The recipe the released GANs are trained by (docs/zoo.md): 64 px with the discriminator settings measured best at
64 px (spectral norm, hinge loss, Adam (0, 0.9): docs/results.md), for ten times the budget's steps; its learning
curve decides whether it stays."""


@register_model(
    "dcgan",
    family="gan",
    description="DCGAN (Radford et al.): unconditional samples; any power-of-two size of at least 16 px.",
    capabilities=CAPABILITIES,
    config=DCGANConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=DCGAN_CURVES,
    presets={"zoo": ZOO},
    release=builtin_release("dcgan", "42290178591db1db667054d0ae68c840fcde717c45f85a382df9daa6bbad9b83"),
)
def dcgan(config: DCGANConfig) -> DCGAN:
    from genzoo.models.gan.model import DCGAN

    return DCGAN(config)


@register_model(
    "acgan",
    family="gan",
    description="Auxiliary-classifier GAN (Odena et al.): samples conditioned on chosen attributes or classes.",
    capabilities=CAPABILITIES | {"conditional"},
    config=ACGANConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=ACGAN_CURVES,
    presets={"zoo": ZOO},
    release=builtin_release("acgan", "dff58afb0a1c835af59d72c49e8c8ec50d34969689ca19bce18c3a10cfd11338"),
)
def acgan(config: ACGANConfig) -> ACGAN:
    from genzoo.models.gan.model import ACGAN

    return ACGAN(config)

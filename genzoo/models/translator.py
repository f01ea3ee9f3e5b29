"""What every translator's config shares (CycleGAN, CUT): the two domains, the discriminators, the optimiser and its
schedule, the weight average. Torch-free: the families' registration modules import it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from genzoo.config import DataConfig, DiscBlur, GanLoss, ModelConfig, R1Every, R1Weight
from genzoo.errors import ConfigError

Norm = Literal["instance", "batch", "none"]

TO_HINT = (
    "A translator translates between two domains: name the second with --to, e.g. "
    "`genzoo train {name} --data cartoon --to anime`, or two image folders: `--data DIR_A --to DIR_B` "
    "(Python: genzoo.train(..., to='anime'))."
)

TRAIN_DEFAULTS: dict[str, object] = {
    "steps": 3000,
    "batch_size": 4,
    "log_every": 50,
    "preview_every": 500,
    "checkpoint_every": 500,
}
"""Every built-in translator's training defaults (the budget): 3,000 steps of 4 image pairs. cyclegan-resnet at 64 px
runs about 2.2 steps/s on 2 CPU cores with bf16 autocast, so they take about 23 minutes (docs/cyclegan.md)."""


class TranslatorConfig(ModelConfig):
    """Fields shared by the translators: discriminators, losses, optimiser, schedule, and the two domains."""

    min_image_size: ClassVar[int] = 32
    model_example: ClassVar[str] = "cyclegan-resnet"  # the model name used in messages
    data_fields: ClassVar[tuple[str, ...]] = ("domains",)
    domains: tuple[str, str] | None = Field(
        None, description="Names of the domains (A, B), filled from --data and --to at training time."
    )
    width: int = Field(32, gt=0, description="Generator channels at full resolution (ngf; the paper uses 64).")
    norm: Norm = Field("instance", description="Normalisation of every network: instance, batch or none.")
    disc_width: int = Field(32, gt=0, description="Discriminator channels of the first layer (ndf; paper: 64).")
    disc_layers: int = Field(3, ge=1, le=6, description="Stride-2 layers of the PatchGAN discriminator (paper: 3).")
    disc_blur: DiscBlur = "off"
    disc_scales: int = Field(
        1,
        ge=1,
        le=3,
        description="PatchGAN discriminators per domain, each reading the image at half the size of the one before "
        "(pix2pixHD's multi-scale discriminator); their patch losses weigh alike. 1: one, as in the paper.",
    )
    gan_loss: GanLoss = Field("lsgan", description="Registered adversarial loss: lsgan (paper), vanilla, hinge, ….")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate of generators and discriminators.")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1.")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2.")
    decay_start: float = Field(
        0.5, ge=0, le=1, description="Share of the training steps after which the LR decays linearly to zero."
    )
    init_std: float = Field(0.02, gt=0, description="Standard deviation of the N(0, std) weight initialisation.")
    ema: float = Field(
        0.0, ge=0, lt=1, description="Decay of the generators' weight average that translates; 0: no average."
    )
    ema_follows_lr: bool = Field(
        False,
        description="Scale each step's share of the weight average by the learning rate's current factor, so that "
        "as the LR decays to zero the average keeps the stretch of training it spans instead of shrinking to the "
        "last weights. The same average while the LR is constant.",
    )
    r1: R1Weight = 0.0
    r1_every: R1Every = 16

    @model_validator(mode="after")
    def _an_average_to_follow(self) -> TranslatorConfig:
        if self.ema_follows_lr and self.ema == 0:
            raise ValueError(
                "ema_follows_lr=true changes how the generators' weight average moves, but ema=0 keeps none; "
                "set ema too (e.g. ema=0.999) or leave ema_follows_lr off"
            )
        return self

    @model_validator(mode="after")
    def _discriminator_fits(self) -> TranslatorConfig:
        smallest = 2 ** (self.disc_layers + 2) * 2 ** (self.disc_scales - 1)
        if self.image_size < smallest:
            scales = f" at {self.disc_scales} scales" if self.disc_scales > 1 else ""
            raise ValueError(
                f"disc_layers={self.disc_layers}{scales} needs images of at least {smallest} px (image_size is "
                f"{self.image_size}); lower disc_layers{' or disc_scales' if scales else ''} or raise image_size"
            )
        return self

    def check_data(self, data: DataConfig) -> None:
        """A translator needs a second domain: refuse a run without ``data.to`` before any image is loaded."""
        if data.to is None:
            raise ConfigError(TO_HINT.format(name=self.model_example))

    def adapt_to_data(self, info: Mapping[str, Any]) -> TranslatorConfig:
        """Fill ``domains`` with the names of the source and target data (kept when already set)."""
        if self.domains is not None:
            return self
        names = list(info.get("domains") or [])
        if len(names) != 2:
            raise ConfigError(TO_HINT.format(name=self.model_example))
        if names[0] == names[1]:
            data = info.get("data") or {}
            names = [str(data.get("name")), str(data.get("to"))]
            if names[0] == names[1]:
                raise ConfigError(
                    f"--data and --to are both {names[0]!r}: a translator needs two different domains to translate "
                    f"between."
                )
        return self.model_copy(update={"domains": (names[0], names[1])})


class ResnetGeneratorConfig(TranslatorConfig):
    """ResNet generators: 7×7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks, two upsamplings."""

    n_blocks: int = Field(6, ge=0, description="Residual blocks of each generator (paper: 9 at 256 px, 6 at 128).")
    upsample: Literal["transpose", "resize"] = Field(
        "transpose",
        description="transpose: stride-2 transposed convolutions (paper); resize: nearest-neighbour resize then "
        "3×3 convolution, free of checkerboard artefacts.",
    )
    use_dropout: bool = Field(False, description="Dropout(0.5) in the generator (the paper's CycleGAN: off).")

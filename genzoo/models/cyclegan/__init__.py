"""The CycleGAN family: ``cyclegan-resnet`` and ``cyclegan-unet`` translate images between two unpaired domains.

Registered here without importing torch; the networks and the training step are in ``genzoo.models.cyclegan.model``,
the conversion of the reference implementation's weights in ``genzoo.models.cyclegan.reference``. A CycleGAN trains
on two data sets, ``--data A --to B``; ``adapt_to_data`` stores their names in ``domains`` so that a checkpoint
knows what it translates. See ``docs/cyclegan.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field, model_validator

from genzoo.config import DataConfig, GanLoss, ModelConfig
from genzoo.errors import ConfigError
from genzoo.registry import register_model

if TYPE_CHECKING:
    from genzoo.models.cyclegan.model import CycleGAN

Norm = Literal["instance", "batch", "none"]

TO_HINT = (
    "A CycleGAN translates between two domains: name the second with --to, e.g. "
    "`genzoo train {name} --data cartoon --to anime`, or two image folders: `--data DIR_A --to DIR_B` "
    "(Python: genzoo.train(..., to='anime'))."
)


class CycleGANConfig(ModelConfig):
    """Fields shared by both CycleGANs: discriminators, losses, optimiser, schedule, and the two domains."""

    min_image_size: ClassVar[int] = 32
    model_example: ClassVar[str] = "cyclegan-resnet"  # the model name used in messages
    domains: tuple[str, str] | None = Field(
        None, description="Names of the domains (A, B), filled from --data and --to at training time."
    )
    width: int = Field(32, gt=0, description="Generator channels at full resolution (ngf; the paper uses 64).")
    norm: Norm = Field("instance", description="Normalisation of every network: instance, batch or none.")
    disc_width: int = Field(32, gt=0, description="Discriminator channels of the first layer (ndf; paper: 64).")
    disc_layers: int = Field(3, ge=1, le=6, description="Stride-2 layers of the PatchGAN discriminator (paper: 3).")
    gan_loss: GanLoss = Field("lsgan", description="Registered adversarial loss: lsgan (paper), vanilla, hinge, ….")
    lambda_a: float = Field(10.0, ge=0, description="Weight of the cycle loss A → B → A.")
    lambda_b: float = Field(10.0, ge=0, description="Weight of the cycle loss B → A → B.")
    identity: float = Field(0.5, ge=0, description="Identity-loss weight as a multiple of lambda_a / lambda_b.")
    pool_size: int = Field(50, ge=0, description="Images in each history pool of fakes fed to D (0: none).")
    lr: float = Field(2e-4, gt=0, description="Adam learning rate of generators and discriminators.")
    beta1: float = Field(0.5, ge=0, lt=1, description="Adam beta1.")
    beta2: float = Field(0.999, ge=0, lt=1, description="Adam beta2.")
    decay_start: float = Field(
        0.5, ge=0, le=1, description="Share of the training steps after which the LR decays linearly to zero."
    )
    init_std: float = Field(0.02, gt=0, description="Standard deviation of the N(0, std) weight initialisation.")
    use_dropout: bool = Field(False, description="Dropout(0.5) in the generator (the paper's CycleGAN: off).")

    @model_validator(mode="after")
    def _discriminator_fits(self) -> CycleGANConfig:
        smallest = 2 ** (self.disc_layers + 2)
        if self.image_size < smallest:
            raise ValueError(
                f"disc_layers={self.disc_layers} needs images of at least {smallest} px (image_size is "
                f"{self.image_size}); lower disc_layers or raise image_size"
            )
        return self

    def check_data(self, data: DataConfig) -> None:
        """A CycleGAN needs a second domain: refuse a run without ``data.to`` before any image is loaded."""
        if data.to is None:
            raise ConfigError(TO_HINT.format(name=self.model_example))

    def adapt_to_data(self, info: Mapping[str, Any]) -> CycleGANConfig:
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
                    f"--data and --to are both {names[0]!r}: a CycleGAN needs two different domains to translate "
                    f"between."
                )
        return self.model_copy(update={"domains": (names[0], names[1])})


class ResnetCycleGANConfig(CycleGANConfig):
    """ResNet generators: 7×7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks, two upsamplings."""

    model_example: ClassVar[str] = "cyclegan-resnet"
    n_blocks: int = Field(6, ge=0, description="Residual blocks of each generator (paper: 9 at 256 px, 6 at 128).")
    upsample: Literal["transpose", "resize"] = Field(
        "transpose",
        description="transpose: stride-2 transposed convolutions (paper); resize: nearest-neighbour resize then "
        "3×3 convolution, free of checkerboard artefacts.",
    )


class UnetCycleGANConfig(CycleGANConfig):
    """U-Net generators: ``depth`` stride-2 levels with skip connections (the reference's unet_128/unet_256)."""

    model_example: ClassVar[str] = "cyclegan-unet"
    depth: int | None = Field(
        None,
        ge=2,
        description="Downsampling levels; None: log2(image_size), down to a 1×1 bottleneck as the reference.",
    )

    @model_validator(mode="after")
    def _depth_fits(self) -> UnetCycleGANConfig:
        most = self.image_size.bit_length() - 1
        if self.depth is not None and self.depth > most:
            raise ValueError(
                f"depth={self.depth} would downsample {self.image_size}-px images below 1×1; at most {most} "
                f"(log2 of image_size), or leave depth unset"
            )
        return self

    @property
    def levels(self) -> int:
        """The U-Net's depth: ``depth``, or log2(image_size) when unset."""
        return self.depth if self.depth is not None else self.image_size.bit_length() - 1


CAPABILITIES = {"translate"}
CURVE_GROUPS = {
    "generators": ["loss_G", "adv_A", "adv_B"],
    "cycle and identity": ["cycle_A", "cycle_B", "idt_A", "idt_B"],
    "discriminators": ["D_A", "D_B"],
}
# Measured (benchmarks/bench_cyclegan.py, docs/cyclegan.md): the default cyclegan-resnet at 64 px runs about 2.2
# steps/s of batch 4 on 2 CPU cores with bf16 autocast, so 3000 steps take about 23 minutes.
TRAIN_DEFAULTS: dict[str, object] = {
    "steps": 3000,
    "batch_size": 4,
    "log_every": 50,
    "preview_every": 500,
    "checkpoint_every": 500,
}


@register_model(
    "cyclegan-resnet",
    family="cyclegan",
    description="CycleGAN with ResNet generators (Zhu et al. 2017): unpaired translation, e.g. cartoon ↔ anime.",
    capabilities=CAPABILITIES,
    config=ResnetCycleGANConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=CURVE_GROUPS,
)
def cyclegan_resnet(config: ResnetCycleGANConfig) -> CycleGAN:
    from genzoo.models.cyclegan.model import CycleGAN, ResnetGenerator

    return CycleGAN(config, lambda: ResnetGenerator(config))


@register_model(
    "cyclegan-unet",
    family="cyclegan",
    description="CycleGAN with U-Net generators (skip connections); any power-of-two size of at least 32 px.",
    capabilities=CAPABILITIES,
    config=UnetCycleGANConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=CURVE_GROUPS,
)
def cyclegan_unet(config: UnetCycleGANConfig) -> CycleGAN:
    from genzoo.models.cyclegan.model import CycleGAN, UnetGenerator

    return CycleGAN(config, lambda: UnetGenerator(config))

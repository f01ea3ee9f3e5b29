"""The CycleGAN family: ``cyclegan-resnet`` and ``cyclegan-unet`` translate images between two unpaired domains.

Registered here without importing torch; the networks and the training step are in ``genzoo.models.cyclegan.model``,
the conversion of the reference implementation's weights in ``genzoo.models.cyclegan.reference``. A CycleGAN trains
on two data sets, ``--data A --to B``; ``adapt_to_data`` stores their names in ``domains`` so that a checkpoint
knows what it translates. See ``docs/cyclegan.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from genzoo.models.translator import TRAIN_DEFAULTS, ResnetGeneratorConfig, TranslatorConfig
from genzoo.registry import Preset, builtin_release, register_model

if TYPE_CHECKING:
    from genzoo.models.cyclegan.model import CycleGAN


class CycleGANConfig(TranslatorConfig):
    """Fields of both CycleGANs beyond a translator's: the cycle and identity losses and the history pools."""

    lambda_a: float = Field(10.0, ge=0, description="Weight of the cycle loss A → B → A.")
    lambda_b: float = Field(10.0, ge=0, description="Weight of the cycle loss B → A → B.")
    identity: float = Field(0.5, ge=0, description="Identity-loss weight as a multiple of lambda_a / lambda_b.")
    pool_size: int = Field(50, ge=0, description="Images in each history pool of fakes fed to D (0: none).")
    use_dropout: bool = Field(False, description="Dropout(0.5) in the generator (the paper's CycleGAN: off).")


class ResnetCycleGANConfig(CycleGANConfig, ResnetGeneratorConfig):
    """ResNet generators: 7×7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks, two upsamplings."""

    model_example: ClassVar[str] = "cyclegan-resnet"


class UnetCycleGANConfig(CycleGANConfig):
    """U-Net generators: ``depth`` stride-2 levels with skip connections (the reference's unet_128/unet_256)."""

    model_example: ClassVar[str] = "cyclegan-unet"
    ema: float = Field(
        0.999,
        ge=0,
        lt=1,
        description="Decay of the generators' weight average that translates; 0: no average. The U-Net's "
        "default (measured in docs/results.md).",
    )
    decay_start: float = Field(
        1.0,
        ge=0,
        le=1,
        description="Share of the training steps after which the LR decays linearly to zero; 1: a constant LR, the "
        "U-Net's default beside its weight average (measured in docs/results.md).",
    )
    upsample: Literal["transpose", "resize"] = Field(
        "transpose",
        description="transpose: 4×4 stride-2 transposed convolutions (the reference); resize: nearest-neighbour "
        "resize then 3×3 convolution, free of checkerboard artefacts.",
    )
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


ZOO_RESNET: Preset = {
    "model": {"ema": 0.999},
    "train": {"steps": 30_000},
    "data": {"name": "cartoon", "to": "anime"},
}
"""The released cyclegan-resnet's recipe (docs/zoo.md): ten times the budget's steps (12 passes over the 10,000
faces of each style), the moving average of the generators, and the reference's linear decay to zero over the
second half."""


@register_model(
    "cyclegan-resnet",
    family="cyclegan",
    description="CycleGAN with ResNet generators (Zhu et al. 2017): unpaired translation, e.g. cartoon ↔ anime.",
    capabilities=CAPABILITIES,
    config=ResnetCycleGANConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=CURVE_GROUPS,
    presets={"zoo": ZOO_RESNET},
    release=builtin_release("cyclegan-resnet", "b53e5ec3ca8043b6234fef0dec4f15a0a3a33a37120dd3eebdcfdc90cb69a53a"),
)
def cyclegan_resnet(config: ResnetCycleGANConfig) -> CycleGAN:
    from genzoo.models.cyclegan.model import CycleGAN, ResnetGenerator

    return CycleGAN(config, lambda: ResnetGenerator(config))


ZOO_UNET: Preset = {
    "model": {"decay_start": 0.5, "depth": 5},
    "train": {"steps": 30_000},
    "data": {"name": "cartoon", "to": "anime"},
}
"""The released cyclegan-unet's recipe: its defaults (the generators' moving average) with the reference's linear
decay to zero over the second half (6,000 steps with it measured a lower paired L1 than the constant rate), for ten
times the budget's steps; five levels down to a 2×2 bottleneck instead of six to 1×1, so that its two generators
take 16.7 MB in float16 rather than 29.3 MB and all seven released models fit the zoo's 60 MB (58 MB)."""


@register_model(
    "cyclegan-unet",
    family="cyclegan",
    description="CycleGAN with U-Net generators (skip connections); any power-of-two size of at least 32 px.",
    capabilities=CAPABILITIES,
    config=UnetCycleGANConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=CURVE_GROUPS,
    presets={"zoo": ZOO_UNET},
    release=builtin_release("cyclegan-unet", "9107e78eb315025bed38714c608ce5a00562a9a626c1ad09d1c2699ccd1aacb0"),
)
def cyclegan_unet(config: UnetCycleGANConfig) -> CycleGAN:
    from genzoo.models.cyclegan.model import CycleGAN, UnetGenerator

    return CycleGAN(config, lambda: UnetGenerator(config))

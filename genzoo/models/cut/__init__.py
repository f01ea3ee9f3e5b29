"""The CUT family: ``cut`` translates images between two unpaired domains with contrastive learning (Park et al.,
2020) instead of cycle consistency.

Each direction has one generator, trained by its discriminator and by a patch-wise contrastive loss (PatchNCE): a
patch of the translation, seen through the generator's own encoder, must be more like the patch at the same place
of the source than like the source's other patches. No image is translated back, so a step costs about half a
CycleGAN's. Registered here without importing torch; the networks and the training step are in
``genzoo.models.cut.model``. See ``docs/cyclegan.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from genzoo.models.translator import TRAIN_DEFAULTS, ResnetGeneratorConfig
from genzoo.registry import Preset, register_model

if TYPE_CHECKING:
    from genzoo.models.cut.model import CUT


class CUTConfig(ResnetGeneratorConfig):
    """A translator's fields (ResNet generators, PatchGAN discriminators) and those of the contrastive loss."""

    model_example: ClassVar[str] = "cut"
    nce_weight: float = Field(1.0, ge=0, description="Weight of the PatchNCE loss of source and translation.")
    nce_identity: bool = Field(
        True,
        description="Also apply PatchNCE to a target image and its translation into its own domain (CUT); false: "
        "FastCUT (cheaper; the paper then weighs PatchNCE 10).",
    )
    nce_layers: list[int] = Field(
        [0, 1, 2, 3, 4],
        min_length=1,
        description="Encoder features compared: 0 the image, 1 the stem, 2 and 3 the downsamplings, 4 the middle "
        "residual block.",
    )
    nce_patches: int = Field(256, gt=0, description="Patches sampled per image and layer.")
    nce_dim: int = Field(256, gt=0, description="Size of each patch's projection (a two-layer MLP per layer).")
    nce_temperature: float = Field(0.07, gt=0, description="Temperature of the contrastive softmax.")


CURVE_GROUPS = {
    "generators": ["loss_G", "adv_A", "adv_B"],
    "PatchNCE": ["nce_A", "nce_B", "nce_idt_A", "nce_idt_B"],
    "discriminators": ["D_A", "D_B"],
}


ZOO: Preset = {"model": {"ema": 0.999}, "train": {"steps": 30_000}, "data": {"name": "cartoon", "to": "anime"}}
"""The released cut's recipe: CUT given the long run the budget could not (ten times its steps), with the moving
average of its generators as the CycleGANs have it."""


@register_model(
    "cut",
    family="cut",
    description="Contrastive unpaired translation (CUT, Park et al. 2020): one generator a direction, no cycle.",
    capabilities={"translate"},
    config=CUTConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=CURVE_GROUPS,
    presets={"zoo": ZOO},
)
def cut(config: CUTConfig) -> CUT:
    from genzoo.models.cut.model import CUT

    return CUT(config)

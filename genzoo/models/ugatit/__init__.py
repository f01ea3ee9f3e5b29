"""The U-GAT-IT family: ``ugatit`` translates images between two unpaired domains with attention and adaptive
normalisation (Kim et al., 2020, made for selfie → anime).

Like a CycleGAN it trains two generators with cycle and identity losses against two discriminators, and adds:

* **attention (CAM)**: an auxiliary classifier on each generator's encoder features, trained to tell an image that
  needs translating from one already in the target domain; its weights re-weight the feature channels, so that the
  decoder works hardest where the domains differ (the eyes, the mouth), and its summed map is the attention
  heat map the previews show;
* **AdaLIN**: the decoder's residual blocks mix instance and layer normalisation by a learned share ``rho`` and
  take their scale and shift from the attended features, so that how much shape and texture change is learned;
* **two discriminators per domain**, a local one (small patches) and a global one (down to 4×4), each with its
  own attention classifier, all spectrally normalised.

This is the paper's "light" model: the scale and shift are computed from the pooled features, which keeps the
generator small. Registered here without importing torch; the networks and the step are in
``genzoo.models.ugatit.model``. See ``docs/cyclegan.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from pydantic import Field, model_validator

from genzoo.models.translator import TRAIN_DEFAULTS, TranslatorConfig
from genzoo.registry import Preset, register_model

if TYPE_CHECKING:
    from genzoo.models.ugatit.model import UGATIT


class UGATITConfig(TranslatorConfig):
    """A translator's fields, the U-GAT-IT losses' weights, and the sizes of its generators and discriminators.
    ``disc_layers`` counts the local discriminator's stride-2 layers; the global one goes down to 4×4."""

    model_example: ClassVar[str] = "ugatit"
    disc_layers: int = Field(
        2,
        ge=1,
        le=6,
        description="Stride-2 layers of the local discriminator: 2 sees 33-px patches, about half a 64-px face (the "
        "paper's sees about a quarter of 256 px); the global one goes down to 4×4.",
    )
    n_blocks: int = Field(4, ge=1, description="Residual blocks in each generator's encoder and decoder (paper: 4).")
    lr: float = Field(1e-4, gt=0, description="Adam learning rate of generators and discriminators (paper: 1e-4).")
    weight_decay: float = Field(1e-4, ge=0, description="Adam weight decay (paper: 1e-4).")
    cycle_weight: float = Field(10.0, ge=0, description="Weight of the cycle losses (paper: 10).")
    identity_weight: float = Field(10.0, ge=0, description="Weight of the identity losses (paper: 10).")
    cam_weight: float = Field(
        1000.0, ge=0, description="Weight of the generators' attention classifiers' loss (paper: 1,000)."
    )

    @model_validator(mode="after")
    def _only_its_own_discriminators(self) -> UGATITConfig:
        unsupported = {"disc_scales": (self.disc_scales, 1), "disc_blur": (self.disc_blur, "off"),
                       "norm": (self.norm, "instance"), "r1": (self.r1, 0.0)}  # fmt: skip
        for field, (value, only) in unsupported.items():
            if value != only:
                raise ValueError(
                    f"ugatit has its own local and global discriminators and normalisation; {field}={value!r} "
                    f"is not one of its settings (leave {field} at {only!r})"
                )
        return self

    @property
    def global_layers(self) -> int:
        """The global discriminator's stride-2 layers: down to a 4×4 map (log2(image_size) − 2)."""
        return self.image_size.bit_length() - 3


ZOO: Preset = {"model": {"ema": 0.999}, "train": {"steps": 30_000}, "data": {"name": "cartoon", "to": "anime"}}
"""The recipe a long run of ugatit is measured by against the released cyclegan-resnet: the same one (ten times the
budget's steps, the generators' moving average, the paper's decay to zero over the second half), so that the
networks are the one difference. It is released only if it measures better."""
CURVE_GROUPS = {
    "generators": ["loss_G", "adv_A", "adv_B"],
    "cycle and identity": ["cycle_A", "cycle_B", "idt_A", "idt_B"],
    "attention": ["cam_A", "cam_B"],
    "discriminators": ["D_A", "D_B"],
}


@register_model(
    "ugatit",
    family="ugatit",
    description="U-GAT-IT (Kim et al. 2020): unpaired translation with attention and AdaLIN, made for anime.",
    capabilities={"translate"},
    config=UGATITConfig,
    train_defaults=TRAIN_DEFAULTS,
    curve_groups=CURVE_GROUPS,
    presets={"zoo": ZOO},
)
def ugatit(config: UGATITConfig) -> UGATIT:
    from genzoo.models.ugatit.model import UGATIT

    return UGATIT(config)

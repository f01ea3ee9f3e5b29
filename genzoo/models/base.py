"""What every model family implements, the training protocol and the sampling protocol, and the ``StepContext`` its
training step runs in.

**Training.** The family owns its step, because a VAE takes one optimizer step and a CycleGAN alternates two
generators and two discriminators; the ``Trainer`` owns everything around it. A family declares its optimizers
(``configure_optimizers``) and LR schedules (``configure_schedulers``), and ``train_step(batch, ctx)`` computes its
losses inside ``ctx.autocast()``, calls ``ctx.backward(loss)`` and ``ctx.step(name)``, and returns the detached loss
terms to log. Whatever the step keeps between steps (an image pool, a counter) is returned by ``extra_state`` and
restored by ``load_extra_state``, so that a resumed run continues exactly.

**Sampling.** A family implements the capabilities it registers: ``sample``, ``reconstruct``, ``translate``,
``encode``. All of them take and return images in ``[0, 1]``; inside, a model may work in ``[-1, 1]``
(``pixel_range = "symmetric"``), and the trainer hands it batches already in that range. A model that samples from
a latent vector also tells its size (``latent_dim``) and renders given vectors (``decode``), which is what latent
interpolation needs; a conditional model names the attribute values its ``conditions`` index
(``condition_values``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import Tensor, nn

from genzoo import distributed
from genzoo.config import ModelConfig
from genzoo.data.tensors import image_tensor
from genzoo.distributed import World
from genzoo.errors import CapabilityError
from genzoo.images import Row
from genzoo.registry import models

__all__ = ["Batch", "GenerativeModel", "Row", "StepContext", "image_tensor"]


@dataclass
class Batch:
    """One training batch, on the model's device, in the model's pixel range.

    ``x``: images of the data set (of domain A for a translator); ``y``: images of the second domain, drawn
    independently (unpaired); ``attrs``: integer attribute codes of ``x`` (``(B, K)``), when the data has them.
    """

    x: Tensor
    y: Tensor | None = None
    attrs: Tensor | None = None


class GenerativeModel(nn.Module):
    """Base class of every genzoo model. Subclasses set ``config`` and build their networks in ``__init__``."""

    pixel_range: ClassVar[Literal["unit", "symmetric"]] = "unit"
    averaged: ClassVar[tuple[str, ...]] = ()
    """Submodules whose weights the Trainer keeps a moving average of, when ``average_decay`` is above 0 (e.g. a
    GAN's generator); sampling, translation and evaluation then use the averaged weights (``genzoo.models.average``)."""
    training_only: ClassVar[tuple[str, ...]] = ()
    """Submodules only training uses (discriminators, projection heads): an inference-only file (``genzoo export``,
    released weights) leaves them out, and a model loaded from one keeps them at their initial weights."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.model_name = ""  # set by the registry entry that builds it
        self.data_info: dict[str, Any] = {}  # set by the trainer: domains, attribute schema; saved in checkpoints
        self.weights: Literal["raw", "average"] = "raw"  # which weights it has: trained, or their moving average

    # ---- pixels --------------------------------------------------------------------------------------------------

    def from_unit(self, x: Tensor) -> Tensor:
        """``[0, 1]`` images into the model's range."""
        return x * 2 - 1 if self.pixel_range == "symmetric" else x

    def to_unit(self, x: Tensor) -> Tensor:
        """The model's images back into ``[0, 1]``."""
        return ((x + 1) / 2).clamp(0, 1) if self.pixel_range == "symmetric" else x.clamp(0, 1)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # ---- training protocol ------------------------------------------------------------------------------------------

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError(f"{type(self).__name__} does not declare its optimizers")

    def configure_schedulers(
        self, optimizers: dict[str, torch.optim.Optimizer], total_steps: int
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        """LR schedules, stepped once per training step. Default: none (constant learning rates)."""
        return {}

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        raise NotImplementedError(f"{type(self).__name__} does not implement train_step")

    @property
    def average_decay(self) -> float:
        """Decay of the moving average of the ``averaged`` submodules' weights (0: none), usually a config field."""
        return 0.0

    @property
    def average_follows_lr(self) -> bool:
        """Whether each step's share of that average scales with the averaged weights' learning rate over its
        initial value, so that a decay to zero leaves the average standing rather than shrinking it to the last
        weights (``genzoo.models.average.WeightAverage``). Default: no, a fixed share per step."""
        return False

    def moves_averaged(self, step: int) -> bool:
        """Whether training step ``step`` (0-based) changes the ``averaged`` submodules' weights: the Trainer moves
        their average only after such steps, so that its decay counts their updates. Default: every step."""
        return True

    @property
    def channels_last_on_cpu(self) -> bool:
        """Whether this model trains faster with channels-last tensors on the CPU in fp32, as measured for its
        family (``train.memory_format=auto`` uses it; benchmarks/bench_layout.py). Default: no."""
        return False

    def refresh_statistics(self, generator: torch.Generator) -> None:
        """Recompute the running statistics (BatchNorm's) of the ``averaged`` submodules for the weights they hold
        now, drawing any random inputs from ``generator``. The moving average of the weights never ran with the
        statistics the trained weights collected, so the Trainer calls this with the averaged weights in place
        before it saves or draws with them. Default: nothing (no such statistics, e.g. instance normalisation)."""

    def upgrade_weights(self, weights: dict[str, Tensor]) -> dict[str, Tensor]:
        """Weights as an older genzoo saved them, renamed to what this version's model expects (default: as they
        are). Called on every checkpoint before it is loaded."""
        return weights

    def extra_state(self) -> Any:
        """State kept between training steps outside parameters and buffers (nested dicts/lists/tensors)."""
        return None

    def load_extra_state(self, state: Any) -> None:
        """Restore what ``extra_state`` returned."""

    def preview(self, batch: Batch, generator: torch.Generator) -> list[Row]:
        """Rows of ``[0, 1]`` images showing progress, each best with its label: ``("reconstruction", images)``
        (a bare tensor is an unlabelled row)."""
        return []

    # ---- sampling protocol -----------------------------------------------------------------------------------------

    def sample(self, n: int, generator: torch.Generator, conditions: dict[str, Sequence[int]] | None = None) -> Tensor:
        """``n`` images; ``conditions`` (conditional models) maps an attribute to one value index per image."""
        raise self.cannot("sample")

    @property
    def latent_dim(self) -> int | None:
        """Size of the latent vectors ``decode`` takes, for a model that samples from a latent; else None."""
        return None

    @property
    def condition_values(self) -> dict[str, list[str]]:
        """A conditional model's attributes and their value names (``conditions`` hold indices into these)."""
        return {}

    def decode(self, z: Tensor, conditions: dict[str, Sequence[int]] | None = None) -> Tensor:
        """Images from latent vectors ``(N, latent_dim)``; a conditional model needs a value for every attribute."""
        raise self.cannot("decode latent vectors")

    def reconstruct(self, x: Tensor) -> Tensor:
        raise self.cannot("reconstruct")

    def encode(self, x: Tensor) -> Tensor:
        raise self.cannot("encode")

    def translate(self, x: Tensor, to: str) -> Tensor:
        raise self.cannot("translate")

    @property
    def domains(self) -> tuple[str, ...]:
        """A translator's two domains, (A, B), whose names ``translate``'s ``to`` takes; empty for other models."""
        return ()

    def cannot(self, what: str) -> CapabilityError:
        name = self.model_name or type(self).__name__
        can = sorted(models.get(name).capabilities) if name in models else []
        serve = f"It can: {', '.join(can)}." if can else ""
        return CapabilityError(f"{name} cannot {what}. {serve}".strip())


# ---- the step context ----------------------------------------------------------------------------------------------


class StepContext:
    """What a model's ``train_step`` uses to run its step under the Trainer's precision and optimizers.

    Under torchrun, ``step`` first averages the optimizer's gradients over the processes. With ``skip_nonfinite``
    it leaves out an optimizer step whose gradients hold a NaN or an infinity (and sets ``skipped``).
    """

    def __init__(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        device: torch.device,
        dtype: torch.dtype | None,
        total_steps: int,
        world: World | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        self.optimizers = optimizers
        self.device = device
        self.dtype = dtype
        self.total_steps = total_steps
        self.world = world or World()
        self.skip_nonfinite = skip_nonfinite
        self.global_step = 0
        self.skipped = False
        self.scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None

    def begin(self, step: int) -> None:
        self.global_step, self.skipped = step, False

    def autocast(self) -> AbstractContextManager[Any]:
        """The mixed-precision region for forward passes (a no-op in fp32)."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, name: str) -> None:
        """Step the optimizer called ``name`` on its accumulated gradients, then clear them."""
        opt = self.optimizers[name]
        params = [p for group in opt.param_groups for p in group["params"]]
        distributed.average_gradients(params, self.world)
        if self.scaler is not None:  # it skips steps with non-finite gradients itself, lowering its scale
            self.scaler.step(opt)
        elif self.skip_nonfinite and not _finite_gradients(params):
            self.skipped = True
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def zero_grad(self, name: str) -> None:
        """Drop gradients that another network's loss left on ``name``'s parameters."""
        self.optimizers[name].zero_grad(set_to_none=True)


def _finite_gradients(params: list[Tensor]) -> bool:
    grads = [p.grad for p in params if p.grad is not None]
    return not grads or bool(torch.isfinite(torch.stack(torch._foreach_norm(grads, float("inf")))).all())

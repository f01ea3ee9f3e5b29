"""A moving average of a model's weights, which the Trainer keeps for families that ask for one.

A GAN's or a translator's generator oscillates around a good solution from step to step, and its samples carry that
noise; the average of its recent weights (Karras et al., 2018; Yazıcı et al., 2019) draws cleaner images. A family
names the submodules to average (``GenerativeModel.averaged``) and the decay (``average_decay``, 0: none). The
Trainer updates the average after every step, saves it beside the weights in every checkpoint (tensors named
``average/<submodule>.<name>``) and restores it on resume; ``genzoo.load`` puts the averaged weights into the model
(unless asked for the raw ones), so sampling, translation and evaluation use them without knowing.

Running statistics (BatchNorm's) belong to the weights that collected them. Before the average is saved or drawn
with, its statistics are computed again for the averaged weights (``GenerativeModel.refresh_statistics``, from a
fixed seed: the "standing statistics" of Brock et al., 2019), so that a checkpoint holds weights and statistics that
fit each other and a resumed run saves the same ones.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import torch
from torch import Tensor

from genzoo.checkpoint import AVERAGE_PREFIX
from genzoo.errors import CheckpointError, GenzooError
from genzoo.models.base import GenerativeModel

WARMUP = 10
"""The decay starts low and rises as ``(1 + step) / (WARMUP + step)`` to ``decay``, so that the average forgets
the random initial weights quickly."""
STATISTICS_SEED = 0
"""Seed of the random inputs from which the averaged weights' running statistics are computed."""


def _named(model: GenerativeModel, module: str) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """The parameters and the buffers of ``model``'s submodule ``module``, by ``module.name``."""
    sub = model.get_submodule(module)
    params = {f"{module}.{k}": p for k, p in sub.named_parameters()}
    buffers = {f"{module}.{k}": b for k, b in sub.named_buffers()}
    return params, buffers


class WeightAverage:
    """The moving average of the submodules ``model.averaged``: parameters are averaged with ``decay``; buffers
    (BatchNorm statistics) follow the trained ones until ``state_dict`` computes them for the averaged weights.

    Given ``optimizers`` (a model whose ``average_follows_lr``), each step's share of the average is scaled by the
    learning rate the averaged weights were trained with at that step, over its initial value (``rate``): the average
    then spans the same stretch of training as the rate decays, and stands still where the rate reaches zero,
    instead of shrinking to the last few weights. While the rate is constant the two are the same numbers."""

    def __init__(
        self, model: GenerativeModel, decay: float, optimizers: Mapping[str, torch.optim.Optimizer] | None = None
    ) -> None:
        self.decay, self.modules = decay, tuple(model.averaged)
        self.trainer = None if optimizers is None else _trainer_of(model, self.modules, optimizers)
        self.params: dict[str, Tensor] = {}
        self.buffers: dict[str, Tensor] = {}
        for module in self.modules:
            params, buffers = _named(model, module)
            self.params |= {k: v.detach().clone() for k, v in params.items()}
            self.buffers |= {k: v.detach().clone() for k, v in buffers.items()}
        self.settled = not self.buffers  # whether the buffers are the averaged weights' own statistics

    def rate(self) -> float:
        """The averaged weights' learning rate now over its initial value, for an average that follows it; else 1.
        Read before a step's schedulers move the rate, it is the rate of that step."""
        if self.trainer is None:
            return 1.0
        optimizer, index = self.trainer
        group = optimizer.param_groups[index]  # looked up each time: loading an optimizer's state replaces its groups
        initial = group.get("initial_lr", group["lr"])
        return float(group["lr"]) / float(initial) if initial else 1.0

    @torch.no_grad()
    def update(self, model: GenerativeModel, step: int, rate: float = 1.0) -> None:
        """Move the average towards the model's weights after step ``step`` (0-based), by a share scaled by
        ``rate`` (``WeightAverage.rate`` at that step)."""
        weight = (1 - min(self.decay, (1 + step) / (WARMUP + step))) * rate
        for module in self.modules:
            params, buffers = _named(model, module)
            torch._foreach_lerp_([self.params[k] for k in params], [p.detach() for p in params.values()], weight)
            for k, b in buffers.items():
                self.buffers[k].copy_(b)
        self.settled = not self.buffers

    def state_dict(self, model: GenerativeModel) -> dict[str, Tensor]:
        """The averaged tensors as a checkpoint stores them (``average/…``), with the running statistics of the
        averaged weights (computed on ``model``, whose own weights and statistics are left as they were)."""
        if not self.settled:
            self._refresh_statistics(model)
        return self._tensors()

    def _tensors(self) -> dict[str, Tensor]:
        return {AVERAGE_PREFIX + k: v for k, v in {**self.params, **self.buffers}.items()}

    @torch.no_grad()
    def _refresh_statistics(self, model: GenerativeModel) -> None:
        trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
        try:
            apply_average(model, self._tensors())
            model.refresh_statistics(torch.Generator().manual_seed(STATISTICS_SEED))
            for module in self.modules:
                for k, b in _named(model, module)[1].items():
                    self.buffers[k].copy_(b)
        finally:
            model.load_state_dict(trained)
        self.settled = True

    def load_state_dict(self, tensors: Mapping[str, Tensor]) -> None:
        """Restore what ``state_dict`` returned (a resumed run)."""
        own = {**self.params, **self.buffers}
        missing = sorted(set(own) - {k.removeprefix(AVERAGE_PREFIX) for k in tensors})
        if missing:
            raise CheckpointError(f"The checkpoint's weight average lacks {', '.join(missing[:3])}.")
        with torch.no_grad():
            for k, v in own.items():
                v.copy_(tensors[AVERAGE_PREFIX + k])
        self.settled = True

    @contextmanager
    def applied(self, model: GenerativeModel) -> Iterator[None]:
        """The model with the averaged weights inside the block (previews, a finished run's pictures and metrics),
        its trained weights again after it."""
        averaged = self.state_dict(model)
        trained = {k: v.detach().clone() for k, v in model.state_dict().items()}
        apply_average(model, averaged)
        model.weights = "average"
        try:
            yield
        finally:
            model.load_state_dict(trained)
            model.weights = "raw"


def _trainer_of(
    model: GenerativeModel, modules: tuple[str, ...], optimizers: Mapping[str, torch.optim.Optimizer]
) -> tuple[torch.optim.Optimizer, int]:
    """The optimizer and the index of its parameter group that train the averaged submodules (their first
    parameter's)."""
    first = next(p for module in modules for p in model.get_submodule(module).parameters())
    for optimizer in optimizers.values():
        for index, group in enumerate(optimizer.param_groups):
            if any(p is first for p in group["params"]):
                return optimizer, index
    raise GenzooError(
        f"No optimizer of {type(model).__name__} trains its averaged weights ({', '.join(modules)}), so the average "
        "cannot follow their learning rate. Set ema_follows_lr=false."
    )


def apply_average(model: GenerativeModel, tensors: Mapping[str, Tensor]) -> None:
    """Copy saved averaged tensors (``average/…``) into the model's submodules, in place of their trained weights."""
    own = model.state_dict()
    with torch.no_grad():
        for key, value in tensors.items():
            name = key.removeprefix(AVERAGE_PREFIX)
            if name not in own or own[name].shape != value.shape:
                raise CheckpointError(
                    f"The checkpoint's weight average does not fit {model.model_name} ({name}); it is damaged or of "
                    "another version. Load the trained weights instead (--raw-weights)."
                )
            own[name].copy_(value)

"""KL-weight schedules: the factor (in ``[0, 1]``) the KL term's weight is multiplied by at a given step.

``constant``: always 1. ``linear``: rises from 0 to 1 over ``warmup_steps``, then stays. ``cyclical`` (Fu et al.,
2019): training is cut into cycles of ``cycle_steps``; in each, the factor rises linearly from 0 over the first
``ratio`` of the cycle and then holds at 1.
"""

from __future__ import annotations

from typing import Protocol

from genzoo.registry import register_loss


class Schedule(Protocol):
    warmup_steps: int
    cycle_steps: int
    ratio: float


@register_loss("constant", kind="kl_schedule", description="KL weight constant from the first step.")
def constant(step: int, schedule: Schedule) -> float:
    return 1.0


@register_loss("linear", kind="kl_schedule", description="KL weight rising linearly from 0 over warmup_steps.")
def linear(step: int, schedule: Schedule) -> float:
    return min(1.0, step / max(1, schedule.warmup_steps))


@register_loss(
    "cyclical",
    kind="kl_schedule",
    description="KL weight rising over the first `ratio` of every cycle of cycle_steps, then held.",
)
def cyclical(step: int, schedule: Schedule) -> float:
    position = (step % max(1, schedule.cycle_steps)) / max(1, schedule.cycle_steps)
    return min(1.0, position / max(1e-8, schedule.ratio))

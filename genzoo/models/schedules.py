"""Learning-rate schedules more than one model family uses."""

from __future__ import annotations

from collections.abc import Callable


def linear_decay(total_steps: int, decay_start: float) -> Callable[[int], float]:
    """LR factor per step: 1 until ``decay_start·total_steps``, then linearly down to 0 at ``total_steps`` (the
    reference CycleGAN's schedule; ``decay_start`` 1 keeps the rate constant)."""
    start = min(int(decay_start * total_steps), total_steps)
    span = max(1, total_steps - start)

    def factor(step: int) -> float:
        return 1.0 if step < start else max(0.0, (total_steps - step) / span)

    return factor

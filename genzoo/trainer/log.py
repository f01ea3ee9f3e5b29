"""What the Trainer counts and writes between checkpoints: the averaged loss terms of each logging window, in
``metrics.jsonl`` (and TensorBoard), and the steps skipped for a non-finite loss."""

from __future__ import annotations

import json
from types import TracebackType
from typing import IO, Any

import torch
from torch import Tensor

from genzoo.io import atomic_write
from genzoo.runs import RunDir
from genzoo.trainer.tensorboard import TensorBoard


class Tally:
    """The loss terms summed since the last metrics line (over ``window`` steps; a term that not every step reports,
    such as a generator's loss when the discriminator steps more often, over the steps that reported it:
    ``counts``), and the count of steps skipped for a non-finite loss (in all, and in a row). Saved in every
    checkpoint, so that a run resumed from a checkpoint taken inside a logging window writes the same lines as one
    never interrupted."""

    def __init__(self) -> None:
        self.sums: dict[str, Tensor] = {}
        self.counts: dict[str, int] = {}
        self.window = 0
        self.skipped = 0
        self.bad_in_a_row = 0

    def add(self, logs: dict[str, Tensor]) -> None:
        """Count one step that went through: its loss terms join the window's sums."""
        for k, v in logs.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v.float().clone()
            self.counts[k] = self.counts.get(k, 0) + 1
        self.window += 1
        self.bad_in_a_row = 0

    def skip(self) -> None:
        """Count one step whose update was left out (``train.on_nan=skip``)."""
        self.skipped += 1
        self.bad_in_a_row += 1

    def close_window(self) -> dict[str, float]:
        """The window's averages; the next window starts empty."""
        averages = {k: float(v) / self.counts[k] for k, v in self.sums.items()}
        self.sums, self.counts, self.window = {}, {}, 0
        return averages

    def state(self) -> dict[str, Any]:
        window = {"sums": dict(self.sums), "counts": dict(self.counts), "steps": self.window}
        return {"skipped": [self.skipped, self.bad_in_a_row], "window": window}

    def load(self, state: dict[str, Any], device: torch.device) -> None:
        self.skipped, self.bad_in_a_row = state.get("skipped", [0, 0])
        window = state.get("window", {"sums": {}, "steps": 0})
        self.sums = {k: v.to(device) for k, v in window["sums"].items()}
        self.window = window["steps"]
        # a checkpoint written before the counts were kept: every term was reported at every step
        self.counts = {k: int(window.get("counts", {}).get(k, self.window)) for k in self.sums}


class MetricsLog:
    """``metrics.jsonl``, appended one line per logging window and flushed after each, with TensorBoard beside it
    when ``train.log`` asks for it. Only rank 0 writes (``enabled``)."""

    def __init__(self, run: RunDir, *, enabled: bool, tensorboard: bool, start: int) -> None:
        self.run, self.enabled = run, enabled
        self.board = (
            TensorBoard(run.path / "tensorboard", purge_step=start + 1 if start else None)
            if enabled and tensorboard
            else None
        )
        self._file: IO[str] | None = None

    def __enter__(self) -> MetricsLog:
        if self.enabled:
            self._file = self.run.metrics_file.open("a")
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()
        if self.board is not None:
            self.board.close()

    def write(self, line: dict[str, Any]) -> None:
        if self._file is not None:
            self._file.write(json.dumps(line) + "\n")
            self._file.flush()
        if self.board is not None:
            self.board.scalars(line)

    def image(self, tag: str, png: Any, step: int) -> None:
        if self.board is not None and png is not None:
            self.board.image(tag, png, step)


def truncate_metrics(run: RunDir, step: int) -> None:
    """Drop the ``metrics.jsonl`` lines written after ``step`` (a resumed run's checkpoint), so that no step is logged
    twice."""
    lines = [m for m in run.read_metrics() if m["step"] <= step]
    atomic_write(run.metrics_file, "".join(json.dumps(m) + "\n" for m in lines).encode())

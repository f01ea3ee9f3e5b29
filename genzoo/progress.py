"""The rich progress display of a training run: data preparation, then steps with the latest losses and an ETA."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class TrainProgress:
    """Context manager around a rich ``Progress``; every method is a no-op when ``enabled`` is False."""

    def __init__(self, enabled: bool = True, console: Console | None = None, notes: bool = True) -> None:
        self.enabled, self.notes = enabled, notes
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            console=console or Console(stderr=True),
            transient=False,
            disable=not enabled,
        )
        self._data: dict[str, TaskID] = {}
        self._train: TaskID | None = None
        self._total = 0

    def __enter__(self) -> TrainProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(et, e, tb)

    def data_progress(self, description: str, done: int, total: int) -> None:
        if description not in self._data:
            self._data[description] = self._progress.add_task(description, total=total, losses="")
        self._progress.update(self._data[description], completed=done, total=total)

    def note(self, text: str) -> None:
        """A line printed above the bars (also when the bars are disabled: notes are silent only with ``notes``
        False, which the Trainer sets on every process but rank 0 under torchrun)."""
        if self.notes:
            self._progress.console.print(f"[yellow]note:[/] {escape(text)}", highlight=False, soft_wrap=True)

    def start(self, total: int, completed: int) -> None:
        self._total = total
        self._train = self._progress.add_task("training", total=total, completed=completed, losses="")

    def advance(self, completed: int) -> None:
        if self._train is not None:
            self._progress.update(self._train, completed=completed)

    def losses(self, step: int, values: dict[str, float]) -> None:
        if self._train is None:
            return
        text = "  ".join(f"{k} {v:.4g}" for k, v in values.items())
        self._progress.update(self._train, losses=text)
        console = self._progress.console
        if self.enabled and not console.is_terminal:  # a log file gets a line per logging step instead of a bar
            console.print(f"step {step}/{self._total}  {text}", highlight=False)

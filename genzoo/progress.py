"""The progress display of a training run: data preparation, then the steps with an ETA and the latest losses.

Laid out for narrow terminals (and notebooks' 80 columns): the training row keeps its bar, ``step/total``, elapsed
time and ETA at any width down to 60 columns, and the latest losses go on a line of their own below it, shortened
with an ellipsis to the width there is. Data-preparation rows (rendering, decoding) collapse into one line once
finished. Without a terminal (a log file, a pipe, CI), there is no live display: each finished piece of data work
and each logging step is a whole line, printed when it happens, so a captured log reads in order.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console, ConsoleDimensions, RenderableType
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
from rich.table import Column
from rich.text import Text


class _Display(Progress):
    """A ``Progress`` that shows, under its rows, one line of finished data work and one of the latest losses."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.done_work: list[str] = []  # set first: the parent's constructor renders once
        self.loss_line = ""
        super().__init__(*args, **kwargs)

    def get_renderables(self) -> Any:
        if self.done_work:
            yield Text("✓ " + " · ".join(self.done_work), style="dim", no_wrap=True, overflow="ellipsis")
        yield self.make_tasks_table(self.tasks)
        if self.loss_line:
            yield Text(self.loss_line, no_wrap=True, overflow="ellipsis")


FILE_WIDTH = 200
"""The width a ``LineConsole`` lays tables out in when it writes to a file or a pipe."""


class LineConsole(Console):
    """A rich console that lays out for a terminal and writes whole lines anywhere else: to a file, a pipe or a CI
    log, text is never wrapped or cut (soft wrap) and tables get ``FILE_WIDTH`` columns, so that a value is never
    split over two lines. A terminal keeps rich's own layout at its width."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(max(size.width, FILE_WIDTH), size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def print(self, *objects: Any, **options: Any) -> None:
        if options.get("soft_wrap") is None and not self.is_terminal:
            options["soft_wrap"] = True
        super().print(*objects, **options)


class TrainProgress:
    """Context manager around the display; every method is a no-op when ``enabled`` is False."""

    def __init__(self, enabled: bool = True, console: Console | None = None, notes: bool = True) -> None:
        self.enabled, self.notes = enabled, notes
        console = console or LineConsole(stderr=True)
        self._lines = enabled and not console.is_terminal  # whole lines as things happen, no live display
        fixed = {"no_wrap": True}
        self._progress = _Display(
            TextColumn("[bold]{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            BarColumn(bar_width=None, table_column=Column(ratio=2)),
            MofNCompleteColumn(table_column=Column(**fixed)),
            TimeElapsedColumn(table_column=Column(**fixed)),
            TextColumn("eta", table_column=Column(**fixed)),
            TimeRemainingColumn(table_column=Column(**fixed)),
            console=console,
            transient=False,
            disable=not enabled or self._lines,
            expand=True,
        )
        self._data: dict[str, tuple[TaskID, float]] = {}
        self._train: TaskID | None = None
        self._total = 0
        self._started = False

    def __enter__(self) -> TrainProgress:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        if self._started:
            self._progress.__exit__(et, e, tb)

    def _show(self) -> None:
        """Start the live display with its first row: a run that fails before it has any leaves no empty line."""
        if not self._started:
            self._started = True
            self._progress.__enter__()

    @property
    def renderable(self) -> RenderableType:
        """What the display shows now (for tests and for printing it elsewhere)."""
        return self._progress.get_renderable()

    def data_progress(self, description: str, done: int, total: int) -> None:
        """Data work under way: a row while it runs, folded into the one line of finished work when done."""
        if description not in self._data:
            self._show()
            task = self._progress.add_task(description, total=total)
            self._data[description] = (task, time.perf_counter())
        task, started = self._data[description]
        if done >= total:
            self._progress.remove_task(task)
            self._data[description] = (task, -1.0)
            if started >= 0:
                finished = f"{description} ({total}, {time.perf_counter() - started:.0f} s)"
                if self._lines:
                    self._progress.console.print(f"✓ {escape(finished)}", highlight=False)
                else:
                    self._progress.done_work.append(finished)
        elif started >= 0:
            self._progress.update(task, completed=done, total=total)

    def note(self, text: str) -> None:
        """A line printed above the bars (also when the bars are disabled: notes are silent only with ``notes``
        False, which the Trainer sets on every process but rank 0 under torchrun)."""
        if self.notes:
            self._progress.console.print(f"[yellow]note:[/] {escape(text)}", highlight=False, soft_wrap=True)

    def start(self, total: int, completed: int) -> None:
        self._show()
        self._total = total
        self._train = self._progress.add_task("training", total=total, completed=completed)

    def advance(self, completed: int) -> None:
        if self._train is not None:
            self._progress.update(self._train, completed=completed)

    def losses(self, step: int, values: dict[str, float]) -> None:
        if self._train is None:
            return
        text = "  ".join(f"{k} {v:.4g}" for k, v in values.items())
        self._progress.loss_line = text
        if self._lines:  # a log file gets a line per logging step instead of a bar
            self._progress.console.print(f"step {step}/{self._total}  {text}", highlight=False)

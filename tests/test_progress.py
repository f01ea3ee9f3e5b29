"""What a user sees in a narrow terminal: the training progress and `genzoo list` at 60 and 80 columns."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from genzoo.cli.inspect import entry_table
from genzoo.progress import TrainProgress
from genzoo.registry import models

LOSSES = {"loss": 722.2, "recon": 682.9, "kl": 157.2, "beta": 0.25, "adv_A": 0.31, "adv_B": 0.29, "cycle_A": 1.25}


def shown(renderable: object, width: int) -> list[str]:
    out = Console(width=width, file=io.StringIO(), color_system=None, record=True)
    out.print(renderable)
    return out.export_text().splitlines()


@pytest.mark.parametrize("width", [60, 80])
def test_the_training_row_keeps_bar_steps_time_and_eta(width: int) -> None:
    ui = TrainProgress(console=Console(width=width, file=io.StringIO(), force_terminal=True))
    with ui:
        ui.data_progress("rendering train cartoon faces", 10000, 10000)
        ui.data_progress("rendering held-out cartoon faces", 400, 1000)
        ui.start(3000, 0)
        ui.advance(1200)
        ui.losses(1200, LOSSES)
        lines = shown(ui.renderable, width)
    assert all(len(line) <= width for line in lines)
    training = next(line for line in lines if line.startswith("training"))
    assert "━" in training and "1200/3000" in training and "eta" in training and "0:00:0" in training
    assert lines[-1].startswith("loss 722.2  recon 682.9") and lines[-1].endswith("…")  # shortened to fit
    finished = [line for line in lines if "rendering train cartoon faces" in line]
    assert len(finished) == 1 and finished[0].startswith("✓")  # a finished row folds into one line
    assert any("400/1000" in line for line in lines)


def test_a_wide_terminal_shows_every_loss() -> None:
    ui = TrainProgress(console=Console(width=200, file=io.StringIO(), force_terminal=True))
    with ui:
        ui.start(3000, 0)
        ui.losses(50, LOSSES)
        assert (
            shown(ui.renderable, 200)[-1]
            == "loss 722.2  recon 682.9  kl 157.2  beta 0.25  adv_A 0.31  adv_B 0.29  cycle_A 1.25"
        )


def test_a_run_that_fails_before_any_row_prints_nothing() -> None:
    out = io.StringIO()
    with pytest.raises(RuntimeError), TrainProgress(console=Console(file=out, force_terminal=True)):
        raise RuntimeError("a bad folder")
    assert out.getvalue() == ""


@pytest.mark.parametrize("width", [80, 100])
def test_the_model_list_fits_and_never_cuts_a_name(width: int) -> None:
    entries = models.entries()
    lines = shown(entry_table(entries, "genzoo models", width), width)
    assert all(len(line) <= width for line in lines)
    text = "\n".join(lines)
    for entry in entries:
        row = next(line for line in lines if line.strip().startswith(entry.name + " "))
        assert entry.family in row and ",".join(sorted(entry.capabilities)) in row
    assert "all built-in" in text and "genzoo info NAME" in text

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


def test_output_that_is_no_terminal_is_whole_lines() -> None:
    """To a file, a pipe or a CI log nothing is wrapped or cut; a terminal of 80 columns keeps rich's layout."""
    import io

    from rich.table import Table

    from genzoo.progress import FILE_WIDTH, LineConsole

    words = " ".join(f"value{i:03d}" for i in range(25))  # 224 characters
    table = Table("name", "summary")
    table.add_row("cyclegan-resnet", "CycleGAN with ResNet generators (Zhu et al. 2017): unpaired translation " * 2)
    piped = io.StringIO()
    console = LineConsole(file=piped, width=80)
    console.print(words)
    console.print(table)
    lines = piped.getvalue().splitlines()
    assert lines[0] == words  # one line, not wrapped at 80
    assert max(len(line) for line in lines[1:]) <= FILE_WIDTH and "…" not in piped.getvalue()  # the table
    assert any("(Zhu et al. 2017): unpaired translation CycleGAN" in line for line in lines)  # not folded
    terminal = io.StringIO()
    LineConsole(file=terminal, width=80, force_terminal=True, color_system=None).print(words)
    assert max(len(line) for line in terminal.getvalue().splitlines()) <= 80


def test_a_piped_command_prints_whole_rows() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "GENZOO_DISABLE_PLUGINS": "1"}
    done = subprocess.run([sys.executable, "-m", "genzoo", "list"], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "Auxiliary-classifier GAN (Odena et al.)" in rows["acgan"] and "…" not in done.stdout


def test_a_log_gets_whole_lines_in_the_order_things_happened() -> None:
    """No live display without a terminal: finished data work and each logging step are lines, printed at once."""
    from genzoo.progress import LineConsole

    out = io.StringIO()
    description = "rendering held-out cartoon faces (a long description that would not fit in eighty columns)"
    with TrainProgress(console=LineConsole(file=out, width=80)) as ui:
        ui.data_progress(description, 10, 1000)
        ui.data_progress(description, 1000, 1000)
        ui.start(20, 0)
        ui.advance(10)
        ui.losses(10, LOSSES)
        ui.note("a note in between")
        ui.advance(20)
        ui.losses(20, {"loss": 1.5})
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"✓ {description} (1000, ") and lines[0].endswith(" s)")
    assert lines[1] == "step 10/20  " + "  ".join(f"{k} {v:.4g}" for k, v in LOSSES.items())
    assert lines[2] == "note: a note in between" and lines[3] == "step 20/20  loss 1.5"
    assert len(lines) == 4 and "…" not in out.getvalue() and "━" not in out.getvalue()

"""``genzoo train``: train a model, or continue a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from genzoo import api
from genzoo.cli.app import app, console, err_console, print_json
from genzoo.cli.completion import complete_data, complete_models, complete_sources
from genzoo.report.tables import summary_line


@app.command()
def train(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Model to train (see `genzoo list`); optional with --resume.", autocompletion=complete_models
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="Built-in data set (cartoon) or image folder.", autocompletion=complete_data),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="Target domain of a translator: data set or folder.", autocompletion=complete_data),
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="A registered configuration of the model, e.g. zoo: the recipe of its released weights."),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML, TOML or JSON config file.")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", "-s", help="Override a field: key=value (repeatable).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default: runs/<model>-<time>).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the data, when --steps is not given.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed: the same seed repeats a run.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue this run directory from its last checkpoint.")] = None,
    init_from: Annotated[
        str | None,
        typer.Option(
            "--init-from",
            help="Fine-tune: start from these weights (file, run, model name or hf:OWNER/REPO), with their config.",
            autocompletion=complete_sources,
        ),
    ] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first unreadable image instead of skipping it.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    log: Annotated[
        list[str] | None,
        typer.Option("--log", help="Also log to: tensorboard (RUN/tensorboard/; needs genzoo[tensorboard])."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the options and print the run's configuration; train nothing.")
    ] = False,
) -> None:
    """Train a model; the run directory gets config, metrics, previews, checkpoints and final weights.

    On several processes: `torchrun --nproc_per_node N -m genzoo train …` (docs/distributed.md).
    """
    if strict:
        overrides = [*(overrides or []), "data.strict=true"]
    options = {
        "preset": preset, "data": data, "to": to, "config_file": config, "overrides": overrides or (), "out": out
    }
    train_options = {
        "steps": steps, "epochs": epochs, "device": device, "seed": seed, "log": log, "init_from": init_from
    }
    if dry_run:
        checked = api.check_run(name, resume=resume, **options, **train_options)
        print_json(checked.to_json())
        err_console.print("[dim]configuration valid; nothing was trained (--dry-run)[/]", highlight=False)
        return
    result = api.train(name, resume=resume, progress=not quiet, **options, **train_options)
    if not result.main:  # under torchrun, rank 0 reports
        return
    summary = json.loads((result.run_dir / "summary.json").read_text())
    metrics = summary_line(summary.get("heldout") or {})
    console.print(
        f"[bold green]done[/] {result.steps} steps in {result.seconds:.0f} s ({result.images_per_second:.0f} img/s)"
        f"{'; held-out: ' + escape(metrics) if metrics else ''}",
        highlight=False,
    )
    console.print(f"run: {escape(str(result.run_dir))}", highlight=False, soft_wrap=True)

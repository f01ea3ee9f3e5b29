"""``genzoo list`` and ``genzoo info``: what is registered, and what a model name or a checkpoint is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from genzoo import api
from genzoo.cli.app import app, console, err_console, print_json
from genzoo.cli.completion import complete_sources
from genzoo.errors import GenzooError
from genzoo.registry import DatasetEntry, LossEntry, ModelEntry, datasets, losses, models
from genzoo.runs import finished_runs


@app.command("list")
def list_command(
    pattern: Annotated[str | None, typer.Argument(help="fnmatch pattern, e.g. 'vae-*'.")] = None,
    kind: Annotated[str, typer.Option(help="What to list: models, losses or datasets.")] = "models",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List registered models (or losses, or data sets), built-in and from plugins."""
    registries = {"models": models, "losses": losses, "datasets": datasets}
    if kind not in registries:
        raise GenzooError(f"--kind {kind!r} is not one of {', '.join(registries)}.")
    entries = registries[kind].entries(pattern)
    rows = [_entry_row(e) for e in entries]
    if as_json:
        print_json(rows)
    else:
        table = Table(title=f"genzoo {kind}" + (f" matching {pattern!r}" if pattern else ""))
        for column in rows[0] if rows else ["name"]:
            table.add_column(column)
        for row in rows:
            table.add_row(*[str(v) for v in row.values()])
        console.print(table)
    for problem in registries[kind].errors:
        err_console.print(f"[yellow]plugin {problem.name!r} from {problem.distribution} skipped:[/] {problem.error}")


def _entry_row(entry: ModelEntry | LossEntry | DatasetEntry) -> dict[str, Any]:
    row: dict[str, Any] = {"name": entry.name}
    if isinstance(entry, ModelEntry):
        row["family"] = entry.family
        row["capabilities"] = ", ".join(sorted(entry.capabilities))
    if isinstance(entry, LossEntry):
        row["kind"] = entry.kind
    row["description"] = entry.description
    row["source"] = entry.source
    return row


@app.command()
def info(
    source: Annotated[
        str,
        typer.Argument(help="A .safetensors file, a run directory, or a model name.", autocompletion=complete_sources),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (keys: model, config, version, step, …).")
    ] = False,
    parameters: Annotated[
        bool,
        typer.Option(
            "--parameters", help="For a model name: build it at its defaults and count its parameters (loads torch)."
        ),
    ] = False,
) -> None:
    """Tell what a checkpoint is, from its header alone (no tensors are loaded), or what a model name is."""
    if source in models and not Path(source).exists():
        _model_info(source, as_json, parameters)
        return
    header = api.info(source)
    if as_json:
        print_json(header.to_json())
        return
    table = Table(show_header=False, title=str(header.path))
    for key in ("model", "version", "step", "resumable", "num_parameters"):
        table.add_row(key, str(header.to_json()[key]))
    table.add_row("config", json.dumps(header.config, indent=1))
    if header.extra:
        table.add_row("data", json.dumps(header.extra))
    console.print(table)


def _model_info(name: str, as_json: bool, parameters: bool) -> None:
    entry = models.get(name)
    runs = finished_runs(name)
    payload: dict[str, Any] = {
        **_entry_row(entry),
        "config": entry.config().model_dump(mode="json"),
        "train_defaults": entry.train_defaults,
        "newest_run": str(runs[-1].path) if runs else None,
    }
    if parameters:
        payload["num_parameters"] = api.num_parameters(name)
    if as_json:
        print_json(payload)
        return
    table = Table(show_header=False, title=name)
    for key, value in payload.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)

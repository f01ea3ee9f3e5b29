"""``genzoo list`` and ``genzoo info``: what is registered, and what a model name or a checkpoint is."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from genzoo import api
from genzoo.cli.app import app, console, err_console, print_json
from genzoo.cli.completion import complete_sources
from genzoo.errors import GenzooError
from genzoo.registry import BUILTIN, DatasetEntry, LossEntry, ModelEntry, datasets, losses, models
from genzoo.release import show, training_time
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
    if as_json:
        print_json([_entry_row(e) for e in entries])
    else:
        title = f"genzoo {kind}" + (f" matching {pattern!r}" if pattern else "")
        console.print(entry_table(entries, title, console.width))
    for problem in registries[kind].errors:
        err_console.print(f"[yellow]plugin {problem.name!r} from {problem.distribution} skipped:[/] {problem.error}")


def summary(description: str) -> str:
    """The first clause of a description: up to its first colon or semicolon outside brackets, without a final
    full stop."""
    depth = 0
    for i, char in enumerate(description):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and char in ":;" and description[i + 1 : i + 2] == " ":
            return description[:i]
    return description.rstrip(".")


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in an ellipsis when cut."""
    return text if len(text) <= width else text[: max(0, width - 1)].rstrip() + "…"


def entry_table(entries: Sequence[ModelEntry | LossEntry | DatasetEntry], title: str, width: int) -> Table:
    """Registry entries as a table for a terminal ``width`` characters wide: names, families, capabilities and kinds
    are never cut; the one-line summary is shortened to the room left; the source gets a column only when a plugin
    provides some entry."""
    plugins = any(e.source != BUILTIN for e in entries)
    rows = []
    for e in entries:
        cells = [e.name]
        if isinstance(e, ModelEntry):
            cells += [e.family, ",".join(sorted(e.capabilities)), "released" if e.release is not None else "-"]
        if isinstance(e, LossEntry):
            cells.append(e.kind)
        rows.append((cells, summary(e.description), e.source))
    headers = ["name"]
    if entries and isinstance(entries[0], ModelEntry):
        headers += ["family", "capabilities", "weights"]
    if entries and isinstance(entries[0], LossEntry):
        headers.append("kind")
    widths = [max(len(h), *(len(cells[i]) for cells, _, _ in rows)) for i, h in enumerate(headers)]
    source = max((len(r[2]) for r in rows), default=0) if plugins else 0
    room = width - sum(widths) - 3 * (len(widths) + 1 + bool(plugins)) - source  # 3 a column: padding, rule
    notes = [] if plugins else [f"all {BUILTIN}"]
    if entries and isinstance(entries[0], ModelEntry):
        notes.append("`genzoo info NAME` shows the full description and any card")
    table = Table(title=title, caption="; ".join(notes), box=box.SIMPLE_HEAD)
    for header, w in zip(headers, widths, strict=True):
        table.add_column(header, no_wrap=True, min_width=w)
    table.add_column("summary", no_wrap=True)
    if plugins:
        table.add_column("source", no_wrap=True)
    for cells, text, origin in rows:
        table.add_row(*cells, shorten(text, max(room, 8)), *([origin] if plugins else []))
    return table


def _entry_row(entry: ModelEntry | LossEntry | DatasetEntry) -> dict[str, Any]:
    row: dict[str, Any] = {"name": entry.name}
    if isinstance(entry, ModelEntry):
        row["family"] = entry.family
        row["capabilities"] = ", ".join(sorted(entry.capabilities))
        row["released"] = entry.release is not None
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
    card = entry.release.card() if entry.release is not None else None
    payload: dict[str, Any] = {
        **_entry_row(entry),
        "config": entry.config().model_dump(mode="json"),
        "train_defaults": entry.train_defaults,
        "data_defaults": entry.data_defaults,
        "presets": entry.presets,
        "newest_run": str(runs[-1].path) if runs else None,
    }
    if parameters:
        payload["num_parameters"] = api.num_parameters(name)
    if as_json:
        print_json({**payload, "release": _release_json(entry, card)})
        return
    table = Table(show_header=False, title=name)
    for key, value in payload.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)
    if entry.release is not None:
        for part in card_tables(entry, card or {}):
            console.print(part)


def _release_json(entry: ModelEntry, card: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry.release is None:
        return None
    return {"path": str(entry.release.path), "sha256": entry.release.sha256, "card": card or None}


def card_tables(entry: ModelEntry, card: dict[str, Any]) -> list[Table]:
    """The released weights' card as tables: what the file is and how it was made, the ``genzoo eval`` figures
    beside real data, and the learning curve."""
    assert entry.release is not None
    about = Table(show_header=False, title=f"released weights of {entry.name}", box=box.SIMPLE_HEAD)
    rows = {
        "file": str(entry.release.path),
        "sha256": entry.release.sha256,
        "size": f"{card['bytes'] / 1e6:.1f} MB, {card.get('dtype')}" if "bytes" in card else None,
        "parameters": f"{card['parameters']:,}" if "parameters" in card else None,
        "command": card.get("command"),
        "data": json.dumps(card.get("data")) if card.get("data") else None,
        "trained": f"{card['steps']:,} steps in {training_time(card)}" if "steps" in card else None,
        "evaluated": f"genzoo eval, n = {card.get('eval', {}).get('n')}, seed {card.get('eval', {}).get('seed')}"
        if card.get("eval")
        else None,
        "picture": str(entry.release.grid_path) if entry.release.grid_path.is_file() else None,
        "note": card.get("note"),
    }
    for key, value in rows.items():
        if value is not None:
            about.add_row(key, value)
    if not card:
        about.add_row("card", f"missing or unreadable: {entry.release.card_path}")
        return [about]
    figures = Table(title="genzoo eval of the released weights", box=box.SIMPLE_HEAD)
    for column in ("figure", "released", "real data"):
        figures.add_column(column, justify="left" if column == "figure" else "right")
    for f in card.get("figures") or []:
        figures.add_row(f["label"], show(f["value"], f["kind"]), show(f["real"], f["kind"]))
    tables = [about, figures]
    points = card.get("curve") or []
    if points:
        kinds = {f["key"]: (f["label"], f["kind"]) for f in card.get("figures") or []}
        keys = [k for k in kinds if all(k in p["figures"] for p in points)][:8]
        curve = Table(title="learning curve", box=box.SIMPLE_HEAD)
        curve.add_column("step", justify="right")
        curve.add_column("minutes", justify="right")
        for k in keys:
            curve.add_column(kinds[k][0], justify="right")
        for p in points:
            spent = "—" if p.get("seconds") is None else f"{p['seconds'] / 60:,.0f}"
            curve.add_row(f"{p['step']:,}", spent, *(show(p["figures"][k], kinds[k][1]) for k in keys))
        tables.append(curve)
    return tables

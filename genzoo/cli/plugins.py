"""``genzoo plugins``: the installed plugin distributions, what each registers, and what failed to load.

Only the plugins' registering modules are imported (they must not import torch), so the command stays instant.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Annotated, Any

import typer
from rich.table import Table

from genzoo import registry
from genzoo.cli.app import app, console, err_console, print_json

KINDS = {"genzoo.models": "models", "genzoo.losses": "losses", "genzoo.datasets": "datasets"}


@dataclass
class PluginDistribution:
    """One installed distribution with genzoo entry points: the names it registered and its problems."""

    distribution: str
    version: str
    models: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    problems: list[dict[str, str]] = field(default_factory=list)


def installed_plugins() -> list[PluginDistribution]:
    """Every distribution declaring entry points in genzoo's groups, with its plugins loaded (unless disabled)."""
    found: dict[str, PluginDistribution] = {}  # keyed like PluginProblem.distribution and ModelEntry.source
    disabled = registry.plugins_disabled()
    for reg in (registry.models, registry.losses, registry.datasets):
        loaded = {} if disabled else {e.name: e.source for e in reg.entries()}  # imports the plugins, records errors
        for ep in registry.entry_points(group=reg.group):
            dist = getattr(ep, "dist", None)
            key = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
            plugin = found.setdefault(
                key, PluginDistribution(dist.name, dist.version) if dist is not None else PluginDistribution(key, "")
            )
            if disabled or loaded.get(ep.name) == key:  # disabled: what it declares
                getattr(plugin, KINDS[reg.group]).append(ep.name)
        for problem in reg.errors:
            plugin = found.setdefault(problem.distribution, PluginDistribution(problem.distribution, ""))
            plugin.problems.append({"group": problem.group, "name": problem.name, "error": problem.error})
    return sorted(found.values(), key=lambda p: (p.distribution.lower(), p.version))


def _cell(names: list[str]) -> str:
    return ", ".join(sorted(names))


@app.command("plugins")
def plugins_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: distribution, version, models, losses, datasets, problems.")
    ] = False,
) -> None:
    """List installed plugin distributions, the models, losses and data sets each registers, and load errors."""
    plugins = installed_plugins()
    if as_json:
        payload: list[dict[str, Any]] = [asdict(p) for p in plugins]
        print_json(payload)
    elif not plugins:
        console.print("No genzoo plugins are installed. docs/plugins.md explains how to write one.")
    else:
        table = Table(title="genzoo plugins")
        for column in ("distribution", "version", "models", "losses", "data sets", "problems"):
            table.add_column(column)
        for p in plugins:
            problems = "\n".join(f"{x['name']}: {x['error']}" for x in p.problems)
            table.add_row(p.distribution, p.version, _cell(p.models), _cell(p.losses), _cell(p.datasets), problems)
        console.print(table)
    if registry.plugins_disabled():
        err_console.print(
            "[yellow]plugin discovery is off (GENZOO_DISABLE_PLUGINS is set):[/] the names above are what these "
            "plugins declare, none is loaded; unset the variable to use them."
        )

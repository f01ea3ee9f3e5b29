"""``genzoo plugins`` and ``genzoo list`` against real (temporary) installed distributions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genzoo import registry
from genzoo.cli import app
from tests.conftest import cli_ok

GOOD = """
from genzoo.registry import register_loss


@register_loss("fakeplug-l1", kind="reconstruction", description="Absolute error, from a test plugin.")
def l1(output, target):
    import torch

    return (torch.sigmoid(output) - target).abs().flatten(1).sum(1).mean()
"""


def _distribution(site: Path, name: str, module: str, code: str, entry_points: str) -> None:
    """Install a one-module distribution into ``site`` the way pip lays it out (dist-info with metadata)."""
    (site / f"{module}.py").write_text(code)
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    (info / "top_level.txt").write_text(module + "\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site directory with a working plugin (a loss) and a broken one (a model), plugins switched on."""
    site = tmp_path / "site"
    site.mkdir()
    _distribution(site, "fakeplug", "fakeplug_losses", GOOD, "[genzoo.losses]\nfakeplug-l1 = fakeplug_losses\n")
    _distribution(
        site,
        "brokenplug",
        "brokenplug_models",
        "import brokenplug_missing_dependency\n",
        "[genzoo.models]\nbrokenplug-vae = brokenplug_models\n",
    )
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("GENZOO_DISABLE_PLUGINS")
    _forget()
    yield site
    monkeypatch.setenv("GENZOO_DISABLE_PLUGINS", "1")
    _forget()


def _forget() -> None:
    """Make the next discovery start afresh: the plugin modules unimported, the registries without plugins."""
    for module in ("fakeplug_losses", "brokenplug_models"):
        sys.modules.pop(module, None)
    registry._owners.cache_clear()
    for reg in (registry.models, registry.losses, registry.datasets):
        reg.reset()


def test_plugins_lists_what_each_distribution_registers_and_its_errors(runner: CliRunner, site: Path) -> None:
    rows = {p["distribution"]: p for p in json.loads(cli_ok(runner, "plugins", "--json"))}
    assert rows["fakeplug"]["version"] == "1.0"
    assert rows["fakeplug"]["losses"] == ["fakeplug-l1"] and rows["fakeplug"]["problems"] == []
    broken = rows["brokenplug"]
    assert broken["models"] == []
    assert broken["problems"][0]["name"] == "brokenplug-vae"
    assert "ModuleNotFoundError" in broken["problems"][0]["error"]
    table = cli_ok(runner, "plugins")
    assert "fakeplug-l1" in table and "brokenplug" in table and "import failed" in table


def test_list_marks_the_source_of_each_entry(runner: CliRunner, site: Path) -> None:
    losses = runner.invoke(app, ["list", "--kind", "losses", "--json"]).stdout
    rows = {r["name"]: r for r in json.loads(losses)}
    assert rows["fakeplug-l1"]["source"] == "fakeplug 1.0"
    assert rows["mse"]["source"] == registry.BUILTIN
    result = runner.invoke(app, ["list", "--json"])  # the broken model plugin: one line on stderr, not fatal
    assert result.exit_code == 0 and "brokenplug-vae" not in result.stdout
    assert "plugin 'brokenplug-vae' from brokenplug 1.0 skipped" in result.stderr


def test_plugins_when_discovery_is_off(runner: CliRunner) -> None:
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0
    assert all(not p["problems"] for p in json.loads(result.stdout))
    assert "GENZOO_DISABLE_PLUGINS" in result.stderr


def test_plugins_does_not_import_torch(site: Path) -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from genzoo.cli import app;"
        "r = CliRunner().invoke(app, ['plugins', '--json']); assert r.exit_code == 0, r.output;"
        "assert 'fakeplug-l1' in r.stdout; print('torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "GENZOO_DISABLE_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "False"


def test_reset_then_discovery_restores_an_already_imported_plugin(site: Path) -> None:
    first = registry.losses.get("fakeplug-l1")
    registry.losses.reset()  # the plugin's module stays imported, so importing it again registers nothing
    assert registry.losses.get("fakeplug-l1") is first
    assert registry.losses.errors == []

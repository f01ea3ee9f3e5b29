from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import EntryPoint

import pytest

from genzoo.errors import UnknownNameError
from genzoo.registry import BUILTIN, Registry, losses, models


@dataclass(frozen=True)
class Thing:
    name: str
    description: str = "a thing"
    source: str = BUILTIN


def test_builtin_models_have_metadata() -> None:
    assert {"vae-conv", "vae-mlp"} <= set(models.names())
    entry = models.get("vae-conv")
    assert entry.family == "vae"
    assert entry.capabilities == {"sample", "reconstruct", "encode"}
    assert entry.description
    assert entry.config().image_size == 64


def test_fnmatch_filter() -> None:
    assert models.names("vae-*") == ["vae-conv", "vae-mlp"]
    assert models.names("*-mlp") == ["vae-mlp"]
    assert models.names("nothing-*") == []


def test_duplicate_refused() -> None:
    reg: Registry[Thing] = Registry("thing", "genzoo.test-things")
    reg.add(Thing("a"))
    with pytest.raises(ValueError, match="already registered"):
        reg.add(Thing("a"))


def test_unknown_name_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        models.get("vae-cnv")
    assert "vae-conv" in str(info.value)
    assert "Did you mean" in str(info.value)


def test_losses_by_kind() -> None:
    assert losses.get("bce").kind == "reconstruction"
    assert losses.get("linear").kind == "kl_schedule"


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, eps: list[EntryPoint]) -> None:
    monkeypatch.setattr("genzoo.registry.entry_points", lambda group: [e for e in eps if e.group == group])
    monkeypatch.delenv("GENZOO_DISABLE_PLUGINS", raising=False)


def test_plugin_names_listed_without_import_and_broken_plugin_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    reg: Registry[Thing] = Registry("thing", "genzoo.test-things")
    eps = [EntryPoint("broken", "genzoo_no_such_module:thing", "genzoo.test-things")]
    _fake_entry_points(monkeypatch, eps)
    assert reg.names() == ["broken"]  # listed from metadata, nothing imported yet
    assert reg.errors == []
    assert reg.entries() == []  # importing it fails: skipped, not fatal
    assert len(reg.errors) == 1
    assert "import failed" in reg.errors[0].error
    with pytest.raises(UnknownNameError, match="could not be loaded"):
        reg.get("broken")


def test_plugin_loaded_on_use_with_its_source(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
) -> None:
    module = tmp_path / "genzoo_fake_plugin.py"
    module.write_text(
        "from tests.test_registry import Thing, REG\nREG.add(Thing('fancy', source='genzoo-fancy 1.0'))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[Thing] = Registry("thing", "genzoo.test-things")
    monkeypatch.setattr("tests.test_registry.REG", reg, raising=False)
    _fake_entry_points(monkeypatch, [EntryPoint("fancy", "genzoo_fake_plugin", "genzoo.test-things")])
    entry = reg.get("fancy")
    assert entry.name == "fancy"
    assert entry.source != BUILTIN


def test_plugin_clashing_with_builtin_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    reg: Registry[Thing] = Registry("thing", "genzoo.test-things")
    reg.add(Thing("a"))
    _fake_entry_points(monkeypatch, [EntryPoint("a", "whatever:x", "genzoo.test-things")])
    assert reg.names() == ["a"]
    assert reg.get("a").source == BUILTIN
    assert "clashes" in reg.errors[0].error


def test_disable_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    reg: Registry[Thing] = Registry("thing", "genzoo.test-things")
    _fake_entry_points(monkeypatch, [EntryPoint("p", "whatever:x", "genzoo.test-things")])
    monkeypatch.setenv("GENZOO_DISABLE_PLUGINS", "1")
    assert reg.names() == []


def test_source_of_names_the_owner() -> None:
    from genzoo.registry import source_of
    from genzoo.trainer import Trainer

    assert source_of(Trainer) == BUILTIN
    assert source_of(pytest.raises).startswith("pytest ")  # an installed distribution, with its version
    assert "not an installed distribution" in source_of(type("Local", (), {"__module__": "my_script"}))

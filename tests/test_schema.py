"""Every registered model, built-in or from an installed plugin, keeps the registry's contract.

Metadata (description, capabilities), a default config that validates and round-trips, a build at the smallest
image size with a forward pass for each declared capability, and a parameter count from ``genzoo info``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest
import torch
from typer.testing import CliRunner

from genzoo import registry
from genzoo.api import create
from genzoo.config import ModelConfig
from genzoo.data.toon import ATTRIBUTES
from genzoo.registry import CAPABILITIES, ModelEntry, models
from tests.conftest import cli_ok

DATA_INFO = {"domains": ["cartoon", "anime"], "attributes": {k: list(v) for k, v in ATTRIBUTES.items()}}
"""What the Trainer tells a model about built-in data (a second domain, for translators)."""


def _builtin_names() -> list[str]:
    with pytest.MonkeyPatch.context() as mp:  # collection runs before conftest switches plugins off
        mp.setenv("GENZOO_DISABLE_PLUGINS", "1")
        return models.names()


BUILTINS = _builtin_names()
PLUGINS = [] if registry.plugins_disabled() else sorted({ep.name for ep in entry_points(group=models.group)})
NAMES = [*BUILTINS, *(n for n in PLUGINS if n not in BUILTINS)]


@pytest.fixture
def entry(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModelEntry]:
    """The model's entry; for a plugin's model, with discovery switched on for this test only."""
    name: str = request.param
    if name in BUILTINS:
        yield models.get(name)
        return
    monkeypatch.delenv("GENZOO_DISABLE_PLUGINS")
    models.reset()
    try:
        found = models.get(name)  # a broken plugin fails here, with the registry's explanation
        yield found
    finally:
        os.environ["GENZOO_DISABLE_PLUGINS"] = "1"
        models.reset()


parametrize = pytest.mark.parametrize("entry", NAMES, indirect=True)


@parametrize
def test_metadata(entry: ModelEntry) -> None:
    words = entry.description.split()
    assert len(words) >= 4 and entry.description != entry.name, f"{entry.name}: describe the model in a sentence"
    assert entry.name == entry.name.lower() and " " not in entry.name
    assert entry.family
    assert entry.capabilities and entry.capabilities <= set(CAPABILITIES)


@parametrize
def test_default_config_validates(entry: ModelEntry) -> None:
    assert issubclass(entry.config, ModelConfig)
    config = entry.config()
    assert entry.config.model_validate(config.model_dump(mode="json")) == config
    for name, field in entry.config.model_fields.items():
        assert field.description, f"{entry.name}: config field {name!r} has no description"


@parametrize
def test_builds_at_smallest_size_and_serves_its_capabilities(entry: ModelEntry) -> None:
    size = entry.config.min_image_size
    config = entry.config(image_size=size).adapt_to_data(DATA_INFO)
    model = create(entry.name, config).eval()
    x = torch.rand(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    outputs = {}
    if "sample" in entry.capabilities:
        outputs["sample"] = model.sample(2, torch.Generator().manual_seed(0))
    if "reconstruct" in entry.capabilities:
        outputs["reconstruct"] = model.reconstruct(x)
    if "translate" in entry.capabilities:
        outputs["translate"] = model.translate(x, to=DATA_INFO["domains"][1])
    if "encode" in entry.capabilities:
        assert len(model.encode(x)) == 2
    assert outputs or entry.capabilities == {"encode"}
    for capability, images in outputs.items():
        assert images.shape == (2, 3, size, size), f"{entry.name}.{capability}: shape {tuple(images.shape)}"
        assert torch.isfinite(images).all() and images.min() >= 0 and images.max() <= 1, capability


@parametrize
def test_info_reports_a_parameter_count(entry: ModelEntry) -> None:
    payload = json.loads(cli_ok(CliRunner(), "info", entry.name, "--json", "--parameters"))
    assert payload["num_parameters"] == sum(p.numel() for p in create(entry.name).parameters()) > 0
    assert payload["source"] == entry.source


@pytest.mark.parametrize("entry", models.entries(), ids=lambda e: e.name)
def test_model_fields_leave_bare_set_keys_unambiguous(entry: ModelEntry) -> None:
    """`--set KEY=…` finds a bare key's section by name: a model field must not share it with train or data."""
    from genzoo.config import DataConfig, TrainConfig

    shared = set(entry.config.model_fields) & (set(TrainConfig.model_fields) | set(DataConfig.model_fields))
    assert not shared, f"{entry.name}: {sorted(shared)} is also a train or data field"

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genzoo.config import RunConfig, build_run_config, config_diff, parse_override
from genzoo.errors import ConfigError


def test_defaults_and_train_defaults() -> None:
    run = build_run_config("vae-conv")
    assert run.model.image_size == 64
    assert run.train.steps == 3000  # the model's registered training default
    assert run.data.name == "cartoon"


@pytest.mark.parametrize(
    "suffix,text",
    [
        (".yaml", "model:\n  latent_dim: 16\ntrain:\n  steps: 7\n"),
        (".toml", "[model]\nlatent_dim = 16\n[train]\nsteps = 7\n"),
        (".json", json.dumps({"model": {"latent_dim": 16}, "train": {"steps": 7}})),
    ],
)
def test_config_file_formats(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"run{suffix}"
    path.write_text(text)
    run = build_run_config("vae-conv", config_file=path)
    assert run.model.latent_dim == 16
    assert run.train.steps == 7


def test_layers_override_in_order(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("train: {steps: 7, seed: 3}\n")
    run = build_run_config("vae-conv", config_file=path, options={"train": {"steps": 9}}, overrides=["train.steps=11"])
    assert (run.train.steps, run.train.seed) == (11, 3)


def test_bare_and_dotted_overrides() -> None:
    run = build_run_config(
        "vae-mlp",
        overrides=[
            "recon_loss=bce",
            "kl_schedule.kind=linear",
            "model.kl_schedule.warmup_steps=50",
            "hidden=[64, 32]",
            "batch_size=8",
            "train_size=100",
        ],
    )
    assert run.model.recon_loss == "bce"
    assert run.model.kl_schedule.kind == "linear"
    assert run.model.kl_schedule.warmup_steps == 50
    assert run.model.hidden == [64, 32]
    assert run.train.batch_size == 8
    assert run.data.train_size == 100


def test_parse_override_values() -> None:
    assert parse_override("a=3") == ("a", 3)
    assert parse_override("a=1e-3") == ("a", 1e-3)
    assert parse_override("a.b=true") == ("a.b", True)
    assert parse_override("a=hello") == ("a", "hello")


@pytest.mark.parametrize(
    "override,needle",
    [
        ("latent_dim", "key=value"),
        ("=3", "key=value"),
        ("latnt_dim=3", "Did you mean latent_dim"),
        ("latent_dim=-3", "model.latent_dim = -3: Input should be greater than 0"),
        ("image_size=48", "model.image_size = 48: must be a power of two of at least 16"),
        ("recon_loss=l7", "unknown reconstruction loss 'l7'; registered reconstruction losses: "),
        ("kl_schedule.kind=mse", "unknown kl_schedule loss 'mse'"),
        ("train.precision=fp8", "train.precision = 'fp8'"),
        ("model.nope=1", "model.nope is not a field of the model config"),
    ],
)
def test_errors_name_field_value_and_allowed(override: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_run_config("vae-conv", overrides=[override])
    assert needle in str(info.value)


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        build_run_config("vae-conv", config_file=tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        build_run_config("vae-conv", config_file=bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"optimizer": {}}')
    with pytest.raises(ConfigError, match="sections model, train, data"):
        build_run_config("vae-conv", config_file=wrong)
    other = tmp_path / "x.ini"
    other.write_text("")
    with pytest.raises(ConfigError, match="unknown type"):
        build_run_config("vae-conv", config_file=other)


def test_run_config_json_round_trip() -> None:
    run = build_run_config("vae-conv", overrides=["latent_dim=12", "kl_schedule.kind=cyclical"])
    again = RunConfig.from_json(json.loads(json.dumps(run.to_json())))
    assert again.to_json() == run.to_json()


def test_config_diff() -> None:
    assert config_diff({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}}) == [("b.c", 2, 3)]


def test_epochs_replace_the_default_steps(tmp_path: Path) -> None:
    assert build_run_config("vae-conv", options={"train": {"epochs": 2}}).train.steps is None
    assert build_run_config("vae-conv", overrides=["epochs=2"]).train.steps is None
    both = build_run_config("vae-conv", options={"train": {"epochs": 2, "steps": 5}})
    assert (both.train.steps, both.train.epochs) == (5, 2)
    path = tmp_path / "run.yaml"
    path.write_text("name: vae-mlp\n")
    with pytest.raises(ConfigError, match="it names 'vae-mlp', not 'vae-conv'"):
        build_run_config("vae-conv", config_file=path)


def test_configuration_docs_tables_are_current() -> None:
    """docs/configuration.md's field tables match the config classes (regenerate with docs/config_tables.py). In a
    fresh process: this one has the test plugins' losses registered."""
    import os
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    env = {**os.environ, "GENZOO_DISABLE_PLUGINS": "1"}
    done = subprocess.run(
        [sys.executable, "docs/config_tables.py", "--check"], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{done.stdout}{done.stderr}: run `python docs/config_tables.py`"

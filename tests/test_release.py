"""Released weights: inference-only files, the card, the resolution order (a path > a local run > the release), the
sha256 check, presets, and the commands that show and make them; on tiny models released into a tiny package."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import genzoo
from genzoo.checkpoint import read_header, sha256_of
from genzoo.errors import CheckpointError, ConfigError, GenzooError
from genzoo.registry import Release, models
from genzoo.release import (
    CARD,
    check_release,
    fingerprint,
    make_release,
    pace,
    recipe_differences,
    same_figures,
    training_seconds,
    training_time,
)
from genzoo.runs import RunDir, find_weights
from tests.conftest import CG_TINY, cli_fails, cli_ok, single_thread

pytestmark = pytest.mark.usefixtures("one_thread")

PRESET = {
    "model": {"image_size": 16, "width": 8, "latent_dim": 8},
    "train": {"steps": 8, "batch_size": 16, "precision": "fp32", "log_every": 2, "checkpoint_every": 4},
    "data": {"train_size": 64, "heldout_size": 16},
}
"""A tiny vae-conv recipe, registered as the preset ``tiny`` for these tests."""
PACKAGE = "genzoo_release_fixture"
NOTE = "Eight steps: its figures show the card, not a model."


def patched(name: str, **changes: object) -> pytest.MonkeyPatch:
    """A MonkeyPatch whose undo restores model ``name``'s registry entry, after replacing fields of it."""
    patch = pytest.MonkeyPatch()
    patch.setitem(models._entries, name, dataclasses.replace(models.get(name), **changes))
    return patch


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Release, dict]]:
    """A tiny vae-conv run of the preset ``tiny``, released into the package ``genzoo_release_fixture``: the run,
    the ``Release`` to register and the card."""
    root = tmp_path_factory.mktemp("release")
    package = root / "site" / PACKAGE
    (package / "released").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    path = pytest.MonkeyPatch()
    path.syspath_prepend(str(root / "site"))
    try:
        with _undoing("vae-conv", {"tiny": PRESET}), single_thread():  # the preset only while it is made
            run = genzoo.train("vae-conv", preset="tiny", out=root / "run").run_dir
            release, card = make_release(
                run, package / "released", preset="tiny", n=16, curve_every=4, package=PACKAGE, note=NOTE
            )
        yield run, release, card
    finally:
        path.undo()


@pytest.fixture
def with_release(
    released: tuple[Path, Release, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Release]:
    """vae-conv registered with the tiny release, in an empty working folder (no runs/)."""
    _, release, _ = released
    monkeypatch.syspath_prepend(str(release.path.parents[2]))
    monkeypatch.chdir(tmp_path)
    patch = patched("vae-conv", presets={"tiny": PRESET}, release=release)
    try:
        yield release
    finally:
        patch.undo()


# ---- making a release ---------------------------------------------------------------------------------------------


def test_a_release_is_weights_a_card_and_a_picture(released: tuple[Path, Release, dict]) -> None:
    _, release, card = released
    assert release.path.is_file() and release.card_path.is_file() and release.grid_path.is_file()
    assert list(json.loads(release.card_path.read_text())) == list(CARD)
    assert card["sha256"] == release.sha256 == sha256_of(release.path)
    assert card["bytes"] == release.path.stat().st_size
    assert card["command"] == "genzoo train vae-conv --preset tiny"
    assert card["steps"] == 8 and card["seconds"] > 0 and card["pace"] > 0
    assert [p["step"] for p in card["curve"]] == [4, 8]
    assert card["sessions"][0]["steps"] == [0, 8] and card["sessions"][0]["machine"]
    assert card["eval"]["n"] == 16 and card["eval"]["seed"] == 0
    fd = next(f for f in card["figures"] if f["key"] == "fd")
    assert fd["value"] > 0 and fd["real"] > 0  # every figure beside the real data's
    header = read_header(release.path)
    assert header.inference and not header.resumable
    assert header.model == "vae-conv" and header.step == 8
    dtypes = {dtype for name, (dtype, _) in header.tensors.items() if "num_batches" not in name}
    assert dtypes == ({"F16"} if card["dtype"] == "fp16" else {"F32"})
    assert card["precision_check"]["alike"] is (card["dtype"] == "fp16")
    assert len(card["fingerprint"]) == 16 and card["note"] == NOTE


def test_the_card_tells_the_time_logged_from_the_time_unshared(tmp_path: Path) -> None:
    """A long run that shared the cores with other work for a third of its steps: its logged time overstates the
    recipe's cost; the pace is the rate of its unshared stretches, and the card's time says both."""
    run = RunDir(tmp_path)
    rates = [2.0] * 20 + [0.5] * 10  # steps per second in each 100-step stretch
    seconds = [0.0]
    for rate in rates:
        seconds.append(seconds[-1] + 100 / rate)
    run.metrics_file.write_text(
        "".join(json.dumps({"step": 100 * i, "seconds": t}) + "\n" for i, t in enumerate(seconds))
    )
    assert pace(training_seconds(run)) == 2.0
    card = {"seconds": seconds[-1], "steps": 3000, "pace": 2.0, "sessions": [{"machine": "AMD EPYC (AVX-512 BF16)"}]}
    assert (
        training_time(card) == "50 min logged (25 min at its unshared pace of 2.00 steps/s) on AMD EPYC (AVX-512 BF16)"
    )
    alone = {**card, "seconds": 1500.0}
    assert training_time(alone) == "25 min on AMD EPYC (AVX-512 BF16)"  # nothing shared it: one figure
    assert pace(training_seconds(RunDir(tmp_path / "empty"))) is None


def test_a_release_must_be_its_presets_run(released: tuple[Path, Release, dict], tmp_path: Path) -> None:
    run, _, _ = released
    other = {**PRESET, "model": {**PRESET["model"], "latent_dim": 12}}
    with (
        _undoing("vae-conv", {"tiny": other}),
        pytest.raises(GenzooError, match=r"model\.latent_dim \(run: 8, preset: 12\)"),
    ):
        make_release(run, tmp_path, preset="tiny", n=16)
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_field_added_after_the_run_began_counts_at_its_default(
    released: tuple[Path, Release, dict], tmp_path: Path
) -> None:
    """A long zoo run outlives code changes: a run whose config.json lacks a field genzoo gained since (as a run
    resumed with the newer genzoo reads it: at its default) is still its preset's run; a value set otherwise is not."""
    run, _, _ = released
    older = tmp_path / "older"
    shutil.copytree(run, older)
    config = json.loads((older / "config.json").read_text())
    assert config["model"].pop("adv_weight") == 0.0
    (older / "config.json").write_text(json.dumps(config))
    with _undoing("vae-conv", {"tiny": PRESET}):
        assert recipe_differences(RunDir(older), "tiny") == []
        config["model"]["adv_weight"] = 0.5
        (older / "config.json").write_text(json.dumps(config))
        assert recipe_differences(RunDir(older), "tiny") == [("model.adv_weight", 0.5, 0.0)]


class _undoing:
    """Context manager: model ``name``'s registry entry with other fields inside the block (``presets`` as the
    second argument)."""

    def __init__(self, name: str, presets: dict | None = None, **changes: object) -> None:
        self.patch = patched(name, **({"presets": presets} if presets is not None else {}), **changes)

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.patch.undo()


def test_half_precision_only_where_it_measures_alike() -> None:
    fp32 = {"fd": 100.0, "valid_share": 0.500, "heldout_mse": 0.0100}
    assert same_figures({"fd": 101.5, "valid_share": 0.504, "heldout_mse": 0.0101}, fp32)[0]
    alike, worst = same_figures({"fd": 103.0, "valid_share": 0.5, "heldout_mse": 0.01}, fp32)
    assert not alike and worst.startswith("FD: 103 against 100")
    assert not same_figures({"fd": 100.0, "valid_share": 0.51, "heldout_mse": 0.01}, fp32)[0]


# ---- using it ---------------------------------------------------------------------------------------------------


def test_released_weights_serve_every_command_by_name(with_release: Release, runner: CliRunner) -> None:
    out = cli_ok(runner, "sample", "vae-conv", "-n", "4", "--out", "s.png")
    assert "using the released weights of vae-conv" in out and "sha256 checked" in out
    assert Path("s.png").is_file()
    assert "released weights" in cli_ok(runner, "reconstruct", "vae-conv", "--out", "r.png")
    printed = cli_ok(runner, "eval", "vae-conv", "-n", "16", "--json")
    result = json.loads(printed[printed.index("{") : printed.rindex("}") + 1])
    assert result["checkpoint"] == str(with_release.path) and result["heldout_mse"] > 0
    assert not Path("runs").exists()  # nothing trained, nothing written there
    model = check_release("vae-conv")  # genzoo.load by name, and the card's fingerprint
    assert model.model_name == "vae-conv" and not model.training


def test_the_resolution_order(with_release: Release, released: tuple[Path, Release, dict]) -> None:
    run, _, _ = released
    assert find_weights("vae-conv").origin == "released"
    with pytest.raises(CheckpointError, match="--weights released"):
        find_weights("vae-conv", weights="local")
    shutil.copytree(run, Path("runs") / "mine")
    assert find_weights("vae-conv").origin == "run"  # a local run comes before the release
    assert find_weights("vae-conv", weights="released").origin == "released"
    assert find_weights(Path("runs") / "mine").origin == "path"
    with pytest.raises(GenzooError, match="is a path"):
        find_weights(Path("runs") / "mine", weights="released")
    with pytest.raises(GenzooError, match="not one of auto, local, released"):
        find_weights("vae-conv", weights="newest")  # type: ignore[arg-type]


def test_a_model_without_a_release_says_so(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with _undoing("dcgan", release=None):
        message = cli_fails(runner, "sample", "dcgan", "--weights", "released", code=2)
        assert "dcgan has no released weights" in message
        message = cli_fails(runner, "sample", "dcgan", code=2)  # nothing local either: both said in one paragraph
    assert "No finished run of dcgan" in message and "dcgan has no released weights yet" in message


@pytest.mark.parametrize("damage", ["truncated", "changed", "missing"])
def test_a_damaged_release_is_refused_in_one_paragraph(
    with_release: Release, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    copy = tmp_path / "site" / PACKAGE
    shutil.copytree(with_release.path.parents[1], copy)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, PACKAGE, raising=False)
    target = copy / with_release.file
    data = target.read_bytes()
    if damage == "truncated":
        target.write_bytes(data[: len(data) // 2])
    elif damage == "changed":
        target.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        target.unlink()
    assert with_release.path == target  # the copy is what the release now points at
    message = cli_fails(runner, "sample", "vae-conv", "-n", "2", code=2)
    expected = "the file is missing" if damage == "missing" else "do not match their sha256"
    assert expected in message and "Reinstall" in message


def test_a_release_that_draws_otherwise_is_caught(
    with_release: Release, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "site" / PACKAGE
    shutil.copytree(with_release.path.parents[1], copy)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, PACKAGE, raising=False)
    card = json.loads(with_release.card_path.read_text())
    card["fingerprint"][3] += 0.01
    with_release.card_path.write_text(json.dumps(card))
    with pytest.raises(GenzooError, match="do not draw what their card records"):
        check_release("vae-conv")


# ---- inference-only files -------------------------------------------------------------------------------------------


def test_export_keeps_what_inference_uses(gan_runs: dict[str, Path], tmp_path: Path, runner: CliRunner) -> None:
    import torch

    run = gan_runs["dcgan"]
    full = genzoo.load(run)
    cli_ok(runner, "export", str(run), str(tmp_path / "g16.safetensors"))
    cli_ok(runner, "export", str(run), str(tmp_path / "g32.safetensors"), "--fp32")
    for name, tolerance in (("g32", 0.0), ("g16", 2e-2)):
        header = read_header(tmp_path / f"{name}.safetensors")
        assert header.inference and not header.resumable
        assert not [k for k in header.tensors if k.startswith(("discriminator.", "average/", "__state__"))]
        model = genzoo.load(tmp_path / f"{name}.safetensors")
        assert model.weights == "average"  # the average, baked in
        a, b = (genzoo.sample(m, n=4, seed=3) for m in (model, full))
        assert torch.allclose(a, b, atol=tolerance, rtol=0)
    message = cli_fails(runner, "sample", str(tmp_path / "g32.safetensors"), "--raw-weights", code=2)
    assert "inference-only" in message


def test_an_exported_translator_translates_without_its_discriminators(tmp_path: Path) -> None:
    import torch

    run = genzoo.train("cyclegan-resnet", data="cartoon", to="anime", overrides=CG_TINY, steps=2, out=tmp_path / "cg")
    out = genzoo.api.export(run.run_dir, tmp_path / "cg.safetensors", half=False)
    assert not [k for k in out.tensors if k.startswith(("D_A.", "D_B."))]
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    full, light = genzoo.load(run.run_dir), genzoo.load(out.path)
    assert torch.equal(genzoo.translate(light, x, to="anime"), genzoo.translate(full, x, to="anime"))
    assert fingerprint(light) == fingerprint(full)


# ---- presets, sessions, list and info -------------------------------------------------------------------------------


def test_presets_layer_under_the_users_settings(runner: CliRunner, tmp_path: Path) -> None:
    message = cli_fails(runner, "train", "vae-conv", "--preset", "nope", "--dry-run")
    assert "vae-conv has no preset 'nope'" in message
    with _undoing("vae-conv", {"tiny": PRESET}):
        printed = cli_ok(runner, "train", "vae-conv", "--preset", "tiny", "--set", "latent_dim=4", "--dry-run")
        config = json.loads(printed[printed.index("{") : printed.rindex("}") + 1])
        assert config["model"]["image_size"] == 16 and config["model"]["latent_dim"] == 4  # --set wins
        assert config["train"]["steps"] == 8 and config["data"]["train_size"] == 64
        with pytest.raises(ConfigError, match="has no preset"):
            genzoo.run_config("vae-conv", preset="zoo-typo")


def test_resuming_logs_a_session_and_keeps_the_recipe(
    released: tuple[Path, Release, dict], tmp_path: Path, runner: CliRunner
) -> None:
    run, _, _ = released
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    message = cli_fails(runner, "train", "--resume", str(copy), "--preset", "tiny")
    assert "preset" in message and "cannot change" in message
    genzoo.train(resume=copy, steps=10)
    sessions = RunDir(copy).read_sessions()
    assert [s["step"] for s in sessions] == [0, 8]
    assert all(s["machine"] and s["precision"] == "fp32" for s in sessions)


def test_list_and_info_show_the_release(with_release: Release, runner: CliRunner) -> None:
    with _undoing("dcgan", release=None):
        rows = {line.split()[0]: line for line in cli_ok(runner, "list").splitlines() if line.strip()}
    assert "released" in rows["vae-conv"] and "released" not in rows["dcgan"]
    shown = cli_ok(runner, "info", "vae-conv")
    for words in ("released weights of vae-conv", "genzoo train vae-conv --preset tiny", "genzoo eval of the"):
        assert words in shown
    assert "learning curve" in shown and "real data" in shown and NOTE in " ".join(shown.split())
    payload = json.loads(cli_ok(runner, "info", "vae-conv", "--json"))
    assert payload["release"]["sha256"] == with_release.sha256
    assert payload["presets"]["tiny"]["model"]["latent_dim"] == 8
    assert json.loads(cli_ok(runner, "list", "--json"))[-2]["released"] is True


def test_the_release_command(released: tuple[Path, Release, dict], tmp_path: Path, runner: CliRunner) -> None:
    run, _, _ = released
    with _undoing("vae-conv", {"tiny": PRESET}):
        out = cli_ok(
            runner, "release", str(run), "--out", str(tmp_path), "--preset", "tiny", "-n", "16", "--package", PACKAGE
        )
    sha256 = sha256_of(tmp_path / "vae-conv.safetensors")
    assert f"release=Release('{PACKAGE}', 'released/vae-conv.safetensors', '{sha256}')" in out
    assert json.loads((tmp_path / "vae-conv.json").read_text())["sha256"] == sha256
    assert (tmp_path / "vae-conv.json").is_file() and (tmp_path / "vae-conv.png").is_file()
    with _undoing("vae-conv", {"tiny": PRESET}):  # genzoo's own: the registration its models use
        out = cli_ok(runner, "release", str(run), "--out", str(tmp_path / "own"), "--preset", "tiny", "-n", "16")
    assert f"release=builtin_release('vae-conv', '{sha256_of(tmp_path / 'own' / 'vae-conv.safetensors')}')" in out


# ---- the released weights genzoo ships ------------------------------------------------------------------------------

SHIPPED = [e.name for e in models.entries() if e.release is not None and e.source == "built-in"]
MAX_SHIPPED_BYTES = 60_000_000
"""All released weights together stay within 60 MB (the package is downloaded by everyone who installs it)."""


@pytest.mark.parametrize("name", SHIPPED)
def test_every_released_file_loads_and_draws_its_fingerprint(name: str) -> None:
    entry = models.get(name)
    assert entry.release is not None
    card = entry.release.card()
    assert list(card) == list(CARD) and card["sha256"] == entry.release.sha256
    assert card["command"] == f"genzoo train {name} --preset zoo" and "zoo" in entry.presets
    assert entry.release.grid_path.is_file()
    model = check_release(name)  # sha256, header, shapes, and the seeded outputs the card records
    assert read_header(entry.release.path).inference and model.model_name == name


def test_the_shipped_weights_fit_the_size_budget() -> None:
    total = sum(models.get(name).release.path.stat().st_size for name in SHIPPED)  # type: ignore[union-attr]
    assert total <= MAX_SHIPPED_BYTES


def _zoo_table() -> Any:
    """docs/zoo_table.py as a module (the docs' scripts are not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "zoo_table", Path(__file__).resolve().parents[1] / "docs/zoo_table.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["zoo_table"] = module
    spec.loader.exec_module(module)
    return module


def _figure(key: str, value: float, real: float | None, kind: str) -> dict[str, Any]:
    return {"key": key, "label": key.replace("->", "→").replace(".", " "), "value": value, "real": real, "kind": kind}


def test_the_zoo_page_holds_each_release_against_its_targets() -> None:
    rows = _zoo_table().target_rows(
        "cyclegan-resnet",
        {
            "figures": [
                _figure("cartoon->anime.fd", 80.0, 33.0, "number"),
                _figure("anime->cartoon.fd", 120.0, 34.0, "number"),
                _figure("cartoon->anime.speckle", 0.0200, 0.0170, "error"),  # 1.18 × real: within 20 %
                _figure("anime->cartoon.speckle", 0.0300, 0.0200, "error"),  # 1.5 ×
                _figure("cartoon->anime.glasses", 0.951, 1.0, "share"),
                _figure("anime->cartoon.glasses", 0.996, 1.0, "share"),
            ]
        },
    )
    fd, glasses, speckle = rows  # targets without figures on the card are left out
    assert fd.startswith("| `cyclegan-resnet` | FD ≤ 100 | cartoon→anime fd 80") and fd.endswith("✗ | not yet |")
    assert "cartoon→anime glasses 95.1 % ✓; anime→cartoon glasses 99.6 % ✓ | met |" in glasses
    assert "speckle 0.02 ✓" in speckle and "speckle 0.03 ✗" in speckle
    acgan = _zoo_table().target_rows(
        "acgan",
        {"figures": [_figure("accuracy.hair_color", 0.99, 1.0, "share"), _figure("accuracy.mouth", 0.9, 1.0, "share")]},
    )
    assert acgan == [
        "| `acgan` | accuracy ≥ 97 % on each attribute | accuracy hair_color 99.0 % ✓; accuracy mouth 90.0 % ✗ "
        "| not yet |"
    ]


def test_the_zoo_page_says_what_the_cards_say() -> None:
    """docs/zoo.md's table is made from the cards (regenerate with docs/zoo_table.py)."""
    import os
    import subprocess

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "GENZOO_DISABLE_PLUGINS": "1"}
    done = subprocess.run(
        [sys.executable, "docs/zoo_table.py", "--check"], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, f"{done.stdout}{done.stderr}: run `python docs/zoo_table.py docs/zoo.md`"

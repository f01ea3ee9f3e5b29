"""Latent maps, the HTML run report (also in a real headless browser) and run comparison."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import genzoo
from genzoo import api
from genzoo.data.core import ImageSet
from genzoo.data.toon import ATTRIBUTES
from genzoo.errors import GenzooError
from genzoo.report.latent import LatentMap, coloured, latent_map, most_structured
from tests.conftest import TINY, cli_fails, cli_ok

HELDOUT = [*TINY, "heldout_size=64"]  # enough held-out faces for a t-SNE map
PICTURES = ("curves.png", "samples.png", "reconstructions.png", "latent.png")
PLACES = ("left", "right", "top")
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?//|@import|url\(|<link""", re.IGNORECASE)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def vae_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two finished 4-step vae-conv runs with 64 held-out faces that differ only in ``recon_loss``."""
    root = tmp_path_factory.mktemp("report-runs")
    return {
        loss: genzoo.train(
            "vae-conv", data="cartoon", overrides=[*HELDOUT, f"recon_loss={loss}"], steps=4, out=root / loss
        ).run_dir
        for loss in ("mse", "bce")
    }


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 2-step dcgan run: a model that samples but cannot encode."""
    out = tmp_path_factory.mktemp("report-gan") / "dcgan"
    return genzoo.train("dcgan", data="cartoon", overrides=TINY, steps=2, out=out).run_dir


def embedded(page: str, picture: Path) -> bool:
    return base64.b64encode(picture.read_bytes()).decode() in page


# ---- latent maps ----------------------------------------------------------------------------------------------------


def test_latent_command_draws_a_coloured_map(runner: CliRunner, vae_runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "latent.png"
    printed = cli_ok(
        runner, "latent", str(vae_runs["mse"]), "--color-by", "hair_color", "-n", "60", "--seed", "3", "--out", str(out)
    )
    assert "60 held-out images, coloured by hair_color" in printed
    assert Image.open(out).size == (640, 500)


def test_latent_map_is_deterministic_and_follows_the_attribute(vae_runs: dict[str, Path]) -> None:
    first = api.latent_map(vae_runs["mse"], "hair_color", n=60, seed=3)
    again = api.latent_map(vae_runs["mse"], "hair_color", n=60, seed=3)
    assert first.points.shape == (60, 2) and np.isfinite(first.points).all()
    assert np.array_equal(first.points, again.points)
    assert first.values == ATTRIBUTES["hair_color"] and first.path is None
    assert first.codes is not None and len(first.codes) == 60
    assert 1 < len(set(first.codes.tolist())) <= len(ATTRIBUTES["hair_color"])
    pca = api.latent_map(vae_runs["mse"], "glasses", n=20, method="pca")
    assert pca.points.shape == (20, 2) and pca.values == ("no", "yes") and pca.title.startswith("PCA of 20")


def test_latent_refuses_what_it_cannot_map(runner: CliRunner, vae_runs: dict[str, Path], gan_run: Path) -> None:
    message = cli_fails(runner, "latent", str(gan_run), "--color-by", "hair_color")
    assert "dcgan cannot encode" in message and "vae-conv, vae-mlp" in message
    message = cli_fails(runner, "latent", str(vae_runs["mse"]), "--color-by", "hair_colour")
    assert "no attribute 'hair_colour'" in message and "hair_color" in message and "glasses" in message
    assert "use tsne or pca" in cli_fails(runner, "latent", str(vae_runs["mse"]), "--method", "umap")


def test_latent_map_of_images_without_attributes(vae_runs: dict[str, Path]) -> None:
    model = genzoo.load(vae_runs["mse"])
    images = np.random.default_rng(0).integers(0, 256, (12, 16, 16, 3), dtype=np.uint8)
    folder = ImageSet(images, "holiday-photos")
    with pytest.raises(GenzooError, match="no attributes, so --color-by hair_color has nothing to colour by"):
        latent_map(model, folder, "hair_color")
    plain = latent_map(model, folder, n=10)
    assert plain.attribute is None and plain.codes is None and plain.points.shape == (10, 2)


def test_the_report_colours_by_the_attribute_the_map_is_organised_by() -> None:
    rng = np.random.default_rng(0)
    attributes = np.stack([rng.integers(0, 2, 90), np.repeat([0, 1, 2], 30)], axis=1)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    points = centres[attributes[:, 1]] + rng.normal(size=(90, 2))
    images = ImageSet(np.zeros((90, 4, 4, 3), np.uint8), "toy", attributes, {"noise": ("a", "b"), "place": PLACES})
    best = most_structured(LatentMap(points, "tsne"), images)
    assert best.attribute == "place" and best.values == PLACES and best.agreement == 1.0
    assert best.chance == pytest.approx(1 / 3) and best.kappa == pytest.approx(1.0)
    assert "share place 100% of the time (chance: 33%)" in best.summary
    noise = coloured(best, images, "noise")
    assert noise.kappa is not None and abs(noise.kappa) < 0.3


# ---- the report ------------------------------------------------------------------------------------------------------


def test_training_writes_a_self_contained_report(vae_runs: dict[str, Path]) -> None:
    run = vae_runs["mse"]
    page = (run / "report.html").read_text()
    for name in PICTURES:
        assert embedded(page, run / name), name
    assert embedded(page, sorted((run / "previews").glob("*.png"))[-1])
    assert page.count("<img ") == len(PICTURES) + 1
    assert not EXTERNAL.search(page)
    assert "Content-Security-Policy" in page and "data-loaded" in page
    assert "model.recon_loss" in page and "heldout.heldout_mse" in page
    assert not (run / "translations.png").exists() and "Translations" not in page
    assert "Rows, top to bottom: input; reconstruction; input; reconstruction." in page  # the grid's own labels
    assert "Rows, top to bottom: input; reconstruction; sample." in page  # the preview's
    assert "64 samples, seed 0" in page


def test_report_command_evaluates_and_redraws(
    runner: CliRunner, vae_runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    shutil.copytree(vae_runs["mse"], run)
    (run / "latent.png").unlink()
    (run / "report.html").unlink()
    cli_ok(runner, "report", str(run))  # the latent map is drawn again from the weights
    assert embedded((run / "report.html").read_text(), run / "latent.png")

    def fake_evaluate(source: str | Path) -> dict[str, Any]:
        assert Path(source) == run
        return {"model": "vae-conv", "step": 4, "heldout_mse": 0.0425, "judge": {"fid": 12.5, "acc": {"glasses": 0.9}}}

    monkeypatch.setattr(api, "evaluate", fake_evaluate)
    assert str(run / "report.html") in "".join(cli_ok(runner, "report", str(run), "--eval").splitlines())
    assert json.loads((run / "eval.json").read_text())["judge"]["acc"]["glasses"] == 0.9
    page = (run / "report.html").read_text()
    assert "judge.acc.glasses" in page and "0.0425" in page and "eval.json" in page


def test_report_refuses_a_folder_that_is_not_a_run(runner: CliRunner, tmp_path: Path) -> None:
    assert "has no config.json" in cli_fails(runner, "report", str(tmp_path))
    assert "does not exist" in cli_fails(runner, "report", str(tmp_path / "nope"))


def test_a_failing_report_does_not_lose_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import genzoo.report.html

    def broken(*args: object, **kwargs: object) -> Path:
        raise RuntimeError("disk full")

    monkeypatch.setattr(genzoo.report.html, "write_report", broken)
    result = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=2, out=tmp_path / "run")
    assert (result.run_dir / "model.safetensors").is_file() and (result.run_dir / "summary.json").is_file()
    assert not (result.run_dir / "report.html").exists()
    warning = " ".join(capsys.readouterr().err.split())
    assert "report.html could not be written (RuntimeError: disk full)" in warning and "genzoo report" in warning


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        if os.environ.get("GENZOO_REQUIRE_BROWSER") == "1":
            pytest.fail("GENZOO_REQUIRE_BROWSER=1 but no Chromium is installed (apt-get install chromium).")
        pytest.skip("no Chromium installed")
    return found


def _dump_dom(browser: str, page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran, from headless Chromium (no network, a throw-away profile)."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--dump-dom",
        "--virtual-time-budget=5000",
    ]
    done = subprocess.run([browser, *flags, page.as_uri()], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_images_load_in_a_browser(vae_runs: dict[str, Path], tmp_path: Path) -> None:
    browser = _browser()
    page = vae_runs["mse"] / "report.html"
    dom = _dump_dom(browser, page, tmp_path / "profile")
    images = dom.count("<img ")
    assert images == len(PICTURES) + 1
    assert dom.count('data-loaded="1"') == images and 'data-loaded="0"' not in dom
    assert re.search(r'<p id="image-warning"[^>]*\bhidden\b', dom)
    # a damaged picture is caught: it is marked and the warning shows
    damaged = tmp_path / "damaged.html"
    damaged.write_text(page.read_text().replace("base64,", "base64,AAAA", 1))
    dom = _dump_dom(browser, damaged, tmp_path / "profile")
    assert dom.count('data-loaded="1"') == images - 1 and dom.count('data-loaded="0"') == 1
    assert re.search(r'<p id="image-warning"[^>]*>1 of 5 pictures in this report could not be shown', dom)


# ---- compare -----------------------------------------------------------------------------------------------------


def test_compare_shows_the_differing_field_and_both_runs_metrics(runner: CliRunner, vae_runs: dict[str, Path]) -> None:
    runs = [str(vae_runs["mse"]), str(vae_runs["bce"])]
    result = json.loads(cli_ok(runner, "compare", *runs, "--json"))
    assert result["config"] == {"model.recon_loss": ["mse", "bce"]}
    assert result["same"] == result["config_fields"] - 1 > 20
    assert result["sources"] == ["summary.json", "summary.json"]
    assert all(0 < v < 1 for v in result["metrics"]["heldout_mse"]) and result["metrics"]["step"] == [4, 4]
    table = cli_ok(runner, "compare", *runs)
    assert "model.recon_loss" in table and "heldout_mse" in table and "bce" in table
    assert f"the other {result['same']} are the same in every run" in " ".join(table.split())
    assert "model.latent_dim" not in table


def test_compare_fills_fields_an_older_run_lacks_with_their_defaults(
    runner: CliRunner, vae_runs: dict[str, Path], tmp_path: Path
) -> None:
    """A run written before ``train.on_nan`` existed does not differ from a new one in that field."""
    old = shutil.copytree(vae_runs["mse"], tmp_path / "old")
    saved = json.loads((old / "config.json").read_text())
    del saved["train"]["on_nan"], saved["train"]["skip_limit"]
    (old / "config.json").write_text(json.dumps(saved))
    result = json.loads(cli_ok(runner, "compare", str(old), str(vae_runs["bce"]), "--json"))
    assert result["config"] == {"model.recon_loss": ["mse", "bce"]}


def test_compare_eval_measures_and_stores_every_run(
    runner: CliRunner, vae_runs: dict[str, Path], tmp_path: Path
) -> None:
    runs = [shutil.copytree(vae_runs[loss], tmp_path / loss) for loss in ("mse", "bce")]
    result = json.loads(cli_ok(runner, "compare", *map(str, runs), "--eval", "--json"))
    assert result["sources"] == ["eval.json", "eval.json"]
    stored = [json.loads((run / "eval.json").read_text()) for run in runs]
    assert [s["step"] for s in stored] == [4, 4] and all(s["model"] == "vae-conv" for s in stored)
    assert result["metrics"]["heldout_mse"] == [s["heldout_mse"] for s in stored]
    assert "model" not in result["metrics"] and "checkpoint" not in result["metrics"]


def test_compare_refuses_what_is_not_a_finished_run(
    runner: CliRunner, vae_runs: dict[str, Path], tmp_path: Path
) -> None:
    run = str(vae_runs["mse"])
    assert "is not a genzoo run directory" in cli_fails(runner, "compare", run, str(tmp_path))
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(vae_runs["mse"] / "config.json", unfinished)
    message = cli_fails(runner, "compare", run, str(unfinished))
    assert "has not finished" in message and f"genzoo train --resume {unfinished}" in message
    assert "at least two runs" in cli_fails(runner, "compare", run)


def test_report_commands_do_not_import_heavy_modules() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from genzoo.cli import app; r = CliRunner();"
        "assert all(r.invoke(app, a).exit_code == 0 for a in (['--help'], ['list'], ['latent', '--help'],"
        " ['report', '--help'], ['compare', '--help']));"
        "print(sorted(m for m in ('torch', 'sklearn', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""`genzoo demo`: what the page does, as functions (no browser), and the page itself in a real headless Chromium
driven by Selenium: samples, the latent walk, an attribute, a translation of a built-in face and of an upload, and
a non-image upload answered with a readable message while the server keeps serving."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import genzoo
from genzoo import demo
from tests.conftest import CG_TINY, cli_fails, single_thread

pytestmark = pytest.mark.usefixtures("one_thread")


def big(height: int, width: int) -> tuple[int, int, int]:
    """The shape of a picture of ``height`` × ``width`` as the page shows it (enlarged by a whole factor)."""
    factor = max(1, demo.DISPLAY // max(height, width))
    return height * factor, width * factor, 3


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "cg"
    with single_thread():
        return genzoo.train("cyclegan-resnet", data="cartoon", to="anime", overrides=CG_TINY, steps=2, out=out).run_dir


@pytest.fixture(scope="module")
def shown(tiny_run: Path, gan_runs: dict[str, Path], translator_run: Path) -> dict[str, demo.Exhibit]:
    return {ex.name: ex for ex in (demo.exhibit(str(p)) for p in (tiny_run, gan_runs["acgan"], translator_run))}


# ---- what the page does -------------------------------------------------------------------------------------------


def test_sampling_and_walking(shown: dict[str, demo.Exhibit]) -> None:
    vae = shown["vae-conv"]
    grid = demo.draw(vae, 3, 16)
    assert grid.dtype == np.uint8 and grid.shape == big(2 * 16 + 3 * 2, 8 * 16 + 9 * 2)  # 2 rows of 8, 2-px gaps
    assert np.array_equal(grid, demo.draw(vae, 3, 16)) and not np.array_equal(grid, demo.draw(vae, 4, 16))
    strip, here = demo.walk(vae, 0, 1, 0.0)
    assert strip.shape == big(20, demo.WALK_STEPS * 16 + (demo.WALK_STEPS + 1) * 2) and here.shape == big(16, 16)
    assert np.array_equal(here[::16, ::16], strip[2:18, 2:18])  # the path's start is its first picture (16× larger)
    with pytest.raises(demo.DemoInputError, match="between 1 and 64"):
        demo.draw(vae, 0, 65)
    with pytest.raises(demo.DemoInputError, match="between 0 and 1"):
        demo.walk(vae, 0, 1, 1.5)


def test_one_attribute_changes_alone(shown: dict[str, demo.Exhibit]) -> None:
    gan = shown["acgan"]
    values = gan.model.condition_values
    chosen = {a: names[0] for a, names in values.items()}
    first = demo.condition(gan, 5, chosen)
    assert np.array_equal(first, demo.condition(gan, 5, chosen))  # the same noise and values: the same faces
    other = {**chosen, "hair_color": values["hair_color"][1]}
    assert not np.array_equal(first, demo.condition(gan, 5, other))
    with pytest.raises(demo.DemoInputError, match="has no value 'plaid'"):
        demo.condition(gan, 5, {**chosen, "hair_color": "plaid"})


def test_translating_both_ways_with_the_truth(shown: dict[str, demo.Exhibit], tmp_path: Path) -> None:
    cg = shown["cyclegan-resnet"]
    for to in ("anime", "cartoon"):
        source, fake, truth = demo.translate(cg, None, 7, to)
        assert source.shape == fake.shape == truth.shape == big(32, 32)
    face = tmp_path / "face.png"
    Image.fromarray(np.full((90, 60, 3), 180, np.uint8)).save(face)
    source, fake, truth = demo.translate(cg, str(face), None, "anime")
    assert fake.shape == big(32, 32) and truth is None  # an upload has no known truth


def test_reconstruction_and_its_error(shown: dict[str, demo.Exhibit]) -> None:
    source, recon, error = demo.reconstruct(shown["vae-conv"], None, 2)
    assert source.shape == recon.shape == error.shape == big(16, 16)
    assert error.min() < 255  # a tiny model does not reconstruct perfectly


def _png(path: Path, mode: str, size: tuple[int, int] = (40, 40)) -> Path:
    colour = {"L": 100, "I;16": 40_000, "RGBA": (10, 20, 30, 0), "1": 1}.get(mode, (1, 2, 3))
    Image.new(mode, size, colour).save(path)
    return path


def test_with_no_argument_the_page_shows_the_released_weights_and_your_runs(tiny_run: Path, tmp_path: Path) -> None:
    """Right after installing, with no run of one's own, the page offers every released model (its card's figures
    beside it); a finished run of another model joins them."""
    from genzoo.registry import models

    released = [e.name for e in models.entries() if e.release is not None]
    assert "cyclegan-resnet" in released and demo.default_sources(tmp_path / "runs") == released
    ex = demo.exhibit("cyclegan-resnet", tmp_path / "runs")
    assert "released" in ex.origin and ex.figures  # what it uses, and the card's figures
    shutil.copytree(tiny_run, tmp_path / "runs" / "vae-conv-mine")
    assert set(demo.default_sources(tmp_path / "runs")) == {*released, "vae-conv"}


def test_odd_uploads(shown: dict[str, demo.Exhibit], tmp_path: Path) -> None:
    grey = demo.read_upload(_png(tmp_path / "grey.png", "L"), 16)
    assert grey.shape == (1, 3, 16, 16) and float((grey - 100 / 255).abs().max()) < 1e-6
    deep = demo.read_upload(_png(tmp_path / "deep.png", "I;16"), 16)
    assert abs(float(deep.mean()) - 40_000 / 65_535) < 0.01  # scaled, not clipped
    clear = demo.read_upload(_png(tmp_path / "clear.png", "RGBA"), 16)
    assert float(clear.min()) == 1.0  # transparent on white
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(demo.DemoInputError, match="cannot be used: not an image"):
        demo.read_upload(tmp_path / "notes.png", 16)
    with pytest.raises(demo.DemoInputError, match="cannot be used"):
        demo.read_upload(_png(tmp_path / "huge.png", "1", (14_000, 14_000)), 16)  # 196 megapixels
    with pytest.raises(demo.DemoInputError, match="Upload an image first"):
        demo.translate(shown["cyclegan-resnet"], None, None, "anime")


def test_without_gradio_the_message_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tiny_run: Path, runner: CliRunner
) -> None:
    monkeypatch.setitem(sys.modules, "gradio", None)
    message = cli_fails(runner, "demo", str(tiny_run))
    assert "pip install 'genzoo[demo]'" in message


# ---- the page, in a browser ---------------------------------------------------------------------------------------


def _need(what: str, found: object) -> None:
    if not found:
        if os.environ.get("GENZOO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GENZOO_REQUIRE_BROWSER=1 but {what} is missing")
        pytest.skip(f"{what} is missing")


@pytest.fixture(scope="module")
def page(
    tiny_run: Path, gan_runs: dict[str, Path], genzoo_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """`genzoo demo` serving two tiny models and the released cyclegan-resnet (by name, from a folder with no
    runs/, as right after installing) on a free loopback port; its URL."""
    import importlib.util

    _need("gradio", importlib.util.find_spec("gradio"))
    port = demo.free_port("127.0.0.1")
    command = [sys.executable, "-m", "genzoo", "demo", str(tiny_run), str(gan_runs["acgan"]), "cyclegan-resnet"]
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        cwd=tmp_path_factory.mktemp("fresh"),
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line, began = "", time.monotonic()
        while "genzoo demo: http" not in line:
            line = server.stdout.readline()
            assert line or server.poll() is None, "the demo stopped before serving"
            assert time.monotonic() - began < 120, "the demo did not start within 2 minutes"
        url = re.search(r"http://\S+", line)
        assert url is not None and f":{port}/" in url.group(0)
        yield url.group(0)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import importlib.util

    _need("selenium", importlib.util.find_spec("selenium"))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    _need("Chromium (apt-get install chromium)", chromium)
    _need("ChromeDriver (apt-get install chromium-driver)", driver_path)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(chromium)
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1200,1500",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _image(driver: object, element_id: str, timeout: float = 60) -> tuple[str, int]:
    """The source and natural width of the picture shown in the component ``element_id``, once there is one."""
    from selenium.webdriver.support.ui import WebDriverWait

    def shown(d: object) -> tuple[str, int] | None:
        for img in d.find_elements("css selector", f"#{element_id} img"):  # type: ignore[attr-defined]
            if img.get_property("complete") and img.get_property("naturalWidth"):
                return img.get_attribute("src"), int(img.get_property("naturalWidth"))
        return None

    return WebDriverWait(driver, timeout).until(shown)


def _click(driver: object, element_id: str, text: str | None = None) -> None:
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    if text is None:
        target = ("css selector", f"#{element_id}")
    else:
        target = ("xpath", f"//*[@id='{element_id}']//*[normalize-space(text())='{text}']")
    WebDriverWait(driver, 30).until(ec.element_to_be_clickable(target)).click()


def test_the_page_in_a_browser(page: str, browser: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    d = browser
    d.get(page)  # type: ignore[attr-defined]
    # samples of the VAE (the first tab), then another seed
    _click(d, "vae-conv-sample-draw")
    first, width = _image(d, "vae-conv-sample-out")
    assert width == big(38, 8 * 16 + 9 * 2)[1]
    _click(d, "vae-conv-sample-another")
    WebDriverWait(d, 60).until(lambda _: _image(d, "vae-conv-sample-out")[0] != first)
    # the walk through latent space, then the slider moved
    _click(d, "vae-conv-walk-button")
    _click(d, "vae-conv-walk-go")
    here, width = _image(d, "vae-conv-walk-here")
    assert width == big(16, 16)[1]
    assert _image(d, "vae-conv-walk-strip")[1] == big(20, demo.WALK_STEPS * 16 + (demo.WALK_STEPS + 1) * 2)[1]
    slider = d.find_element("css selector", "#vae-conv-walk-position input[type=range]")  # type: ignore[attr-defined]
    slider.send_keys(Keys.END)
    WebDriverWait(d, 60).until(lambda _: _image(d, "vae-conv-walk-here")[0] != here)
    # one attribute of the acgan
    _click(d, "model-acgan-button")
    _click(d, "acgan-cond-button")
    _click(d, "acgan-cond-hair_color", "blue")
    assert _image(d, "acgan-cond-out")[1] == big(20, 4 * 16 + 5 * 2)[1]
    # the released translator: a built-in face translated, with its truth; then an upload; then a non-image
    _click(d, "model-cyclegan-resnet-button")
    assert "released weights" in d.page_source  # type: ignore[attr-defined]
    _click(d, "cyclegan-resnet-trans-button")
    _click(d, "cyclegan-resnet-trans-go")
    assert _image(d, "cyclegan-resnet-trans-translation")[1] == big(64, 64)[1]
    assert _image(d, "cyclegan-resnet-trans-truth")[1] == big(64, 64)[1]
    d.save_screenshot(str(tmp_path / "demo.png"))  # type: ignore[attr-defined]
    face = _png(tmp_path / "face.png", "RGB", (64, 48))
    upload = d.find_element("css selector", "#cyclegan-resnet-trans-upload input[type=file]")  # type: ignore[attr-defined]
    upload.send_keys(str(face))
    translated_before = _image(d, "cyclegan-resnet-trans-input")[0]
    _click(d, "cyclegan-resnet-trans-go")
    WebDriverWait(d, 60).until(lambda _: _image(d, "cyclegan-resnet-trans-input")[0] != translated_before)
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    d.find_element("css selector", "#cyclegan-resnet-trans-upload button[aria-label='Clear']").click()  # type: ignore[attr-defined]
    d.find_element("css selector", "#cyclegan-resnet-trans-upload input[type=file]").send_keys(str(notes))  # type: ignore[attr-defined]
    _click(d, "cyclegan-resnet-trans-go")
    WebDriverWait(d, 60).until(lambda _: "cannot be used: not an image" in d.page_source)  # type: ignore[attr-defined]
    _click(d, "model-vae-conv-button")  # and the server still serves
    _click(d, "vae-conv-sample-button")
    _click(d, "vae-conv-sample-draw")
    assert _image(d, "vae-conv-sample-out")[1] > 0
    target = os.environ.get("GENZOO_DEMO_SCREENSHOT")
    if target:  # docs/demo.md's picture is this test's screenshot
        shutil.copyfile(tmp_path / "demo.png", target)

"""Shared fixtures: a private GENZOO_HOME, no plugins, a tiny judge, the CLI runner, and one tiny trained run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from genzoo.judge import JudgeConfig

TINY = [
    "image_size=16",
    "width=8",
    "latent_dim=8",
    "train_size=64",
    "heldout_size=16",
    "batch_size=16",
    "log_every=2",
    "preview_every=4",
    "checkpoint_every=4",
    "train.precision=fp32",
]

TRANSLATOR_TINY_RUN = [
    "train_size=32",
    "heldout_size=8",
    "batch_size=4",
    "log_every=2",
    "preview_every=4",
    "checkpoint_every=4",
    "train.precision=fp32",
]
"""The data and training settings of the tiny translator runs (CycleGAN and CUT)."""

CG_TINY = ["image_size=32", "width=4", "disc_width=4", "n_blocks=1", "pool_size=6", *TRANSLATOR_TINY_RUN]
"""A cyclegan-resnet that trains a step in a blink: 32 px (its smallest), width 4, one residual block."""

TINY_JUDGE = JudgeConfig(
    size=16, width=8, features=32, train_per_style=384, heldout_per_style=64, epochs=4, batch_size=32
)
"""The judge the tests' metrics use (trained in seconds at the start of the session): the real one takes minutes."""


@pytest.fixture(autouse=True, scope="session")
def genzoo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """For the whole session (and restored after it): a private GENZOO_HOME, no plugins, and the tiny judge."""
    import genzoo.judge

    home = tmp_path_factory.mktemp("genzoo-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENZOO_HOME", str(home))
        patch.setenv("GENZOO_DISABLE_PLUGINS", "1")
        patch.setattr(genzoo.judge, "DEFAULT_CONFIG", TINY_JUDGE)
        genzoo.judge.load_judge(progress=False)  # now, so that no command's output shows it being trained
        yield home


def cli_ok(runner: CliRunner, *args: str) -> str:
    """Run the CLI; it must succeed. Returns what it printed."""
    from genzoo.cli import app

    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def cli_fails(runner: CliRunner, *args: str, code: int = 2) -> str:
    """Run the CLI; it must fail with ``code`` and one message, no traceback. Returns the message, one line."""
    from genzoo.cli import app

    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return " ".join(result.output.split())


@contextmanager
def single_thread() -> Iterator[None]:
    """torch on one thread inside the block: results that must repeat bit for bit do not depend on the thread count
    (which the modules using ``one_thread`` change)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="module")
def one_thread() -> Iterator[None]:
    """Tiny networks run fastest, and steadiest on a shared machine, on one thread (``pytestmark`` of a module)."""
    with single_thread():
        yield


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, genzoo_home: Path) -> Path:
    """A finished 8-step vae-conv run on 16-px cartoon faces."""
    import genzoo

    out = tmp_path_factory.mktemp("runs") / "tiny"
    with single_thread():
        genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=8, out=out)
    return out


@pytest.fixture(scope="session")
def gan_runs(tmp_path_factory: pytest.TempPathFactory, genzoo_home: Path) -> dict[str, Path]:
    """Finished 8-step dcgan and acgan runs on 16-px cartoon faces, trained on one thread."""
    import genzoo

    root = tmp_path_factory.mktemp("gan-runs")
    with single_thread():  # bit for bit the same whichever module asks first (see test_resume_continues_exactly)
        return {
            name: genzoo.train(name, data="cartoon", overrides=TINY, steps=8, out=root / name).run_dir
            for name in ("dcgan", "acgan")
        }

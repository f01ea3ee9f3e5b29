"""A training process killed with SIGKILL after its second checkpoint, resumed, ends bit-identical to a run that was
never interrupted: weights, optimizer state, data position and each family's own state (image pools, averages)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from genzoo import checkpoint
from genzoo.runs import RunDir

STEPS = 24
COMMON = ["train_size=64", "heldout_size=16", "log_every=2", "preview_every=4", "checkpoint_every=4",
          "keep_checkpoints=10", "train.precision=fp32"]  # fmt: skip
FAMILIES = {
    "vae-conv": ["image_size=16", "width=8", "latent_dim=8", "batch_size=16"],
    "cyclegan-resnet": ["image_size=32", "width=4", "disc_width=4", "n_blocks=1", "pool_size=6", "batch_size=4"],
    "dcgan": ["image_size=16", "width=8", "latent_dim=8", "batch_size=16"],
    "acgan": ["image_size=16", "width=8", "latent_dim=8", "batch_size=16"],
    "cut": ["image_size=32", "width=4", "disc_width=4", "n_blocks=2", "nce_patches=16", "nce_dim=8", "batch_size=4",
            "ema=0.9"],
}  # fmt: skip


def _command(name: str, out: Path) -> list[str]:
    options = [a for o in COMMON + FAMILIES[name] for a in ("--set", o)]
    to = ["--to", "anime"] if name.startswith(("cyclegan", "cut")) else []
    return [sys.executable, "-m", "genzoo", "train", name, "--data", "cartoon", *to, "--steps", str(STEPS), "-q",
            "--out", str(out), *options]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "GENZOO_DISABLE_PLUGINS": "1"}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_kill_9_then_resume_is_bit_identical(name: str, tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    subprocess.run(_command(name, straight), env=_env(), check=True, capture_output=True)

    killed = tmp_path / "killed"
    process = subprocess.Popen(_command(name, killed), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(RunDir(killed).checkpoint_files()) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(RunDir(killed).checkpoint_files())
    assert process.returncode == -signal.SIGKILL and done >= 2 and not RunDir(killed).finished

    resumed = subprocess.run(
        [sys.executable, "-m", "genzoo", "train", "--resume", str(killed), "-q"], env=_env(), capture_output=True
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    a, b = (
        checkpoint.load_tensors(straight / "model.safetensors"),
        checkpoint.load_tensors(killed / "model.safetensors"),
    )
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []

    def without_time(run: Path) -> list[dict[str, object]]:
        return [{k: v for k, v in m.items() if k != "seconds"} for m in RunDir(run).read_metrics()]

    assert without_time(killed) == without_time(straight)

"""Training that survives: a NaN guard that stops or skips, a checkpoint write killed half-way, a corrupt newest
checkpoint, and a Ctrl-C in the middle of a logging window, each followed by an exact resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.runs import RunDir
from genzoo.trainer import BatchStream, Interrupted, TrainingError
from tests.conftest import TINY, cli_fails


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return checkpoint.load_tensors(run / "model.safetensors")


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _without_time(run: Path) -> list[dict[str, object]]:
    return [{k: v for k, v in m.items() if k != "seconds"} for m in RunDir(run).read_metrics()]


def _poison(monkeypatch: pytest.MonkeyPatch, bad_steps: set[int]) -> None:
    """Make the source images of the given (1-based) steps all NaN, so that their losses and gradients are NaN."""
    real, calls = BatchStream.next, {"n": 0}

    def poisoned(self: BatchStream) -> tuple[torch.Tensor, torch.Tensor | None]:
        x, attrs = real(self)
        calls["n"] += 1
        return (torch.full_like(x, float("nan")) if calls["n"] in bad_steps else x), attrs

    monkeypatch.setattr(BatchStream, "next", poisoned)


# ---- NaN guard ------------------------------------------------------------------------------------------------------


def test_nan_stops_naming_step_and_terms_and_keeps_the_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _poison(monkeypatch, {6})
    with pytest.raises(TrainingError) as caught:
        genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=8, out=tmp_path / "r")
    message = str(caught.value)
    assert "at step 6" in message and "recon" in message and "kl" in message
    assert "step-0000004.safetensors" in message and "train.on_nan=skip" in message
    assert caught.value.exit_code == 3
    run = RunDir(tmp_path / "r")
    assert [p.name for p in run.checkpoint_files()] == ["step-0000004.safetensors"]
    assert not run.finished
    weights = checkpoint.load_tensors(run.checkpoint_files()[0])
    assert all(bool(torch.isfinite(v.float()).all()) for v in weights.values())
    assert [m["step"] for m in run.read_metrics()] == [2, 4]  # nothing logged from the diverged window


def test_nan_exit_code_on_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _poison(monkeypatch, {1})
    sets = [a for o in TINY for a in ("--set", o)]
    message = cli_fails(
        CliRunner(), "train", "vae-conv", "--steps", "4", "-q", "--out", str(tmp_path / "r"), *sets, code=3
    )
    assert "diverged at step 1" in message and "no checkpoint had been saved yet" in message


def test_nan_skip_leaves_the_weights_as_they_were_and_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clean = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=2, out=tmp_path / "clean")
    _poison(monkeypatch, {3})
    skipped = genzoo.train("vae-conv", data="cartoon", overrides=[*TINY, "on_nan=skip"], steps=3, out=tmp_path / "skip")
    # parameters, optimizer-independent buffers (BatchNorm statistics the NaN batch went through) included
    assert _same(_weights(clean.run_dir), _weights(skipped.run_dir))
    summary = RunDir(skipped.run_dir).read_summary()
    assert summary["skipped_steps"] == 1 and summary["steps"] == 3
    lines = RunDir(skipped.run_dir).read_metrics()
    assert [(m["step"], m["skipped_steps"]) for m in lines] == [(2, 0), (3, 1)]
    assert "loss" not in lines[-1]  # the only step of the last window was skipped: no made-up average


def test_nan_skip_count_survives_resume_and_the_limit_stops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _poison(monkeypatch, {2, 3, 9, 10, 11})
    overrides = [*TINY, "on_nan=skip", "skip_limit=3"]
    half = genzoo.train("vae-conv", data="cartoon", overrides=overrides, steps=4, out=tmp_path / "r")
    assert RunDir(half.run_dir).read_summary()["skipped_steps"] == 2
    with pytest.raises(TrainingError, match="3 steps in a row up to step 11"):
        genzoo.train(resume=half.run_dir, steps=16)
    last = RunDir(half.run_dir).read_metrics()[-1]
    assert (last["step"], last["skipped_steps"]) == (10, 4)
    # the checkpoint at step 8 carries the count of the first session, and a clean run of good steps since
    state = checkpoint.load_state(RunDir(half.run_dir).checkpoint_files()[-1])
    assert state["skipped"] == [2, 0]


# ---- interrupted writes, corrupt checkpoints, signals -------------------------------------------------------------

_HANG_IN_WRITE = """
import os, sys, time
from pathlib import Path

real_fsync = os.fsync

def fsync(fd):
    name = os.readlink(f"/proc/self/fd/{fd}")
    if "step-0000008.safetensors" in name:  # the second checkpoint: its bytes are written, not yet renamed into place
        Path(sys.argv[1]).write_text(name)
        time.sleep(120)
    real_fsync(fd)

os.fsync = fsync
from genzoo.cli import app
app(sys.argv[2:])
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to find the file being written")
def test_kill_during_a_checkpoint_write_keeps_the_previous_one(tmp_path: Path) -> None:
    out, marker = tmp_path / "run", tmp_path / "writing"
    sets = [a for o in TINY for a in ("--set", o)]

    def args(run: Path) -> list[str]:
        return ["train", "vae-conv", "--data", "cartoon", "--steps", "12", "-q", "--out", str(run), *sets]

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", _HANG_IN_WRITE, str(marker), *args(out)], env=env)
    deadline = time.monotonic() + 120
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert marker.exists(), "the training process never reached its second checkpoint"
    process.kill()
    process.wait()

    run = RunDir(out)
    partial = Path(marker.read_text())
    assert partial.parent == run.checkpoints and partial.name.startswith(".step-0000008") and partial.exists()
    assert [p.name for p in run.checkpoint_files()] == ["step-0000004.safetensors"]
    kept = run.checkpoint_files()[0]
    info = checkpoint.read_header(kept)
    assert info.step == 4 and info.resumable
    assert checkpoint.load_tensors(kept) and checkpoint.load_state(kept)["data"]

    # both runs in processes with one thread, as the killed one: thread counts change float sums in convolutions
    resume = [sys.executable, "-m", "genzoo", "train", "--resume", str(out), "-q"]
    subprocess.run(resume, env=env, check=True, capture_output=True)
    assert checkpoint.read_header(out / "model.safetensors").step == 12 and not partial.exists()
    subprocess.run([sys.executable, "-m", "genzoo", *args(tmp_path / "straight")], env=env, check=True)
    assert _same(_weights(tmp_path / "straight"), _weights(out))


def test_corrupt_newest_checkpoint_is_named_and_the_one_before_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=8, out=tmp_path / "r")
    newest = RunDir(first.run_dir).checkpoint_files()[-1]
    newest.write_bytes(newest.read_bytes()[:-100])  # a flipped end: truncated on disk
    resumed = genzoo.train(resume=first.run_dir, steps=12)
    err = " ".join(capsys.readouterr().err.split())
    assert "step-0000008.safetensors is truncated or corrupt" in err and "Resuming from step-0000004" in err
    summary = RunDir(first.run_dir).read_summary()
    assert summary["steps_this_session"] == 8 and summary["seconds"] > summary["seconds_this_session"] > 0
    # this session's speed, not the whole run's steps over this session's time or the other way round
    seconds = summary["seconds_this_session"]  # rounded to 0.01 s
    assert summary["images_per_second"] == pytest.approx(8 * 16 / seconds, rel=0.006 / seconds + 0.01)
    straight = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=12, out=tmp_path / "straight")
    assert _same(_weights(straight.run_dir), _weights(resumed.run_dir))


def test_ctrl_c_in_the_middle_of_a_logging_window_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signal lands after step 5 (log_every 2, checkpoint_every 4): the stop checkpoint keeps the half window."""
    from genzoo.models.vae.model import VAE

    step_fn = VAE.train_step

    def train_step(self: VAE, batch: object, ctx: object) -> dict[str, torch.Tensor]:
        logs = step_fn(self, batch, ctx)  # type: ignore[arg-type]
        if ctx.global_step == 4:  # type: ignore[attr-defined]
            os.kill(os.getpid(), signal.SIGINT)
        return logs

    monkeypatch.setattr(VAE, "train_step", train_step)
    with pytest.raises(Interrupted, match="after step 5 of 10"):
        genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=10, out=tmp_path / "r")
    monkeypatch.undo()
    assert RunDir(tmp_path / "r").checkpoint_files()[-1].name == "step-0000005.safetensors"
    genzoo.train(resume=tmp_path / "r")
    straight = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=10, out=tmp_path / "straight")
    assert _same(_weights(straight.run_dir), _weights(tmp_path / "r"))
    assert _without_time(tmp_path / "r") == _without_time(straight.run_dir)


def test_full_disk_at_the_final_weights_then_resume_writes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from genzoo.errors import StorageError

    real = checkpoint.save

    def save(path: Path, **kwargs: object) -> Path:
        if Path(path).name == "model.safetensors":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(checkpoint, "save", save)
    with pytest.raises(StorageError, match=r"step-0000008\.safetensors"):
        genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=8, out=tmp_path / "r")
    monkeypatch.undo()
    run = RunDir(tmp_path / "r")
    assert not run.finished and run.checkpoint_files()[-1].name == "step-0000008.safetensors"
    resumed = genzoo.train(resume=run.path)  # nothing left to train: only the final files are written
    assert resumed.steps == 8 and run.finished
    assert run.read_summary()["steps_this_session"] == 0 and "loss" in run.read_summary()["final_losses"]
    assert _same(_weights(run.path), checkpoint.load_tensors(run.checkpoint_files()[-1]))

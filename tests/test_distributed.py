"""torchrun: two CPU processes (gloo) train one model. Every rank ends with the same weights, only rank 0 writes, and
a run stopped by SIGTERM resumes under torchrun to exactly the weights and metrics of an uninterrupted one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from genzoo import checkpoint
from genzoo.checkpoint import AVERAGE_PREFIX
from genzoo.data.core import ImageSet
from genzoo.runs import RunDir
from genzoo.trainer import BatchStream

COMMON = ["train_size=64", "heldout_size=16", "log_every=2", "preview_every=4", "checkpoint_every=4",
          "keep_checkpoints=10", "train.precision=fp32"]  # fmt: skip
TINY = [*COMMON, "image_size=16", "width=8", "latent_dim=8", "batch_size=8"]
FAMILIES = {
    "dcgan": TINY,
    "cyclegan-resnet": [
        *COMMON,
        "image_size=32",
        "width=4",
        "disc_width=4",
        "n_blocks=1",
        "pool_size=6",
        "batch_size=2",
    ],
}
WORKER = Path(__file__).with_name("ddp_worker.py")


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]


def _train(name: str, out: Path, steps: int) -> list[str]:
    to = ["--to", "anime"] if name.startswith("cyclegan") else []
    sets = [a for o in FAMILIES[name] for a in ("--set", o)]
    return ["-m", "genzoo", "train", name, "--data", "cartoon", *to, "--steps", str(steps), "-q", "--out", str(out),
            *sets]  # fmt: skip


def _env() -> dict[str, str]:
    # faulthandler: should a process die of a signal, its Python stacks are in the stderr the assertion shows
    return {**os.environ, "OMP_NUM_THREADS": "1", "GENZOO_DISABLE_PLUGINS": "1", "PYTHONFAULTHANDLER": "1"}


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[:6000]
    return done


def test_batch_stream_shards_each_global_batch_between_the_ranks() -> None:
    images = ImageSet(np.arange(20, dtype=np.uint8).reshape(20, 1, 1, 1).repeat(3, axis=3), "toy")
    whole = BatchStream(images, 6, seed=3, device=torch.device("cpu"))
    ranks = [BatchStream(images, 3, seed=3, device=torch.device("cpu"), rank=r, world=2) for r in range(2)]
    assert whole.batches_per_epoch == ranks[0].batches_per_epoch == 3
    for _ in range(7):  # over two epoch boundaries
        expected = whole.next()[0]
        parts = [r.next()[0] for r in ranks]
        assert torch.equal(torch.cat(parts), expected)
        assert not set(parts[0].flatten().tolist()) & set(parts[1].flatten().tolist())
        assert (ranks[0].epoch, ranks[0].offset) == (ranks[1].epoch, ranks[1].offset) == (whole.epoch, whole.offset)


def test_two_processes_hold_identical_weights_and_only_rank_0_writes(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(_torchrun(str(WORKER), "dcgan", str(out), "8", *TINY))
    rank0, rank1 = (checkpoint.load_tensors(tmp_path / f"run-rank{r}.safetensors") for r in range(2))
    assert rank0.keys() == rank1.keys() and any("running_mean" in k for k in rank0)  # BatchNorm buffers too
    assert [k for k in rank0 if not torch.equal(rank0[k], rank1[k])] == []
    saved = checkpoint.load_tensors(out / "model.safetensors")
    assert all(torch.equal(saved[k], rank0[k]) for k in saved if not k.startswith(AVERAGE_PREFIX))
    first = checkpoint.load_tensors(RunDir(out).checkpoint_files()[0])
    assert not all(torch.equal(first[k], saved[k]) for k in saved)

    lines = RunDir(out).read_metrics()
    assert [m["step"] for m in lines] == [2, 4, 6, 8]  # one writer: no line twice
    assert [m["epoch"] for m in lines] == [0, 0, 1, 1]  # 64 images, 2 × 8 a step: 4 steps an epoch
    summary = RunDir(out).read_summary()
    assert summary["steps"] == 8 and summary["processes"] == 2
    # the speed counts both processes' images: 8 steps × 8 images × 2 processes over this session's seconds
    seconds = summary["seconds_this_session"]  # rounded to 0.01 s
    assert summary["images_per_second"] == pytest.approx(8 * 8 * 2 / seconds, rel=0.006 / seconds + 0.01)
    state = checkpoint.load_state(RunDir(out).checkpoint_files()[-1])
    assert len(state["ranks"]) == 2  # each process's RNG, for an exact resume
    assert not torch.equal(state["ranks"][0]["rng"]["torch"], state["ranks"][1]["rng"]["torch"])


@pytest.mark.parametrize("name", list(FAMILIES))
def test_sigterm_under_torchrun_then_resume_is_exact(name: str, tmp_path: Path) -> None:
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    _run(_torchrun(*_train(name, straight, 16)))

    process = subprocess.Popen(
        _torchrun(*_train(name, stopped, 400)), env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not RunDir(stopped).checkpoint_files() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)  # torchrun passes it on to both workers
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0
    assert b"rank 0 stopped: Training stopped by SIGTERM" in err
    assert not RunDir(stopped).finished
    step = checkpoint.read_header(RunDir(stopped).checkpoint_files()[-1]).step
    assert 4 <= step < 16

    _run(_torchrun("-m", "genzoo", "train", "--resume", str(stopped), "--steps", "16", "-q"))
    a = checkpoint.load_tensors(straight / "model.safetensors")
    b = checkpoint.load_tensors(stopped / "model.safetensors")
    assert [k for k in a if not torch.equal(a[k], b[k])] == []

    def without_time(run: Path) -> list[dict[str, object]]:
        return [{k: v for k, v in m.items() if k != "seconds"} for m in RunDir(run).read_metrics()]

    assert without_time(stopped) == without_time(straight)


def test_resume_with_one_process_continues_a_two_process_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    _run(_torchrun(*_train("dcgan", out, 8)))
    done = _run([sys.executable, "-m", "genzoo", "train", "--resume", str(out), "--steps", "12", "-q"])
    assert "2 process(es) and this run has 1" in " ".join(done.stderr.split())
    assert checkpoint.read_header(out / "model.safetensors").step == 12

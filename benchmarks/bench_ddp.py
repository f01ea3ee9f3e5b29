"""What torchrun buys on this machine: one process against two (``torchrun --nproc_per_node 2``), same global batch.

    python benchmarks/bench_ddp.py [--steps 30] [--repeats 3] [--models vae-conv dcgan cyclegan-resnet]

Each model trains on the built-in cartoon faces through the real command line, three ways, interleaved and
repeated so that machine noise hits all alike:

- ``1 × 1``: one process, one thread (``OMP_NUM_THREADS=1``): the rate of one core;
- ``1 × 2``: one process, two threads: what a plain ``genzoo train`` does with two cores;
- ``2 × 1``: ``torchrun --nproc_per_node 2``, one thread each, each process half of the same global batch.

The rate is global images per second, the median over logging windows after a warm-up (from the ``seconds`` of
consecutive ``metrics.jsonl`` lines), so start-up, data loading and the final artefacts are left out. Columns:
``2×1 / 1×2`` is the speed-up of torchrun over the plain command on the same cores; ``scaling`` is ``2×1`` over
twice ``1×1``, the share of a second core's work that data parallelism turns into throughput (1.0 is perfect).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from genzoo.runs import RunDir

WARMUP, WINDOW = 6, 3
MODELS = {
    "vae-conv": ([], 64),
    "dcgan": ([], 64),
    "cyclegan-resnet": (["--to", "anime"], 4),
}
WAYS = {"1 × 1": (1, 1), "1 × 2": (1, 2), "2 × 1": (2, 1)}  # processes × threads


def rate(name: str, processes: int, threads: int, steps: int) -> float:
    """Global img/s of ``genzoo train name`` in ``processes`` × ``threads`` (median logging window after warm-up)."""
    extra, batch = MODELS[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        launcher = [sys.executable]
        if processes > 1:
            launcher += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes)]
        sets = [f"batch_size={batch // processes}", f"log_every={WINDOW}", "preview_every=100000",
                "checkpoint_every=100000"]  # fmt: skip
        command = [*launcher, "-m", "genzoo", "train", name, "--data", "cartoon", *extra, "-q", "--out", str(out),
                   "--steps", str(WARMUP + steps), *[a for s in sets for a in ("--set", s)]]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "GENZOO_DISABLE_PLUGINS": "1"}
        subprocess.run(command, env=env, check=True, capture_output=True)
        lines = [m for m in RunDir(out).read_metrics() if m["step"] >= WARMUP]
    rates = [(b["step"] - a["step"]) * batch / (b["seconds"] - a["seconds"]) for a, b in itertools.pairwise(lines)]
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run, after the warm-up")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs; global batch as listed; img/s, medians of {args.repeats} runs")
    head = f"{'model':>16} {'batch':>5}" + "".join(f"{w:>9}" for w in WAYS)
    print(f"{head} {'2×1 / 1×2':>10} {'scaling':>8}")
    for name in args.models:
        measured: dict[str, list[float]] = {w: [] for w in WAYS}
        for _ in range(args.repeats):
            for way, (processes, threads) in WAYS.items():
                measured[way].append(rate(name, processes, threads, args.steps))
        m = {w: statistics.median(v) for w, v in measured.items()}
        cells = "".join(f"{m[w]:>9.0f}" if m[w] >= 100 else f"{m[w]:>9.1f}" for w in WAYS)
        speedup, scaling = m["2 × 1"] / m["1 × 2"], m["2 × 1"] / (2 * m["1 × 1"])
        print(f"{name:>16} {MODELS[name][1]:>5}{cells} {speedup:>9.2f}x {scaling:>8.2f}", flush=True)


if __name__ == "__main__":
    main()

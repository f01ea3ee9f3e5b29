"""What the training benchmarks share: random data, timing a bare loop, timing genzoo's Trainer, the table.

A benchmark compares genzoo's Trainer with a bare hand-written fp32 loop of the same networks, interleaved in one
process so that machine noise hits both alike, repeating each configuration and reporting medians.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from genzoo.config import build_run_config
from genzoo.data.core import ImageSet, Split
from genzoo.data.loading import Domains
from genzoo.data.toon import ATTRIBUTES
from genzoo.devices import resolve_precision
from genzoo.registry import ModelEntry
from genzoo.runs import RunDir
from genzoo.trainer import Trainer

WARMUP = 3
WINDOW = 3


def random_images(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, torch.Tensor]:
    """``n`` random images as uint8 ``(N, H, W, 3)`` (for the Trainer) and float NCHW in ``[0, 1]`` (bare loop)."""
    uint8 = np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    floats = torch.from_numpy(uint8).permute(0, 3, 1, 2).float().div(255).contiguous()
    return uint8, floats


def random_codes(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random rows of built-in attribute codes ``(N, len(ATTRIBUTES))``, each value within its attribute."""
    sizes = np.array([len(values) for values in ATTRIBUTES.values()])
    return np.random.default_rng(seed).integers(0, sizes, size=(n, len(sizes)))


def bare_rate(step: Callable[[], None], batch_size: int, steps: int) -> float:
    """img/s of ``step()`` (one training step on ``batch_size`` images): ``batch_size`` over the median time of
    ``steps`` timed steps, after ``WARMUP`` untimed ones. The median ignores steps slowed by other processes."""
    for _ in range(WARMUP):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return batch_size / statistics.median(times)


def trainer_rate(
    name: str,
    split: Split,
    batch_size: int,
    steps: int,
    precision: str,
    overrides: Sequence[str] = (),
    target: Split | None = None,
) -> float:
    """img/s of genzoo's Trainer loop (uint8 batches, step, logging, NaN guard), after ``WARMUP`` steps.

    The run logs every ``WINDOW`` steps; each pair of consecutive ``metrics.jsonl`` lines after the warm-up gives
    the rate of one window (from their ``seconds``), and the median window is reported, so that the final
    preview, checkpoint and run artefacts, written once per run, and windows slowed by other processes are left
    out. ``steps`` is rounded up to whole windows. A translator also needs its ``target`` domain.
    """
    windows = max(1, -(-steps // WINDOW))
    run = build_run_config(
        name,
        options={"data": {"name": "bench", "to": "target"}} if target is not None else None,
        overrides=[
            *overrides,
            f"batch_size={batch_size}",
            f"steps={WARMUP + windows * WINDOW}",
            f"precision={precision}",
            f"log_every={WINDOW}",
            "preview_every=100000",
            "checkpoint_every=100000",
        ],
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = Trainer(run, Path(tmp) / "run", progress=False, data=Domains(split, target)).fit()
        lines = [m for m in RunDir(result.run_dir).read_metrics() if m["step"] >= WARMUP]
    rates = [(b["step"] - a["step"]) * batch_size / (b["seconds"] - a["seconds"]) for a, b in itertools.pairwise(lines)]
    return statistics.median(rates)


def image_split(uint8: np.ndarray, attributes: np.ndarray | None = None, schema: dict | None = None) -> Split:
    """A ``Split`` of in-memory images (and attribute codes) for ``Trainer(data=...)``."""
    train = ImageSet(uint8, "bench", attributes, dict(schema or {}))
    heldout = ImageSet(uint8[:64], "bench", None if attributes is None else attributes[:64], dict(schema or {}))
    return Split(train, heldout)


def training_data(entry: ModelEntry, batch_size: int, size: int) -> tuple[Split, Split | None]:
    """Random built-in-like data for a registered model's Trainer: ``max(256, 4 × batch)`` images with attribute
    codes, and for a translator a second domain of as many other random images."""
    uint8, _ = random_images(max(256, 4 * batch_size), size)
    split = image_split(uint8, random_codes(len(uint8)), ATTRIBUTES)
    target = image_split(random_images(len(uint8), size, seed=1)[0]) if "translate" in entry.capabilities else None
    return split, target


def timing_arguments(parser: argparse.ArgumentParser, precision: str) -> None:
    """The options of a Trainer benchmark's timing: ``--steps`` timed, ``--repeats`` interleaved, ``--precision``."""
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precision", default=precision, choices=["fp32", "auto", "bf16"])


def print_setup(args: argparse.Namespace, extra: str = "") -> None:
    """The first two lines of a Trainer benchmark's table: torch, threads, precision, steps and repeats."""
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, precision {args.precision}")
    print(f"{args.steps} timed steps, median of {args.repeats}{extra}")


def print_header() -> None:
    dtype = resolve_precision("auto", torch.device("cpu"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, precision auto -> {dtype or 'fp32'}")


class Table:
    """Rows of medians: ``label``, bare fp32, genzoo fp32, genzoo auto, and auto/bare."""

    def __init__(self, label: str = "batch") -> None:
        self.label = label
        print(f"{label:>12}  {'bare fp32 img/s':>15}  {'genzoo fp32':>11}  {'genzoo auto':>11}  {'auto/bare':>9}")

    def row(self, key: object, bare: Sequence[float], plain: Sequence[float], auto: Sequence[float]) -> None:
        b, p, a = (statistics.median(v) for v in (bare, plain, auto))
        print(f"{key!s:>12}  {b:>15.0f}  {p:>11.0f}  {a:>11.0f}  {a / b:>8.2f}x", flush=True)

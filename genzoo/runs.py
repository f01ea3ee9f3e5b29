"""Run directories: a plain folder anyone can read, and how a name, a folder or a file resolves to weights.

::

    runs/vae-conv-20261125-193000/
      config.json          the run config (model, train, data) and the genzoo version
      metrics.jsonl        one JSON line of averaged losses every ``log_every`` steps
      checkpoints/         resumable checkpoints, step-0001000.safetensors, the newest few kept
      previews/            preview grids during training
      model.safetensors    the final weights: its presence marks the run as finished
      summary.json         wall time, throughput, final losses, held-out metrics
      curves.png, samples.png, reconstructions.png, translations.png, latent.png, …
      report.html          all of the above on one self-contained page
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genzoo.checkpoint import CheckpointInfo, read_header
from genzoo.errors import CheckpointError, GenzooError
from genzoo.io import write_json
from genzoo.registry import models

DEFAULT_ROOT = Path("runs")
CURVES_FILE = "curves.png"
LATENT_FILE = "latent.png"
EVAL_FILE = "eval.json"
REPORT_FILE = "report.html"
NOT_CURVES = frozenset({"step", "epoch", "lr", "beta", "seconds", "skipped_steps"})
"""Keys of a ``metrics.jsonl`` line that are not loss terms (bookkeeping, and the VAE's KL weight ``beta``)."""


@dataclass(frozen=True)
class RunDir:
    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))  # accept str too

    @property
    def config_file(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_file(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def previews(self) -> Path:
        return self.path / "previews"

    @property
    def weights(self) -> Path:
        return self.path / "model.safetensors"

    @property
    def summary_file(self) -> Path:
        return self.path / "summary.json"

    @property
    def finished(self) -> bool:
        return self.weights.is_file()

    def is_run(self) -> bool:
        return self.config_file.is_file()

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints / f"step-{step:07d}.safetensors"

    def checkpoint_files(self) -> list[Path]:
        """Resumable checkpoints, oldest first."""
        return sorted(self.checkpoints.glob("step-*.safetensors"))

    def read_config(self) -> dict[str, Any]:
        return json.loads(self.config_file.read_text())

    def read_summary(self) -> dict[str, Any]:
        return json.loads(self.summary_file.read_text()) if self.summary_file.is_file() else {}

    def update_summary(self, **values: Any) -> None:
        """Add ``values`` to ``summary.json`` (rewritten atomically)."""
        write_json(self.summary_file, {**self.read_summary(), **values})

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_file.is_file():
            return []
        return [json.loads(line) for line in self.metrics_file.read_text().splitlines() if line.strip()]

    def metrics_at(self, step: int) -> dict[str, Any]:
        """The last ``metrics.jsonl`` line at or before ``step`` ({} when there is none, or ``step`` is 0)."""
        lines = [m for m in self.read_metrics() if m["step"] <= step] if step else []
        return lines[-1] if lines else {}


def existing_run(path: str | Path) -> RunDir:
    """``path`` as a run directory, finished or not; a missing path or a folder without ``config.json`` is refused."""
    run = RunDir(Path(path))
    if not run.path.is_dir():
        raise GenzooError(f"{path} does not exist or is not a folder. Give a run directory, e.g. runs/vae-conv-….")
    if not run.is_run():
        raise GenzooError(
            f"{path} is not a genzoo run directory: it has no config.json. Give a folder that `genzoo train` wrote "
            f"under runs/."
        )
    return run


def finished_run(path: str | Path) -> RunDir:
    """``path`` as a finished run; a folder that is not a run, or whose run has not finished, is refused."""
    run = existing_run(path)
    if not run.finished:
        raise GenzooError(
            f"{path} has not finished: it has no model.safetensors yet, so it has no final metrics. Wait for it to "
            f"finish, or continue it with `genzoo train --resume {path}`."
        )
    return run


def new_run_dir(model_name: str, root: Path = DEFAULT_ROOT) -> RunDir:
    """A fresh, not yet existing ``root/<model>-<date>-<time>`` (with a suffix when that is taken)."""
    stem = f"{model_name}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = root / stem, 1
    while path.exists():
        k += 1
        path = root / f"{stem}-{k}"
    return RunDir(path)


def finished_runs(model_name: str | None = None, root: Path = DEFAULT_ROOT) -> list[RunDir]:
    """Finished runs below ``root`` (of one model, when given), oldest first by the time their weights were written."""
    if not root.is_dir():
        return []
    runs = []
    for path in root.iterdir():
        run = RunDir(path)
        if run.finished and run.is_run():
            try:
                name = run.read_config().get("name")
            except (OSError, json.JSONDecodeError):
                continue
            if model_name is None or name == model_name:
                runs.append(run)
    return sorted(runs, key=lambda r: r.weights.stat().st_mtime_ns)


def resolve_weights(source: str | Path, root: Path = DEFAULT_ROOT) -> CheckpointInfo:
    """A checkpoint file, a run directory, or a model name (its newest finished run) → the checkpoint to load."""
    path = Path(source)
    if path.is_file():
        return read_header(path)
    if path.is_dir():
        run = RunDir(path)
        if run.finished:
            return read_header(run.weights)
        if run.checkpoint_files():
            return read_header(run.checkpoint_files()[-1])
        raise CheckpointError(
            f"{path} holds no weights: it is not a genzoo run directory, or its run has not saved yet."
        )
    name = str(source)
    if name in models:
        runs = finished_runs(name, root)
        if runs:
            return read_header(runs[-1].weights)
        raise CheckpointError(
            f"No finished run of {name} in {root}/. Train one first: `genzoo train {name} --data cartoon"
            f"{' --to anime' if 'translate' in models.get(name).capabilities else ''}`, "
            f"or give a run directory or a .safetensors file."
        )
    if path.suffix or "/" in name:
        raise CheckpointError(f"{source} does not exist. Give a .safetensors file, a run directory or a model name.")
    models.get(name)  # raises with suggestions
    raise AssertionError("unreachable")

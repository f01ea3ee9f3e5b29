"""Run directories: a plain folder anyone can read, and how a name, a folder or a file resolves to weights.

Where weights come from, in this order: a path given (a ``.safetensors`` file or a run directory) >
``hf:owner/repo[@revision]`` (``genzoo.hub``: huggingface_hub's cache, offline-capable) > the newest finished local
run of a model name > the model's released weights (``genzoo.registry.Release``, checked against
their sha256 before anything reads them). ``weights="local"`` or ``"released"`` chooses one of the last two.

::

    runs/vae-conv-20261125-193000/
      config.json          the run config (model, train, data) and the genzoo version
      metrics.jsonl        one JSON line of averaged losses every ``log_every`` steps
      checkpoints/         resumable checkpoints, step-0001000.safetensors, the newest few kept
      previews/            preview grids during training
      model.safetensors    the final weights: its presence marks the run as finished
      summary.json         wall time, throughput, final losses, held-out metrics
      sessions.jsonl       one line per training session (start or resume): its first step and its machine
      curves.png, samples.png, reconstructions.png, translations.png, latent.png, …
      report.html          all of the above on one self-contained page
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from genzoo.checkpoint import CheckpointInfo, read_header, verify
from genzoo.errors import CheckpointError, GenzooError
from genzoo.hub import fetch, is_hub
from genzoo.io import write_json
from genzoo.registry import ModelEntry, models

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
    def sessions_file(self) -> Path:
        return self.path / "sessions.jsonl"

    def read_sessions(self) -> list[dict[str, Any]]:
        """One line per training session (a start or a resume): the step it began at and the machine it ran on."""
        if not self.sessions_file.is_file():
            return []
        return [json.loads(line) for line in self.sessions_file.read_text().splitlines() if line.strip()]

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


WeightsChoice = Literal["auto", "local", "released"]
WEIGHTS_CHOICES: tuple[str, ...] = get_args(WeightsChoice)
Origin = Literal["path", "hub", "run", "released"]


@dataclass(frozen=True)
class Found:
    """The weights a source resolved to, and where they came from: a path given, a local run, or a release."""

    header: CheckpointInfo
    origin: Origin

    def describe(self, source: str) -> str:
        """One line naming what was used for ``source``, for a command to print."""
        if self.origin == "released":
            return f"using the released weights of {source} ({self.header.path}, sha256 checked)"
        if self.origin == "hub":
            return f"using {source} ({self.header.path.parent}, huggingface_hub's cache)"
        if self.origin == "run":
            run = self.header.path.parent if self.header.path.name == "model.safetensors" else self.header.path
            return f"using {run}, the newest finished {source} run"
        return f"using {self.header.path}"


def released_weights(entry: ModelEntry) -> CheckpointInfo:
    """The header of ``entry``'s released weights, after checking their sha256; refused when it has none."""
    release = entry.release
    if release is None:
        with_weights = [e.name for e in models.entries() if e.release is not None]
        raise CheckpointError(
            f"{entry.name} has no released weights (models that have some: {', '.join(with_weights) or 'none'}; "
            f"`genzoo list` marks them). Train it with `genzoo train {entry.name}`, or give a run directory or a "
            f".safetensors file."
        )
    what = f"The released weights of {entry.name}"
    verify(release.path, release.sha256, what)
    header = read_header(release.path)
    if header.model != entry.name:
        raise CheckpointError(
            f"{what} ({release.path}) hold weights of {header.model}, not of {entry.name}: the package that "
            f"registers {entry.name} ({entry.source}) points at the wrong file. Report it to its authors."
        )
    return header


def find_weights(source: str | Path, root: Path = DEFAULT_ROOT, weights: WeightsChoice = "auto") -> Found:
    """The checkpoint ``source`` names, and where it came from. A file or a run directory is itself; ``hf:owner/repo``
    a Hub repository's weights; a model name is its newest finished run in ``root``, else its released weights
    (``weights="auto"``), or only one of those (``"local"``, ``"released"``)."""
    if weights not in WEIGHTS_CHOICES:
        raise GenzooError(f"--weights {weights!r} is not one of {', '.join(WEIGHTS_CHOICES)}.")
    path = Path(source)
    if (path.exists() or is_hub(source)) and weights != "auto":
        raise GenzooError(
            f"--weights {weights} chooses between a model name's local runs and its released weights, but {source} "
            f"is a {'Hub repository' if is_hub(source) else 'path'}: leave --weights out, or give a model name."
        )
    if is_hub(source) and not path.exists():
        return Found(fetch(str(source)), "hub")
    if path.is_file():
        return Found(read_header(path), "path")
    if path.is_dir():
        run = RunDir(path)
        if run.finished:
            return Found(read_header(run.weights), "path")
        if run.checkpoint_files():
            return Found(read_header(run.checkpoint_files()[-1]), "path")
        raise CheckpointError(
            f"{path} holds no weights: it is not a genzoo run directory, or its run has not saved yet."
        )
    name = str(source)
    if name in models:
        entry = models.get(name)
        runs = finished_runs(name, root) if weights != "released" else []
        if runs:
            return Found(read_header(runs[-1].weights), "run")
        if weights == "released" or (weights == "auto" and entry.release is not None):
            return Found(released_weights(entry), "released")
        translator = " --to anime" if "translate" in entry.capabilities else ""
        released = (
            " (or --weights released for its released weights)"
            if entry.release is not None
            else f", and {name} has no released weights yet (`genzoo list` marks the names that have)"
        )
        raise CheckpointError(
            f"No finished run of {name} in {root}/{released}. Train one first: `genzoo train {name} --data cartoon"
            f"{translator}`, or give a run directory or a .safetensors file."
        )
    if path.suffix or "/" in name:
        raise CheckpointError(f"{source} does not exist. Give a .safetensors file, a run directory or a model name.")
    models.get(name)  # raises with suggestions
    raise AssertionError("unreachable")


def resolve_weights(source: str | Path, root: Path = DEFAULT_ROOT, weights: WeightsChoice = "auto") -> CheckpointInfo:
    """A checkpoint file, a run directory, or a model name (see ``find_weights``) → the checkpoint to load."""
    return find_weights(source, root, weights).header

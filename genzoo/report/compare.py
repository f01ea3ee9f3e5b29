"""Comparing finished runs (and trained weights without a run directory, such as a Hub repository's): the config
fields that differ between them, and the metrics of each.

An ablation is a set of runs that differ in one or two config fields (``recon_loss: mse`` vs ``bce``, KL warm-up on
or off, ``gan_loss: lsgan`` vs ``vanilla``, ``cyclegan-resnet`` vs ``cyclegan-unet``). ``compare_entrants``
flattens each run's ``config.json`` (or the run config a checkpoint's header holds) to dotted keys, keeps the keys
whose values are not the same in every run, and sets the metrics of each run beside them: the run's ``eval.json``
(written by ``genzoo report --eval`` and ``genzoo compare --eval``, which evaluate through ``genzoo.api``) when it
belongs to the final weights, else the held-out metrics that training stored in ``summary.json``; then the
training facts of ``summary.json`` (time, throughput, final losses).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from genzoo.config import RunConfig
from genzoo.errors import GenzooError
from genzoo.runs import EVAL_FILE, RunDir

NOT_METRICS = frozenset({"model", "checkpoint", "notes"})
"""Keys of an evaluation that identify the model rather than measure it."""
TRAINING_FACTS = ("seconds", "images_per_second", "final_losses")
"""What ``summary.json`` adds to every run's metrics, after the evaluation."""


def flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one level of dotted keys: ``{"a": {"b": 1}}`` → ``{"a.b": 1}``; other values kept as they are."""
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping) and item:
            out.update(flatten(item, f"{name}."))
        else:
            out[name] = item
    return out


def display(value: Any) -> str:
    """A value as table text: floats to 5 significant digits, JSON for lists and dicts, a dash for None."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.5g}"
    if isinstance(value, list | tuple | dict):
        return json.dumps(value)
    return str(value)


def read_eval(run: RunDir) -> dict[str, Any] | None:
    """The run's ``eval.json``, unless it is missing, unreadable, or older than the weights (a resumed run)."""
    path = run.path / EVAL_FILE
    try:
        result = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(result, dict):
        return None
    steps = run.read_summary().get("steps")
    if "step" in result and steps is not None and result["step"] != steps:
        return None
    return result


def run_evaluation(run: RunDir) -> tuple[dict[str, Any], str]:
    """A run's evaluation as dotted keys, and where it came from: ``eval.json``, else ``summary.json``."""
    evaluation = read_eval(run)
    if evaluation is not None:
        return flatten({k: v for k, v in evaluation.items() if k not in NOT_METRICS}), EVAL_FILE
    summary = run.read_summary()
    return {"step": summary.get("steps"), **flatten(summary.get("heldout") or {})}, "summary.json"


def training_facts(run: RunDir) -> dict[str, Any]:
    """Time, throughput and final losses from ``summary.json``, as dotted keys."""
    summary = run.read_summary()
    return flatten({k: summary[k] for k in TRAINING_FACTS if k in summary})


@dataclass(frozen=True)
class Entrant:
    """One column of a comparison: a run directory, or weights without one (a Hub repository, released weights)."""

    label: str
    config: dict[str, Any]
    """The run config (``name``, ``model``, ``train``, ``data``), as complete as it is known."""
    evaluation: dict[str, Any]
    """Dotted metric keys."""
    source: str
    """Where the evaluation came from."""
    facts: dict[str, Any] = field(default_factory=dict)
    """Training time, throughput and final losses, where known."""


def run_entrant(run: RunDir) -> Entrant:
    evaluation, source = run_evaluation(run)
    return Entrant(str(run.path), complete_config(run), evaluation, source, training_facts(run))


def weights_entrant(label: str, run: Mapping[str, Any], evaluation: Mapping[str, Any] | None, source: str) -> Entrant:
    """A column for weights without a run directory: ``run`` is the run config their header holds."""
    metrics = flatten({k: v for k, v in (evaluation or {}).items() if k not in NOT_METRICS})
    try:
        config = {**run, **RunConfig.from_json(run).to_json()}
    except GenzooError:
        config = dict(run)
    return Entrant(label, config, metrics, source)


@dataclass(frozen=True)
class Comparison:
    """Runs side by side: each dict maps a dotted key to one value per run (None where a run lacks the key)."""

    runs: list[str]
    """Each column's run directory or weights (``hf:owner/repo``, a file, a model name)."""
    config: dict[str, list[Any]]
    """Only the config fields whose values differ between the runs."""
    config_fields: int
    """How many config fields there are in all (differing or not)."""
    metrics: dict[str, list[Any]]
    sources: list[str] = field(default_factory=list)
    """Where each run's evaluation came from: ``eval.json`` or ``summary.json``."""

    @property
    def same(self) -> int:
        """How many config fields have the same value in every run."""
        return self.config_fields - len(self.config)

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": list(self.runs),
            "config": self.config,
            "config_fields": self.config_fields,
            "same": self.same,
            "metrics": self.metrics,
            "sources": self.sources,
        }


def _columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Per-run dicts → key → one value per run, keys in first-seen order."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    return {k: [row.get(k) for row in rows] for k in keys}


def complete_config(run: RunDir) -> dict[str, Any]:
    """A run's ``config.json`` with the fields it lacks (a run of an older genzoo) at their defaults, so that a
    field added since does not show as a difference. Kept as written when its model is not registered here."""
    try:
        saved = run.read_config()
    except json.JSONDecodeError as exc:
        raise GenzooError(f"{run.config_file} is not valid JSON ({exc}); the run directory is damaged.") from None
    try:
        return {**saved, **RunConfig.from_json(saved).to_json()}
    except GenzooError:
        return saved


def compare_entrants(entrants: Sequence[Entrant]) -> Comparison:
    """Compare runs and weights: the config fields that differ, and each one's metrics."""
    if len(entrants) < 2:
        raise GenzooError(f"Comparing needs at least two runs; got {len(entrants)}.")
    columns = _columns([flatten(e.config) for e in entrants])
    differing = {k: v for k, v in columns.items() if any(x != v[0] for x in v[1:])}
    metrics = _columns([e.evaluation for e in entrants])
    metrics.update(_columns([e.facts for e in entrants]))  # after every run's evaluation keys
    return Comparison(
        runs=[e.label for e in entrants],
        config=differing,
        config_fields=len(columns),
        metrics=metrics,
        sources=[e.source for e in entrants],
    )

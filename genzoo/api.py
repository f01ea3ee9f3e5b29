"""The Python API: every CLI command is a thin layer over these functions, and users call them too.

This is where genzoo composes its parts: ``train`` trains (``genzoo.trainer``), then draws the run's pictures
(``genzoo.report``), measures the model on held-out images (``genzoo.metrics``) and writes ``report.html``;
``evaluate``, ``report``, ``compare`` and ``latent_map`` load what they need and hand it on. torch is imported only
inside the functions that need it, so ``import genzoo`` and ``genzoo.list_models()`` stay instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo.checkpoint import CheckpointInfo
from genzoo.config import RunConfig, build_run_config
from genzoo.errors import GenzooError, StorageError, disk_full
from genzoo.hub import HubRef, repo_config
from genzoo.io import write_json
from genzoo.models.loading import create, export, load, load_weights, num_parameters, require, training_data
from genzoo.progress import LineConsole
from genzoo.registry import ModelEntry, models
from genzoo.report import html
from genzoo.report.compare import Comparison, Entrant, compare_entrants, read_eval, run_entrant, weights_entrant
from genzoo.runs import (
    DEFAULT_ROOT,
    EVAL_FILE,
    Found,
    RunDir,
    WeightsChoice,
    existing_run,
    find_weights,
    finished_run,
    new_run_dir,
    resolve_weights,
)

if TYPE_CHECKING:
    import torch

    from genzoo.data.loading import Domains
    from genzoo.models.base import GenerativeModel
    from genzoo.report.latent import LatentMap
    from genzoo.trainer import Trainer, TrainResult

__all__ = [
    "check_run",
    "compare",
    "create",
    "evaluate",
    "export",
    "info",
    "latent_map",
    "list_models",
    "load",
    "load_inputs",
    "load_weights",
    "num_parameters",
    "report",
    "require",
    "run_config",
    "train",
]

RESUMABLE_OPTIONS = frozenset({"steps", "epochs", "device", "log"})
"""What ``--resume`` may change: how long to train and where; everything else is the saved run's."""
JUDGE_NOT_CACHED = (
    "skipped at the end of training because the judge of a custom configuration is not trained yet (that takes "
    "minutes); `genzoo eval RUN` trains it once and measures these"
)


def list_models(pattern: str | None = None) -> list[ModelEntry]:
    """Registered models (built-in and plugins) whose names match the fnmatch ``pattern``."""
    return models.entries(pattern)


def info(source: str | Path, root: Path = DEFAULT_ROOT, weights: WeightsChoice = "auto") -> CheckpointInfo:
    """What a checkpoint (file, run directory, or a model's newest run or released weights) is, read from its header
    alone."""
    return resolve_weights(source, root, weights)


# ---- training ----------------------------------------------------------------------------------------------------


def run_config(
    name: str,
    *,
    preset: str | None = None,
    data: str | None = None,
    to: str | None = None,
    config_file: Path | None = None,
    overrides: Iterable[str] = (),
    model: Mapping[str, Any] | None = None,
    **train: Any,
) -> RunConfig:
    """The validated run config of a new run (see ``genzoo.config.build_run_config``); ``model`` holds model fields
    set as options are (under a config file's and ``--set``)."""
    options = {"train": train, "data": {"name": data, "to": to}, "model": dict(model or {})}
    from genzoo.data.loading import with_absolute_paths

    config = build_run_config(name, preset=preset, config_file=config_file, options=options, overrides=overrides)
    return config.model_copy(update={"data": with_absolute_paths(config.data)})


def train(
    name: str | None = None,
    *,
    preset: str | None = None,
    data: str | None = None,
    to: str | None = None,
    config_file: Path | None = None,
    overrides: Iterable[str] = (),
    out: Path | None = None,
    resume: Path | None = None,
    progress: bool = False,
    root: Path = DEFAULT_ROOT,
    **train_options: Any,
) -> TrainResult:
    """Train a model, or continue a run with ``resume=RUN_DIR``; then draw its pictures, measure it on held-out
    images and write its report. Returns where the run is and how it went.

    ``preset`` names a registered configuration of the model (``"zoo"``: the recipe of its released weights);
    ``train_options`` are ``TrainConfig`` fields (``steps``, ``epochs``, ``device``, ``seed``, …).
    """
    from genzoo import distributed
    from genzoo.trainer import Trainer

    config = _requested_config(name, preset, data, to, config_file, overrides, out, resume, train_options)
    if resume is not None:
        run = RunDir(Path(resume))
        result = _fit(Trainer(config, run.path, resume=True, progress=progress), run)
    else:
        if out is None:  # under torchrun, rank 0 names the run (the clock may tick between the processes)
            out = distributed.share(lambda: new_run_dir(config.name, root).path, distributed.world(config.train.device))
        run = RunDir(out)
        result = _fit(Trainer(config, run.path, progress=progress), run)
    if result.main and result.model is not None and result.data is not None:
        with result.average.applied(result.model) if result.average is not None else nullcontext():
            _finish(run, result.model, result.data, seed=config.train.seed)
    return result


def resumed_config(
    name: str | None,
    preset: str | None,
    resume: Path,
    data: str | None,
    to: str | None,
    config_file: Path | None,
    overrides: Iterable[str],
    out: Path | None,
    train_options: dict[str, Any],
) -> RunConfig:
    """The saved config of the run ``resume``, trained longer or elsewhere when ``train_options`` say so; anything
    else given is refused (a resumed run continues as it began)."""
    run = RunDir(Path(resume))
    if not run.is_run():
        raise GenzooError(f"Cannot resume {resume}: it is not a genzoo run directory (no config.json).")
    saved = run.read_config()
    if name is not None and name != saved.get("name"):
        raise GenzooError(f"{resume} is a run of {saved.get('name')}, not of {name}.")
    given = {k for k, v in train_options.items() if v is not None} | {
        k
        for k, v in {
            "preset": preset,
            "data": data,
            "to": to,
            "config": config_file,
            "set": list(overrides),
            "out": out,
        }.items()
        if v
    }
    refused = sorted(given - RESUMABLE_OPTIONS)
    if refused:
        raise GenzooError(
            f"--resume continues {resume} with its saved configuration, so {', '.join(refused)} cannot change; "
            f"only {', '.join(sorted(RESUMABLE_OPTIONS))} can. Start a new run to train differently."
        )
    extend = {k: v for k, v in train_options.items() if v is not None}
    config = RunConfig.from_json(saved)
    if extend:
        train_config = config.train.model_copy(update={"steps": None, **extend} if "epochs" in extend else extend)
        config = config.model_copy(update={"train": train_config})
    return config


def check_run(
    name: str | None = None,
    *,
    preset: str | None = None,
    data: str | None = None,
    to: str | None = None,
    config_file: Path | None = None,
    overrides: Iterable[str] = (),
    out: Path | None = None,
    resume: Path | None = None,
    **train_options: Any,
) -> RunConfig:
    """The run config ``train`` would use, checked as far as it can be without training: the model, every field,
    the data's names, the device, the precision and what ``compile`` needs (``genzoo train --dry-run``). Nothing is
    written."""
    from genzoo.data.loading import check_data_name
    from genzoo.devices import resolve_device, resolve_precision
    from genzoo.trainer.compiling import check_compile

    config = _requested_config(name, preset, data, to, config_file, overrides, out, resume, train_options)
    for source in (config.data.name, config.data.to):
        if source is not None:
            check_data_name(source)
    device = resolve_device(config.train.device)
    resolve_precision(config.train.precision, device)
    if config.train.compile:
        check_compile(device)
    return config


def _requested_config(
    name: str | None,
    preset: str | None,
    data: str | None,
    to: str | None,
    config_file: Path | None,
    overrides: Iterable[str],
    out: Path | None,
    resume: Path | None,
    train_options: dict[str, Any],
) -> RunConfig:
    """The run config that ``train`` and ``check_run`` were asked for: a resumed run's, or a new one of ``name``."""
    if resume is not None:
        return resumed_config(name, preset, resume, data, to, config_file, overrides, out, train_options)
    model: dict[str, Any] = {}
    if train_options.get("init_from") is not None:
        name, model, source = _fine_tuning(name, str(train_options["init_from"]))
        train_options = {**train_options, "init_from": source}
    if name is None:
        raise GenzooError("Name the model to train, e.g. `genzoo train vae-conv --data cartoon`.")
    return run_config(
        name,
        preset=preset,
        data=data,
        to=to,
        config_file=config_file,
        overrides=overrides,
        model=model,
        **train_options,
    )


def _fine_tuning(name: str | None, init_from: str) -> tuple[str, dict[str, Any], str]:
    """What starting from the weights ``init_from`` names (a file, a run, a model name, hf:…) means: their model,
    their config but for the fields the new data fills, and the source as the run records it (a path absolute)."""
    header = resolve_weights(init_from)
    if name is not None and name != header.model:
        raise GenzooError(
            f"--init-from {init_from} holds weights of {header.model}, not of {name}: leave the model name out (it "
            f"comes from the weights) or start from weights of {name}."
        )
    fields = models.get(header.model).config.data_fields
    model = {k: v for k, v in header.config.items() if k not in fields}
    source = init_from if init_from in models or init_from.startswith("hf:") else str(Path(init_from).resolve())
    return header.model, model, source


def _fit(trainer: Trainer, run: RunDir) -> TrainResult:
    """``trainer.fit()``; a full disk becomes a ``StorageError`` that says how to go on once there is space."""
    try:
        return trainer.fit()
    except OSError as exc:
        if not disk_full(exc):
            raise
        what = f"{exc.filename} could not be written" if exc.filename else "a file of the run could not be written"
        kept = run.checkpoint_files()
        then = (
            f"then continue the run from its last checkpoint ({kept[-1].name}) with `genzoo train --resume {run.path}`"
            if kept
            else f"then train again: {run.path} has no checkpoint to resume from (delete it, or choose another --out)"
        )
        raise StorageError(f"The disk is full: {what} ({exc.strerror}). Free some space, {then}.") from exc


def _finish(run: RunDir, model: GenerativeModel, data: Domains, seed: int) -> None:
    """What a finished run shows beside its weights: pictures, held-out metrics in ``summary.json`` (read by the
    shipped judge, or a custom one only when it is trained already: training it takes minutes) and, last,
    ``report.html``; all of the model as ``genzoo.load`` gives it (its averaged weights, where it keeps an average)."""
    from genzoo.judge import cached_judge
    from genzoo.metrics import evaluate as measure
    from genzoo.report.artefacts import write_pictures

    write_pictures(model, data, run, seed)
    try:
        judge, reason = cached_judge(), JUDGE_NOT_CACHED
    except GenzooError as exc:  # GENZOO_JUDGE names no judge: the run is saved all the same, the reason in its summary
        judge, reason = None, str(exc)
    run.update_summary(heldout=measure(model, data, judge=judge, seed=seed, no_judge=reason))
    _write_report(run, model, data, seed)


def _write_report(run: RunDir, model: GenerativeModel, data: Domains, seed: int) -> None:
    """``report.html`` of a run that just finished: the run is complete without it, so a failure is a warning."""
    from genzoo.report.latent import draw_run_map, needs_run_map

    try:
        note = draw_run_map(run, model, data.source.heldout, seed) if needs_run_map(run, model.model_name) else None
        html.write_report(run.path, notes=[note] if note else [])
    except Exception as exc:
        from rich.markup import escape

        LineConsole(stderr=True).print(
            "[yellow]warning:[/] "
            + escape(
                f"the run finished and is saved, but its report.html could not be written "
                f"({type(exc).__name__}: {exc}). Write it later with `genzoo report {run.path}`."
            ),
            highlight=False,
        )


# ---- using a trained model ---------------------------------------------------------------------------------------


def load_inputs(model: GenerativeModel, paths: Sequence[Path], n: int = 16) -> torch.Tensor:
    """Images for a model in ``[0, 1]`` (NCHW): the files ``paths`` (any folders among them read whole), or,
    without paths, the first ``n`` held-out images of the data the model was trained on."""
    from genzoo.data.folder_set import read_images
    from genzoo.data.tensors import image_tensor

    size = model.config.image_size
    array = read_images(list(paths), size) if paths else training_data(model).source.heldout.images[:n]
    return image_tensor(array)


# ---- evaluation, reports, comparisons ----------------------------------------------------------------------------


def evaluate(
    source: str | Path,
    root: Path = DEFAULT_ROOT,
    progress: bool = True,
    *,
    n: int = 1000,
    seed: int = 0,
    average: bool = True,
    weights: WeightsChoice = "auto",
    judge: str | Path | None = None,
) -> dict[str, Any]:
    """Every metric that applies to a trained model, on the held-out images of the data it was trained on (and, for
    a translator, of its target domain): ``n`` generated or translated images from ``seed`` against ``n`` held-out
    ones. The judge-read metrics use the judge genzoo ships, or the judge file ``judge`` (``$GENZOO_JUDGE``) when
    given. A model with a moving average of its weights is measured with it unless ``average``
    is False; the result's ``weights`` says which. A model name is resolved as ``load`` resolves it (``weights``
    chooses between local runs and released weights). ``docs/metrics.md`` describes every key."""
    from genzoo.judge import load_judge
    from genzoo.metrics import JUDGED, capabilities
    from genzoo.metrics import evaluate as measure

    header = resolve_weights(source, root, weights)
    if header.run is None:
        raise GenzooError(f"{header.path} does not say what data it was trained on; evaluate a run directory.")
    model = load(header.path, average=average)
    reader = load_judge(progress=progress, path=judge) if capabilities(model) & JUDGED else None
    metrics = measure(model, training_data(model), judge=reader, n=n, seed=seed)
    where = {"model": header.model, "checkpoint": str(header.path), "step": header.step, "weights": model.weights}
    return {**where, **metrics}


def _evaluate_run(run: RunDir) -> dict[str, Any]:
    """``evaluate`` a finished run and store the result as its ``eval.json``."""
    result = evaluate(run.path)
    write_json(run.path / EVAL_FILE, result)
    return result


def report(run: str | Path, *, evaluate: bool = False) -> Path:
    """Write ``report.html`` into a run directory; with ``evaluate``, evaluate the model first (stored as
    ``eval.json``) and show the result. A missing or outdated latent map is drawn again from the weights."""
    from genzoo.report.latent import draw_run_map, needs_run_map

    run_dir = existing_run(run)
    metrics = _evaluate_run(finished_run(run)) if evaluate else None
    notes = []
    if needs_run_map(run_dir, str(run_dir.read_config().get("name"))):
        model = load(run_dir.path)
        seed = RunConfig.from_json(run_dir.read_config()).train.seed
        note = draw_run_map(run_dir, model, training_data(model).source.heldout, seed)
        notes = [note] if note else []
    return html.write_report(run_dir.path, metrics, notes)


def compare(runs: Iterable[str | Path], *, evaluate: bool = False, root: Path = DEFAULT_ROOT) -> Comparison:
    """The config fields that differ between finished runs and each run's metrics; with ``evaluate``, runs without
    a current ``eval.json`` are evaluated first. Besides run directories, weights without one take part: a Hub
    repository (``hf:owner/repo``, with the figures its ``config.json`` carries), a file, or a model name (its
    newest run, else its released weights and their card's figures)."""
    entrants = []
    for source in runs:
        if Path(source).is_dir():
            run = finished_run(source)
            if evaluate and read_eval(run) is None:
                _evaluate_run(run)
            entrants.append(run_entrant(run))
        else:
            entrants.append(_weights_entrant(str(source), root, measure=evaluate))
    return compare_entrants(entrants)


@dataclass(frozen=True)
class StoredFigures:
    """What is known of some weights without measuring them: who they are to a user (``origin``), their stored
    ``genzoo eval`` result (None: nothing stored) and where it was found (``where``)."""

    origin: str
    result: dict[str, Any] | None
    where: str


def stored_figures(source: str, found: Found) -> StoredFigures:
    """The figures stored with the weights ``found`` for ``source``: a release's card, a Hub repository's
    ``config.json``, a run's ``eval.json`` (else its training summary)."""
    header = found.header
    if found.origin == "released":
        entry = models.get(header.model)
        card = entry.release.card().get("eval") if entry.release else None
        return StoredFigures(f"the released weights of {header.model}", card, "the release card")
    if found.origin == "hub":
        stored = repo_config(HubRef.parse(source)).get("eval")
        return StoredFigures(f"the Hugging Face repository {source}", stored, "the Hub repository's config.json")
    run = RunDir(header.path.parent if header.path.name == "model.safetensors" else header.path.parents[1])
    if not run.is_run():
        return StoredFigures(f"the file {header.path}", None, "nothing stored")
    evaluation = read_eval(run)
    result = evaluation or run.read_summary().get("heldout")
    where = "the run's eval.json" if evaluation else "the run's summary.json"
    return StoredFigures(f"the run {run.path} (step {header.step})", result, where)


def _weights_entrant(source: str, root: Path, *, measure: bool) -> Entrant:
    """A comparison's column for weights named without a run directory (``measure``: evaluate them when nothing
    stored has their figures)."""
    found = find_weights(source, root)
    header = found.header
    if found.origin == "run":  # a model name that stands for a run of it
        return run_entrant(RunDir(header.path.parent))
    stored = stored_figures(source, found)
    evaluation, where = stored.result, stored.where
    if evaluation is None and measure:
        evaluation, where = evaluate(header.path, progress=False), "genzoo eval"
    run = header.run or {"name": header.model, "model": header.config}
    return weights_entrant(source, run, evaluation, where if evaluation is not None else "not evaluated (--eval)")


def latent_map(
    source: str | Path,
    color_by: str | None = None,
    *,
    out: str | Path | None = None,
    n: int = 500,
    seed: int = 0,
    method: str = "tsne",
    device: str = "cpu",
    root: Path = DEFAULT_ROOT,
) -> LatentMap:
    """Encode ``n`` held-out images of a model that encodes, embed them in 2-D (``method``: ``tsne`` or ``pca``) and
    colour them by the data attribute ``color_by``; drawn into the PNG ``out`` when given. The same ``seed`` gives
    the same map."""
    from genzoo.report.latent import METHODS, attribute_codes, plot_latent_map, require_encode
    from genzoo.report.latent import latent_map as embed

    if method not in METHODS:
        raise GenzooError(f"Unknown embedding method {method!r}: use {' or '.join(METHODS)}.")
    header = resolve_weights(source, root)
    require_encode(header.model)
    heldout = training_data(header).source.heldout
    if color_by is not None:
        attribute_codes(heldout, color_by)  # a wrong attribute fails before the weights are loaded
    latent = embed(load(header.path, device=device), heldout, color_by, n, seed, method)
    if out is None:
        return latent
    where = header.path.parent.name if header.path.name == "model.safetensors" else header.path.name
    return plot_latent_map(latent, out, subtitle=f"{header.model} · {where} · step {header.step}")

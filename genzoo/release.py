"""Releasing a trained model: inference-only weights, the card that says how they were made and what they measure,
and a picture of what they do.

``genzoo release RUN --out DIR`` writes, for a finished run of model NAME::

    DIR/NAME.safetensors   the inference-only file of ``genzoo export``: float16 where the card shows it measures
                           as float32 does, else float32
    DIR/NAME.json          the card (``CARD`` below lists its keys)
    DIR/NAME.png           samples, reconstructions or translations of held-out faces

and returns the ``Release`` to register with the model (its sha256). A built-in model's release lives in
``genzoo/released/``, a plugin's in its own package; ``genzoo info NAME`` shows the card and docs/zoo.md is made
from the cards. A release is reproducible by one command: the run's configuration must be what
``genzoo train NAME --preset PRESET`` builds, up to bookkeeping (how often it logged, previewed and saved, and on
which device), or it is refused.

The learning curve measures kept checkpoints as ``genzoo eval`` does and caches each result in ``RUN/curve/``
(``benchmarks/quality_curve.py`` reads the same cache), so measuring again costs nothing.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from genzoo import api
from genzoo.checkpoint import read_header, sha256_of
from genzoo.config import RunConfig, config_diff
from genzoo.errors import GenzooError
from genzoo.io import write_json
from genzoo.models.loading import training_data
from genzoo.registry import Release, models
from genzoo.runs import RunDir, finished_run, resolve_weights

if TYPE_CHECKING:
    from genzoo.models.base import GenerativeModel

CARD = (
    "model", "file", "sha256", "bytes", "dtype", "parameters", "command", "data", "steps", "seconds", "pace",
    "sessions", "eval", "figures", "note", "precision_check", "curve", "judge", "fingerprint", "genzoo",
)  # fmt: skip
"""The keys of a card, in the order it is written."""
BOOKKEEPING = frozenset(
    {"train.log_every", "train.preview_every", "train.checkpoint_every", "train.keep_checkpoints", "train.device",
     "train.log", "data.workers"}
)  # fmt: skip
"""Fields that change where and how often a run reports, not what it learns: a release may differ in these."""
LARGE = ("hair_color", "hair_style", "skin_tone", "face_shape", "background")
SMALL = ("glasses", "eye_color", "eye_shape", "mouth")
SHARE_TOLERANCE = 0.005
"""float16 weights measure 'as float32 does' when every share differs by at most half a point, …"""
RELATIVE_TOLERANCE = 0.02
"""… and every other figure by at most 2 % (a Fréchet distance moves about that much between two seeds' draws)."""

Kind = Literal["number", "share", "error"]


@dataclass(frozen=True)
class Figure:
    """One headline figure of ``genzoo eval`` and the same measure of real images (None: it has none)."""

    key: str
    label: str
    value: float | None
    real: float | None
    kind: Kind


# ---- the headline figures of an evaluation ------------------------------------------------------------------------


def _get(result: Mapping[str, Any], key: str) -> Any:
    value = result.get(key)
    return float(value) if isinstance(value, int | float) else value


def figures(result: Mapping[str, Any]) -> list[Figure]:
    """The figures a zoo table shows of a ``genzoo eval`` result, each beside its real-data reference: for a sampler
    the Fréchet distance, KID, valid share, diversity (as a share of the real faces'), coverage, a conditional
    model's accuracy per attribute and an autoencoder's held-out MSE; for a translator, per direction, the Fréchet
    distance, the paired L1 (real: the untranslated source's), the speckle, the small features kept and the least
    kept large one."""
    out: list[Figure] = []
    if result.get("fd") is not None:
        diversity, real_diversity = _get(result, "diversity"), _get(result, "diversity_real")
        ratio = diversity / real_diversity if diversity is not None and real_diversity else None
        out += [
            Figure("fd", "FD", _get(result, "fd"), _get(result, "fd_real"), "number"),
            Figure("kid", "KID×10³", _get(result, "kid"), _get(result, "kid_real"), "number"),
            Figure("valid", "valid", _get(result, "valid_share"), _get(result, "valid_share_real"), "share"),
            Figure("diversity", "diversity", ratio, 1.0 if ratio is not None else None, "share"),
            Figure("coverage", "coverage", _get(result, "coverage"), _get(result, "coverage_real"), "share"),
        ]
        accuracy = result.get("conditional_accuracy") or {}
        real_accuracy = result.get("conditional_accuracy_real") or {}
        out += [
            Figure(f"accuracy.{a}", f"{a} accuracy", float(v), _optional(real_accuracy.get(a)), "share")
            for a, v in accuracy.items()
        ]
    if result.get("heldout_mse") is not None:
        out.append(Figure("mse", "held-out MSE", _get(result, "heldout_mse"), None, "error"))
    for direction, d in (result.get("translation") or {}).items():
        arrow = direction.replace("->", "→")
        kept, kept_real = d.get("preservation") or {}, d.get("preservation_real") or {}
        out += [
            Figure(f"{direction}.fd", f"{arrow} FD", _get(d, "fd"), _get(d, "fd_real"), "number"),
            Figure(f"{direction}.l1", f"{arrow} L1", _get(d, "paired_l1"), _get(d, "paired_l1_source"), "error"),
            Figure(f"{direction}.speckle", f"{arrow} speckle", _get(d, "speckle"), _get(d, "speckle_real"), "error"),
        ]
        out += [
            Figure(f"{direction}.{a}", f"{arrow} {a}", _optional(kept.get(a)), _optional(kept_real.get(a)), "share")
            for a in SMALL
            if a in kept
        ]
        large = [a for a in LARGE if a in kept]
        if large:
            least = min(large, key=lambda a: kept[a])
            out.append(
                Figure(f"{direction}.large", f"{arrow} large", float(kept[least]), _optional(kept_real.get(least)),
                       "share")
            )  # fmt: skip
    return out


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def show(value: float | None, kind: Kind) -> str:
    """A figure as a table shows it: shares in per cent, errors with three significant digits, the rest whole."""
    if value is None:
        return "—"
    if kind == "share":
        return f"{100 * value:.1f} %" if 0.995 <= value < 1 else f"{100 * value:.0f} %"
    if kind == "error":
        return f"{value:.3g}"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2g}"


def same_figures(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether two evaluations of the same model measure alike (float16 against float32 weights), and the largest
    difference found, in words."""
    worst, worst_text, alike = 0.0, "no figures", True
    by_key = {f.key: f for f in figures(b)}
    for f in figures(a):
        g = by_key.get(f.key)
        if f.value is None or g is None or g.value is None:
            continue
        if f.kind == "share":
            gap, allowed = abs(f.value - g.value), SHARE_TOLERANCE
        else:
            gap, allowed = abs(f.value - g.value) / max(abs(g.value), 1e-12), RELATIVE_TOLERANCE
        alike = alike and gap <= allowed
        if gap / allowed >= worst:
            worst, worst_text = gap / allowed, f"{f.label}: {show(f.value, f.kind)} against {show(g.value, g.kind)}"
    return alike, worst_text


# ---- what a release must be ---------------------------------------------------------------------------------------


def recipe_differences(run: RunDir, preset: str) -> list[tuple[str, Any, Any]]:
    """The fields (besides ``BOOKKEEPING``) that ``run`` was trained with differently from
    ``genzoo train NAME --preset preset``, as ``(key, run's value, preset's value)``. A field added to genzoo after
    the run began counts at its default, as it does when the run is resumed."""
    saved = RunConfig.from_json(run.read_config()).to_json()
    name = str(saved["name"])
    built = api.run_config(name, preset=preset)
    header = resolve_weights(run.path)  # the final weights, or the newest checkpoint of a run still training
    adapted = built.model.adapt_to_data(header.extra)  # what the data fills in (domains, attribute sizes)
    wanted = {**built.to_json(), "model": adapted.model_dump(mode="json")}
    differences = []
    for section in ("model", "train", "data"):
        for key, ran, recipe in config_diff(saved.get(section) or {}, wanted[section], f"{section}."):
            if key not in BOOKKEEPING:
                differences.append((key, ran, recipe))
    return differences


def command(name: str, preset: str) -> str:
    return f"genzoo train {name} --preset {preset}"


# ---- the learning curve -------------------------------------------------------------------------------------------


def checkpoints(run: RunDir) -> Iterator[tuple[int, Path]]:
    """``(step, file)`` of every kept checkpoint of ``run`` and of its final weights, by step, each step once."""
    found = {int(path.stem.split("-")[1]): path for path in run.checkpoint_files()}
    if run.finished:
        found[int(read_header(run.weights).step)] = run.weights
    yield from sorted(found.items())


def measured(step: int, path: Path, run: RunDir, n: int, seed: int, average: bool = True) -> dict[str, Any]:
    """``genzoo eval``'s result for checkpoint ``path`` (at ``step``) of ``run``, cached in ``RUN/curve/`` for the
    same ``n`` and seed."""
    cache = run.path / "curve"
    file = cache / f"step-{step:07d}{'' if average else '-raw'}.json"
    if file.exists():
        stored = json.loads(file.read_text())
        if stored.get("n") == n and stored.get("seed") == seed:
            return stored
    result = api.evaluate(path, n=n, seed=seed, average=average, progress=False)
    cache.mkdir(exist_ok=True)
    write_json(file, result)
    return result


def training_seconds(run: RunDir) -> dict[int, float]:
    """The ``seconds`` logged at each step in ``run``'s ``metrics.jsonl`` (cumulative over resumed sessions)."""
    return {int(r["step"]): float(r["seconds"]) for r in run.read_metrics() if "step" in r and "seconds" in r}


def pace(seconds: Mapping[int, float]) -> float | None:
    """Steps per second of a run when it had the machine to itself, as far as its log tells (``seconds``: its
    ``training_seconds``): the upper quartile of its step rate over the intervals between logged steps. A long run
    shares the cores with other work at times (several-fold slower then), so its logged ``seconds`` overstate what
    the recipe costs; the quartile skips those stretches and the occasional slow step (a preview, a checkpoint).
    None when fewer than two steps were logged."""
    marks = sorted(seconds.items())
    rates = sorted((s1 - s0) / (t1 - t0) for (s0, t0), (s1, t1) in pairwise(marks) if t1 > t0)
    return rates[(3 * (len(rates) - 1)) // 4] if rates else None


def training_time(card: Mapping[str, Any]) -> str:
    """How long a card's run trained, on which machines: its logged time and, when other work slowed it, the
    time at its unshared pace."""
    machines = (
        "; ".join(sorted({s.get("machine", "?") for s in card.get("sessions") or []})) or "a machine not recorded"
    )
    seconds, rate, steps = card.get("seconds"), card.get("pace"), card.get("steps")
    if not isinstance(seconds, int | float):
        return f"not recorded, on {machines}"
    text = _duration(seconds)
    if isinstance(rate, int | float) and isinstance(steps, int) and steps / rate < 0.9 * seconds:
        text += f" logged ({_duration(steps / rate)} at its unshared pace of {rate:.2f} steps/s)"
    return f"{text} on {machines}"


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:,.0f} min"


def curve(run: RunDir, *, n: int, seed: int, every: int) -> list[dict[str, Any]]:
    """The learning curve: the headline figures of every kept checkpoint whose step is a multiple of ``every``,
    and of the final weights, with the training time up to each."""
    seconds = training_seconds(run)
    final = read_header(run.weights).step
    points = []
    for step, path in checkpoints(run):
        if step % every and step != final:
            continue
        result = measured(step, path, run, n, seed)
        points.append({"step": step, "seconds": seconds.get(step), "figures": figures_of(result)})
    return points


# ---- the release ------------------------------------------------------------------------------------------------


def sessions(run: RunDir, final_step: int) -> list[dict[str, Any]]:
    """The run's training sessions, each with the steps it trained and its share of the training time."""
    seconds = training_seconds(run)
    lines = run.read_sessions()
    out = []
    for i, line in enumerate(lines):
        end = lines[i + 1]["step"] if i + 1 < len(lines) else final_step
        begin_s = seconds.get(line["step"], 0.0) if line["step"] else 0.0
        end_s = seconds.get(end)
        out.append(
            {**line, "steps": [line["step"], end], "seconds": None if end_s is None else round(end_s - begin_s, 1)}
        )
    return out


def picture(path: str | Path, out: Path, seed: int = 0) -> Path:
    """The card's picture of the model in ``path``: 64 samples, reconstructions above samples, or translations of
    held-out faces (source, translation, true render, each way)."""
    import torch

    from genzoo.data.tensors import image_tensor
    from genzoo.images import save_grid
    from genzoo.report.artefacts import reconstruction_rows, translation_rows

    model = api.load(path)
    can = models.get(model.model_name).capabilities
    with torch.no_grad():
        if "translate" in can:
            data = training_data(model)
            assert data.target is not None
            return save_grid(translation_rows(model, data.source, data.target), out)
        samples = model.sample(64 if "reconstruct" not in can else 32, torch.Generator().manual_seed(seed))
        if "reconstruct" not in can:
            return save_grid([samples], out, columns=8, title=f"64 samples of {model.model_name}, seed {seed}")
        x = image_tensor(training_data(model).source.heldout.images[:16])
        rows = [*reconstruction_rows(x, model.reconstruct(x)), *(("sample", row) for row in samples.split(8))]
        return save_grid(rows, out)


FINGERPRINT_VALUES = 16
FINGERPRINT_TOLERANCE = 2e-3
"""How far a fingerprint's values may move between machines (float sums in another order) and still match."""


def fingerprint(model: GenerativeModel, seed: int = 0) -> list[float]:
    """A few output values of ``model`` that pin its weights: of 4 samples from ``seed``, or (a translator) of the
    translation of 2 noise images drawn from ``seed``, which depend on no renderer; on the CPU in float32. A
    released file must give the values its card records (``check_release``)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if "translate" in models.get(model.model_name).capabilities:
            size = model.config.image_size
            x = torch.rand(2, 3, size, size, generator=generator).to(model.device)
            out = model.translate(x, to=model.domains[1])
        else:
            out = model.sample(4, generator)
    flat = out.float().flatten()
    picks = torch.linspace(0, len(flat) - 1, FINGERPRINT_VALUES).round().long()
    return [round(float(v), 5) for v in flat[picks]]


def check_release(name: str) -> GenerativeModel:
    """Load model ``name``'s released weights (their sha256 checked) and check that they draw what their card's
    fingerprint says; returns the model. A mismatch raises ``GenzooError``."""
    entry = models.get(name)
    model = api.load(name, weights="released")
    expected = (entry.release.card() if entry.release is not None else {}).get("fingerprint")
    if not expected:
        raise GenzooError(f"The card of {name}'s released weights has no fingerprint to check them against.")
    found = fingerprint(model)
    worst = max(abs(a - b) for a, b in zip(found, expected, strict=True))
    if worst > FINGERPRINT_TOLERANCE:
        raise GenzooError(
            f"{name}'s released weights do not draw what their card records: an output value differs by {worst:.4f} "
            f"(at most {FINGERPRINT_TOLERANCE} allowed). The weights, the card or the model's code changed since "
            f"the release; release again."
        )
    return model


def make_release(
    source: str | Path,
    out: Path,
    *,
    preset: str = "zoo",
    n: int = 1000,
    seed: int = 0,
    curve_every: int | None = None,
    half: bool | None = None,
    package: str = "genzoo",
    note: str | None = None,
) -> tuple[Release, dict[str, Any]]:
    """Release the finished run ``source`` into the folder ``out`` (see the module's docstring); ``half`` None
    chooses float16 when it measures as float32 does; ``note``, the releaser's words on the figures (what limits
    those that miss their targets). Returns the ``Release`` to register (with ``package``, the
    package whose ``released/`` folder ``out`` is) and the card."""
    run = finished_run(source)
    name = str(run.read_config()["name"])
    differences = recipe_differences(run, preset)
    if differences:
        listed = "; ".join(f"{k} (run: {a!r}, preset: {b!r})" for k, a, b in differences[:6])
        raise GenzooError(
            f"{run.path} was not trained as `{command(name, preset)}` trains: {listed}. A release's card names the "
            f"command that reproduces it, so release a run of the preset, or change the preset ({name}'s "
            f"registration) and train again."
        )
    final = read_header(run.weights)
    every = curve_every or max(final.step // 10, 1)
    points = curve(run, n=n, seed=seed, every=every)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.safetensors"
    with tempfile.TemporaryDirectory() as tmp:
        wide, narrow = Path(tmp) / "fp32.safetensors", Path(tmp) / "fp16.safetensors"
        api.export(run.path, wide, half=False)
        api.export(run.path, narrow, half=True)
        evaluated = {f: api.evaluate(p, n=n, seed=seed, progress=False) for f, p in (("fp32", wide), ("fp16", narrow))}
        alike, worst = same_figures(evaluated["fp16"], evaluated["fp32"])
        dtype = "fp16" if (half if half is not None else alike) else "fp32"
        shutil.copyfile(narrow if dtype == "fp16" else wide, target)
    result = evaluated[dtype]
    header = read_header(target)
    logged = training_seconds(run)
    card = {
        "model": name,
        "file": target.name,
        "sha256": sha256_of(target),
        "bytes": target.stat().st_size,
        "dtype": dtype,
        "parameters": header.num_parameters,
        "command": command(name, preset),
        "data": final.extra.get("data"),
        "steps": final.step,
        "seconds": logged.get(final.step),
        "pace": None if (rate := pace(logged)) is None else round(rate, 3),
        "sessions": sessions(run, final.step),
        "eval": {k: v for k, v in result.items() if k != "checkpoint"},
        "figures": [asdict(f) for f in figures(result)],
        "note": note,
        "precision_check": {"alike": alike, "largest_difference": worst, "fp32": figures_of(evaluated["fp32"])},
        "curve": points,
        "judge": result.get("judge"),
        "fingerprint": fingerprint(api.load(target)),
        "genzoo": final.version,
    }
    write_json(out / f"{name}.json", {k: card[k] for k in CARD})
    picture(target, out / f"{name}.png", seed)
    return Release(package, f"released/{target.name}", card["sha256"]), card


def figures_of(result: Mapping[str, Any]) -> dict[str, float | None]:
    """The headline figures' values by key (a learning curve's point, the float32 side of the precision check)."""
    return {f.key: f.value for f in figures(result)}

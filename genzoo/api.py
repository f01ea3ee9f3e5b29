"""The Python API; every CLI command is a thin layer over these functions.

torch is imported inside the functions that need it, so ``import genzoo`` and ``genzoo.list_models()`` stay instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo.checkpoint import CheckpointInfo, read_header
from genzoo.config import RunConfig, build_run_config, config_diff
from genzoo.errors import CheckpointError, ConfigError, GenzooError
from genzoo.registry import ModelEntry, models
from genzoo.runs import DEFAULT_ROOT, RunDir, new_run_dir, resolve_weights

if TYPE_CHECKING:
    import torch

    from genzoo.compare import Comparison
    from genzoo.config import ModelConfig
    from genzoo.models.base import GenerativeModel
    from genzoo.report.latent import LatentMap
    from genzoo.trainer import Trainer, TrainResult


def list_models(pattern: str | None = None) -> list[ModelEntry]:
    """Registered models (built-in and plugins) whose names match the fnmatch ``pattern``."""
    return models.entries(pattern)


def create(name: str, config: ModelConfig | None = None, **overrides: Any) -> GenerativeModel:
    """A new, untrained model: ``create("vae-conv", latent_dim=64)``."""
    from pydantic import ValidationError

    from genzoo.config import describe_validation_error

    entry = models.get(name)
    fields = {**(config.model_dump() if config is not None else {}), **overrides}
    try:
        config = entry.config.model_validate(fields) if overrides or config is None else config
    except ValidationError as exc:
        raise ConfigError(f"Invalid configuration for {name}: {describe_validation_error(exc, 'model')}.") from None
    model = entry.build(config)
    model.model_name = name
    return model


def num_parameters(name: str, config: ModelConfig | None = None) -> int:
    """How many parameters model ``name`` has when built from ``config`` (default: its defaults); imports torch."""
    return sum(p.numel() for p in create(name, config).parameters())


def info(source: str | Path, root: Path = DEFAULT_ROOT) -> CheckpointInfo:
    """What a checkpoint (file, run directory, or a model's newest run) is, read from its header alone."""
    return resolve_weights(source, root)


def load_weights(model: GenerativeModel, source: str | Path) -> GenerativeModel:
    """Load a checkpoint's weights into ``model``; a different model or config is refused, naming the differences."""
    from genzoo.checkpoint import load_tensors

    header = read_header(Path(source))
    if header.model != model.model_name:
        raise CheckpointError(f"{source} holds weights of {header.model}, not of {model.model_name}.")
    diff = config_diff(header.config, model.config.model_dump(mode="json"))
    if diff:
        fields = "; ".join(f"{k} (file: {a!r}, model: {b!r})" for k, a, b in diff)
        raise CheckpointError(
            f"{source} was saved from a {header.model} with another config: {fields}. Build the model from the "
            f"file's config (genzoo.load) or change the differing fields."
        )
    weights = load_tensors(header.path)
    own = model.state_dict()
    wrong = [
        f"{k} {tuple(v.shape)}, model {tuple(own[k].shape)}"
        for k, v in weights.items()
        if k in own and own[k].shape != v.shape
    ]
    if wrong:
        raise CheckpointError(
            f"{source} does not fit {header.model} as its header describes it: tensor shapes differ ("
            f"{'; '.join(wrong[:3])}). The file is damaged or was edited; use another checkpoint, or train again."
        )
    result = model.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"{source} does not fit {header.model}: missing {result.missing_keys[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}. The file may come from another genzoo version."
        )
    model.data_info = dict(header.extra)
    return model


def model_of(header: CheckpointInfo) -> ModelEntry:
    """The registry entry of the model a checkpoint holds; a name not registered here is most likely a plugin's."""
    from genzoo.registry import plugins_disabled

    if header.model in models:
        return models.get(header.model)
    why = (
        "plugins are turned off here (GENZOO_DISABLE_PLUGINS)"
        if plugins_disabled()
        else "it may come from a plugin that is not installed in this environment (`genzoo plugins` lists those that "
        "are)"
    )
    raise CheckpointError(
        f"{header.path} holds weights of the model {header.model!r}, which is not registered: {why}. Install the "
        f"package that provides {header.model!r} and try again. Registered models: {', '.join(models.names())}."
    )


def load(source: str | Path, *, device: str = "cpu", root: Path = DEFAULT_ROOT) -> GenerativeModel:
    """A trained model from a ``.safetensors`` file, a run directory, or a model name (its newest finished run)."""
    from pydantic import ValidationError

    from genzoo.config import describe_validation_error
    from genzoo.trainer import resolve_device

    header = resolve_weights(source, root)
    entry = model_of(header)
    try:
        config = entry.config.model_validate(header.config)
    except ValidationError as exc:
        raise CheckpointError(
            f"{header.path} holds a config that {header.model} does not accept: "
            f"{describe_validation_error(exc, 'model')}. It may come from another genzoo version, or be damaged."
        ) from None
    model = load_weights(create(header.model, config), header.path)
    return model.to(resolve_device(device)).eval()


def require(source: str | Path, capability: str, root: Path = DEFAULT_ROOT) -> None:
    """Fail early, before looking for weights, when the model behind ``source`` cannot do ``capability``."""
    from genzoo.errors import CapabilityError

    if str(source) in models and not Path(source).exists():
        name, entry = str(source), models.get(str(source))
    else:
        entry = model_of(resolve_weights(source, root))
        name = entry.name
    if capability not in entry.capabilities:
        hint = " Use `genzoo translate` for it." if "translate" in entry.capabilities else ""
        raise CapabilityError(f"{name} cannot {capability}. It can: {', '.join(sorted(entry.capabilities))}.{hint}")


def run_config(
    name: str,
    *,
    data: str | None = None,
    to: str | None = None,
    config_file: Path | None = None,
    overrides: Iterable[str] = (),
    **train: Any,
) -> RunConfig:
    """The validated run config of a new run (see ``genzoo.config.build_run_config``)."""
    options = {"train": train, "data": {"name": data, "to": to}}
    config = build_run_config(name, config_file=config_file, options=options, overrides=overrides)
    return config.model_copy(update={"data": config.data.with_absolute_paths()})


def train(
    name: str | None = None,
    *,
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
    """Train a model, or continue a run with ``resume=RUN_DIR``; returns where the run is and how it went.

    ``train_options`` are ``TrainConfig`` fields (``steps``, ``epochs``, ``device``, ``seed``, …).
    """
    from genzoo.trainer import Trainer

    if resume is not None:
        run = RunDir(Path(resume))
        if not run.is_run():
            raise GenzooError(f"Cannot resume {resume}: it is not a genzoo run directory (no config.json).")
        saved = run.read_config()
        if name is not None and name != saved.get("name"):
            raise GenzooError(f"{resume} is a run of {saved.get('name')}, not of {name}.")
        given = {k for k, v in train_options.items() if v is not None} | {
            k
            for k, v in {"data": data, "to": to, "config": config_file, "set": list(overrides), "out": out}.items()
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
            train = config.train.model_copy(update={"steps": None, **extend} if "epochs" in extend else extend)
            config = config.model_copy(update={"train": train})
        return _fit(Trainer(config, run.path, resume=True, progress=progress), run)
    if name is None:
        raise GenzooError("Name the model to train, e.g. `genzoo train vae-conv --data cartoon`.")
    config = run_config(name, data=data, to=to, config_file=config_file, overrides=overrides, **train_options)
    if out is None:  # under torchrun, rank 0 names the run (the clock may tick between the processes)
        from genzoo import distributed

        out = distributed.share(lambda: new_run_dir(name, root).path, distributed.world(config.train.device))
    return _fit(Trainer(config, out, progress=progress), RunDir(out))


def _fit(trainer: Trainer, run: RunDir) -> TrainResult:
    """``trainer.fit()``; a full disk becomes a ``StorageError`` that says how to go on once there is space."""
    from genzoo.errors import StorageError, disk_full

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


RESUMABLE_OPTIONS = frozenset({"steps", "epochs", "device", "log"})
"""What ``--resume`` may change: how long to train and where; everything else is the saved run's."""


def sample(model: GenerativeModel, n: int = 64, seed: int = 0, conditions: Conditions | None = None) -> torch.Tensor:
    """``n`` images in ``[0, 1]`` drawn from a model that samples.

    A conditional model takes ``conditions``: attribute → a value (its name or index) for every image, or one value
    per image (``{"hair_color": "blue"}``); attributes not given are drawn at random from ``seed``.
    """
    import torch

    indices = condition_indices(model, conditions)
    with torch.no_grad():
        return model.sample(n, torch.Generator().manual_seed(seed), _broadcast(indices, n))


def evaluate(
    source: str | Path, root: Path = DEFAULT_ROOT, progress: bool = True, *, n: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Every metric that applies to a trained model, on the held-out images of the data it was trained on (and, for
    a translator, of its target domain): ``n`` generated or translated images from ``seed`` against ``n`` held-out
    ones. Metrics read by the judge train it first when it is not cached yet (a few minutes; a progress bar on
    stderr with ``progress``). ``docs/metrics.md`` describes every key."""
    from genzoo.data.core import load_data
    from genzoo.judge import load_judge
    from genzoo.metrics import JUDGED, capabilities
    from genzoo.metrics import evaluate as run_metrics

    header = resolve_weights(source, root)
    if header.run is None:
        raise GenzooError(f"{header.path} does not say what data it was trained on; evaluate a run directory.")
    model = load(header.path)
    config = RunConfig.from_json(header.run)
    size = config.model.image_size
    data = {"x": load_data(config.data, size)}
    if config.data.to is not None:
        data["y"] = load_data(config.data, size, domain=config.data.to)
    judge = load_judge(progress=progress) if capabilities(model) & JUDGED else None
    metrics = run_metrics(model, data, judge=judge, n=n, seed=seed)
    return {"model": header.model, "checkpoint": str(header.path), "step": header.step, **metrics}


def load_inputs(model: GenerativeModel, paths: Sequence[Path], n: int = 16) -> torch.Tensor:
    """Images for a model in ``[0, 1]`` (NCHW): the files ``paths`` (any folders among them read whole), or,
    without paths, the first ``n`` held-out images of the data the model was trained on."""
    from genzoo.config import DataConfig
    from genzoo.data.core import load_data
    from genzoo.data.folder_set import read_images

    size = model.config.image_size
    if paths:
        array = read_images(list(paths), size)
    else:
        data = model.data_info.get("data")
        if data is None:
            raise GenzooError("This checkpoint does not say what data it was trained on; give images to work on.")
        array = load_data(DataConfig.model_validate(data), size).heldout.images[:n]
    from genzoo.models.base import image_tensor

    return image_tensor(array)


# ---- conditional sampling and latent walks ---------------------------------------------------------------------------

Conditions = dict[str, "int | str | Sequence[int | str]"]
"""Attribute → one value for every image, or one value per image; a value is its name or its index."""


def _conditional_models() -> str:
    return ", ".join(e.name for e in models.entries() if "conditional" in e.capabilities) or "none installed"


def _value_index(attribute: str, names: Sequence[str], value: int | str) -> int:
    if isinstance(value, str) and value in names:
        return list(names).index(value)
    is_index = isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    if is_index and 0 <= int(value) < len(names):
        return int(value)
    raise GenzooError(f"{attribute} has no value {value!r}. Valid values: {', '.join(names)}.")


def attribute_values(model: GenerativeModel, attribute: str) -> list[str]:
    """The value names of one of a conditional model's attributes; a wrong model or name says what is valid."""
    known = model.condition_values
    name = model.model_name or type(model).__name__
    if not known:
        raise GenzooError(
            f"{name} is not conditional, so it takes no attribute values (--attr, --pairs). "
            f"Conditional models: {_conditional_models()}."
        )
    if attribute not in known:
        valid = "; ".join(f"{a} ({', '.join(v)})" for a, v in known.items())
        raise GenzooError(f"{name} has no attribute {attribute!r}. Its attributes: {valid}.")
    return known[attribute]


def condition_indices(model: GenerativeModel, conditions: Conditions | None) -> dict[str, list[int]]:
    """``conditions`` as value indices, checked against the model's attributes; unknown names list the valid ones."""
    out: dict[str, list[int]] = {}
    for attribute, value in (conditions or {}).items():
        names = attribute_values(model, attribute)
        values = [value] if isinstance(value, int | str) else list(value)
        out[attribute] = [_value_index(attribute, names, v) for v in values]
    return out


def _broadcast(indices: dict[str, list[int]], n: int) -> dict[str, Sequence[int]]:
    return {a: v * n if len(v) == 1 else v for a, v in indices.items()}


def _full_conditions(
    model: GenerativeModel, given: dict[str, list[int]], n: int, generator: torch.Generator
) -> dict[str, Sequence[int]]:
    """One value index per image for every attribute: ``given`` ones broadcast, the others uniform at random."""
    import torch

    out = _broadcast(given, n)
    for attribute, names in model.condition_values.items():
        if attribute not in out:
            out[attribute] = torch.randint(len(names), (n,), generator=generator).tolist()
    return out


def _decode_rows(model: GenerativeModel, z: torch.Tensor, conditions: dict[str, Sequence[int]]) -> torch.Tensor:
    """``z`` ``(rows, columns, latent_dim)`` and per-image conditions (row-major) → ``(rows, columns, 3, H, W)``."""
    import torch

    rows, columns = z.shape[:2]
    flat = z.reshape(rows * columns, -1)
    chunk = 256
    with torch.no_grad():
        parts = [
            model.decode(flat[i : i + chunk], {a: list(v[i : i + chunk]) for a, v in conditions.items()} or None)
            for i in range(0, len(flat), chunk)
        ]
    images = torch.cat(parts)
    return images.reshape(rows, columns, *images.shape[1:])


def _latent_dim(model: GenerativeModel, what: str) -> int:
    if model.latent_dim is None:
        raise model.cannot(what)
    return model.latent_dim


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation from rows of ``a`` to rows of ``b`` ``(N, D)`` at ``t`` ``(K,)`` → ``(N, K, D)``;
    linear where the two vectors are (nearly) parallel."""
    import torch

    cos = torch.nn.functional.cosine_similarity(a, b, dim=1).clamp(-1, 1)[:, None, None]
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    t = t[None, :, None]
    linear = (1 - t) * a[:, None] + t * b[:, None]
    spherical = (torch.sin((1 - t) * omega) * a[:, None] + torch.sin(t * omega) * b[:, None]) / sin.clamp_min(1e-6)
    return torch.where(sin > 1e-4, spherical, linear)


def interpolate(
    model: GenerativeModel,
    n: int = 8,
    steps: int = 8,
    seed: int = 0,
    conditions: Conditions | None = None,
    spherical: bool = True,
) -> torch.Tensor:
    """``(n, steps, 3, H, W)`` images in ``[0, 1]``: row *i* walks in ``steps`` steps from one random latent vector to
    another (along the great circle with ``spherical``, else a straight line), at fixed attribute values (given in
    ``conditions`` or drawn at random) for a conditional model. Any model with ``latent_dim`` and ``decode`` works."""
    import torch

    if steps < 2:
        raise GenzooError(f"Interpolation needs at least 2 steps (both ends); got {steps}.")
    dim = _latent_dim(model, "interpolate between latent vectors")
    given = condition_indices(model, conditions)
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g)
    t = torch.linspace(0, 1, steps)
    z = slerp(a, b, t) if spherical else (1 - t[None, :, None]) * a[:, None] + t[None, :, None] * b[:, None]
    per_row = _full_conditions(model, given, n, g)
    per_image = {k: [c for c in v for _ in range(steps)] for k, v in per_row.items()}
    return _decode_rows(model, z, per_image)


def attribute_pairs(
    model: GenerativeModel, attribute: str, n: int = 8, seed: int = 0, conditions: Conditions | None = None
) -> tuple[torch.Tensor, list[str]]:
    """``(n, V, 3, H, W)`` images and the ``V`` value names of ``attribute``: row *i* renders one random latent
    vector with every value of ``attribute`` in turn, the other attributes fixed (given or drawn at random)."""
    import torch

    dim = _latent_dim(model, "render attribute pairs")
    names = attribute_values(model, attribute)
    given = condition_indices(model, conditions)
    if attribute in given:
        raise GenzooError(f"{attribute} is the attribute being varied (--pairs); do not also fix it with --attr.")
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, dim, generator=g)[:, None].expand(n, len(names), dim)
    per_row = _full_conditions(model, given, n, g)
    per_image = {k: [c for c in v for _ in names] for k, v in per_row.items()}
    per_image[attribute] = list(range(len(names))) * n
    return _decode_rows(model, z, per_image), list(names)


# ---- latent maps, run reports, comparisons ---------------------------------------------------------------------------


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
    from genzoo.config import DataConfig
    from genzoo.data.core import load_data
    from genzoo.report.latent import METHODS, attribute_codes, plot_latent_map, require_encode
    from genzoo.report.latent import latent_map as embed

    if method not in METHODS:
        raise GenzooError(f"Unknown embedding method {method!r}: use {' or '.join(METHODS)}.")
    header = resolve_weights(source, root)
    require_encode(header.model)
    data = header.extra.get("data")
    if data is None:
        raise GenzooError(
            f"{header.path} does not say what data it was trained on, so there are no held-out images to map. "
            f"Give the run directory it came from."
        )
    heldout = load_data(DataConfig.model_validate(data), int(header.config["image_size"])).heldout
    if color_by is not None:
        attribute_codes(heldout, color_by)  # a wrong attribute fails before the weights are loaded
    latent = embed(load(header.path, device=device), heldout, color_by, n, seed, method)
    if out is None:
        return latent
    where = header.path.parent.name if header.path.name == "model.safetensors" else header.path.name
    return plot_latent_map(latent, out, subtitle=f"{header.model} · {where} · step {header.step}")


def report(run: str | Path, *, evaluate: bool = False) -> Path:
    """Write ``report.html`` into a run directory; with ``evaluate``, evaluate the model first (stored as
    ``eval.json``) and show the result."""
    from genzoo.compare import evaluate_run, finished_run
    from genzoo.report.html import write_report

    metrics = evaluate_run(finished_run(run)) if evaluate else None
    return write_report(run, metrics)


def compare(runs: Iterable[str | Path], *, evaluate: bool = False) -> Comparison:
    """The config fields that differ between finished runs and each run's metrics; with ``evaluate``, runs without
    a current ``eval.json`` are evaluated first."""
    from genzoo.compare import compare_runs

    return compare_runs(runs, evaluate=evaluate)

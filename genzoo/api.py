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

    from genzoo.config import ModelConfig
    from genzoo.models.base import GenerativeModel
    from genzoo.trainer import TrainResult


def list_models(pattern: str | None = None) -> list[ModelEntry]:
    """Registered models (built-in and plugins) whose names match the fnmatch ``pattern``."""
    return models.entries(pattern)


def create(name: str, config: ModelConfig | None = None, **overrides: Any) -> GenerativeModel:
    """A new, untrained model: ``create("vae-conv", latent_dim=64)``."""
    entry = models.get(name)
    if config is None:
        try:
            config = entry.config(**overrides)
        except Exception as exc:  # pydantic's ValidationError, reported the CLI's way
            from pydantic import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            from genzoo.config import describe_validation_error

            raise ConfigError(f"Invalid configuration for {name}: {describe_validation_error(exc, 'model')}.") from None
    elif overrides:
        config = config.model_copy(update=overrides)
    model = entry.build(config)
    model.model_name = name
    return model


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
    result = model.load_state_dict(weights, strict=False)
    if result.missing_keys or result.unexpected_keys:
        raise CheckpointError(
            f"{source} does not fit {header.model}: missing {result.missing_keys[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}. The file may come from another genzoo version."
        )
    model.data_info = dict(header.extra)
    return model


def load(source: str | Path, *, device: str = "cpu", root: Path = DEFAULT_ROOT) -> GenerativeModel:
    """A trained model from a ``.safetensors`` file, a run directory, or a model name (its newest finished run)."""
    from genzoo.trainer import resolve_device

    header = resolve_weights(source, root)
    entry = models.get(header.model)
    try:
        config = entry.config.model_validate(header.config)
    except Exception as exc:
        raise CheckpointError(f"{header.path} holds a config that {header.model} no longer accepts: {exc}") from None
    model = load_weights(create(header.model, config), header.path)
    return model.to(resolve_device(device)).eval()


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
    return build_run_config(name, config_file=config_file, options=options, overrides=overrides)


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
        extend = {k: v for k, v in train_options.items() if v is not None and k in {"steps", "epochs", "device"}}
        config = RunConfig.from_json(saved)
        if extend:
            config = config.model_copy(update={"train": config.train.model_copy(update=extend)})
        return Trainer(config, run.path, resume=True, progress=progress).fit()
    if name is None:
        raise GenzooError("Name the model to train, e.g. `genzoo train vae-conv --data cartoon`.")
    config = run_config(name, data=data, to=to, config_file=config_file, overrides=overrides, **train_options)
    run_dir = out if out is not None else new_run_dir(name, root).path
    return Trainer(config, run_dir, progress=progress).fit()


def sample(
    model: GenerativeModel, n: int = 64, seed: int = 0, conditions: dict[str, Sequence[int]] | None = None
) -> torch.Tensor:
    """``n`` images in ``[0, 1]`` drawn from a model that samples."""
    import torch

    with torch.no_grad():
        return model.sample(n, torch.Generator().manual_seed(seed), conditions)


def evaluate(source: str | Path, root: Path = DEFAULT_ROOT, progress: bool = False) -> dict[str, Any]:
    """Every metric that applies to a trained model, on the held-out images of the data it was trained on."""
    from genzoo.data.core import load_data
    from genzoo.metrics import evaluate as run_metrics

    header = resolve_weights(source, root)
    if header.run is None:
        raise GenzooError(f"{header.path} does not say what data it was trained on; evaluate a run directory.")
    model = load(header.path)
    config = RunConfig.from_json(header.run)
    split = load_data(config.data, config.model.image_size)
    return {"model": header.model, "checkpoint": str(header.path), "step": header.step, **run_metrics(model, split)}


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

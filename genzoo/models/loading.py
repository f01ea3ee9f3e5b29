"""A model's life: build a new one (``create``), load trained weights (``load``, ``load_weights``), check what it can
do (``require``), and find the data it was trained on (``training_data``).

The module imports no torch itself; building a model imports its family's networks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from genzoo.checkpoint import AVERAGE_PREFIX, CheckpointInfo, load_tensors, read_header, save
from genzoo.config import DataConfig, ModelConfig, describe_validation_error, saved_differences
from genzoo.errors import CapabilityError, CheckpointError, ConfigError, GenzooError
from genzoo.registry import ModelEntry, models, plugins_disabled
from genzoo.runs import DEFAULT_ROOT, WeightsChoice, resolve_weights

if TYPE_CHECKING:
    from genzoo.data.loading import Domains
    from genzoo.models.base import GenerativeModel


def create(name: str, config: ModelConfig | None = None, **overrides: Any) -> GenerativeModel:
    """A new, untrained model: ``create("vae-conv", latent_dim=64)``."""
    entry = models.get(name)
    fields = {**(config.model_dump() if config is not None else {}), **overrides}
    try:
        config = entry.config.model_validate(fields) if overrides or config is None else config
    except ValidationError as exc:
        raise ConfigError(f"Invalid configuration for {name}: {describe_validation_error(exc, 'model')}.") from None
    return entry.build(config)


def num_parameters(name: str, config: ModelConfig | None = None) -> int:
    """How many parameters model ``name`` has when built from ``config`` (default: its defaults); imports torch."""
    return sum(p.numel() for p in create(name, config).parameters())


def mismatch(header: CheckpointInfo, name: str, config: ModelConfig, against: str = "model") -> str | None:
    """Why the checkpoint ``header`` does not hold weights of model ``name`` with ``config`` (None when it does):
    another model, or fields set differently (each named, its value in the file beside ``against``'s). A field the
    file lacks was added to genzoo after it was written: it counts at its default."""
    if header.model != name:
        return f"weights of {header.model}, not of {name}"
    diff = saved_differences(header.config, config)
    if diff:
        return f"a config other than the {against}'s: " + "; ".join(
            f"{k} (file: {a!r}, {against}: {b!r})" for k, a, b in diff
        )
    return None


def load_weights(
    model: GenerativeModel, source: str | Path, *, average: bool = True, fine_tune: bool = False
) -> GenerativeModel:
    """Load a checkpoint's weights into ``model``; a different model or config is refused, naming the differences.

    Where the checkpoint holds a moving average of some weights (``GenerativeModel.averaged``), the model gets the
    averaged ones, which sample and translate more cleanly; ``average=False`` keeps the trained (raw) weights. An
    inference-only file (``genzoo export``, released weights) leaves the ``training_only`` submodules as they are.
    With ``fine_tune`` (``train.init_from``) the config may differ (a learning rate, the data's domains): the
    tensors' shapes must fit.
    """
    header = read_header(Path(source))
    problem = (
        mismatch(header, model.model_name, model.config)
        if not fine_tune
        else (None if header.model == model.model_name else f"weights of {header.model}, not of {model.model_name}")
    )
    if problem is not None:
        raise CheckpointError(
            f"{source} holds {problem}. Build the model from the file's config (genzoo.load) or change the "
            f"differing fields."
        )
    if header.inference and not average and model.averaged and model.average_decay > 0:
        raise CheckpointError(
            f"{source} is an inference-only file: it holds the moving average of {model.model_name}'s weights in "
            f"their place, not the trained (raw) weights. Leave out --raw-weights, or give the run directory."
        )
    weights = model.upgrade_weights(load_tensors(header.path))
    averaged = {k: weights.pop(k) for k in [k for k in weights if k.startswith(AVERAGE_PREFIX)]}
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
    missing = [k for k in result.missing_keys if not (header.inference and _training_only(model, k))]
    if missing or result.unexpected_keys:
        raise CheckpointError(
            f"{source} does not fit {header.model}: missing {missing[:5]}, "
            f"unexpected {result.unexpected_keys[:5]}. The file may come from another genzoo version."
        )
    if average and averaged:
        from genzoo.models.average import apply_average

        apply_average(model, averaged)
    if not fine_tune:  # a model fine-tuned on other data keeps the data it is trained on now
        model.data_info = dict(header.extra)
    baked = header.inference and bool(model.averaged) and model.average_decay > 0
    model.weights = "average" if (average and averaged) or baked else "raw"
    return model


def _training_only(model: GenerativeModel, key: str) -> bool:
    return any(key == m or key.startswith(m + ".") for m in model.training_only)


def model_of(header: CheckpointInfo) -> ModelEntry:
    """The registry entry of the model a checkpoint holds; a name not registered here is most likely a plugin's."""
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


def load(
    source: str | Path,
    *,
    device: str = "cpu",
    root: Path = DEFAULT_ROOT,
    average: bool = True,
    weights: WeightsChoice = "auto",
) -> GenerativeModel:
    """A trained model from a ``.safetensors`` file, a run directory, or a model name (its newest finished run in
    ``root``, else its released weights; ``weights`` chooses: ``"local"`` or ``"released"``); with the moving average
    of its weights where it has one, unless ``average`` is False (see ``load_weights``)."""
    from genzoo.devices import resolve_device

    header = resolve_weights(source, root, weights)
    entry = model_of(header)
    try:
        config = entry.config.model_validate(header.config)
    except ValidationError as exc:
        raise CheckpointError(
            f"{header.path} holds a config that {header.model} does not accept: "
            f"{describe_validation_error(exc, 'model')}. It may come from another genzoo version, or be damaged."
        ) from None
    model = load_weights(entry.build(config), header.path, average=average)
    return model.to(resolve_device(device)).eval()


def export(
    source: str | Path,
    out: str | Path,
    *,
    half: bool = True,
    root: Path = DEFAULT_ROOT,
    weights: WeightsChoice = "auto",
) -> CheckpointInfo:
    """Write an inference-only copy of the weights ``source`` names (see ``load``) to ``out``: the moving average in
    place of the trained weights where the model keeps one, without the ``training_only`` submodules
    (discriminators) and without training state; floating-point tensors in float16 unless ``half`` is False. The
    header is the source's, marked ``inference``; the file loads everywhere a checkpoint does. Returns its header."""
    import torch

    header = resolve_weights(source, root, weights)
    model = load(header.path)
    tensors = {k: v for k, v in model.state_dict().items() if not _training_only(model, k)}
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    else:
        tensors = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    out = Path(out)
    if out.resolve() == header.path.resolve():
        raise GenzooError(f"{out} is the file being exported; choose another --out.")
    save(
        out,
        model_name=header.model,
        config=header.config,
        weights={k: v.to(torch.device("cpu")) for k, v in tensors.items()},
        step=header.step,
        run=header.run,
        extra=header.extra,
        inference=True,
    )
    return read_header(out)


def require(source: str | Path, capability: str, root: Path = DEFAULT_ROOT, weights: WeightsChoice = "auto") -> None:
    """Fail early, before looking for weights, when the model behind ``source`` cannot do ``capability``."""
    if str(source) in models and not Path(source).exists():
        entry = models.get(str(source))
    else:
        entry = model_of(resolve_weights(source, root, weights))
    if capability not in entry.capabilities:
        hint = " Use `genzoo translate` for it." if "translate" in entry.capabilities else ""
        raise CapabilityError(
            f"{entry.name} cannot {capability}. It can: {', '.join(sorted(entry.capabilities))}.{hint}"
        )


def training_data(trained: GenerativeModel | CheckpointInfo) -> Domains:
    """The data a trained model (or the checkpoint holding it) was trained on, the target domain's too for a
    translator, at its image size, as its checkpoint records it; a checkpoint that does not say (imported weights) is
    refused."""
    from genzoo.data.loading import load_domains

    if isinstance(trained, CheckpointInfo):
        name, info, size = trained.model, trained.extra, int(trained.config["image_size"])
    else:
        name, info, size = trained.model_name, trained.data_info, trained.config.image_size
    data = info.get("data")
    if data is None:
        raise GenzooError(
            f"This {name} checkpoint does not say what data it was trained on (imported weights?); give images to "
            f"work on, or a run directory that genzoo trained."
        )
    return load_domains(DataConfig.model_validate(data), size)

"""Pydantic configs: a model family's ``ModelConfig``, ``TrainConfig``, ``DataConfig`` and the ``RunConfig`` of a run.

A run config is assembled in layers, each overriding the one before: the config classes' defaults, the model's
registered training defaults, a registered preset (``--preset zoo``), a ``--config`` file (YAML, TOML or JSON,
with sections ``model``, ``train``, ``data``), the CLI's own options, and ``--set key=value`` overrides. A key may
be dotted (``model.kl_schedule.kind``) or bare (``recon_loss``) when exactly one section has such a field. Values
are read as YAML scalars, so ``true``, ``3``, ``1e-3``, ``[a, b]`` and ``{kind: linear}`` all work. Every
validation error is a ``ConfigError`` that names the field, the bad value and what is allowed.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from genzoo import registry
from genzoo.errors import ConfigError

SECTIONS = ("model", "train", "data")


class Config(BaseModel):
    """Base of every genzoo config: unknown fields are errors, and assignments are validated."""

    # defer_build: a class's validators are built when it first validates, not when genzoo imports it, so that
    # `genzoo list` and `--help` (which import every family's config) stay quick
    model_config = ConfigDict(extra="forbid", validate_assignment=True, protected_namespaces=(), defer_build=True)


def loss_field(kind: str) -> AfterValidator:
    """A validator for a config field that names a registered loss of ``kind``: ``Annotated[str, loss_field("gan")]``
    accepts every loss of that kind, a plugin's included, and refuses other names with the registered ones."""

    def check(name: str) -> str:
        allowed = registry.loss_names(kind)
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=3, cutoff=0.5)
            hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
            raise ValueError(f"unknown {kind} loss {name!r}{hint}; registered {kind} losses: {', '.join(allowed)}")
        return name

    return AfterValidator(check)


ReconLoss = Annotated[str, loss_field("reconstruction")]
GanLoss = Annotated[str, loss_field("gan")]
KLScheduleKind = Annotated[str, loss_field("kl_schedule")]
R1Weight = Annotated[
    float,
    Field(ge=0, description="Weight (gamma) of the R1 penalty on the discriminators' gradient at reals; 0: none."),
]
R1Every = Annotated[int, Field(gt=0, description="Steps between R1 penalties (lazy regularisation, scaled to match).")]
DiscBlur = Annotated[
    Literal["off", "inner", "all"],
    Field(
        description="A fixed [1, 2, 1] binomial blur before the discriminators' stride-2 convolutions (anti-aliased "
        "downsampling), so that their gradients reach the generators without the stride's checkerboard: before "
        "all of them, before all but the first (inner: the image itself is seen unblurred), or off."
    ),
]


class ModelConfig(Config):
    """Fields every model has. Families subclass it; ``min_image_size`` is the smallest size they build at."""

    min_image_size: ClassVar[int] = 16
    data_fields: ClassVar[tuple[str, ...]] = ()
    """Fields ``adapt_to_data`` fills from the training data (a translator's domain names): fine-tuning on other
    data (``train.init_from``) fills them anew rather than taking them from the weights it starts from."""
    image_size: int = Field(64, description="Side of the square images in pixels: a power of two.")

    def adapt_to_data(self, info: Mapping[str, Any]) -> ModelConfig:
        """This config completed from what the training data is, before the model is built.

        ``info`` has ``domains`` (the data set's name, and the target's for a translator) and, when the data has
        attributes, ``attributes`` (name → value names). A family whose networks depend on the data (e.g. a
        conditional GAN's number of classes) fills the fields it needs here, so that the saved config alone
        rebuilds the model. Must be idempotent: a resumed run adapts its saved config again.
        """
        return self

    def check_data(self, data: DataConfig) -> None:
        """Refuse data settings this family cannot train on, before any image is loaded (e.g. a translator
        without ``data.to``): raise a ``ConfigError`` that says what to pass. Default: accept everything."""

    @field_validator("image_size")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        smallest = cls.min_image_size
        if v < smallest or v & (v - 1):
            sizes = ", ".join(str(smallest * 2**k) for k in range(4))
            raise ValueError(f"must be a power of two of at least {smallest} ({sizes}, …)")
        return v


class TrainConfig(Config):
    """How long and how to train; the same for every family."""

    steps: int | None = Field(None, gt=0, description="Optimisation steps; overrides epochs.")
    epochs: float | None = Field(None, gt=0, description="Passes over the training images, when steps is not set.")
    batch_size: int = Field(64, gt=0, description="Images per step (per process under torchrun).")
    seed: int = Field(0, ge=0, description="Seed of initialisation, data order and sampling: same seed, same run.")
    device: str = Field("auto", description="auto, cpu, cuda, cuda:N or mps.")
    precision: Literal["auto", "fp32", "bf16", "fp16"] = Field(
        "auto", description="auto: bf16 autocast where the CPU or GPU supports it, else fp16 on CUDA, else fp32."
    )
    memory_format: Literal["auto", "contiguous", "channels_last"] = Field(
        "auto",
        description="Layout of image tensors in training. auto: channels_last for the models measured faster with "
        "it on the CPU in fp32 (GANs, vae-conv), else contiguous (NCHW).",
    )
    compile: bool = Field(
        False,
        description="torch.compile the model's networks for the training steps (previews, sampling and saved weights "
        "stay eager and unchanged). The first steps wait for compilation; needs a C++ compiler on the CPU.",
    )
    log_every: int = Field(50, gt=0, description="Steps between metric lines in metrics.jsonl.")
    log: list[Literal["tensorboard"]] = Field(
        [], description="Loggers beside the always-written metrics.jsonl: tensorboard (needs genzoo[tensorboard])."
    )
    preview_every: int = Field(500, gt=0, description="Steps between preview grids in previews/.")
    checkpoint_every: int = Field(1000, gt=0, description="Steps between resumable checkpoints.")
    keep_checkpoints: int = Field(3, gt=0, description="How many of the newest checkpoints to keep.")
    on_nan: Literal["stop", "skip"] = Field(
        "stop",
        description="A non-finite loss: stop (keeping the last good checkpoint), or skip that step's update and "
        "count it.",
    )
    skip_limit: int = Field(
        100, gt=0, description="With on_nan=skip: stop after this many skipped steps in a row (the run diverged)."
    )
    init_from: str | None = Field(
        None,
        description="Weights to start from (fine-tuning): a .safetensors file, a run directory, a model name or "
        "hf:owner/repo; the model's config is taken from them. The optimizers and the step start afresh.",
    )

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", v):
            raise ValueError("must be auto, cpu, cuda, cuda:N or mps")
        return v


class Augment(Config):
    """Random changes to each training image (held-out images are never augmented)."""

    flip: bool = Field(False, description="Mirror each image left-right with probability 1/2.")
    crop: Literal["none", "resize-crop", "resized"] = Field(
        "none",
        description="none; resize-crop: enlarge by 1/crop_scale, then cut a random square of the original size (the "
        "reference CycleGAN's 286 → 256); resized: a random region of crop_scale–100 % of the area, resized back.",
    )
    crop_scale: float = Field(0.9, gt=0, le=1, description="resize-crop: side kept; resized: smallest area kept.")
    jitter: float = Field(0.0, ge=0, lt=1, description="Brightness, contrast, saturation scaled by 1 ± jitter; 0: off.")

    @property
    def active(self) -> bool:
        return self.flip or self.crop != "none" or self.jitter > 0


class DataConfig(Config):
    """Where the images come from: a registered data set (``cartoon``) or a folder of images."""

    name: str = Field("cartoon", description="A registered data set or a path to a folder of images.")
    to: str | None = Field(None, description="Second domain, for translation models (a data set or folder).")
    train_size: int = Field(10_000, gt=0, description="Training faces rendered by a built-in data set.")
    heldout_size: int = Field(1_000, gt=0, description="Held-out faces rendered by a built-in data set.")
    heldout_fraction: float = Field(0.1, ge=0, le=0.9, description="Share of a folder's images held out.")
    seed: int = Field(0, ge=0, description="Seed of the renderer and of the held-out split.")
    strict: bool = Field(False, description="Fail on the first unreadable image instead of skipping it.")
    workers: int = Field(0, ge=0, description="Processes decoding a folder's images the first time; 0: one per core.")
    augment: Augment = Field(Augment(), description="Random flips, crops and colour jitter of training images.")


class RunConfig(Config):
    """Everything a run needs: the model's name and config, training and data settings."""

    name: str
    model: ModelConfig
    train: TrainConfig = TrainConfig()
    data: DataConfig = DataConfig()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, **{s: getattr(self, s).model_dump(mode="json") for s in SECTIONS}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunConfig:
        """Rebuild a run config saved by ``to_json`` (the model section validated by the model's config class)."""
        entry = registry.models.get(str(data.get("name")))
        return validate_run(entry.name, entry.config, {s: dict(data.get(s) or {}) for s in SECTIONS})


# ---- files and overrides --------------------------------------------------------------------------------------------


def read_config_file(path: Path) -> dict[str, Any]:
    """A YAML, TOML or JSON config file as a dict with sections ``model``, ``train``, ``data``."""
    if not path.is_file():
        raise ConfigError(f"Config file {path} does not exist. Give the path of a YAML, TOML or JSON file.")
    import yaml  # here, not at the top: `genzoo list` and `--help` do without it

    text = path.read_text(encoding="utf-8")
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        elif suffix in {".yaml", ".yml"}:
            data = yaml.safe_load(text)
        else:
            raise ConfigError(f"Config file {path} has an unknown type {suffix!r}: use .yaml, .yml, .toml or .json.")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"Config file {path} is not valid {suffix[1:].upper()}: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not set(data) <= {*SECTIONS, "name"}:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ConfigError(
            f"Config file {path} must be a mapping with the sections {', '.join(SECTIONS)} (and optionally name); "
            f"it has {keys}. Example: `train: {{steps: 2000}}`."
        )
    return data


def parse_override(text: str) -> tuple[str, Any]:
    """``"a.b=1"`` → ``("a.b", 1)``, the value read as a YAML scalar."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", key):
        raise ConfigError(
            f"Bad --set {text!r}: write key=value, for example `--set latent_dim=64`, `--set train.batch_size=32` "
            f"or `--set kl_schedule.kind=linear`."
        )
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+", value.strip()):
        value = float(value)  # YAML 1.1 reads 1e-3 as a string
    return key, value


def merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of ``update`` into a copy of ``base``."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def layer(raw: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``update`` merged over ``raw``; a layer that sets ``train.epochs`` but not ``train.steps`` means epochs, so
    it clears the steps a lower layer (e.g. the model's training defaults) set."""
    out = merge(raw, update)
    train = update.get("train") or {}
    if train.get("epochs") is not None and "steps" not in train:
        out["train"] = {**out.get("train", {}), "steps": None}
    return out


def _section_of(key: str, classes: Mapping[str, type[Config]]) -> str:
    head = key.split(".", 1)[0]
    owners = [s for s, cls in classes.items() if head in cls.model_fields]
    if len(owners) == 1:
        return owners[0]
    if len(owners) > 1:
        options = " or ".join(f"{s}.{key}" for s in owners)
        raise ConfigError(
            f"--set {key} is ambiguous: it could be {options}. Write the section, e.g. `--set {options.split()[0]}=…`."
        )
    fields = sorted(f"{s}.{f}" for s, cls in classes.items() for f in cls.model_fields)
    close = difflib.get_close_matches(head, [f.split(".")[1] for f in fields], n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise ConfigError(
        f"--set {key}: no field {head!r} in the model, train or data config.{hint} Fields: {', '.join(fields)}."
    )


def apply_overrides(
    raw: dict[str, Any], overrides: Iterable[str], classes: Mapping[str, type[Config]]
) -> dict[str, Any]:
    """Apply ``--set key=value`` strings to the sectioned dict ``raw``."""
    for text in overrides:
        key, value = parse_override(text)
        section, _, rest = key.partition(".")
        if section not in SECTIONS or not rest:
            section, rest = _section_of(key, classes), key
        nested: Any = value
        for part in reversed(rest.split(".")):
            nested = {part: nested}
        raw = layer(raw, {section: nested})
    return raw


def describe_validation_error(exc: ValidationError, section: str) -> str:
    """A readable, one-paragraph account of a pydantic error: field, bad value, what is allowed."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(p) for p in (section, *err["loc"]))
        if err["type"] == "extra_forbidden":
            parts.append(f"{field} is not a field of the {section} config")
            continue
        message = err["msg"].removeprefix("Value error, ")
        parts.append(f"{field} = {err['input']!r}: {message}")
    return "; ".join(parts)


def validate_run(name: str, model_cls: type[ModelConfig], raw: Mapping[str, Any]) -> RunConfig:
    """Validate a sectioned dict into a ``RunConfig``; errors become one ``ConfigError``."""
    classes: dict[str, type[Config]] = {"model": model_cls, "train": TrainConfig, "data": DataConfig}
    values: dict[str, Config] = {}
    problems = []
    for section, cls in classes.items():
        try:
            values[section] = cls.model_validate(raw.get(section) or {})
        except ValidationError as exc:
            problems.append(describe_validation_error(exc, section))
    if problems:
        fields = {s: ", ".join(c.model_fields) for s, c in classes.items()}
        where = " ".join(f"{s} fields: {fields[s]}." for s in classes if any(p.startswith(s) for p in problems))
        raise ConfigError(f"Invalid configuration for {name}: {'; '.join(problems)}. {where}")
    run = RunConfig.model_construct(name=name, **values)
    run.model.check_data(run.data)
    return run


def preset_layer(entry: registry.ModelEntry, preset: str) -> registry.Preset:
    """The registered configuration ``preset`` of a model; an unknown one is refused with those it has."""
    if preset not in entry.presets:
        known = ", ".join(sorted(entry.presets)) or "none"
        raise ConfigError(
            f"{entry.name} has no preset {preset!r}. Its presets: {known} (`genzoo info {entry.name}` shows them); "
            f"or leave --preset out to train with its defaults."
        )
    return entry.presets[preset]


def build_run_config(
    name: str,
    *,
    preset: str | None = None,
    config_file: Path | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    overrides: Iterable[str] = (),
) -> RunConfig:
    """The run config of model ``name`` from its defaults, a registered preset, a config file, CLI options and
    ``--set`` overrides, each layer over the one before."""
    entry = registry.models.get(name)
    raw: dict[str, Any] = {"model": {}, "train": dict(entry.train_defaults), "data": dict(entry.data_defaults)}
    if preset is not None:
        raw = layer(raw, preset_layer(entry, preset))
    if config_file is not None:
        from_file = read_config_file(config_file)
        named = from_file.pop("name", name)
        if named != name:
            raise ConfigError(f"Config file {config_file} is for another model: it names {named!r}, not {name!r}.")
        raw = layer(raw, from_file)
    raw = layer(raw, {s: {k: v for k, v in (options or {}).get(s, {}).items() if v is not None} for s in SECTIONS})
    classes = {"model": entry.config, "train": TrainConfig, "data": DataConfig}
    raw = apply_overrides(raw, overrides, classes)
    return validate_run(name, entry.config, raw)


def config_diff(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Fields whose values differ between two (nested) config dicts, as ``(dotted_key, a_value, b_value)``."""
    out = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, Mapping) and isinstance(vb, Mapping):
            out.extend(config_diff(va, vb, f"{prefix}{key}."))
        elif va != vb:
            out.append((f"{prefix}{key}", va, vb))
    return out


def saved_differences(saved: Mapping[str, Any], current: Config) -> list[tuple[str, Any, Any]]:
    """The fields a saved config (from a checkpoint's header) sets differently from ``current``, as
    ``(dotted_key, saved_value, current_value)``. A field the saved config lacks was added to genzoo after it was
    written, so it counts at its default; a saved field genzoo no longer has is a difference."""
    complete = merge(type(current).model_construct().model_dump(mode="json"), saved)
    return config_diff(complete, current.model_dump(mode="json"))

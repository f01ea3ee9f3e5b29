"""One small typed registry, used for models, losses and data sets.

Built-in entries live in torch-free modules that register with a decorator; they are imported the first time a
registry is asked for anything: every sub-package of ``genzoo.models`` (a model family), every module of
``genzoo.losses``, and ``genzoo.data.builtin``. A new built-in family is a new package, with no edit here.
Third-party entries come from Python entry points:

=====================  ====================================================
entry-point group      what the entry point's value must register
=====================  ====================================================
``genzoo.models``      a model of the same name (``register_model``)
``genzoo.losses``      a loss of the same name (``register_loss``)
``genzoo.datasets``    a data set of the same name (``register_dataset``)
=====================  ====================================================

Discovery is lazy: ``names()`` lists plugin names from the installed distributions' metadata without importing
plugin code; the plugin is imported on first use (``get``) or when full entries are listed. A plugin that fails to
import is recorded in ``errors`` and skipped, never fatal. A plugin name that clashes with a built-in is skipped too
(built-ins win). ``GENZOO_DISABLE_PLUGINS=1`` turns discovery off.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import importlib
import importlib.resources
import json
import os
import pkgutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, PackageNotFoundError, entry_points, packages_distributions, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from genzoo.errors import UnknownNameError

if TYPE_CHECKING:
    from genzoo.config import DataConfig, ModelConfig
    from genzoo.data.core import Progress, Split
    from genzoo.models.base import GenerativeModel

BUILTIN = "built-in"


class Named(Protocol):
    """What every registry entry has."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def source(self) -> str: ...


E = TypeVar("E", bound=Named)


@dataclass(frozen=True)
class PluginProblem:
    """A plugin entry point that could not be used, and why."""

    group: str
    name: str
    distribution: str
    error: str


def plugins_disabled() -> bool:
    return os.environ.get("GENZOO_DISABLE_PLUGINS", "").strip().lower() in {"1", "true", "yes", "on"}


@functools.cache
def _owners() -> Mapping[str, list[str]]:
    return packages_distributions()


def source_of(obj: object) -> str:
    """Where a registered object comes from: ``built-in``, or the installed distribution that owns its module."""
    module = getattr(obj, "__module__", None) or ""
    top = module.split(".")[0]
    if top == "genzoo":
        return BUILTIN
    owners = _owners().get(top)
    if not owners:
        return f"{module or 'unknown module'} (not an installed distribution)"
    try:
        return f"{owners[0]} {version(owners[0])}"
    except PackageNotFoundError:
        return owners[0]


def _distribution(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"


@dataclass
class Registry(Generic[E]):
    """Names to entries, for one kind of thing (``kind`` is used in messages: "model", "loss", …)."""

    kind: str
    group: str
    builtins: Callable[[], Iterable[str]] = tuple
    """The modules whose import registers the built-in entries (found when first needed)."""
    _entries: dict[str, E] = field(default_factory=dict)
    _pending: dict[str, EntryPoint] | None = None
    _builtins_loaded: bool = False
    _forgotten: dict[str, E] = field(default_factory=dict)
    errors: list[PluginProblem] = field(default_factory=list)

    # ---- registration -------------------------------------------------------------------------------------------

    def add(self, entry: E) -> E:
        """Register ``entry``; a second entry of the same name is refused."""
        if entry.name in self._entries:
            other = self._entries[entry.name]
            raise ValueError(f"a {self.kind} named {entry.name!r} is already registered (by {other.source})")
        self._entries[entry.name] = entry
        return entry

    # ---- discovery ------------------------------------------------------------------------------------------------

    def _load_builtins(self) -> None:
        if self._builtins_loaded:
            return
        self._builtins_loaded = True
        for module in self.builtins():
            importlib.import_module(module)

    def _plugins(self) -> dict[str, EntryPoint]:
        if self._pending is None:
            self._load_builtins()
            self._pending = {}
            if not plugins_disabled():
                for ep in entry_points(group=self.group):
                    if ep.name in self._entries and self._entries[ep.name].source == _distribution(ep):
                        continue  # the plugin's code was imported already (by another of its entry points)
                    if ep.name in self._entries or ep.name in self._pending:
                        owner = self._entries[ep.name].source if ep.name in self._entries else "another plugin"
                        self._problem(ep, f"name clashes with the {self.kind} registered by {owner}; skipped")
                    else:
                        self._pending[ep.name] = ep
        return self._pending

    def _problem(self, ep: EntryPoint, error: str) -> None:
        self.errors.append(PluginProblem(self.group, ep.name, _distribution(ep), error))

    def _load_plugin(self, name: str) -> E | None:
        ep = self._plugins().pop(name)
        try:
            ep.load()
        except Exception as exc:  # a broken plugin must never break genzoo
            self._problem(ep, f"import failed: {type(exc).__name__}: {exc}")
            return None
        forgotten = self._forgotten.get(name)
        if name not in self._entries and forgotten is not None and forgotten.source == _distribution(ep):
            self._entries[name] = self._forgotten.pop(name)  # imported before a reset(): its module does not run again
        if name not in self._entries:
            self._problem(ep, f"entry point {ep.value!r} loaded but registered no {self.kind} named {name!r}")
            return None
        return self._entries[name]

    # ---- queries --------------------------------------------------------------------------------------------------

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted names, built-in and plugin, optionally filtered by an fnmatch pattern; imports no plugin."""
        pending = self._plugins()  # loads the built-ins first
        names = set(self._entries) | set(pending)
        return sorted(n for n in names if pattern is None or fnmatch.fnmatchcase(n, pattern))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def get(self, name: str) -> E:
        """The entry called ``name``; an unknown name raises ``UnknownNameError`` suggesting the closest names."""
        if name not in self._entries and name in self._plugins():
            self._load_plugin(name)
        if name in self._entries:
            return self._entries[name]
        raise UnknownNameError(self.unknown_message(name))

    def unknown_message(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.55)
        hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        failed = [p for p in self.errors if p.name == name]
        if failed:
            hint = f"A plugin provides it but could not be loaded ({failed[0].error}). " + hint
        return (
            f"Unknown {self.kind} {name!r}. {hint}Known {self.kind}s: {', '.join(known) or 'none'}. "
            f"`genzoo list` shows what is installed."
        )

    def entries(self, pattern: str | None = None) -> list[E]:
        """Full entries (importing the plugins whose names match), sorted by name."""
        for name in [n for n in self._plugins() if pattern is None or fnmatch.fnmatchcase(n, pattern)]:
            self._load_plugin(name)
        return [self._entries[n] for n in sorted(self._entries) if pattern is None or fnmatch.fnmatchcase(n, pattern)]

    def reset(self) -> None:
        """Forget plugins and errors so that discovery runs again (tests, after installing a plugin)."""
        for name in [n for n, e in self._entries.items() if e.source != BUILTIN]:
            self._forgotten[name] = self._entries.pop(name)
        self._pending = None
        self.errors.clear()


# ---- the three registries ----------------------------------------------------------------------------------------

Capability = str
CAPABILITIES: tuple[Capability, ...] = ("sample", "reconstruct", "translate", "encode", "conditional")


Preset = Mapping[str, Mapping[str, object]]
"""A registered configuration: sections (``model``, ``train``, ``data``) of fields, layered over a model's defaults
by ``genzoo train NAME --preset PRESET``."""


@dataclass(frozen=True)
class Release:
    """Released weights of a registered model, as torchvision's weights belong to a builder: an inference-only
    ``.safetensors`` file shipped inside an installed package, the sha256 it must have, and its card.

    ``file`` is a path inside ``package`` (``released/vae-conv.safetensors``); the card is the JSON file beside it
    with the same stem (``released/vae-conv.json``): data, reproducing command, steps, time, machine, learning curve
    and ``genzoo eval`` figures (``genzoo release`` writes both). A plugin ships its own the same way.
    """

    package: str
    file: str
    sha256: str

    @property
    def path(self) -> Path:
        """Where the weights file is (it may be missing or damaged: ``genzoo.checkpoint.verify`` checks it)."""
        return Path(str(importlib.resources.files(self.package).joinpath(self.file)))

    @property
    def card_path(self) -> Path:
        return self.path.with_suffix(".json")

    @property
    def grid_path(self) -> Path:
        """The card's picture: what the released model draws or translates."""
        return self.path.with_suffix(".png")

    def card(self) -> dict[str, Any]:
        """The card's contents ({} when the file is missing or unreadable: the weights still load)."""
        try:
            card = json.loads(self.card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return card if isinstance(card, dict) else {}


def builtin_release(name: str, sha256: str) -> Release:
    """The release of a built-in model: ``genzoo/released/<name>.safetensors``."""
    return Release("genzoo", f"released/{name}.safetensors", sha256)


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: how to build it and what it can do, known without importing torch."""

    name: str
    family: str
    description: str
    capabilities: frozenset[Capability]
    config: type[ModelConfig]
    builder: Callable[[ModelConfig], GenerativeModel]
    train_defaults: dict[str, object]
    curve_groups: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Panels of ``curves.png``: a title → the logged terms drawn in it (none: one panel per term)."""
    data_defaults: dict[str, object] = field(default_factory=dict)
    """The model's defaults of the data section (e.g. ``{"augment": {"flip": True}}``), below every user layer."""
    presets: Mapping[str, Preset] = field(default_factory=dict)
    """Registered configurations by name (``zoo``: the recipe of the released weights), for ``--preset``."""
    release: Release | None = None
    """The released weights, when there are some."""
    source: str = BUILTIN

    def build(self, config: ModelConfig | None = None) -> GenerativeModel:
        """The model, from ``config`` (default: the config class's defaults), named after this entry."""
        model = self.builder(config if config is not None else self.config())
        model.model_name = self.name
        return model


@dataclass(frozen=True)
class LossEntry:
    """A registered loss (or loss-weight schedule); ``kind`` says where it fits: reconstruction, gan, kl_schedule."""

    name: str
    kind: str
    fn: Callable[..., object]
    description: str
    source: str = BUILTIN


DatasetLoader = Callable[["DataConfig", int, "Progress | None"], "Split"]


@dataclass(frozen=True)
class DatasetEntry:
    """A registered data set; ``load(config, image_size, progress)`` returns its train and held-out images."""

    name: str
    description: str
    load: DatasetLoader
    has_attributes: bool
    source: str = BUILTIN


def submodules(package: str, *, packages_only: bool = False) -> list[str]:
    """The modules (or only the sub-packages) directly inside ``package``, sorted; private ones (``_x``) left out."""
    found = pkgutil.iter_modules(importlib.import_module(package).__path__)
    return sorted(f"{package}.{m.name}" for m in found if not m.name.startswith("_") and (m.ispkg or not packages_only))


models: Registry[ModelEntry] = Registry(
    "model", "genzoo.models", functools.partial(submodules, "genzoo.models", packages_only=True)
)
losses: Registry[LossEntry] = Registry("loss", "genzoo.losses", functools.partial(submodules, "genzoo.losses"))
datasets: Registry[DatasetEntry] = Registry("data set", "genzoo.datasets", lambda: ["genzoo.data.builtin"])


def register_model(
    name: str,
    *,
    family: str,
    description: str,
    capabilities: set[Capability] | frozenset[Capability],
    config: type[ModelConfig],
    train_defaults: dict[str, object] | None = None,
    curve_groups: Mapping[str, Sequence[str]] | None = None,
    data_defaults: dict[str, object] | None = None,
    presets: Mapping[str, Preset] | None = None,
    release: Release | None = None,
) -> Callable[[Callable[[ModelConfig], GenerativeModel]], Callable[[ModelConfig], GenerativeModel]]:
    """Decorator registering a builder ``fn(config) -> model`` under ``name``.

    Keep the module that holds this decorator free of torch imports (import the network module inside the builder),
    so that ``genzoo list`` stays instant. ``train_defaults`` and ``data_defaults`` are the model's own defaults of
    those config sections; ``curve_groups`` groups the logged terms into the panels of ``curves.png``; ``presets``
    are named configurations (``genzoo train NAME --preset zoo``); ``release`` the released weights.
    """
    bad = [p for p, sections in (presets or {}).items() if not set(sections) <= {"model", "train", "data"}]
    if bad:
        raise ValueError(f"preset {bad[0]!r} of {name!r} may only have the sections model, train and data")
    unknown = set(capabilities) - set(CAPABILITIES)
    if unknown:
        raise ValueError(f"unknown capabilities {sorted(unknown)}; choose from {CAPABILITIES}")

    def decorate(builder: Callable[[ModelConfig], GenerativeModel]) -> Callable[[ModelConfig], GenerativeModel]:
        entry = ModelEntry(
            name,
            family,
            description,
            frozenset(capabilities),
            config,
            builder,
            dict(train_defaults or {}),
            {title: list(terms) for title, terms in (curve_groups or {}).items()},
            dict(data_defaults or {}),
            {p: {s: dict(v) for s, v in sections.items()} for p, sections in (presets or {}).items()},
            release,
            source_of(builder),
        )
        models.add(entry)
        return builder

    return decorate


def register_loss(
    name: str, *, kind: str, description: str
) -> Callable[[Callable[..., object]], Callable[..., object]]:
    """Decorator registering a loss function (or schedule) of ``kind`` under ``name``."""

    def decorate(fn: Callable[..., object]) -> Callable[..., object]:
        losses.add(LossEntry(name, kind, fn, description, source_of(fn)))
        return fn

    return decorate


def register_dataset(
    name: str, *, description: str, has_attributes: bool = False
) -> Callable[[DatasetLoader], DatasetLoader]:
    """Decorator registering a data-set loader ``fn(data_config, image_size, progress) -> Split`` under ``name``."""

    def decorate(fn: DatasetLoader) -> DatasetLoader:
        datasets.add(DatasetEntry(name, description, fn, has_attributes, source_of(fn)))
        return fn

    return decorate


def loss_names(kind: str) -> list[str]:
    """Names of the registered losses of one kind (imports plugins of the loss group)."""
    return [e.name for e in losses.entries() if e.kind == kind]


def get_loss(name: str, kind: str) -> Callable[..., object]:
    entry = losses.get(name)
    if entry.kind != kind:
        raise UnknownNameError(
            f"{name!r} is a {entry.kind} loss, not a {kind} loss. {kind} losses: {', '.join(loss_names(kind))}."
        )
    return entry.fn

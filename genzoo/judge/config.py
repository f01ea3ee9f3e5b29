"""What the judge is: the heads it reads, how it is built and trained (``JudgeConfig``), what a trained one
measured of itself (``JudgeInfo``), and what it reads (``Reading``). No torch here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from genzoo.config import parse_override
from genzoo.data.toon import ATTRIBUTES, STYLES
from genzoo.errors import ConfigError

HEADS: dict[str, tuple[str, ...]] = {**ATTRIBUTES, "style": STYLES}
"""What the judge reads: every face attribute, then the style; head name → its value names, in index order."""


@dataclass(frozen=True)
class JudgeConfig:
    """How the judge is built and trained. Every field is part of the cache key."""

    size: int = 64  # image size the judge reads; other sizes are resized to it
    width: int = 24  # channels of the first convolution (doubling at each stride-2 layer)
    features: int = 128  # size of the penultimate layer: the feature vector of the Fréchet distance
    train_per_style: int = 8_000  # faces rendered for training, per style
    heldout_per_style: int = 1_000  # faces rendered to measure accuracy, per style
    half_size_share: float = 0.3  # share of training images shown as if drawn at size / 2 (then resized up)
    quarter_size_share: float = 0.1  # share shown as if drawn at size / 4
    epochs: int = 5
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0
    precision: str = "fp32"  # training autocast: fp32 gives the same judge on every CPU; "auto" as the Trainer


DEFAULT_CONFIG = JudgeConfig()
"""The judge the metrics use: the one genzoo ships."""


def with_overrides(config: JudgeConfig, overrides: Sequence[str]) -> JudgeConfig:
    """``config`` with ``--set field=value`` strings applied; a one-paragraph ``ConfigError`` for a wrong field or
    value type."""
    kinds = {f.name: type(getattr(config, f.name)) for f in fields(config)}
    changes: dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        kind = kinds.get(key)
        if kind is None:
            raise ConfigError(f"--set {key}: the judge has no such field. Its fields: {', '.join(kinds)}.")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not kind:
            raise ConfigError(
                f"--set {text}: {key} is a {kind.__name__} (now {getattr(config, key)!r}), not {value!r}. "
                f"Example: `--set {key}={getattr(config, key)}`."
            )
        changes[key] = value
    return replace(config, **changes)


@dataclass
class Reading:
    """What the judge read from ``N`` images: features, each head's most likely value and its probability."""

    features: np.ndarray  # (N, features) float64
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # head → (N,) int64 value index
    confidence: dict[str, np.ndarray] = field(default_factory=dict)  # head → (N,) softmax probability of that value
    scale: float = 1.0  # the judge's feature scale: KID reads ``features / scale`` (see ``JudgeInfo.feature_scale``)

    def scaled(self) -> np.ndarray:
        """The features in the judge's unit (real faces' features have a mean square of 1): what KID reads."""
        return self.features / self.scale

    def __len__(self) -> int:
        return len(self.features)


@dataclass(frozen=True)
class JudgeInfo:
    """What a cached judge's header says about it."""

    path: Path
    config: JudgeConfig
    accuracy: dict[str, float]  # head → share of held-out faces (both styles) read correctly
    accuracy_by_style: dict[str, dict[str, float]]  # style → head → accuracy on that style's held-out faces
    accuracy_by_size: dict[int, dict[str, float]]  # smaller size → head → accuracy on held-out faces drawn at it
    heldout_per_style: int
    seconds: float  # wall time of rendering and training
    precision: str  # autocast dtype of training: bf16 or fp32
    renderer: str
    torch: str
    feature_scale: float = 1.0  # root mean square of its held-out faces' features; KID reads features / this
    pillow: str = ""  # the Pillow that drew its faces

    @property
    def min_accuracy(self) -> float:
        return min(self.accuracy.values())

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["path"] = str(self.path)
        out["min_accuracy"] = self.min_accuracy
        return out

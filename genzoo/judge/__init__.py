"""The judge: a small CNN that reads a toon face's attributes and style, the measuring instrument of the metrics.

It predicts every attribute in ``genzoo.data.toon.ATTRIBUTES`` and the style (``cartoon`` or ``anime``) from a
``size``-pixel image of either style (images of other sizes are resized), and its penultimate layer gives the
features in which ``genzoo.metrics`` measures Fréchet distances.

The judge is not shipped: it is trained, deterministically from ``JudgeConfig.seed``, on faces rendered for it alone
(record streams of its own, disjoint from the data sets'), and cached in ``genzoo.data.core.cache_dir()`` as a
safetensors file whose name is keyed by the config, the renderer's source and Pillow's version, and the judge's own
source. A change to any of them trains a new judge. ``load_judge()`` trains it on first use (a few minutes on a
laptop CPU, with a progress bar) and reads the cache afterwards; ``genzoo judge train`` does the same on request.

This module does not import torch; the network lives in ``genzoo.judge.network``, its training in
``genzoo.judge.training``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from genzoo.data.toon import ATTRIBUTES, STYLES

if TYPE_CHECKING:
    from genzoo.judge.cache import JudgeInfo
    from genzoo.judge.network import Judge

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
    precision: str = "auto"  # autocast as the Trainer resolves it: bf16 where the CPU is fast at it, else fp32


DEFAULT_CONFIG = JudgeConfig()
"""The judge the metrics use."""


@dataclass
class Reading:
    """What the judge read from ``N`` images: features, each head's most likely value and its probability."""

    features: np.ndarray  # (N, features) float64
    codes: dict[str, np.ndarray] = field(default_factory=dict)  # head → (N,) int64 value index
    confidence: dict[str, np.ndarray] = field(default_factory=dict)  # head → (N,) softmax probability of that value

    def __len__(self) -> int:
        return len(self.features)


def record_seed(seed: int, stream: str) -> int:
    """A record seed for the named stream of faces: different names give unrelated records."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{stream}".encode()).digest()[:4], "little")


def load_judge(config: JudgeConfig | None = None, *, progress: bool = True) -> Judge:
    """The cached judge of ``config`` (default: ``DEFAULT_CONFIG``), trained first when there is none yet."""
    from genzoo.judge.cache import load_cached
    from genzoo.judge.training import train_and_save

    config = config or DEFAULT_CONFIG
    return load_cached(config) or train_and_save(config, progress=progress, first_use=True)


def cached_judge(config: JudgeConfig | None = None) -> Judge | None:
    """The cached judge, or None when it has not been trained (never trains: for places that must stay fast)."""
    from genzoo.judge.cache import load_cached

    return load_cached(config or DEFAULT_CONFIG)


def train_judge(config: JudgeConfig | None = None, *, force: bool = False, progress: bool = True) -> Judge:
    """Train the judge and cache it; with ``force`` even when a cached one exists."""
    from genzoo.judge.cache import load_cached
    from genzoo.judge.training import train_and_save

    config = config or DEFAULT_CONFIG
    judge = None if force else load_cached(config)
    return judge or train_and_save(config, progress=progress)


def judge_info(config: JudgeConfig | None = None) -> JudgeInfo | None:
    """What the cached judge is (accuracies, training time, …), from its file header; None when not trained yet."""
    from genzoo.judge.cache import read_info

    return read_info(config or DEFAULT_CONFIG)

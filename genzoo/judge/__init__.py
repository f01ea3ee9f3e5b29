"""The judge: a small CNN that reads a toon face's attributes and style, the measuring instrument of the metrics.

It predicts every attribute in ``genzoo.data.toon.ATTRIBUTES`` and the style (``cartoon`` or ``anime``) from a
``size``-pixel image of either style (images of other sizes are resized), and its penultimate layer gives the
features in which ``genzoo.metrics`` measures Fréchet distances.

The judge is not shipped: it is trained, deterministically from ``JudgeConfig.seed``, on faces rendered for it alone
(record streams of its own, disjoint from the data sets'), and cached in ``genzoo.data.core.cache_dir()`` as a
safetensors file whose name is keyed by the config, the renderer's source and Pillow's version, and the judge's own
source. A change to any of them trains a new judge. ``load_judge()`` trains it on first use (a few minutes on a
laptop CPU, with a progress bar) and reads the cache afterwards; ``genzoo judge train`` does the same on request.

This package's modules but ``network`` and ``training`` do not import torch: what the judge is lives in
``genzoo.judge.config``, its cache file in ``genzoo.judge.cache``, the network in ``genzoo.judge.network`` and its
training in ``genzoo.judge.training``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genzoo.judge.cache import load_cached, read_info
from genzoo.judge.config import DEFAULT_CONFIG, HEADS, JudgeConfig, JudgeInfo, Reading

if TYPE_CHECKING:
    from genzoo.judge.network import Judge

__all__ = [
    "DEFAULT_CONFIG",
    "HEADS",
    "JudgeConfig",
    "JudgeInfo",
    "Reading",
    "cached_judge",
    "judge_info",
    "load_judge",
    "train_judge",
]


def load_judge(config: JudgeConfig | None = None, *, progress: bool = True) -> Judge:
    """The cached judge of ``config`` (default: ``DEFAULT_CONFIG``), trained first when there is none yet."""
    from genzoo.judge.training import train_and_save

    config = config or DEFAULT_CONFIG
    return load_cached(config) or train_and_save(config, progress=progress, first_use=True)


def cached_judge(config: JudgeConfig | None = None) -> Judge | None:
    """The cached judge, or None when it has not been trained (never trains: for places that must stay fast)."""
    return load_cached(config or DEFAULT_CONFIG)


def train_judge(config: JudgeConfig | None = None, *, force: bool = False, progress: bool = True) -> Judge:
    """Train the judge and cache it; with ``force`` even when a cached one exists."""
    from genzoo.judge.training import train_and_save

    config = config or DEFAULT_CONFIG
    judge = None if force else load_cached(config)
    return judge or train_and_save(config, progress=progress)


def judge_info(config: JudgeConfig | None = None) -> JudgeInfo | None:
    """What the cached judge is (accuracies, training time, …), from its file header; None when not trained yet."""
    return read_info(config or DEFAULT_CONFIG)

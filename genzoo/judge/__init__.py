"""The judge: a small CNN that reads a toon face's attributes and style, the measuring instrument of the metrics.

It predicts every attribute in ``genzoo.data.toon.ATTRIBUTES`` and the style (``cartoon`` or ``anime``) from a
``size``-pixel image of either style (images of other sizes are resized), and its penultimate layer gives the
features in which ``genzoo.metrics`` measures Fréchet and kernel distances.

The judge of ``DEFAULT_CONFIG`` ships with genzoo (``genzoo/judge/judge-64px.safetensors``, its card in the file's
header: held-out accuracy per attribute, style and size), so no command trains it. It was trained deterministically
from ``JudgeConfig.seed`` on faces rendered for it alone (record streams of its own, disjoint from the data sets'),
and ``genzoo judge train --out genzoo/judge/judge-64px.safetensors`` makes it again. A custom judge is still
possible: ``genzoo judge train --set FIELD=VALUE … --out FILE``, then ``genzoo eval --judge FILE`` or the
``GENZOO_JUDGE`` environment variable (every command that measures then reads it). A config other than the shipped
one (``load_judge(config)``) is trained on first use and cached in ``genzoo.data.core.cache_dir()``.

This package's modules but ``network`` and ``training`` do not import torch: what the judge is lives in
``genzoo.judge.config``, its files in ``genzoo.judge.cache``, the network in ``genzoo.judge.network`` and its
training in ``genzoo.judge.training``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from genzoo.errors import GenzooError
from genzoo.judge.cache import SHIPPED, load_cached, load_file, read_file_info, read_info
from genzoo.judge.config import DEFAULT_CONFIG, HEADS, JudgeConfig, JudgeInfo, Reading

if TYPE_CHECKING:
    from genzoo.judge.network import Judge

__all__ = [
    "DEFAULT_CONFIG",
    "HEADS",
    "SHIPPED",
    "JudgeConfig",
    "JudgeInfo",
    "Reading",
    "cached_judge",
    "chosen_file",
    "judge_info",
    "load_judge",
    "train_judge",
]


JUDGE_VARIABLE = "GENZOO_JUDGE"
"""The environment variable naming a custom judge file that every measuring command reads instead of the shipped."""


def load_judge(config: JudgeConfig | None = None, *, progress: bool = True, path: str | Path | None = None) -> Judge:
    """The judge the metrics read with: the file ``path`` (or ``$GENZOO_JUDGE``) when given; else the judge of
    ``config`` (default: ``DEFAULT_CONFIG``, the shipped one), trained first and cached when it is a custom config
    that has none yet."""
    from genzoo.judge.training import train_and_save

    chosen = chosen_file(path) if path or config is None else None
    if chosen is not None:
        return judge_from_file(chosen)
    config = config or DEFAULT_CONFIG
    judge = load_cached(config)
    if judge is None and config == _shipped_config():
        raise GenzooError(
            f"genzoo's judge file {SHIPPED} is missing or damaged, so nothing can be measured with it. Reinstall "
            "genzoo (pip install --force-reinstall genzoo), or, in a checkout, restore it with `git checkout -- "
            f"{SHIPPED.name}` in genzoo/judge/."
        )
    return judge or train_and_save(config, progress=progress, first_use=True)


def chosen_file(path: str | Path | None = None) -> Path | None:
    """The judge file asked for: ``path``, else ``$GENZOO_JUDGE``; None when neither (the shipped judge)."""
    chosen = path or os.environ.get(JUDGE_VARIABLE)
    return Path(chosen) if chosen else None


def judge_from_file(path: Path) -> Judge:
    """The judge saved in ``path`` (``genzoo judge train --out``); a one-paragraph error when it is not one."""
    judge = load_file(path)
    if judge is None:
        where = f" (from ${JUDGE_VARIABLE})" if os.environ.get(JUDGE_VARIABLE) == str(path) else ""
        raise GenzooError(
            f"{path}{where} is not a judge file genzoo can read: it is missing, damaged, or holds another model. Make "
            "one with `genzoo judge train --out FILE`, or leave out --judge and GENZOO_JUDGE to use the judge genzoo "
            "ships."
        )
    return judge


def cached_judge(config: JudgeConfig | None = None) -> Judge | None:
    """The judge of ``config`` when it is shipped or cached, or None (never trains: for places that must stay fast);
    without a config, ``$GENZOO_JUDGE`` when set."""
    chosen = chosen_file() if config is None else None
    if chosen is not None:
        return judge_from_file(chosen)
    return load_cached(config or DEFAULT_CONFIG)


def _shipped_config() -> JudgeConfig:
    """The config the shipped judge is made with: ``JudgeConfig()``'s defaults (``DEFAULT_CONFIG`` may be replaced
    in tests)."""
    return JudgeConfig()


def train_judge(
    config: JudgeConfig | None = None, *, force: bool = False, progress: bool = True, out: Path | None = None
) -> Judge:
    """Train the judge of ``config`` and save it to ``out`` (default: its cache file); unless ``force``, an
    existing judge of that config at that place is returned as it is."""
    from genzoo.judge.training import train_and_save

    config = config or DEFAULT_CONFIG
    existing = None if force else (load_file(out) if out is not None else load_cached(config))
    if existing is not None and existing.config != config:
        existing = None
    return existing or train_and_save(config, progress=progress, out=out)


def judge_info(config: JudgeConfig | None = None, path: Path | None = None) -> JudgeInfo | None:
    """The card of a judge (accuracies, feature scale, training time, …) from its file header: of the file ``path``,
    else of ``config``'s judge (default: the shipped one); None when there is none."""
    return read_file_info(path) if path is not None else read_info(config or DEFAULT_CONFIG)

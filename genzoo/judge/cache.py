"""Where judges live, what their file header records (the judge's card), and reading them back.

A judge file is a genzoo safetensors checkpoint (``model`` = ``genzoo-judge``) whose header's ``extra`` is its card:
held-out accuracies per head, style and size, the feature scale, the training time, precision, torch, Pillow and
renderer. The judge of ``DEFAULT_CONFIG`` ships with the package (``SHIPPED``); a judge of another config is cached in
``cache_dir()`` under a key over its config, the renderer's source, Pillow's version (it draws the faces) and the
judge's own source, so any change to how faces are drawn or how the judge is made leads to a new file. This module
imports torch only to load weights.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import PIL

from genzoo.checkpoint import load_tensors, read_header, save
from genzoo.data.core import cache_dir, cache_key
from genzoo.data.render import renderer_hash
from genzoo.data.toon import STYLES
from genzoo.errors import CheckpointError
from genzoo.judge.config import HEADS, JudgeConfig, JudgeInfo

if TYPE_CHECKING:
    from genzoo.judge.network import Judge

MODEL_NAME = "genzoo-judge"
SHIPPED = Path(__file__).parent / "judge-64px.safetensors"
"""The judge the metrics use, shipped with genzoo: ``genzoo judge train --out`` this file makes it again."""
_SOURCES = ("network.py", "training.py")


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def judge_source_hash() -> str:
    """Short hash of the judge's network and training code."""
    here = Path(__file__).parent
    return _digest([here / name for name in _SOURCES])


def key_parts(config: JudgeConfig) -> dict[str, Any]:
    return {
        "config": asdict(config),
        "renderer": renderer_hash(),
        "pillow": PIL.__version__,
        "judge": judge_source_hash(),
    }


def judge_path(config: JudgeConfig) -> Path:
    """The cache file of the judge made with ``config`` by the current renderer and judge code."""
    return cache_dir() / f"judge-{config.size}px-{cache_key(key_parts(config))}.safetensors"


def judge_file(config: JudgeConfig) -> Path:
    """Where the judge of ``config`` is: the shipped file when it was made with ``config``, else the cache file."""
    shipped = read_file_info(SHIPPED)
    return SHIPPED if shipped is not None and shipped.config == config else judge_path(config)


def read_info(config: JudgeConfig) -> JudgeInfo | None:
    """The card of ``config``'s judge (shipped or cached), or None when there is none (or it is damaged)."""
    return read_file_info(judge_file(config))


def read_file_info(path: Path) -> JudgeInfo | None:
    """The card in the header of the judge file ``path``, or None when it is missing or not a judge's."""
    if not path.is_file():
        return None
    try:
        header = read_header(path)
        if header.model != MODEL_NAME:
            return None
        extra = header.extra
        by_style = extra["accuracy_by_style"]
        return JudgeInfo(
            path=path,
            config=JudgeConfig(**header.config),
            accuracy={h: float(extra["accuracy"][h]) for h in HEADS},
            accuracy_by_style={s: {h: float(by_style[s][h]) for h in HEADS} for s in STYLES},
            accuracy_by_size={
                int(size): {h: float(extra["accuracy_by_size"][size][h]) for h in HEADS}
                for size in sorted(extra["accuracy_by_size"], key=int, reverse=True)
            },
            heldout_per_style=int(extra["heldout_per_style"]),
            seconds=float(extra["seconds"]),
            precision=str(extra["precision"]),
            renderer=str(extra["renderer"]),
            torch=str(extra["torch"]),
            feature_scale=float(extra.get("feature_scale", 1.0)),
            pillow=str(extra.get("pillow", "")),
        )
    except (CheckpointError, KeyError, TypeError, ValueError, AttributeError):
        return None


def save_judge(judge: Judge, info: JudgeInfo) -> None:
    extra = {k: v for k, v in info.to_json().items() if k not in {"path", "config", "min_accuracy"}}
    save(info.path, model_name=MODEL_NAME, config=asdict(info.config), weights=judge.net.state_dict(), extra=extra)


def load_cached(config: JudgeConfig) -> Judge | None:
    """The judge of ``config`` (shipped or cached) with its info, or None when it is missing or unreadable."""
    return load_file(judge_file(config))


def load_file(path: Path) -> Judge | None:
    """The judge in the file ``path`` with its card, or None when it is missing or unreadable."""
    info = read_file_info(path)
    if info is None:
        return None
    from genzoo.judge.network import Judge

    judge = Judge(info.config, info)
    try:
        judge.net.load_state_dict(load_tensors(info.path))
    except (CheckpointError, RuntimeError):
        return None
    return judge

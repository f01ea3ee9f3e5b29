"""Learning curves from ``metrics.jsonl``: one panel per logged term (or per group of terms)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from genzoo.io import atomic_write
from genzoo.registry import ModelEntry
from genzoo.runs import NOT_CURVES


def curve_keys(metrics: Sequence[Mapping[str, Any]]) -> list[str]:
    keys: list[str] = []
    for line in metrics:
        keys += [k for k, v in line.items() if k not in NOT_CURVES and isinstance(v, int | float) and k not in keys]
    return keys


def plot_curves(
    metrics: Sequence[Mapping[str, Any]], path: Path, title: str = "", entry: ModelEntry | None = None
) -> Path:
    """Write a PNG of the learning curves, in the panels ``entry`` groups the terms into (else one per term)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = curve_keys(metrics)
    groups = entry.curve_groups if entry is not None else {}
    panels = dict(groups) if groups else {k: [k] for k in keys}
    panels = {t: [k for k in ks if k in keys] for t, ks in panels.items()}
    panels = {t: ks for t, ks in panels.items() if ks} or {"no metrics yet": []}
    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.0), squeeze=False)
    for ax, (name, ks) in zip(axes[0], panels.items(), strict=True):
        for k in ks:
            points = [(m["step"], m[k]) for m in metrics if k in m]
            ax.plot([p[0] for p in points], [p[1] for p in points], label=k, linewidth=1.2)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if len(ks) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(Path(path), buffer.getvalue())
    return Path(path)

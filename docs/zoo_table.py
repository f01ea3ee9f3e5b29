"""Regenerate docs/zoo.md's table of released weights from the cards (``genzoo/released/*.json``), so that the page
cannot drift from them. The table sits between ``<!-- zoo -->`` and ``<!-- /zoo -->``; everything between the markers
is replaced. Run from the repository root after a release (without plugins: the page lists the built-in models):

    GENZOO_DISABLE_PLUGINS=1 python docs/zoo_table.py docs/zoo.md

``--check`` changes nothing and exits with 1 when the table is out of date (the tests run it).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

from genzoo.registry import ModelEntry, models
from genzoo.release import show, training_time

MARKED = re.compile(r"<!-- zoo -->.*?<!-- /zoo -->", flags=re.S)
HEADLINE = ("FD", "valid", "diversity", "coverage", "held-out MSE", "hair_color accuracy", "glasses accuracy")
"""The figures a sampler's row shows (a translator's row shows each direction's FD, L1, speckle and glasses)."""


def _figures(card: dict[str, Any]) -> str:
    """The card's headline figures, each with the real data's in brackets, as one table cell."""
    by_label = {f["label"]: f for f in card.get("figures") or []}
    labels = [label for label in HEADLINE if label in by_label]
    labels += [label for label in by_label if label.endswith((" FD", " L1", " speckle", " glasses")) and "→" in label]
    parts = []
    for label in labels:
        f = by_label[label]
        real = f" ({show(f['real'], f['kind'])})" if f["real"] is not None else ""
        parts.append(f"{label} {show(f['value'], f['kind'])}{real}")
    return "; ".join(parts) or "—"


def row(entry: ModelEntry, page: Path) -> str:
    """One model's row: name, parameters, file size, steps, training time and machine, figures, thumbnail."""
    assert entry.release is not None
    card = entry.release.card()
    picture = os.path.relpath(entry.release.grid_path, page.parent)
    cells = [
        f"`{entry.name}`",
        f"{card['parameters']:,}" if "parameters" in card else "—",
        f"{card['bytes'] / 1e6:.1f} MB ({card.get('dtype', '?')})" if "bytes" in card else "—",
        f"{card['steps']:,}" if "steps" in card else "—",
        training_time(card),
        _figures(card),
        f"`{card.get('command', '—')}`",
        f'<img src="{picture}" width="160">' if entry.release.grid_path.is_file() else "—",
    ]
    return "| " + " | ".join(cells) + " |"


def table(page: Path) -> str:
    released = [e for e in models.entries() if e.release is not None]
    waiting = [e.name for e in models.entries() if e.release is None]
    lines = [
        "<!-- zoo -->",
        "| model | parameters | file | steps | training time | `genzoo eval` (real data) | reproduce | picture |",
        "|---|---:|---:|---:|---|---|---|---|",
        *(row(e, page) for e in released),
    ]
    if not released:
        lines.append("| *none released yet* | | | | | | | |")
    if waiting:
        lines += ["", f"Not released yet: {', '.join(f'`{name}`' for name in waiting)}."]
    return "\n".join([*lines, "<!-- /zoo -->"])


def main() -> None:
    check = "--check" in sys.argv
    path = Path(next((a for a in sys.argv[1:] if not a.startswith("--")), "docs/zoo.md"))
    text = path.read_text(encoding="utf-8")
    if not MARKED.search(text):
        sys.exit(f"{path} has no <!-- zoo --> … <!-- /zoo --> markers")
    new = MARKED.sub(lambda _: table(path), text)
    if new == text:
        return
    if check:
        sys.exit(f"{path}: the zoo table is out of date; run `python docs/zoo_table.py {path}`")
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()

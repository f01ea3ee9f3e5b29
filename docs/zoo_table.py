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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Target:
    """A figure's target: ``key`` names card figures (``{d}`` each translation direction, ``*`` any ending), and the
    figure must be at most (or, ``at_most`` False, at least) ``bound``, or ``bound`` times the real data's."""

    label: str
    key: str
    bound: float
    at_most: bool = True
    of_real: bool = False

    def met(self, figure: dict[str, Any]) -> bool | None:
        value, real = figure.get("value"), figure.get("real")
        if value is None or (self.of_real and real is None):
            return None
        bound = self.bound * real if self.of_real else self.bound
        return value <= bound if self.at_most else value >= bound


TRANSLATOR = [
    Target("FD ≤ 100", "{d}.fd", 100),
    Target("paired L1 ≤ 0.040", "{d}.l1", 0.040),
    Target("hair, skin, face shape, background ≥ 99 %", "{d}.large", 0.99, at_most=False),
    Target("glasses ≥ 95 %", "{d}.glasses", 0.95, at_most=False),
    *(Target(f"{a} ≥ 90 %", f"{{d}}.{a}", 0.90, at_most=False) for a in ("eye_color", "eye_shape", "mouth")),
    Target("speckle within 20 % of real", "{d}.speckle", 1.2, of_real=True),
]
GAN = [
    Target("FD ≤ 100", "fd", 100),
    Target("valid ≥ 80 %", "valid", 0.80, at_most=False),
    Target("diversity ≥ 90 % of real", "diversity", 0.90, at_most=False),
    Target("every attribute combination covered", "coverage", 1.0, at_most=False),
]
TARGETS: dict[str, list[Target]] = {
    "vae-conv": [Target("held-out MSE ≤ 0.0015", "mse", 0.0015), Target("valid ≥ 60 %", "valid", 0.60, at_most=False)],
    "dcgan": GAN,
    "acgan": [*GAN, Target("accuracy ≥ 97 % on each attribute", "accuracy.*", 0.97, at_most=False)],
    **{name: TRANSLATOR for name in ("cyclegan-resnet", "cyclegan-unet", "cut", "ugatit")},
}
"""The zoo's targets (issue 24), each model's released figures are held against: the translators all against the
design example's, since the best of them must meet them. vae-mlp's target is to beat its budget default
(results.md)."""


def _matching(target: Target, figures: list[dict[str, Any]]) -> list[dict[str, Any]]:
    directions = list(dict.fromkeys(f["key"].split(".")[0] for f in figures if "->" in f["key"]))
    keys = [target.key.replace("{d}", d) for d in directions] if "{d}" in target.key else [target.key]
    by_key = {f["key"]: f for f in figures}
    if keys[0].endswith("*"):
        return [f for k, f in by_key.items() if k.startswith(keys[0][:-1])]
    return [by_key[k] for k in keys if k in by_key]


def _precise(figure: dict[str, Any]) -> str:
    """A figure as ``show`` gives it, but a share to a tenth of a point (98.8 % misses 99 %; "99 %" would not say)."""
    value = figure["value"]
    return f"{100 * value:.1f} %" if figure["kind"] == "share" and value is not None else show(value, figure["kind"])


def target_rows(name: str, card: dict[str, Any]) -> list[str]:
    """One table row per target of model ``name``: what its card's figures measure, and whether each meets it."""
    rows = []
    for target in TARGETS.get(name, []):
        found = _matching(target, card.get("figures") or [])
        if not found:
            continue
        cells = [f"{f['label']} {_precise(f)} {({True: '✓', False: '✗'}).get(target.met(f), '?')}" for f in found]
        verdict = all(target.met(f) for f in found)
        rows.append(f"| `{name}` | {target.label} | {'; '.join(cells)} | {'met' if verdict else 'not yet'} |")
    return rows


def row(entry: ModelEntry, card: dict[str, Any], page: Path) -> str:
    """One model's row from its ``card``: name, parameters, file size, steps, training time and machine, figures,
    thumbnail."""
    assert entry.release is not None
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
    cards = {e.name: e.release.card() for e in released}  # type: ignore[union-attr]
    waiting = [e.name for e in models.entries() if e.release is None]
    lines = [
        "<!-- zoo -->",
        "| model | parameters | file | steps | training time | `genzoo eval` (real data) | reproduce | picture |",
        "|---|---:|---:|---:|---|---|---|---|",
        *(row(e, cards[e.name], page) for e in released),
    ]
    if not released:
        lines.append("| *none released yet* | | | | | | | |")
    if waiting:
        lines += ["", f"Not released yet: {', '.join(f'`{name}`' for name in waiting)}."]
    targets = [r for name, card in cards.items() for r in target_rows(name, card)]
    if targets:
        lines += [
            "",
            "Against the zoo's targets (the same `genzoo eval`; ✓ meets, ✗ misses):",
            "",
            "| model | target | released weights | |",
            "|---|---|---|---|",
            *targets,
        ]
    lines += [f"\n**`{name}`**: {card['note']}" for name, card in cards.items() if card.get("note")]
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

"""Quality against training time: every kept checkpoint of a run, measured with ``genzoo eval``'s metrics.

    python benchmarks/quality_curve.py RUN [RUN ...] [--n 1000] [--seed 0] [--raw-weights]

Train with checkpoints to keep, for example
``genzoo train dcgan --data cartoon --set checkpoint_every=300 --set keep_checkpoints=100 --out runs/g``, then pass
the run directory. Each checkpoint (and the final weights) is evaluated like ``genzoo eval FILE`` (``n`` samples or
translations from ``seed``, the moving average of the weights where the model keeps one) and stored as
``RUN/curve/step-NNNNNNN.json``, so that running the script again, or on a run that went on, evaluates only what is
new. The table gives, per step, the training time the run logged up to that step (``seconds`` in
``metrics.jsonl``: wall time of the training loop, resumed runs included, so it is only as quiet as the machine was)
and the metrics that apply: for samplers the Fréchet distance (FD) and KID (×10³, docs/metrics.md), the
valid share, the diversity as a share of the real faces', the attribute coverage, the held-out MSE and a
conditional model's accuracy per conditioned attribute; for
translators, per
direction, FD, the paired L1 against the true render, and the share of translations that keep glasses, eye colour,
eye shape and mouth, and the lowest share among hair, skin, face shape and background. The last line is the real
images' reference where the metric has one (for L1, the untranslated source's).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from genzoo.release import LARGE, SMALL, checkpoints, measured, training_seconds
from genzoo.runs import RunDir


def share(value: Any) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def number(value: Any, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def sampler_row(r: Mapping[str, Any], real: bool = False) -> list[str]:
    k = "_real" if real else ""
    div = r.get("diversity" + k)
    ratio = None if div is None or not r.get("diversity_real") else div / r["diversity_real"]
    kid = r.get("kid" + k)
    return [
        number(r.get("fd" + k), 1 if real else 0),
        number(kid),
        share(r.get("valid_share" + k)),
        share(ratio),
        share(r.get("coverage" + k)),
        "—" if real else number(r.get("heldout_mse"), 5),
    ]


def direction_row(r: Mapping[str, Any], real: bool = False) -> list[str]:
    k = "_real" if real else ""
    kept = r.get("preservation" + k) or {}
    large = [kept[a] for a in LARGE if a in kept]
    return [
        number(r.get("fd" + k), 1 if real else 0),
        f"({number(r.get('paired_l1_source'), 3)})" if real else number(r.get("paired_l1"), 3),
        number(r.get("speckle" + k), 3),
        *(share(kept.get(a)) for a in SMALL),
        share(min(large) if large else None),
    ]


SAMPLER_HEAD = ["FD", "KID", "valid", "diversity", "coverage", "MSE"]
DIRECTION_HEAD = ["FD", "L1", "speckle", "glasses", "eye col", "eye shp", "mouth", "min large"]


def columns(result: Mapping[str, Any]) -> tuple[list[str], Any]:
    """The header and the row function for ``result``: per direction for translators, one set for samplers."""
    directions = list(result.get("translation") or {})
    if not directions:
        conditioned = list(result.get("conditional_accuracy") or {})  # a conditional sampler: accuracy per attribute

        def row(r: Mapping[str, Any], real: bool = False) -> list[str]:
            accuracy = r.get("conditional_accuracy_real" if real else "conditional_accuracy") or {}
            return [*sampler_row(r, real), *(share(accuracy.get(a)) for a in conditioned)]

        return [*SAMPLER_HEAD, *(f"acc {a}" for a in conditioned)], row
    head = [f"{d.split('->')[1][:1]}:{h}" for d in directions for h in DIRECTION_HEAD]
    return head, lambda r, real=False: [c for d in directions for c in direction_row(r["translation"][d], real)]


def show(run: Path, rows: list[tuple[int, float | None, dict[str, Any]]]) -> None:
    head, row = columns(rows[-1][2])
    table = [["step", "minutes", *head]]
    for step, seconds, result in rows:
        table.append([str(step), "—" if seconds is None else f"{seconds / 60:.1f}", *row(result)])
    table.append(["real", "", *row(rows[-1][2], True)])
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    print(f"\n{run} ({rows[-1][2].get('model')}, weights: {rows[-1][2].get('weights')})")
    directions = list(rows[-1][2].get("translation") or {})
    if directions:
        legend = ", ".join(f"{d.split('->')[1][:1]}: {d}" for d in directions)
        print(f"{legend}; on the real line, L1 is the untranslated source's")
    for line in table:
        print("  ".join(cell.rjust(width) for cell, width in zip(line, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--raw-weights", action="store_true", help="the raw weights, not their moving average")
    args = parser.parse_args()
    for run in args.runs:
        seconds = training_seconds(RunDir(run))
        rows = [
            (step, seconds.get(step), measured(step, path, RunDir(run), args.n, args.seed, not args.raw_weights))
            for step, path in checkpoints(RunDir(run))
        ]
        if rows:
            show(run, rows)
        else:
            print(f"\n{run}: no checkpoints or final weights")


if __name__ == "__main__":
    main()

"""How quickly the demo page answers: the wall time of each thing the page does, per model, with the models loaded
once as `genzoo demo` loads them (the time Gradio adds to move a picture to the browser is not in it).

    python benchmarks/bench_demo.py [SOURCE ...] [--repeats 7]

SOURCE as `genzoo demo` takes it (default: every model with released weights or a finished run in runs/). Each
interaction runs once untimed, then ``--repeats`` times with a new seed each; the table shows the median and the
slowest in milliseconds, and marks any median over the 2-second budget. Measure alone: another job on the two
cores slows every figure.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from genzoo import demo

BUDGET = 2.0
"""Seconds an interaction may take on 2 CPU cores (docs/demo.md)."""


def interactions(ex: demo.Exhibit) -> dict[str, Callable[[int], object]]:
    """What the page does with ``ex``, each as a function of a seed."""
    out: dict[str, Callable[[int], object]] = {}
    if "sample" in ex.capabilities:
        out["sample 16"] = lambda s: demo.draw(ex, s, 16)
        out["sample 64"] = lambda s: demo.draw(ex, s, 64)
    if "sample" in ex.capabilities and ex.model.latent_dim is not None:
        out["interpolate"] = lambda s: demo.walk(ex, s, s + 1, 0.5)
    if ex.model.condition_values:
        chosen = {a: v[-1] for a, v in ex.model.condition_values.items()}
        out["one attribute"] = lambda s: demo.condition(ex, s, chosen)
    if "translate" in ex.capabilities:
        for to in ex.model.domains:
            out[f"translate → {to}"] = lambda s, to=to: demo.translate(ex, None, s, to)
    if "reconstruct" in ex.capabilities:
        out["reconstruct"] = lambda s: demo.reconstruct(ex, None, s)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows = [("model", "interaction", "median ms", "slowest ms", "")]
    for source in args.sources or demo.default_sources():
        began = time.perf_counter()
        ex = demo.exhibit(source)
        rows.append((ex.label, "load (once)", f"{1000 * (time.perf_counter() - began):.0f}", "", ""))
        for name, act in interactions(ex).items():
            act(0)
            times = []
            for seed in range(1, args.repeats + 1):
                began = time.perf_counter()
                act(seed)
                times.append(time.perf_counter() - began)
            median = statistics.median(times)
            over = "over budget" if median > BUDGET else ""
            rows.append((ex.label, name, f"{1000 * median:.0f}", f"{1000 * max(times):.0f}", over))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


if __name__ == "__main__":
    main()

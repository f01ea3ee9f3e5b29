"""What one config option costs in training speed: the Trainer with and without it, side by side.

Each model trains through genzoo's Trainer on random in-memory images at its default size and batch, once with its
defaults and once with the options given; the two alternate within each repeat, so that machine noise hits both
alike, and the table reports the median img/s of each and their ratio.

    python benchmarks/bench_option.py --models cyclegan-unet --set disc_blur=all [--steps 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics

from _common import print_setup, timing_arguments, trainer_rate, training_data

import genzoo
from genzoo.registry import models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--set", nargs="+", required=True, help="the options to measure, e.g. disc_blur=all")
    parser.add_argument("--base", nargs="*", default=[], help="overrides of both sides, e.g. image_size=64")
    timing_arguments(parser, precision="auto")
    args = parser.parse_args()

    print_setup(args, f"; option: {' '.join(args.set)}")
    print(f"{'model':>16}  {'batch':>5}  {'without img/s':>13}  {'with img/s':>10}  {'with/without':>12}")
    for name in args.models:
        entry = models.get(name)
        batch = int(entry.train_defaults.get("batch_size", 64))
        size = genzoo.create(name, **dict(o.split("=", 1) for o in args.base)).config.image_size
        split, target = training_data(entry, batch, size)
        rates: dict[str, list[float]] = {"without": [], "with": []}
        for _ in range(args.repeats):
            for side, out in rates.items():
                overrides = [*args.base, *(args.set if side == "with" else [])]
                out.append(trainer_rate(name, split, batch, args.steps, args.precision, overrides, target))
        without, with_ = (statistics.median(v) for v in rates.values())
        print(f"{name:>16}  {batch:>5}  {without:>13.4g}  {with_:>10.4g}  {with_ / without:>11.2f}x", flush=True)


if __name__ == "__main__":
    main()

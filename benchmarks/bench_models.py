"""What one model's training step costs beside another's: genzoo's Trainer on random in-memory images, the models
interleaved within each repeat so that machine noise hits them alike; the table reports each one's median img/s and
steps/s and its ratio to the first model's.

    python benchmarks/bench_models.py --models cyclegan-resnet ugatit [--set image_size=64] [--steps 12] [--repeats 3]

Each model trains at its default batch; ``--set`` applies to every model. Measure alone: another job on the two cores
slows every figure.
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
    parser.add_argument("--set", nargs="*", default=[], help="overrides of every model, e.g. image_size=64")
    timing_arguments(parser, precision="auto")
    args = parser.parse_args()

    print_setup(args)
    setups = {}
    for name in args.models:
        entry = models.get(name)
        batch = int(entry.train_defaults.get("batch_size", 64))
        size = genzoo.create(name, **dict(o.split("=", 1) for o in args.set)).config.image_size
        setups[name] = (batch, training_data(entry, batch, size))
    rates: dict[str, list[float]] = {name: [] for name in args.models}
    for _ in range(args.repeats):
        for name, (batch, (split, target)) in setups.items():
            rates[name].append(trainer_rate(name, split, batch, args.steps, args.precision, args.set, target))
    print(f"{'model':>16}  {'batch':>5}  {'img/s':>8}  {'steps/s':>8}  {'of the first':>12}")
    first = statistics.median(rates[args.models[0]])
    for name, values in rates.items():
        rate, batch = statistics.median(values), setups[name][0]
        print(f"{name:>16}  {batch:>5}  {rate:>8.4g}  {rate / batch:>8.3g}  {rate / first:>11.2f}x", flush=True)


if __name__ == "__main__":
    main()

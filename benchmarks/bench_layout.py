"""Training speed in the two memory layouts: NCHW (``memory_format=contiguous``) against NHWC (``channels_last``).

Every model trains through genzoo's Trainer on random in-memory images at its default size and batch (or the ones
given), in fp32 unless ``--precision`` says otherwise; the two layouts alternate within each repeat, so that
machine noise hits both alike, and the table reports the median img/s of each and their ratio. ``auto`` picks
channels-last for the models whose ratio here is above 1 on the CPU in fp32 (``channels_last_on_cpu``); the last
column says what it picks at the precision asked for.

    python benchmarks/bench_layout.py [--steps 12] [--repeats 3] [--models dcgan vae-conv cyclegan-unet]
"""

from __future__ import annotations

import argparse
import statistics

import torch
from _common import print_setup, timing_arguments, trainer_rate, training_data

import genzoo
from genzoo.devices import resolve_memory_format, resolve_precision
from genzoo.registry import models

MODELS = ["dcgan", "acgan", "vae-conv", "cyclegan-unet", "cyclegan-resnet", "cut"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    timing_arguments(parser, precision="fp32")
    parser.add_argument("--models", nargs="+", default=MODELS)
    parser.add_argument("--size", type=int, help="image_size of every model (default: each model's own)")
    parser.add_argument("--batch-size", type=int, help="batch size of every model (default: each model's own)")
    parser.add_argument("--set", nargs="*", default=[], help="config overrides for every model, e.g. width=16")
    args = parser.parse_args()

    print_setup(args)
    print(f"{'model':>16}  {'px':>3}  {'batch':>5}  {'NCHW img/s':>10}  {'NHWC img/s':>10}  {'NHWC/NCHW':>9}  auto")
    for name in args.models:
        entry = models.get(name)
        model = genzoo.create(name, **dict(o.split("=", 1) for o in args.set))
        size = args.size or model.config.image_size
        batch = args.batch_size or int(entry.train_defaults.get("batch_size", 64))
        split, target = training_data(entry, batch, size)
        rates: dict[str, list[float]] = {"contiguous": [], "channels_last": []}
        for _ in range(args.repeats):
            for layout, out in rates.items():
                overrides = [*args.set, f"image_size={size}", f"memory_format={layout}"]
                out.append(trainer_rate(name, split, batch, args.steps, args.precision, overrides, target))
        nchw, nhwc = (statistics.median(v) for v in rates.values())
        cpu = torch.device("cpu")
        layout = resolve_memory_format("auto", cpu, resolve_precision(args.precision, cpu), model.channels_last_on_cpu)
        auto = "NHWC" if layout == torch.channels_last else "NCHW"  # what auto trains with at this precision
        ratio = nhwc / nchw
        print(f"{name:>16}  {size:>3}  {batch:>5}  {nchw:>10.4g}  {nhwc:>10.4g}  {ratio:>8.2f}x  {auto}", flush=True)


if __name__ == "__main__":
    main()

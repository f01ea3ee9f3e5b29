"""Does a CycleGAN hide its source in a faint pattern of the translation? Cycle reconstruction under added noise.

    python benchmarks/cycle_noise.py RUN [--n 64] [--sigmas 0 0.01 0.02 0.05] [--raw-weights]

A CycleGAN that closes its cycle by hiding the source in a faint high-frequency pattern of the translation (Chu et
al., 2017, "CycleGAN, a master of steganography") loses the way back when a little noise is added to the
translation. For ``n`` held-out images of each domain, this prints the mean L1 (in [0, 1] units) between the image
and its cycle reconstruction when Gaussian noise of each standard deviation ``sigma`` (also in [0, 1] units) is added
to the translation before it is translated back: a steep rise with small ``sigma`` is the sign of a hidden code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from genzoo.api import load, training_data
from genzoo.data.tensors import image_tensor
from genzoo.models.base import GenerativeModel


def cycle_l1(model: GenerativeModel, x: torch.Tensor, there: str, back: str, sigma: float, seed: int) -> float:
    """L1 between ``x`` (``[0, 1]`` images) and its way back after ``sigma`` of noise on the translation."""
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    translated = model.translate(x, there).cpu()
    reconstructed = model.translate((translated + sigma * noise).clamp(0, 1), back).cpu()
    return float((reconstructed - x).abs().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.05])
    parser.add_argument("--raw-weights", action="store_true", help="the raw weights, not their moving average")
    args = parser.parse_args()
    model = load(args.run, average=not args.raw_weights).eval()
    if len(model.domains) != 2:
        raise SystemExit(f"{args.run} is not a translator between two domains.")
    data = training_data(model)
    assert data.target is not None  # a translator's data has both domains
    a, b = model.domains
    print(f"{args.run} ({model.model_name}, weights: {model.weights}), cycle L1 at noise sigma:")
    cycles = ((data.source.heldout, b, a), (data.target.heldout, a, b))
    labels = [f"{back} -> {there} -> {back}" for _, there, back in cycles]
    width = max(map(len, labels))
    print("  ".join(["cycle".ljust(width), *(f"{s:>7g}" for s in args.sigmas)]))
    for label, (images, there, back) in zip(labels, cycles, strict=True):
        x = image_tensor(images.images[: args.n])
        values = [cycle_l1(model, x, there, back, sigma, seed=i) for i, sigma in enumerate(args.sigmas)]
        print("  ".join([label.ljust(width), *(f"{v:7.4f}" for v in values)]))


if __name__ == "__main__":
    main()

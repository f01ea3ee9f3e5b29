"""vae-conv training throughput: genzoo's Trainer against a bare hand-written fp32 PyTorch loop.

Both train the same network (64 px, genzoo's default vae-conv) on in-memory images, interleaved in one process so
that machine noise hits both alike; each configuration is repeated and the median is reported.

    python benchmarks/bench_vae.py [--steps 20] [--repeats 3] [--batch-sizes 64 256]

The bare loop is what a user would write by hand: float tensors already in memory, random batches, forward, the
same ELBO, backward, Adam. genzoo's Trainer adds uint8 storage and batch conversion, logging, the NaN guard,
previews and checkpoints, and uses bf16 autocast where the CPU supports it (precision auto).
"""

from __future__ import annotations

import argparse

import torch
from _common import Table, bare_rate, image_split, print_header, random_images, trainer_rate

import genzoo


def bare_loop(batch_size: int, steps: int, images: torch.Tensor) -> float:
    """img/s of a plain fp32 loop over float tensors in memory."""
    torch.manual_seed(0)
    model = genzoo.create("vae-conv").train()
    opt = torch.optim.Adam(model.parameters(), lr=model.config.lr)
    beta = model.config.kl_weight

    def step() -> None:
        x = images[torch.randint(len(images), (batch_size,))]
        logits, mu, logvar = model(x)
        recon = (torch.sigmoid(logits) - x).square().flatten(1).sum(1).mean()
        kl = (-0.5 * (1 + logvar - mu.square() - logvar.exp()).sum(1)).mean()
        loss = recon + beta * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return bare_rate(step, batch_size, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()

    uint8, floats = random_images(2048, 64)
    split = image_split(uint8)
    print_header()
    table = Table("batch")
    for bs in args.batch_sizes:
        bare, plain, auto = [], [], []
        for _ in range(args.repeats):
            bare.append(bare_loop(bs, args.steps, floats))
            plain.append(trainer_rate("vae-conv", split, bs, args.steps, "fp32"))
            auto.append(trainer_rate("vae-conv", split, bs, args.steps, "auto"))
        table.row(bs, bare, plain, auto)


if __name__ == "__main__":
    main()

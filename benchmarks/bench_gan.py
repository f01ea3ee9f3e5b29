"""dcgan and acgan training throughput: genzoo's Trainer against a bare hand-written fp32 PyTorch loop.

Both train the same networks (genzoo's default dcgan / acgan, 64 px unless ``--size``) on in-memory images,
interleaved in one process so that machine noise hits both alike; each configuration is repeated and the median is
reported.

    python benchmarks/bench_gan.py [--steps 12] [--repeats 3] [--batch-size 64] [--size 64] [--models dcgan acgan]

The bare loop is the PyTorch DCGAN example's step: float tensors already in memory, random batches; the
discriminator on a real and a fake batch, Adam; the generator through the discriminator, Adam (the discriminator's
weight gradients of that pass computed and then cleared). It uses the model's configured GAN loss and learning
rates. For acgan the discriminator's class heads add the same cross-entropy terms as genzoo's. genzoo's Trainer
adds uint8 storage and batch conversion, logging, the NaN guard, previews and checkpoints, uses bf16 autocast where
the CPU supports it (precision auto), and freezes the discriminator during the generator's backward pass.
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F
from _common import Table, bare_rate, image_split, print_header, random_codes, random_images, trainer_rate

import genzoo
from genzoo.data.toon import ATTRIBUTES
from genzoo.registry import get_loss


def bare_loop(name: str, size: int, batch_size: int, steps: int, images: torch.Tensor, attrs: torch.Tensor) -> float:
    """img/s of a plain fp32 GAN loop over float tensors in memory (``attrs``: the conditioned attributes' codes).

    It uses the model's configured adversarial loss (the registry's function: a few tensor operations) and learning
    rates, so that both sides do the same math whatever the defaults are.
    """
    torch.manual_seed(0)
    model = genzoo.create(name, image_size=size).train()
    G, D, sizes, c = model.generator, model.discriminator, model.sizes, model.config
    adversarial = get_loss(c.gan_loss, "gan")
    opt_g = torch.optim.Adam(G.parameters(), lr=c.lr, betas=(c.beta1, c.beta2))
    opt_d = torch.optim.Adam(D.parameters(), lr=c.d_lr or c.lr, betas=(c.beta1, c.beta2))

    def cls(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        parts = out[:, 1:].split(sizes, 1)
        return sum((F.cross_entropy(p, labels[:, k]) for k, p in enumerate(parts)), torch.zeros(()))

    def step() -> None:
        idx = torch.randint(len(images), (batch_size,))
        x, labels = images[idx] * 2 - 1, attrs[idx]
        fake = G(torch.randn(batch_size, model.latent_dim), labels)
        out_real, out_fake = D(x), D(fake.detach())
        loss_d = adversarial(out_real[:, :1], True, True) + adversarial(out_fake[:, :1], False, True)
        loss_d = loss_d + (cls(out_real, labels) / len(sizes) if sizes else 0)
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        out = D(fake)
        loss_g = adversarial(out[:, :1], True, False) + (cls(out, labels) / len(sizes) if sizes else 0)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

    return bare_rate(step, batch_size, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--models", nargs="+", default=["dcgan", "acgan"])
    args = parser.parse_args()

    uint8, floats = random_images(1024, args.size)
    codes = random_codes(len(uint8))
    split = image_split(uint8, codes, ATTRIBUTES)
    print_header()
    print(f"{args.size} px, batch {args.batch_size}, {args.steps} timed steps, median of {args.repeats}")
    table = Table("model")
    for name in args.models:
        model = genzoo.create(name)
        columns = [list(ATTRIBUTES).index(a) for a in model.condition_values]
        attrs = torch.from_numpy(codes[:, columns])
        size = [f"image_size={args.size}"]
        bare, plain, auto = [], [], []
        for _ in range(args.repeats):
            bare.append(bare_loop(name, args.size, args.batch_size, args.steps, floats, attrs))
            plain.append(trainer_rate(name, split, args.batch_size, args.steps, "fp32", size))
            auto.append(trainer_rate(name, split, args.batch_size, args.steps, "auto", size))
        table.row(name, bare, plain, auto)


if __name__ == "__main__":
    main()

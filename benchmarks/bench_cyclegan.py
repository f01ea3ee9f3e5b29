"""cyclegan-resnet training throughput: genzoo's Trainer against a bare hand-written fp32 PyTorch CycleGAN step.

Both train the paper's network (ResNet generators with 9 blocks, width 64; 3-layer PatchGAN discriminators of width
64) at 64 px on in-memory images, interleaved in one process so that machine noise hits both alike; each
configuration is repeated and the median is reported. Then the default config (``genzoo train cyclegan-resnet``)
is timed the same way, and its full run's wall time estimated from its default step count.

    python benchmarks/bench_cyclegan.py [--steps 8] [--repeats 3] [--batch-sizes 1 4]

The bare step is what a user would write by hand after the paper: float tensors in memory, random unpaired batches,
G_AB/G_BA forward, LSGAN + cycle + identity losses, backward, Adam; then both discriminators on real images and
pooled fakes. genzoo's Trainer adds uint8 storage and batch conversion, logging, the NaN guard and uses bf16
autocast where the CPU supports it (precision auto).
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import cast

import numpy as np
import torch

import genzoo
from genzoo.config import build_run_config
from genzoo.data.core import ImageSet, Split
from genzoo.data.loading import Domains
from genzoo.devices import resolve_precision
from genzoo.models.cyclegan.model import CycleGAN
from genzoo.registry import models
from genzoo.runs import RunDir
from genzoo.trainer import Trainer

PAPER = ["n_blocks=9", "width=64", "disc_width=64", "image_size=64"]


def bare_step_loop(batch_size: int, steps: int, a_images: torch.Tensor, b_images: torch.Tensor) -> float:
    """img/s of a plain fp32 CycleGAN loop (the reference algorithm) over float tensors in memory."""
    torch.manual_seed(0)
    model = cast(CycleGAN, genzoo.create("cyclegan-resnet", n_blocks=9, width=64, disc_width=64, image_size=64))
    g_ab, g_ba, d_a, d_b = model.G_AB, model.G_BA, model.D_A, model.D_B
    model.train()
    betas = (0.5, 0.999)
    opt_g = torch.optim.Adam(itertools.chain(g_ab.parameters(), g_ba.parameters()), lr=2e-4, betas=betas)
    opt_d = torch.optim.Adam(itertools.chain(d_a.parameters(), d_b.parameters()), lr=2e-4, betas=betas)
    pools: dict[str, list[torch.Tensor]] = {"A": [], "B": []}

    def pooled(name: str, images: torch.Tensor) -> torch.Tensor:
        pool, out = pools[name], []
        for image in images.detach():
            if len(pool) < 50:
                pool.append(image)
                out.append(image)
            elif random.random() > 0.5:
                k = random.randrange(50)
                out.append(pool[k])
                pool[k] = image
            else:
                out.append(image)
        return torch.stack(out)

    def mse(p: torch.Tensor, target: float) -> torch.Tensor:
        return (p - target).square().mean()

    def step() -> None:
        a = a_images[torch.randint(len(a_images), (batch_size,))]
        b = b_images[torch.randint(len(b_images), (batch_size,))]
        for p in itertools.chain(d_a.parameters(), d_b.parameters()):
            p.requires_grad_(False)
        fake_b, fake_a = g_ab(a), g_ba(b)
        rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
        loss_g = (
            mse(d_b(fake_b), 1.0)
            + mse(d_a(fake_a), 1.0)
            + 10 * (rec_a - a).abs().mean()
            + 10 * (rec_b - b).abs().mean()
            + 5 * (g_ba(a) - a).abs().mean()
            + 5 * (g_ab(b) - b).abs().mean()
        )
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        for p in itertools.chain(d_a.parameters(), d_b.parameters()):
            p.requires_grad_(True)
        old_a, old_b = pooled("A", fake_a), pooled("B", fake_b)
        loss_d = 0.5 * (mse(d_a(a), 1.0) + mse(d_a(old_a), 0.0)) + 0.5 * (mse(d_b(b), 1.0) + mse(d_b(old_b), 0.0))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch_size / (time.perf_counter() - start)


def genzoo_trainer(
    batch_size: int, steps: int, a: np.ndarray, b: np.ndarray, overrides: list[str], warmup: int = 2
) -> float:
    """img/s of genzoo's Trainer loop (uint8 batches, the model's step, logging, NaN guard), after warm-up steps.

    Measured from the ``seconds`` of the metrics lines at step ``warmup`` and at the end; the final preview,
    checkpoint and run artefacts, written once per run, are not part of the steady-state rate.
    """
    data = Domains(Split(ImageSet(a, "A"), ImageSet(a[:8], "A")), Split(ImageSet(b, "B"), ImageSet(b[:8], "B")))
    run = build_run_config(
        "cyclegan-resnet",
        options={"data": {"name": "A", "to": "B"}},
        overrides=[
            *overrides,
            f"batch_size={batch_size}",
            f"steps={steps + warmup}",
            f"log_every={warmup}",
            "preview_every=100000",
            "checkpoint_every=100000",
        ],
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = Trainer(run, Path(tmp) / "run", progress=False, data=data).fit()
        lines = RunDir(result.run_dir).read_metrics()
    first, last = lines[0], lines[-1]
    return (last["step"] - first["step"]) * batch_size / (last["seconds"] - first["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--default-steps", type=int, default=12, help="Steps timed for the default config.")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    a8, b8 = (rng.integers(0, 256, size=(256, 64, 64, 3), dtype=np.uint8) for _ in range(2))
    a, b = (torch.from_numpy(x).permute(0, 3, 1, 2).float().div(127.5).sub(1).contiguous() for x in (a8, b8))
    dtype = resolve_precision("auto", torch.device("cpu"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, precision auto -> {dtype or 'fp32'}")
    print("paper's network: ResNet 9 blocks, width 64, disc width 64, 64 px")
    print(f"{'batch':>5}  {'bare fp32 img/s':>15}  {'genzoo auto img/s':>17}  {'genzoo/bare':>11}")
    for bs in args.batch_sizes:
        bare, auto = [], []
        for _ in range(args.repeats):
            bare.append(bare_step_loop(bs, args.steps, a, b))
            auto.append(genzoo_trainer(bs, args.steps, a8, b8, PAPER))
        x, y = statistics.median(bare), statistics.median(auto)
        print(f"{bs:>5}  {x:>15.2f}  {y:>17.2f}  {y / x:>10.2f}x", flush=True)

    defaults = models.get("cyclegan-resnet").train_defaults
    bs, total = int(str(defaults["batch_size"])), int(str(defaults["steps"]))
    rates = [genzoo_trainer(bs, args.default_steps, a8, b8, []) for _ in range(args.repeats)]
    rate = statistics.median(rates)
    minutes = total * bs / rate / 60
    print(
        f"default config (train_defaults {defaults}, model defaults): {rate:.1f} img/s, {rate / bs:.2f} steps/s; "
        f"{total} steps ≈ {minutes:.0f} min of training (plus rendering the data once)"
    )


if __name__ == "__main__":
    main()

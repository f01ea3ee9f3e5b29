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
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import genzoo
from genzoo.config import build_run_config
from genzoo.data.core import ImageSet, Split
from genzoo.runs import RunDir
from genzoo.trainer import Trainer, resolve_precision


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

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch_size / (time.perf_counter() - start)


def genzoo_trainer(batch_size: int, steps: int, uint8: np.ndarray, precision: str) -> float:
    """img/s of genzoo's Trainer loop (uint8 batches, step, logging, NaN guard), after 3 warm-up steps.

    Measured from the ``seconds`` of the metrics lines at step 3 and at the end; the final preview, checkpoint and
    run artefacts, written once per run, are not part of the steady-state rate.
    """
    split = Split(ImageSet(uint8, "bench"), ImageSet(uint8[:64], "bench"))
    run = build_run_config(
        "vae-conv",
        overrides=[
            f"batch_size={batch_size}",
            f"steps={steps + 3}",
            f"precision={precision}",
            "log_every=3",
            "preview_every=100000",
            "checkpoint_every=100000",
        ],
    )
    with tempfile.TemporaryDirectory() as tmp:
        result = Trainer(run, Path(tmp) / "run", progress=False, data={"x": split}).fit()
        lines = RunDir(result.run_dir).read_metrics()
    first, last = lines[0], lines[-1]
    return (last["step"] - first["step"]) * batch_size / (last["seconds"] - first["seconds"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    uint8 = rng.integers(0, 256, size=(2048, 64, 64, 3), dtype=np.uint8)
    floats = torch.from_numpy(uint8).permute(0, 3, 1, 2).float().div(255).contiguous()
    dtype = resolve_precision("auto", torch.device("cpu"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, precision auto -> {dtype or 'fp32'}")
    print(f"{'batch':>5}  {'bare fp32 img/s':>15}  {'genzoo fp32':>11}  {'genzoo auto':>11}  {'auto/bare':>9}")
    for bs in args.batch_sizes:
        bare, plain, auto = [], [], []
        for _ in range(args.repeats):
            bare.append(bare_loop(bs, args.steps, floats))
            plain.append(genzoo_trainer(bs, args.steps, uint8, "fp32"))
            auto.append(genzoo_trainer(bs, args.steps, uint8, "auto"))
        b, p, a = (statistics.median(v) for v in (bare, plain, auto))
        print(f"{bs:>5}  {b:>15.0f}  {p:>11.0f}  {a:>11.0f}  {a / b:>8.2f}x")


if __name__ == "__main__":
    main()

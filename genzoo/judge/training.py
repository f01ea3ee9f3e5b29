"""Training the judge: render its faces, fit the network, measure its held-out accuracy, cache it.

The faces come from the judge's own record streams (``judge-train/<style>`` and ``judge-heldout/<style>``, seeded
from ``JudgeConfig.seed``), so they never coincide with a data set's training or held-out records. A share of the
training faces is shown as if drawn at half or a quarter of the size (and resized back up, as the judge resizes
what it reads), so that it also reads the images of models trained at 32 or 16 px. Training is
deterministic: the initial weights and the batch order come from the seed, and the forward passes run under the
autocast dtype the Trainer would choose for ``precision`` on this CPU (so two machines may still differ slightly).
"""

from __future__ import annotations

import functools
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import PIL
import torch
import torch.nn.functional as F

from genzoo.data import toon
from genzoo.data.render import renderer_hash, stream_seed
from genzoo.data.tensors import image_tensor
from genzoo.devices import precision_name, resolve_precision
from genzoo.judge.cache import judge_path, save_judge
from genzoo.judge.config import HEADS, JudgeConfig, JudgeInfo
from genzoo.judge.network import Judge, JudgeNet, resize, split_logits
from genzoo.progress import TrainProgress

LOG_EVERY = 25


def render_faces(config: JudgeConfig, part: str, count: int, ui: TrainProgress) -> tuple[np.ndarray, np.ndarray]:
    """``count`` faces per style of the ``part`` stream: uint8 images ``(N, S, S, 3)`` and labels ``(N, heads)``."""
    images, labels = [], []
    for style_index, style in enumerate(toon.STYLES):
        records = toon.random_records(count, stream_seed(config.seed, f"judge-{part}/{style}"))
        report = functools.partial(ui.data_progress, f"rendering judge faces ({part}, {style})", total=count)
        images.append(toon.render_many(records, style, config.size, progress=report))
        codes = toon.codes_array(records)
        labels.append(np.concatenate([codes, np.full((count, 1), style_index, np.int64)], axis=1))
    return np.concatenate(images), np.concatenate(labels)


def _autocast(dtype: torch.dtype | None) -> AbstractContextManager[Any]:
    return nullcontext() if dtype is None else torch.autocast("cpu", dtype=dtype)


def _loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over the heads, in fp32."""
    parts = split_logits(logits.float()).values()
    return torch.stack([F.cross_entropy(part, labels[:, k]) for k, part in enumerate(parts)]).mean()


def shrink(x: torch.Tensor, factor: int) -> torch.Tensor:
    """``x`` as if it had been drawn ``factor`` times smaller, then read at its size: the block averages are exactly
    the renderer's output at the smaller size (it box-filters a canvas), and the judge resizes them back up."""
    return resize(F.avg_pool2d(x, factor), x.shape[-1])


def augment(x: torch.Tensor, config: JudgeConfig, generator: torch.Generator) -> torch.Tensor:
    """Show a random ``half_size_share`` of the batch at half size and ``quarter_size_share`` at a quarter."""
    draw = torch.rand(len(x), generator=generator)
    half = draw < config.half_size_share
    quarter = (draw >= config.half_size_share) & (draw < config.half_size_share + config.quarter_size_share)
    for factor, chosen in ((2, half), (4, quarter)):
        if chosen.any():
            x[chosen] = shrink(x[chosen], factor)
    return x


def fit(net: JudgeNet, images: np.ndarray, labels: np.ndarray, config: JudgeConfig, ui: TrainProgress) -> str:
    """Train ``net`` in place for ``config.epochs`` epochs; returns the precision used (``bf16`` or ``fp32``)."""
    dtype = resolve_precision(config.precision, torch.device("cpu"))
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    batch = min(config.batch_size, len(images))
    per_epoch = len(images) // batch
    total = max(1, config.epochs * per_epoch)
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total, pct_start=0.15)
    order = torch.Generator().manual_seed(config.seed)
    net.train()
    ui.start(total, 0)
    step = 0
    for _ in range(config.epochs):
        perm = torch.randperm(len(images), generator=order)
        for b in range(per_epoch):
            idx = perm[b * batch : (b + 1) * batch]
            x = augment(x_all[idx].permute(0, 3, 1, 2).float().div_(255).contiguous(), config, order)
            with _autocast(dtype):
                _, logits = net(x)
            loss = _loss(logits, y_all[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step += 1
            ui.advance(step)
            if step % LOG_EVERY == 0 or step == total:
                ui.losses(step, {"loss": float(loss.detach())})
    net.eval()
    return precision_name(dtype)


def accuracy(judge: Judge, images: np.ndarray, labels: np.ndarray, factor: int = 1) -> dict[str, float]:
    """Share of ``images`` (drawn ``factor`` times smaller) whose value the judge reads correctly, per head."""
    x = image_tensor(images)
    reading = judge.read(F.avg_pool2d(x, factor) if factor > 1 else x)
    return {head: float((reading.codes[head] == labels[:, k]).mean()) for k, head in enumerate(HEADS)}


def feature_scale(judge: Judge, images: np.ndarray) -> float:
    """The root mean square of the judge's features of ``images``: dividing by it gives real faces' features a mean
    square of 1, the unit in which KID's cubic kernel ``(x·y / d + 1)³`` reads them (as it reads Inception's)."""
    features = judge.read(images).features
    return float(np.sqrt(np.mean(features**2)))


def train_and_save(
    config: JudgeConfig, *, progress: bool = True, first_use: bool = False, out: Path | None = None
) -> Judge:
    """Render, train and measure the judge of ``config``, and save it to ``out`` (default: its cache file); returns
    it with its card."""
    path = out or judge_path(config)
    start = time.perf_counter()
    with TrainProgress(enabled=progress) as ui:
        if first_use and progress:
            ui.note(f"training a judge for a custom configuration; once, then it is cached in {path}")
        train_images, train_labels = render_faces(config, "train", config.train_per_style, ui)
        heldout_images, heldout_labels = render_faces(config, "heldout", config.heldout_per_style, ui)
        with torch.random.fork_rng(devices=[]):  # the caller's RNG stays as it was
            torch.manual_seed(config.seed)
            net = JudgeNet(config)
        precision = fit(net, train_images, train_labels, config, ui)
    judge = Judge(config, net=net)
    n = config.heldout_per_style
    by_style = {
        style: accuracy(judge, heldout_images[i * n : (i + 1) * n], heldout_labels[i * n : (i + 1) * n])
        for i, style in enumerate(toon.STYLES)
    }
    overall = {h: float(np.mean([by_style[s][h] for s in toon.STYLES])) for h in HEADS}
    by_size = {
        config.size // factor: accuracy(judge, heldout_images, heldout_labels, factor)
        for factor in (2, 4)
        if config.size // factor in toon.SIZES
    }
    judge.info = JudgeInfo(
        path=path,
        config=config,
        accuracy=overall,
        accuracy_by_style=by_style,
        accuracy_by_size=by_size,
        heldout_per_style=n,
        seconds=round(time.perf_counter() - start, 1),
        precision=precision,
        renderer=renderer_hash(),
        torch=torch.__version__,
        feature_scale=round(feature_scale(judge, heldout_images), 6),
        pillow=PIL.__version__,
    )
    save_judge(judge, judge.info)
    return judge

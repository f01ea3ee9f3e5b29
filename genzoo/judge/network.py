"""The judge's network and the ``Judge`` that reads images with it.

Seven 3×3/4×4 convolutions with batch norm and ReLU take a ``size`` image down to ``size / 16`` (four stride-2
layers, the channels doubling at each), a linear layer with ReLU gives the ``features`` vector (the penultimate
layer, used for Fréchet distances), and one linear layer gives the logits of every head in ``HEADS`` side by side.
Faces are centred, so the last feature map is flattened rather than pooled: where something is matters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.data.tensors import image_tensor
from genzoo.judge.config import HEADS, JudgeConfig, JudgeInfo, Reading


def _block(cin: int, cout: int, kernel: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class JudgeNet(nn.Module):
    """``[0, 1]`` images ``(N, 3, size, size)`` → (features ``(N, features)``, logits ``(N, sum of head sizes)``)."""

    def __init__(self, config: JudgeConfig) -> None:
        super().__init__()
        if config.size < 16 or config.size & (config.size - 1):
            raise ValueError(f"the judge's size must be a power of two of at least 16, got {config.size}")
        w = config.width
        self.body = nn.Sequential(
            *_block(3, w, 4, 2),
            *_block(w, w, 3, 1),
            *_block(w, 2 * w, 3, 2),
            *_block(2 * w, 2 * w, 3, 1),
            *_block(2 * w, 4 * w, 3, 2),
            *_block(4 * w, 4 * w, 3, 1),
            *_block(4 * w, 8 * w, 3, 2),
            nn.Flatten(),
        )
        side = config.size // 16
        self.embed = nn.Sequential(nn.Linear(8 * w * side * side, config.features), nn.ReLU(inplace=True))
        self.head = nn.Linear(config.features, sum(len(v) for v in HEADS.values()))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        features = self.embed(self.body(x * 2 - 1))
        return features, self.head(features)


def split_logits(logits: Tensor) -> dict[str, Tensor]:
    """The logits of each head, by head name."""
    parts = logits.split([len(v) for v in HEADS.values()], dim=1)
    return dict(zip(HEADS, parts, strict=True))


def resize(x: Tensor, size: int) -> Tensor:
    """``x`` (NCHW) at ``size`` × ``size``: area-weighted (anti-aliased) when shrinking, bilinear when growing."""
    if x.shape[-2:] == (size, size):
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


class Judge:
    """A trained judge: reads images into a ``Reading`` (features, predicted value and confidence per head)."""

    def __init__(self, config: JudgeConfig, info: JudgeInfo | None = None, net: JudgeNet | None = None) -> None:
        self.config = config
        self.info = info
        self.net = (net or JudgeNet(config)).eval()

    @property
    def size(self) -> int:
        return self.config.size

    def describe(self) -> dict[str, Any]:
        """What the metrics report about the judge they used."""
        out: dict[str, Any] = {"size": self.size}
        if self.info is not None:
            out.update(path=str(self.info.path), min_accuracy=round(self.info.min_accuracy, 4))
        return out

    @torch.no_grad()
    def read(self, images: Tensor | np.ndarray, batch_size: int = 256) -> Reading:
        """Read ``images``: a float tensor in ``[0, 1]`` (NCHW) or uint8 ``(N, H, W, 3)`` array, any square size."""
        self.net.eval()
        features, logits = [], []
        for i in range(0, len(images), batch_size):
            x = _as_unit_tensor(images[i : i + batch_size])
            f, out = self.net(resize(x, self.size))
            features.append(f.double())
            logits.append(out.float())
        if not features:
            empty = {h: np.zeros(0) for h in HEADS}
            return Reading(np.zeros((0, self.config.features)), {h: np.zeros(0, np.int64) for h in HEADS}, empty)
        scale = self.info.feature_scale if self.info is not None else 1.0
        reading = Reading(torch.cat(features).numpy(), scale=scale)
        for head, part in split_logits(torch.cat(logits)).items():
            confidence, code = part.softmax(1).max(1)
            reading.codes[head] = code.numpy().astype(np.int64)
            reading.confidence[head] = confidence.numpy().astype(np.float64)
        return reading


def _as_unit_tensor(images: Tensor | np.ndarray) -> Tensor:
    if isinstance(images, np.ndarray):
        return image_tensor(images)
    return images.detach().to("cpu", torch.float32).contiguous()

"""Differentiable augmentation of what a discriminator sees (DiffAugment; Zhao et al., 2020).

With few images per parameter a discriminator memorises the real ones and the generator loses its signal. Applying
the same random, differentiable transformations to real and generated images before the discriminator, in every
step and in both players' losses, keeps it from memorising without the generator learning the transformations (they
are never applied to what it outputs). Randomness comes from torch's global generator, which checkpoints save, so a
resumed run draws the same transformations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

POLICIES = ("color", "translation", "cutout")


def color(x: Tensor) -> Tensor:
    """Random brightness (±0.5), saturation (0–2×) and contrast (0.5–1.5×) per image, for ``[-1, 1]`` images."""
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean


def translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its side in each direction, filling with zeros."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device)[None, :, None] + dy + 1).clamp(0, h + 1)
    cols = (torch.arange(w, device=x.device)[None, None, :] + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1])
    batch = torch.arange(n, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one random square of ``ratio`` of the side in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device)[None, :, None]
    cols = torch.arange(w, device=x.device)[None, None, :]
    inside = ((rows - cy + ch // 2).clamp(0, None) < ch) & ((rows - cy + ch // 2) >= 0)
    inside = inside & ((cols - cx + cw // 2) >= 0) & ((cols - cx + cw // 2) < cw)
    return x * (~inside)[:, None].to(x.dtype)


_POLICY: dict[str, Callable[[Tensor], Tensor]] = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: Tensor, policy: Sequence[str]) -> Tensor:
    """``x`` transformed by each named policy in turn (none: ``x`` as it is)."""
    for name in policy:
        x = _POLICY[name](x)
    return x

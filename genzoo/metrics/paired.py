"""Paired image errors: a translation against the ground-truth image of the same record in the target style."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_C1, _C2 = 0.01**2, 0.03**2  # the usual stabilisers for a dynamic range of 1


def l1(a: Tensor, b: Tensor) -> float:
    """Mean absolute difference per pixel and channel of ``[0, 1]`` images (NCHW); 0 is identical."""
    return float((a.float() - b.float()).abs().mean())


def _window(size: int, sigma: float, channels: int) -> Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = (g / g.sum()).float()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim(a: Tensor, b: Tensor, batch_size: int = 256) -> float:
    """Mean structural similarity of ``[0, 1]`` images (NCHW): a Gaussian window (11 px, σ 1.5, smaller for tiny
    images), per channel, over the positions where the window fits, averaged; 1 is identical."""
    channels, size = a.shape[1], min(SSIM_WINDOW, a.shape[-1], a.shape[-2])
    window = _window(size, SSIM_SIGMA, channels)
    total = 0.0
    for i in range(0, len(a), batch_size):
        x, y = a[i : i + batch_size].float().cpu(), b[i : i + batch_size].float().cpu()

        def blur(t: Tensor) -> Tensor:
            return F.conv2d(t, window, groups=channels)

        mx, my = blur(x), blur(y)
        vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
        s = ((2 * mx * my + _C1) * (2 * cxy + _C2)) / ((mx**2 + my**2 + _C1) * (vx + vy + _C2))
        total += float(s.mean(dim=(1, 2, 3)).sum())
    return total / len(a)

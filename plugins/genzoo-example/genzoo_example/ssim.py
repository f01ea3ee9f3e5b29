"""The ``ssim`` reconstruction loss: structural dissimilarity, ``(1 - SSIM) / 2`` per pixel.

SSIM (Wang et al., 2004) compares local means, variances and covariance in a Gaussian window, so it rewards
matching edges and texture rather than matching each pixel's value. Registered without importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genzoo.registry import register_loss

if TYPE_CHECKING:
    from torch import Tensor

WINDOW = 7
SIGMA = 1.5
C1 = 0.01**2  # stabilisers for images in [0, 1]: (K · dynamic range)², K = 0.01 and 0.03
C2 = 0.03**2


def dssim(x: Tensor, y: Tensor) -> Tensor:
    """Per-pixel structural dissimilarity ``(1 - SSIM) / 2`` in ``[0, 1]`` of two NCHW image batches in ``[0, 1]``.

    Zero where the images are identical. Borders are reflected, so the result has the inputs' shape.
    """
    import torch
    import torch.nn.functional as F

    channels = x.shape[1]
    r = torch.arange(WINDOW, dtype=torch.float32, device=x.device) - WINDOW // 2
    g = torch.exp(-r.square() / (2 * SIGMA**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).expand(channels, 1, WINDOW, WINDOW)

    def blur(t: Tensor) -> Tensor:
        return F.conv2d(F.pad(t, [WINDOW // 2] * 4, mode="reflect"), kernel, groups=channels)

    x, y = x.float(), y.float()
    mx, my = blur(x), blur(y)
    vx, vy, cov = blur(x * x) - mx.square(), blur(y * y) - my.square(), blur(x * y) - mx * my
    ssim = ((2 * mx * my + C1) * (2 * cov + C2)) / ((mx.square() + my.square() + C1) * (vx + vy + C2))
    return ((1 - ssim) / 2).clamp(0, 1)


@register_loss("ssim", kind="reconstruction", description="Structural dissimilarity (1 - SSIM) / 2, 7×7 window.")
def ssim(output: Tensor, target: Tensor) -> Tensor:
    """genzoo's reconstruction signature: ``output`` are logits, ``target`` in ``[0, 1]``; summed over pixels,
    averaged over the batch, like ``mse`` and ``bce``."""
    import torch

    return dssim(torch.sigmoid(output), target).flatten(1).sum(1).mean()

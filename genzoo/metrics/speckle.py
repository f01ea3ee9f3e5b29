"""Speckle: isolated pixels that differ from their neighbourhood, the noise a viewer sees over a translation.

A 3×3 median filter removes a lone pixel but keeps a flat region, an edge and a line at least two pixels wide
(the outlines and features of the built-in faces), all but the corner pixels of a shape. So the mean absolute
difference between an image and its 3×3 median is small for clean drawings and rises with salt-and-pepper or
high-frequency colour noise. Real images of the target domain set the scale (``speckle_real``): a translation as
clean as they are scores about the same.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

CHUNK = 128


def median3(images: Tensor) -> Tensor:
    """Every channel of NCHW ``images`` through a 3×3 median filter (edges replicated)."""
    n, c, h, w = images.shape
    padded = F.pad(images.reshape(n * c, 1, h, w), (1, 1, 1, 1), mode="replicate")
    windows = F.unfold(padded, 3)  # (n·c, 9, h·w)
    return windows.median(dim=1).values.reshape(n, c, h, w)


def speckle(images: Tensor) -> float:
    """Mean absolute difference per pixel and channel between ``[0, 1]`` NCHW ``images`` and their 3×3 median."""
    total = 0.0
    for i in range(0, len(images), CHUNK):
        x = images[i : i + CHUNK].float().cpu()
        total += float((x - median3(x)).abs().mean(dim=(1, 2, 3)).sum())
    return total / max(len(images), 1)

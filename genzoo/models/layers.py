"""Network pieces more than one model family uses."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class Blur(nn.Module):
    """A fixed 3×3 binomial low-pass filter ([1, 2, 1] ⊗ [1, 2, 1] / 16) on every channel, reflection-padded: it
    keeps flat regions and removes the highest frequency (a one-pixel checkerboard) entirely. No weights.

    Placed before a stride-2 convolution it anti-aliases the downsampling (Zhang, 2019; StyleGAN2's discriminator),
    so the gradient that convolution sends back carries no checkerboard of the stride either."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        row = torch.tensor([1.0, 2.0, 1.0])
        kernel = (row[:, None] * row[None, :]) / 16
        self.register_buffer("kernel", kernel.expand(channels, 1, 3, 3).clone(), persistent=False)
        self.pad = nn.ReflectionPad2d(1)

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.conv2d(self.pad(x), self.kernel.to(x.dtype), groups=x.shape[1])


def blur_before(setting: str, channels: int, *, first: bool = False) -> list[nn.Module]:
    """What a discriminator's ``disc_blur`` / ``d_blur`` setting (``off``, ``inner``, ``all``) puts before one of its
    stride-2 convolutions: a ``Blur`` with ``all``, and with ``inner`` unless it is the ``first`` (on the image)."""
    return [Blur(channels)] if setting == "all" or (setting == "inner" and not first) else []

"""Network pieces more than one model family uses."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch
from torch import Tensor, nn


def doubling_widths(image_size: int, first: int, cap: int, bottom: int = 4) -> list[int]:
    """Channels of the stride-2 layers that take a ``image_size`` image down to ``bottom`` × ``bottom``: ``first``,
    doubled at each, at most ``cap`` (a DCGAN-style encoder or discriminator; its generator's, reversed)."""
    steps = (image_size // bottom).bit_length() - 1
    return [min(first * 2**i, cap) for i in range(steps)]


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


class ConvDiscriminator(nn.Module):
    """``(N, 3, size, size)`` → ``(N, outputs)`` logits, the DCGAN discriminator: one stride-2 4×4 convolution per
    entry of ``widths`` (its channels; the image's side halves each time, down to 4×4), BatchNorm after each but the
    first and LeakyReLU 0.2 after each, then a 4×4 convolution to ``outputs`` values.

    ``spectral``: every convolution spectrally normalised (Miyato et al., 2018) and no BatchNorm. ``blur`` (``off``,
    ``inner``, ``all``): a fixed binomial ``Blur`` before the stride-2 convolutions (:func:`blur_before`).
    """

    def __init__(self, widths: Sequence[int], outputs: int, *, spectral: bool, blur: str = "off") -> None:
        super().__init__()

        def conv(c_in: int, c_out: int, *args: int, bias: bool = True) -> nn.Module:
            layer = nn.Conv2d(c_in, c_out, *args, bias=bias or spectral)
            return nn.utils.parametrizations.spectral_norm(layer) if spectral else layer

        layers: list[nn.Module] = [
            *blur_before(blur, 3, first=True),
            conv(3, widths[0], 4, 2, 1),
            nn.LeakyReLU(0.2, True),
        ]
        for w_in, w_out in itertools.pairwise(widths):
            norm = [] if spectral else [nn.BatchNorm2d(w_out)]
            layers += [*blur_before(blur, w_in), conv(w_in, w_out, 4, 2, 1, bias=False), *norm, nn.LeakyReLU(0.2, True)]
        self.features = nn.Sequential(*layers)
        self.head = conv(widths[-1], outputs, 4, 1, 0)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x)).flatten(1)

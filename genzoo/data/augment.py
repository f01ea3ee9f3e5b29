"""Augmentation of training batches: random horizontal flips, crops and colour jitter, drawn per image.

Applied by the Trainer's data stream to uint8 batches (torchvision's ``transforms.v2`` functions), never to held-out
images. The random draws of a batch come from a generator seeded by the stream's seed and the batch's place in the
epoch, so a seed repeats them and a resumed run continues with exactly the augmentations an uninterrupted one draws.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as F

from genzoo.config import Augment


def augment(images: Tensor, config: Augment, generator: torch.Generator) -> Tensor:
    """uint8 ``(N, 3, H, W)`` images, each randomly cropped, flipped and jittered as ``config`` says."""
    if config.crop == "resize-crop":
        images = _resize_crop(images, config.crop_scale, generator)
    elif config.crop == "resized":
        images = _random_resized_crop(images, config.crop_scale, generator)
    if config.flip:
        flip = torch.rand(len(images), generator=generator) < 0.5
        images = torch.where(flip.to(images.device)[:, None, None, None], images.flip(-1), images)
    if config.jitter > 0:
        images = _jitter(images, config.jitter, generator)
    return images.contiguous()


def _resize_crop(images: Tensor, scale: float, generator: torch.Generator) -> Tensor:
    """The reference CycleGAN's ``resize_and_crop``: enlarge by ``1 / scale`` (286 px for 256), then cut a random
    square of the original size from each image."""
    size = images.shape[-1]
    large = F.resize(images, [round(size / scale)] * 2, antialias=True)
    room = large.shape[-1] - size
    tops = torch.randint(room + 1, (len(images),), generator=generator).tolist()
    lefts = torch.randint(room + 1, (len(images),), generator=generator).tolist()
    return torch.stack([img[:, t : t + size, s : s + size] for img, t, s in zip(large, tops, lefts, strict=True)])


def _random_resized_crop(images: Tensor, scale: float, generator: torch.Generator) -> Tensor:
    """Each image: a random region of ``scale``–100 % of its area and aspect ratio 3/4–4/3, resized back to its size
    (torchvision's ``RandomResizedCrop``)."""
    size = images.shape[-1]
    out = []
    for img in images:
        area = size * size * (scale + (1 - scale) * float(torch.rand((), generator=generator)))
        ratio = math.exp(math.log(3 / 4) + math.log(16 / 9) * float(torch.rand((), generator=generator)))
        w = min(size, round(math.sqrt(area * ratio)))
        h = min(size, round(math.sqrt(area / ratio)))
        top = int(torch.randint(size - h + 1, (), generator=generator))
        left = int(torch.randint(size - w + 1, (), generator=generator))
        out.append(F.resized_crop(img, top, left, h, w, [size, size], antialias=True))
    return torch.stack(out)


def _jitter(images: Tensor, strength: float, generator: torch.Generator) -> Tensor:
    """Brightness, contrast and saturation each scaled by a random factor in ``1 ± strength``, per image."""
    factors = 1 + strength * (2 * torch.rand(len(images), 3, generator=generator) - 1)
    out = []
    for img, (brightness, contrast, saturation) in zip(images, factors.tolist(), strict=True):
        img = F.adjust_brightness(img, brightness)
        img = F.adjust_contrast(img, contrast)
        out.append(F.adjust_saturation(img, saturation))
    return torch.stack(out)

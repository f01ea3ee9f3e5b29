"""Metrics of a model that reconstructs."""

from __future__ import annotations

import numpy as np
import torch

from genzoo.data.core import ImageSet
from genzoo.data.tensors import image_tensor
from genzoo.models.base import GenerativeModel


@torch.no_grad()
def heldout_mse(model: GenerativeModel, heldout: ImageSet, batch_size: int = 256) -> float:
    """Mean per-pixel squared error of reconstructions of every held-out image, in ``[0, 1]`` units."""
    images = heldout.images
    total = 0.0
    for i in range(0, len(images), batch_size):
        x = image_tensor(images[i : i + batch_size], model.device)
        recon = model.reconstruct(x)
        total += float((recon.float() - x).square().sum())
    return total / (len(images) * float(np.prod(images.shape[1:])))

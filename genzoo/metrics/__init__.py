"""Evaluation by capability: what a model can do decides what is measured.

Keys (all in ``[0, 1]`` pixel units where they are errors):

``heldout_mse``   models that reconstruct: mean squared error per pixel and channel between held-out images and
                  their reconstructions (the reconstruction from the posterior mean).
``heldout_images``  how many held-out images were used.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.data.core import Split
from genzoo.models.base import GenerativeModel, image_tensor
from genzoo.registry import models


def capabilities(model: GenerativeModel) -> frozenset[str]:
    return models.get(model.model_name).capabilities


@torch.no_grad()
def heldout_mse(model: GenerativeModel, split: Split, batch_size: int = 256) -> float:
    """Mean per-pixel squared error of reconstructions of every held-out image, in ``[0, 1]`` units."""
    images = split.heldout.images
    device = model.device
    total = 0.0
    for i in range(0, len(images), batch_size):
        x = image_tensor(images[i : i + batch_size], device)
        recon = model.reconstruct(x)
        total += float((recon.float() - x).square().sum())
    return total / (images.size)


def evaluate(model: GenerativeModel, split: Split) -> dict[str, Any]:
    """Every metric that applies to ``model`` on ``split``'s held-out images."""
    was_training = model.training
    model.eval()
    out: dict[str, Any] = {"heldout_images": len(split.heldout)}
    if "reconstruct" in capabilities(model):
        out["heldout_mse"] = heldout_mse(model, split)
    model.train(was_training)
    return out

"""Reconstruction losses: per-image sums over pixels, averaged over the batch (the ELBO's scale)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from genzoo.registry import register_loss

if TYPE_CHECKING:
    from torch import Tensor


@register_loss("mse", kind="reconstruction", description="Squared error of sigmoid(output) and the target.")
def mse(output: Tensor, target: Tensor) -> Tensor:
    import torch

    return (torch.sigmoid(output) - target).square().flatten(1).sum(1).mean()


@register_loss("bce", kind="reconstruction", description="Binary cross-entropy of the output logits and the target.")
def bce(output: Tensor, target: Tensor) -> Tensor:
    import torch.nn.functional as F

    return F.binary_cross_entropy_with_logits(output, target, reduction="none").flatten(1).sum(1).mean()

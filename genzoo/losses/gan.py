"""Adversarial losses, shared by every GAN-like family (CycleGAN, DCGAN, ACGAN, plugins).

A ``gan`` loss is ``fn(prediction, real, for_discriminator) -> loss``: ``prediction`` is the discriminator's raw
output (logits, any shape: PatchGAN maps too), ``real`` says whether the target is "real", and
``for_discriminator`` whether the loss trains the discriminator (True) or the generator (False). The generator's
loss is computed with ``real=True`` on its fakes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from genzoo.registry import register_loss

if TYPE_CHECKING:
    from torch import Tensor


@register_loss("vanilla", kind="gan", description="Original GAN loss: binary cross-entropy on logits.")
def vanilla(prediction: Tensor, real: bool, for_discriminator: bool = True) -> Tensor:
    import torch
    import torch.nn.functional as F

    target = torch.ones_like(prediction) if real else torch.zeros_like(prediction)
    return F.binary_cross_entropy_with_logits(prediction.float(), target.float())


@register_loss("lsgan", kind="gan", description="Least-squares GAN (Mao et al.): squared distance to 1 or 0.")
def lsgan(prediction: Tensor, real: bool, for_discriminator: bool = True) -> Tensor:
    return (prediction.float() - (1.0 if real else 0.0)).square().mean()


@register_loss("hinge", kind="gan", description="Hinge loss (Lim & Ye; Miyato et al.); generator: -D(fake).")
def hinge(prediction: Tensor, real: bool, for_discriminator: bool = True) -> Tensor:
    import torch.nn.functional as F

    p = prediction.float()
    if not for_discriminator:
        return -p.mean()
    return F.relu(1 - p).mean() if real else F.relu(1 + p).mean()


def r1_penalty(prediction: Tensor, real: Tensor, gamma: float, every: int = 1) -> Tensor:
    """The R1 penalty (Mescheder et al., 2018) of a discriminator at real images: ``gamma / 2 · |∇ₓ D(x)|²``,
    averaged over the batch, where ``D(x)`` is each image's mean output (its one logit, or the mean of a PatchGAN's
    map). ``real`` must require grad and ``prediction`` come from it; the graph is kept, so the penalty trains the
    discriminator. Applied every ``every`` steps, it is scaled by ``every`` so that on average it weighs as if
    applied every step (lazy regularisation, Karras et al., 2020)."""
    import torch

    (grad,) = torch.autograd.grad(prediction.float().flatten(1).mean(1).sum(), real, create_graph=True)
    return grad.float().square().flatten(1).sum(1).mean() * (gamma / 2 * every)

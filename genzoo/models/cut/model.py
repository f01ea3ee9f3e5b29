"""CUT: the generators, the patch projections, the PatchNCE loss and the training step.

Per direction (A → B shown): ``fake_b = G_AB(a)``. The generator's loss is the adversarial loss of ``D_B(fake_b)``
plus ``nce_weight`` × PatchNCE(a, fake_b): both images go through ``G_AB``'s encoder, at each layer of
``nce_layers`` the same ``nce_patches`` positions are taken from both, projected by a two-layer MLP and normalised,
and each patch of ``fake_b`` must pick out the patch at its own position in ``a`` among all the taken ones (a
softmax cross-entropy at ``nce_temperature``). With ``nce_identity`` the same is asked of a real ``b`` and
``G_AB(b)``, which keeps ``G_AB`` from changing what is already in domain B. The discriminators learn real against
generated images (the fakes of the step, detached). The networks are CycleGAN's (``genzoo.models.cyclegan.model``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.errors import CapabilityError
from genzoo.models.base import Batch, Row, StepContext
from genzoo.models.cut import CUTConfig
from genzoo.models.cyclegan.model import ResnetGenerator, Translator, init_weights, set_requires_grad


def encoder_features(generator: ResnetGenerator, x: Tensor, layers: list[int]) -> list[Tensor]:
    """The features of ``x`` at the encoder layers ``layers`` of a ResNet generator: 0 the image, 1 after the stem,
    2 and 3 after each downsampling, 4 after the middle residual block."""
    wanted, out = set(layers), {}
    h = x
    stages = [generator.stem, generator.down[0], generator.down[1], generator.blocks[: len(generator.blocks) // 2]]
    if 0 in wanted:
        out[0] = h
    for index, stage in enumerate(stages, start=1):
        if index > max(wanted):
            break
        h = stage(h)
        if index in wanted:
            out[index] = h
    return [out[i] for i in layers]


class PatchProjection(nn.Module):
    """One two-layer MLP per compared layer, mapping a patch's features to a unit vector of ``dim``."""

    def __init__(self, channels: list[int], dim: int) -> None:
        super().__init__()
        self.mlps = nn.ModuleList(nn.Sequential(nn.Linear(c, dim), nn.ReLU(), nn.Linear(dim, dim)) for c in channels)

    def forward(self, features: list[Tensor], where: list[Tensor]) -> list[Tensor]:
        """Each layer's features ``(N, C, H, W)`` at the flat positions ``where[layer]`` → ``(N, P, dim)``."""
        out = []
        for mlp, f, index in zip(self.mlps, features, where, strict=True):
            patches = f.flatten(2).transpose(1, 2)[:, index]  # (N, P, C)
            out.append(F.normalize(mlp(patches.float()), dim=-1))
        return out


def patch_nce(query: Tensor, key: Tensor, temperature: float) -> Tensor:
    """PatchNCE of ``(N, P, D)`` unit vectors: patch *p* of ``query`` against all patches of ``key`` in the same
    image, the one at its own position being the right answer."""
    logits = torch.bmm(query, key.transpose(1, 2)) / temperature  # (N, P, P)
    target = torch.arange(query.shape[1], device=query.device).expand(query.shape[0], -1)
    return F.cross_entropy(logits.flatten(0, 1), target.flatten())


class CUT(Translator):
    """Two CUT directions trained side by side: generators ``G_AB``, ``G_BA``, discriminators ``D_A``, ``D_B``, and
    the patch projections ``H_AB``, ``H_BA`` of each generator's encoder."""

    config: CUTConfig
    G_AB: ResnetGenerator
    G_BA: ResnetGenerator
    training_only = ("D_A", "D_B", "H_AB", "H_BA")

    def __init__(self, config: CUTConfig) -> None:
        super().__init__(config, lambda: ResnetGenerator(config))
        channels = [self._channels(i) for i in config.nce_layers]
        self.H_AB = PatchProjection(channels, config.nce_dim)
        self.H_BA = PatchProjection(channels, config.nce_dim)
        init_weights(self, config.init_std)

    def _channels(self, layer: int) -> int:
        w = self.config.width
        if not 0 <= layer <= 4:
            raise CapabilityError(f"nce_layers takes 0 to 4 (the image to the middle residual block); got {layer}.")
        return (3, w, 2 * w, 4 * w, 4 * w)[layer]

    def trained_by_g(self) -> Iterator[nn.Parameter]:
        return itertools.chain(super().trained_by_g(), self.H_AB.parameters(), self.H_BA.parameters())

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        if batch.y is None:
            raise CapabilityError("CUT trains on two domains; the batch has no target images (data.to).")
        real_a, real_b = batch.x, batch.y
        c = self.config
        set_requires_grad((self.D_A, self.D_B), False)
        with ctx.autocast():
            fake_b, fake_a = self.G_AB(real_a), self.G_BA(real_b)
            logs = {
                "adv_A": self.gan_loss(self.D_A(fake_a), True, False),
                "adv_B": self.gan_loss(self.D_B(fake_b), True, False),
                "nce_B": self._nce(self.G_AB, self.H_AB, real_a, fake_b),
                "nce_A": self._nce(self.G_BA, self.H_BA, real_b, fake_a),
            }
            if c.nce_identity:
                logs["nce_idt_B"] = self._nce(self.G_AB, self.H_AB, real_b, self.G_AB(real_b))
                logs["nce_idt_A"] = self._nce(self.G_BA, self.H_BA, real_a, self.G_BA(real_a))
        nce = [v for k, v in logs.items() if k.startswith("nce")]
        loss = logs["adv_A"] + logs["adv_B"] + c.nce_weight * torch.stack(nce).sum() / (2 if c.nce_identity else 1)
        ctx.backward(loss)
        ctx.step("G")
        set_requires_grad((self.D_A, self.D_B), True)
        ctx.zero_grad("D")
        real_a, real_b = self._r1_reals(ctx, real_a, real_b)
        with ctx.autocast():
            d_a, real_a_logits = self._adversarial_d(self.D_A, real_a, fake_a.detach())
            d_b, real_b_logits = self._adversarial_d(self.D_B, real_b, fake_b.detach())
        r1 = self._r1((real_a, real_a_logits), (real_b, real_b_logits))
        ctx.backward(torch.stack([d_a, d_b, *r1.values()]).sum())
        ctx.step("D")
        logs.update(D_A=d_a, D_B=d_b, **r1)
        return {"loss_G": loss.detach(), **{k: v.detach() for k, v in logs.items()}}

    def _nce(self, generator: ResnetGenerator, heads: PatchProjection, source: Tensor, translated: Tensor) -> Tensor:
        """PatchNCE between ``source`` and its translation, through ``generator``'s encoder and ``heads``."""
        c = self.config
        keys = encoder_features(generator, source, c.nce_layers)
        queries = encoder_features(generator, translated, c.nce_layers)
        where = [
            torch.randperm(f.shape[2] * f.shape[3], device=f.device)[: c.nce_patches] for f in keys
        ]  # the same positions in both images
        q, k = heads(queries, where), heads(keys, where)
        return torch.stack([patch_nce(a, b, c.nce_temperature) for a, b in zip(q, k, strict=True)]).mean()

    @torch.no_grad()
    def preview(self, batch: Batch, generator: torch.Generator) -> list[Row]:
        """Rows: real A, its translation into B, real B, its translation into A."""
        if batch.y is None:
            return []
        a, b = self.domains
        rows = ((a, batch.x), (f"to {b}", self.G_AB(batch.x)), (b, batch.y), (f"to {a}", self.G_BA(batch.y)))
        return [(label, self.to_unit(r.float())) for label, r in rows]

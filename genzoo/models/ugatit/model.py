"""U-GAT-IT: the attention module, the adaptive (AdaLIN) and layer-instance (LIN) normalisations, the generator, the
local and global discriminators, and the training step.

Per direction (A → B shown), with ``G_AB`` returning its translation and its attention logits:

* ``fake_b, cam = G_AB(a)``: the generator's attention classifier should say 1 for ``a`` (it needs translating)
  and 0 for a real ``b`` put through ``G_AB`` (already in B): ``cam_B`` = ``cam_weight`` × the two binary
  cross-entropies;
* ``adv_B``: the GAN loss of the four outputs of ``D_B`` on ``fake_b`` (global and local patch logits, and each
  one's attention logits), summed as in the paper;
* ``cycle_A`` = ``cycle_weight`` × |G_BA(fake_b) − a|, ``idt_B`` = ``identity_weight`` × |G_AB(b) − b|.

The discriminators learn real against generated images of the step (no history pool, as in the paper). After each
generator step every ``rho`` is clipped to [0, 1], as the paper's code does.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from genzoo.errors import CapabilityError
from genzoo.models.base import Batch, Row, StepContext
from genzoo.models.cyclegan.model import CHANNELS, ResidualBlock, Translator, init_weights, l1, set_requires_grad
from genzoo.models.ugatit import UGATITConfig

EPS = 1e-5


# ---- attention and normalisation ----------------------------------------------------------------------------------


class Attention(nn.Module):
    """Class activation map attention: a linear classifier each on the average- and the max-pooled features; each
    classifier's weights scale the feature channels, the two results are fused by a 1×1 convolution. Returns the
    attended features, the two logits ``(N, 2)`` and the heat map (the channel sum of the attended features)."""

    def __init__(self, channels: int, activation: nn.Module, wrap: Callable[[nn.Module], nn.Module]) -> None:
        super().__init__()
        self.gap_fc = wrap(nn.Linear(channels, 1, bias=False))
        self.gmp_fc = wrap(nn.Linear(channels, 1, bias=False))
        self.fuse = nn.Conv2d(2 * channels, channels, 1)
        self.activation = activation

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        # the classifiers' weights (1, C), read once: a spectrally normalised one runs its power iteration per read
        gap_w, gmp_w = self.gap_fc.weight, self.gmp_fc.weight
        logits = torch.cat([F.linear(x.mean((2, 3)), gap_w), F.linear(x.amax((2, 3)), gmp_w)], 1)
        both = torch.cat([x * gap_w.view(1, -1, 1, 1), x * gmp_w.view(1, -1, 1, 1)], 1)
        attended = self.activation(self.fuse(both))
        return attended, logits, attended.sum(1, keepdim=True)


def _mix(x: Tensor, rho: Tensor) -> Tensor:
    """``rho`` × instance-normalised ``x`` + (1 − ``rho``) × layer-normalised ``x`` (torch's fused norms, in
    float32)."""
    x32 = x.float()
    by_image = F.instance_norm(x32, eps=EPS)
    by_layer = F.layer_norm(x32, x32.shape[1:], eps=EPS)
    return (rho * by_image + (1 - rho) * by_layer).to(x.dtype)


class AdaLIN(nn.Module):
    """Adaptive layer-instance normalisation: the mix of ``_mix`` with a learned ``rho`` (from 0.9), scaled and
    shifted by a ``gamma`` and ``beta`` computed per image."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.rho = nn.Parameter(torch.full((1, channels, 1, 1), 0.9))

    def forward(self, x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        return _mix(x, self.rho) * gamma[:, :, None, None] + beta[:, :, None, None]


class LIN(nn.Module):
    """Layer-instance normalisation with a learned ``rho`` (from 0), scale and shift: the decoder's upsamplings."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.rho = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return _mix(x, self.rho) * self.gamma + self.beta


class AdaLINBlock(nn.Module):
    """A decoder residual block: pad, 3×3 conv, AdaLIN, ReLU, pad, 3×3 conv, AdaLIN, plus the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False))
        self.norm1 = AdaLIN(channels)
        self.conv2 = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=False))
        self.norm2 = AdaLIN(channels)

    def forward(self, x: Tensor, gamma: Tensor, beta: Tensor) -> Tensor:
        h = F.relu(self.norm1(self.conv1(x), gamma, beta))
        return x + self.norm2(self.conv2(h), gamma, beta)


# ---- the networks -------------------------------------------------------------------------------------------------


class Generator(nn.Module):
    """Encoder (7×7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks), attention, a two-layer MLP from
    the pooled attended features to AdaLIN's ``gamma`` and ``beta`` (the paper's light model), ``n_blocks`` AdaLIN
    residual blocks, two nearest-neighbour ×2 upsamplings with LIN, a 7×7 head and tanh. Called, it returns the
    translation; ``attend`` returns the attention logits and heat map too."""

    def __init__(self, config: UGATITConfig) -> None:
        super().__init__()
        w, c = config.width, 4 * config.width
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(CHANNELS, w, 7, bias=False), nn.InstanceNorm2d(w), nn.ReLU(True)
        )
        self.down = nn.Sequential(*(_down(w * 2**i) for i in range(2)))
        self.encoder = nn.Sequential(*(ResidualBlock(c, "instance", dropout=False) for _ in range(config.n_blocks)))
        self.attention = Attention(c, nn.ReLU(True), lambda m: m)
        self.mlp = nn.Sequential(nn.Linear(c, c, bias=False), nn.ReLU(True), nn.Linear(c, c, bias=False), nn.ReLU(True))
        self.gamma = nn.Linear(c, c, bias=False)
        self.beta = nn.Linear(c, c, bias=False)
        self.decoder = nn.ModuleList(AdaLINBlock(c) for _ in range(config.n_blocks))
        self.up = nn.Sequential(*(_up(c // 2**i) for i in range(2)))
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(w, CHANNELS, 7, bias=False), nn.Tanh())

    def attend(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(translation, attention logits (N, 2), heat map (N, 1, h, w))`` of ``x`` in [-1, 1]."""
        h, logits, heatmap = self.attention(self.encoder(self.down(self.stem(x))))
        style = self.mlp(h.mean((2, 3)))
        gamma, beta = self.gamma(style), self.beta(style)
        for block in self.decoder:
            h = block(h, gamma, beta)
        return self.head(self.up(h)), logits, heatmap

    def forward(self, x: Tensor) -> Tensor:
        return self.attend(x)[0]


def _down(c_in: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ReflectionPad2d(1),
        nn.Conv2d(c_in, 2 * c_in, 3, stride=2, bias=False),
        nn.InstanceNorm2d(2 * c_in),
        nn.ReLU(True),
    )


def _up(c_in: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.ReflectionPad2d(1),
        nn.Conv2d(c_in, c_in // 2, 3, bias=False),
        LIN(c_in // 2),
        nn.ReLU(True),
    )


class PatchAttentionDiscriminator(nn.Module):
    """One of U-GAT-IT's discriminators: ``downs`` stride-2 4×4 convolutions, one stride-1, attention, and a 4×4
    convolution to patch logits; every layer spectrally normalised, LeakyReLU(0.2). Returns ``(patch logits,
    attention logits)``."""

    def __init__(self, width: int, downs: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in, c = CHANNELS, width
        for i in range(downs + 1):
            layers += [
                nn.ReflectionPad2d(1),
                spectral_norm(nn.Conv2d(c_in, c, 4, stride=2 if i < downs else 1)),
                nn.LeakyReLU(0.2, True),
            ]
            c_in, c = c, 2 * c
        self.body = nn.Sequential(*layers)
        self.attention = Attention(c_in, nn.LeakyReLU(0.2, True), spectral_norm)
        self.head = nn.Sequential(nn.ReflectionPad2d(1), spectral_norm(nn.Conv2d(c_in, 1, 4, bias=False)))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h, logits, _ = self.attention(self.body(x))
        return self.head(h), logits


class Discriminators(nn.Module):
    """A domain's global and local discriminator; called, the list of their four outputs."""

    def __init__(self, config: UGATITConfig) -> None:
        super().__init__()
        self.glob = PatchAttentionDiscriminator(config.disc_width, config.global_layers)
        self.local = PatchAttentionDiscriminator(config.disc_width, config.disc_layers)

    def forward(self, x: Tensor) -> list[Tensor]:
        return [*self.glob(x), *self.local(x)]


# ---- the model ----------------------------------------------------------------------------------------------------


class UGATIT(Translator):
    """Generators ``G_AB``, ``G_BA`` with attention and AdaLIN; per domain a global and a local discriminator."""

    config: UGATITConfig
    G_AB: Generator
    G_BA: Generator

    def __init__(self, config: UGATITConfig) -> None:
        super().__init__(config, lambda: Generator(config), lambda: Discriminators(config))
        for generator in (self.G_AB, self.G_BA):  # the discriminators' scale is their spectral norms'
            init_weights(generator, config.init_std)

    @property
    def weight_decay(self) -> float:
        return self.config.weight_decay

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        if batch.y is None:
            raise CapabilityError("U-GAT-IT trains on two domains; the batch has no target images (data.to).")
        real_a, real_b = batch.x, batch.y
        c = self.config
        set_requires_grad((self.D_A, self.D_B), False)
        with ctx.autocast():
            fake_b, idt_b, cam_b = self._both(self.G_AB, real_a, real_b)  # a needs translating, b does not
            fake_a, idt_a, cam_a = self._both(self.G_BA, real_b, real_a)
            logs = {
                "adv_A": self._adversarial(self.D_A(fake_a), True, False),
                "adv_B": self._adversarial(self.D_B(fake_b), True, False),
                "cycle_A": l1(self.G_BA(fake_b), real_a) * c.cycle_weight,
                "cycle_B": l1(self.G_AB(fake_a), real_b) * c.cycle_weight,
                "idt_A": l1(idt_a, real_a) * c.identity_weight,
                "idt_B": l1(idt_b, real_b) * c.identity_weight,
                "cam_A": cam_a * c.cam_weight,
                "cam_B": cam_b * c.cam_weight,
            }
        loss = torch.stack([v.float() for v in logs.values()]).sum()
        ctx.backward(loss)
        ctx.step("G")
        self._clip_rho()
        set_requires_grad((self.D_A, self.D_B), True)
        ctx.zero_grad("D")
        with ctx.autocast():
            d_a = self._discriminator_loss(self.D_A, real_a, fake_a.detach())
            d_b = self._discriminator_loss(self.D_B, real_b, fake_b.detach())
        ctx.backward(d_a + d_b)
        ctx.step("D")
        logs.update(D_A=d_a, D_B=d_b)
        return {"loss_G": loss.detach(), **{k: v.detach() for k, v in logs.items()}}

    def _both(self, generator: Generator, source: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One call of ``generator`` on both batches (every norm works per image): the translation of ``source``,
        ``target`` put through it (the identity), and the attention loss (``source`` 1, ``target`` 0)."""
        out, logits, _ = generator.attend(torch.cat([source, target.to(source.dtype)]))
        n = len(source)
        wanted = torch.cat([torch.ones_like(logits[:n]), torch.zeros_like(logits[n:])]).float()
        cam = F.binary_cross_entropy_with_logits(logits.float(), wanted, reduction="none")
        return out[:n], out[n:], cam[:n].mean() + cam[n:].mean()

    def _adversarial(self, outputs: list[Tensor], real: bool, for_discriminator: bool) -> Tensor:
        """The GAN loss summed over a discriminator's four outputs, as the paper sums them."""
        return torch.stack([self.gan_loss(o, real, for_discriminator).float() for o in outputs]).sum()

    def _discriminator_loss(self, d: nn.Module, real: Tensor, fake: Tensor) -> Tensor:
        both = d(torch.cat([real, fake.to(real.dtype)]))
        n = len(real)
        return self._adversarial([o[:n] for o in both], True, True) + self._adversarial(
            [o[n:] for o in both], False, True
        )

    @torch.no_grad()
    def _clip_rho(self) -> None:
        """Every trained ``rho`` back into [0, 1] (their moving averages stay inside as averages of values there)."""
        for module in (*self.G_AB.modules(), *self.G_BA.modules()):
            if isinstance(module, AdaLIN | LIN):
                module.rho.clamp_(0.0, 1.0)

    @torch.no_grad()
    def preview(self, batch: Batch, generator: torch.Generator) -> list[Row]:
        """Rows: real A, where ``G_AB`` attends, its translation into B, and the same from B into A."""
        if batch.y is None:
            return []
        a, b = self.domains
        rows: list[Row] = []
        for source, net, came, to in ((batch.x, self.G_AB, a, b), (batch.y, self.G_BA, b, a)):
            out, _, heatmap = net.attend(source)
            rows += [
                (came, self.to_unit(source.float())),
                (f"attention (to {to})", _heat(heatmap, source.shape[-1])),
                (f"to {to}", self.to_unit(out.float())),
            ]
        return rows


def _heat(heatmap: Tensor, size: int) -> Tensor:
    """Heat maps ``(N, 1, h, w)`` as grey images of ``size``, each stretched to [0, 1]."""
    m = heatmap.float()
    low, high = m.amin((2, 3), keepdim=True), m.amax((2, 3), keepdim=True)
    m = (m - low) / (high - low).clamp_min(1e-8)
    return F.interpolate(m, size=(size, size), mode="bilinear", align_corners=False).expand(-1, 3, -1, -1)

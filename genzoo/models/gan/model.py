"""GAN networks (DCGAN generator and discriminator) and the training and sampling code of ``dcgan`` and ``acgan``.

Both models share one class, :class:`GAN`: an ``acgan`` is a DCGAN whose generator also reads one embedding per
conditioned attribute and whose discriminator has, beside its real/fake logit, one classifier head per attribute.

One training step (the DCGAN recipe, with separate real and fake batches through the discriminator's BatchNorm):

1. the generator makes a batch of fakes from fresh noise (an acgan's fakes take the real batch's attribute values);
2. the discriminator learns real vs fake (``adv_D``) and, for an acgan, to classify the real images' attributes
   (``cls_real``, cross-entropy averaged over attributes; its classifier is trained on real images only);
3. the generator learns to be called real (``adv_G``) and, for an acgan, to be classified as the values it was asked
   for (``cls_fake``). The discriminator's parameters are frozen for this backward pass;
4. the Trainer updates a moving average of the generator's weights (``ema``; Yazıcı et al., 2019;
   ``genzoo.models.average``). Samples come from it: it averages away much of the high-frequency noise that a GAN
   generator's weights oscillate through. Its BatchNorm statistics are computed for it from fresh noise
   (``refresh_statistics``) whenever it is saved or drawn with.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.checkpoint import AVERAGE_PREFIX
from genzoo.errors import ConfigError
from genzoo.losses.gan import r1_penalty
from genzoo.models.augment import diff_augment
from genzoo.models.base import Batch, GenerativeModel, Row, StepContext
from genzoo.models.gan import ACGANConfig, DCGANConfig, GANConfig
from genzoo.models.layers import ConvDiscriminator, doubling_widths
from genzoo.models.sampling import random_conditions
from genzoo.registry import get_loss

BOTTOM = 4  # both networks work down to (or up from) 4×4 feature maps
PREVIEW_COLUMNS = 8
PREVIEW_ROWS = 10
STATISTICS_BATCHES, STATISTICS_BATCH = 16, 64
"""How many batches of noise, of how many, set the averaged generator's BatchNorm statistics."""


# ---- networks ----------------------------------------------------------------------------------------------------


def layer_widths(config: GANConfig) -> list[int]:
    """Channels of the discriminator's layers from the image down to 4×4 (the generator's, reversed)."""
    return doubling_widths(config.image_size, config.width, config.max_width, BOTTOM)


class Generator(nn.Module):
    """Noise ``z`` ``(N, latent_dim)`` and attribute values ``(N, K)`` → ``(N, 3, size, size)`` in ``[-1, 1]``.

    The input vector is ``z`` with one embedding per attribute beside it (``concat``) or added to it (``sum``); a 4×4
    transposed convolution makes a 4×4 map of it. Then, with ``g_arch="dcgan"``, stride-2 transposed convolutions
    with BatchNorm and ReLU, and a last one to RGB with tanh; with ``g_arch="resnet"``, one :class:`UpBlock` per
    doubling of the side, then BatchNorm, ReLU and a 3×3 convolution to RGB with tanh. With ``embedding="cbn"``
    every BatchNorm is conditional (:class:`ConditionalBatchNorm2d`).
    """

    def __init__(
        self, config: GANConfig, sizes: Sequence[int] = (), embedding: str = "sum", embed_dim: int = 16
    ) -> None:
        super().__init__()
        self.embedding = embedding if sizes else "sum"
        cbn = self.embedding == "cbn"
        dim = embed_dim if embedding == "concat" else config.latent_dim
        self.embeddings = nn.ModuleList(() if cbn else (nn.Embedding(n, dim) for n in sizes))
        in_dim = config.latent_dim + (dim * len(sizes) if embedding == "concat" else 0)
        widths = layer_widths(config)[::-1]

        def norm(channels: int) -> nn.Module:
            return ConditionalBatchNorm2d(channels, sizes) if cbn else nn.BatchNorm2d(channels)

        layers: list[nn.Module] = [nn.ConvTranspose2d(in_dim, widths[0], BOTTOM, 1, 0, bias=False)]
        if config.g_arch == "resnet":
            layers += [UpBlock(w_in, w_out, norm) for w_in, w_out in itertools.pairwise([*widths, widths[-1]])]
            layers += [norm(widths[-1]), nn.ReLU(True), nn.Conv2d(widths[-1], 3, 3, 1, 1), nn.Tanh()]
        else:
            layers += [norm(widths[0]), nn.ReLU(True)]
            for w_in, w_out in itertools.pairwise(widths):
                layers += [nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False), norm(w_out), nn.ReLU(True)]
            layers += [nn.ConvTranspose2d(widths[-1], 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def condition(self, z: Tensor, labels: Tensor | None) -> Tensor:
        """The input vector from noise ``z`` and attribute values ``labels`` (None without attributes)."""
        if labels is None or not len(self.embeddings):
            return z
        codes = [emb(labels[:, k]) for k, emb in enumerate(self.embeddings)]
        if self.embedding == "concat":
            return torch.cat([z, *codes], 1)
        return z + torch.stack(codes).sum(0)

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        x = self.condition(z, labels)[:, :, None, None]
        if self.embedding != "cbn":
            return self.net(x)
        if labels is None:
            raise ConfigError("this generator conditions its BatchNorm layers: give attribute values")
        for layer in self.net:
            x = layer(x, labels) if isinstance(layer, ConditionalBatchNorm2d | UpBlock) else layer(x)
        return x


def _normed(norm: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    return norm(x, labels) if isinstance(norm, ConditionalBatchNorm2d) else norm(x)


class UpBlock(nn.Module):
    """A residual block that doubles the side (the generator block of Miyato et al., 2018, and BigGAN): BatchNorm,
    ReLU, nearest-neighbour upsampling and a 3×3 convolution, then BatchNorm, ReLU and a 3×3 convolution, added to
    the upsampled input through a 1×1 convolution. ``labels`` feed conditional BatchNorms (None for plain ones)."""

    def __init__(self, c_in: int, c_out: int, norm: Callable[[int], nn.Module]) -> None:
        super().__init__()
        self.norm1, self.conv1 = norm(c_in), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)
        self.norm2, self.conv2 = norm(c_out), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        # nearest-neighbour upsampling commutes with the norm's statistics, the ReLU and a 1×1 convolution: those run
        # on the small map
        h = F.interpolate(F.relu(_normed(self.norm1, x, labels)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(_normed(self.norm2, self.conv1(h), labels)))
        return F.interpolate(self.skip(x), scale_factor=2.0, mode="nearest") + h


class DownBlock(nn.Module):
    """A residual block that halves the side (the discriminator block of Miyato et al., 2018): ReLU, a 3×3
    convolution, ReLU, a 3×3 convolution and 2×2 average pooling, added to the pooled input through a 1×1
    convolution; every convolution spectrally normalised. The ``first`` block reads the image, so it starts with the
    convolution (SNGAN's "optimized" block: no ReLU on pixels)."""

    def __init__(self, c_in: int, c_out: int, *, first: bool = False) -> None:
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.first = first
        self.conv1, self.conv2 = sn(nn.Conv2d(c_in, c_out, 3, 1, 1)), sn(nn.Conv2d(c_out, c_out, 3, 1, 1))
        # The image's skip reads 3 channels: normalised as its transpose (the same largest singular value), its power
        # iteration's right vector has c_out entries, not 3; torch.compile (train.compile) mishandles one of 4 or fewer.
        self.skip = sn(nn.Conv2d(c_in, c_out, 1), dim=1 if first else 0)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(x if self.first else F.relu(x))
        h = F.avg_pool2d(self.conv2(F.relu(h)), 2)
        return h + self.skip(F.avg_pool2d(x, 2))  # pooling commutes with a 1×1 convolution: pool first, 4× cheaper


class ResidualDiscriminator(nn.Module):
    """``(N, 3, size, size)`` → ``(N, outputs)`` logits, SNGAN's residual discriminator: one :class:`DownBlock` per
    entry of ``widths`` (its channels, down to 4×4), then ReLU, the sum over positions and a spectrally normalised
    linear layer to ``outputs`` values (the real/fake logit and any class logits)."""

    def __init__(self, widths: Sequence[int], outputs: int) -> None:
        super().__init__()
        pairs = itertools.pairwise([3, *widths])
        self.blocks = nn.Sequential(*(DownBlock(a, b, first=i == 0) for i, (a, b) in enumerate(pairs)))
        self.head = nn.utils.parametrizations.spectral_norm(nn.Linear(widths[-1], outputs))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(F.relu(self.blocks(x)).sum((2, 3)))


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm whose scale and shift depend on the attribute values (de Vries et al., 2017; Miyato & Koyama,
    2018): per attribute, an embedding of each value adds to the scale (from 1) and to the shift (from 0). The noise
    passes through the network unmixed with the condition, which only modulates its features."""

    def __init__(self, channels: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scales = nn.ModuleList(nn.Embedding(n, channels) for n in sizes)
        self.shifts = nn.ModuleList(nn.Embedding(n, channels) for n in sizes)
        for table in [*self.scales, *self.shifts]:
            nn.init.zeros_(table.weight)  # starts as plain BatchNorm

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        scale = 1 + sum(table(labels[:, k]) for k, table in enumerate(self.scales))
        shift = sum(table(labels[:, k]) for k, table in enumerate(self.shifts))
        return self.norm(x) * scale[:, :, None, None] + shift[:, :, None, None]


def dcgan_init(module: nn.Module) -> None:
    """The DCGAN paper's initialisation: weights N(0, 0.02), BatchNorm scales N(1, 0.02), biases 0."""
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
        spectral = nn.utils.parametrize.is_parametrized(module, "weight")
        nn.init.normal_(module.parametrizations.weight.original if spectral else module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d) and module.affine:
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# ---- the models --------------------------------------------------------------------------------------------------


def _detached(logs: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().float() for k, v in logs.items()}


class GAN(GenerativeModel):
    """A DCGAN; conditioned on attributes when ``values`` (attribute → value names, in order) is not empty.

    ``embedding``: ``cbn`` leaves the noise alone and conditions every BatchNorm of the generator (its scale and
    shift, per value); ``concat`` puts one ``embed_dim``-sized embedding per attribute beside the noise; ``sum`` adds
    latent-sized embeddings to it. ``cls_weight`` weighs the auxiliary classification losses. ``twin`` adds the
    twin classifier of TAC-GAN (Gong et al., 2019): a second set of class heads that the discriminator trains on
    fakes and the generator plays against, which removes AC-GAN's pull towards easily classified, look-alike faces.
    With ``config.ema``, the Trainer keeps a moving average of the generator's weights, and a loaded model samples
    with it (``averaged``).
    """

    pixel_range = "symmetric"
    averaged = ("generator",)
    training_only = ("discriminator",)
    config: GANConfig

    def __init__(
        self,
        config: GANConfig,
        values: dict[str, list[str]] | None = None,
        embedding: str = "sum",
        embed_dim: int = 16,
        cls_weight: float = 1.0,
        twin: bool = False,
    ) -> None:
        super().__init__(config)
        self.values = {a: list(v) for a, v in (values or {}).items()}
        self.sizes = [len(v) for v in self.values.values()]
        self.cls_weight, self.twin = cls_weight, twin and bool(self.sizes)
        self.generator = Generator(config, self.sizes, embedding, embed_dim)
        # outputs: the real/fake logit, the class logits, and with ``twin`` the twin class logits
        outputs = 1 + sum(self.sizes) * (2 if self.twin else 1)
        spectral = config.d_norm == "spectral"
        self.discriminator: nn.Module = (
            ResidualDiscriminator(layer_widths(config), outputs)
            if config.d_arch == "resnet"
            else ConvDiscriminator(layer_widths(config), outputs, spectral=spectral, blur=config.d_blur)
        )
        self.generator.apply(dcgan_init)
        self.discriminator.apply(dcgan_init)
        self.adversarial = get_loss(config.gan_loss, "gan")

    @property
    def average_decay(self) -> float:
        return self.config.ema

    @property
    def channels_last_on_cpu(self) -> bool:
        return True  # measured: benchmarks/bench_layout.py, docs/results.md

    @torch.no_grad()
    def refresh_statistics(self, generator: torch.Generator) -> None:
        """The generator's BatchNorm statistics, averaged over ``STATISTICS_BATCHES`` batches of noise (and random
        conditions) drawn with its current weights: the averaged weights' own statistics."""
        norms = [m for m in self.generator.modules() if isinstance(m, nn.BatchNorm2d)]
        momenta, training = [m.momentum for m in norms], self.generator.training
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # a cumulative average over the batches below
        self.generator.train()
        try:
            for _ in range(STATISTICS_BATCHES):
                z = torch.randn(STATISTICS_BATCH, self.latent_dim, generator=generator).to(self.device)
                conditions = random_conditions(self.values, STATISTICS_BATCH, generator, None)
                self.generator(z, self.labels(conditions, STATISTICS_BATCH))
        finally:
            for m, momentum in zip(norms, momenta, strict=True):
                m.momentum = momentum
            self.generator.train(training)

    def upgrade_weights(self, weights: dict[str, Tensor]) -> dict[str, Tensor]:
        """Earlier GAN checkpoints keep the weight average as a submodule of the model, ``generator_ema``."""
        old, new = "generator_ema.", AVERAGE_PREFIX + "generator."
        return {(new + k.removeprefix(old) if k.startswith(old) else k): v for k, v in weights.items()}

    # -- latent and conditions ------------------------------------------------------------------------------------

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def condition_values(self) -> dict[str, list[str]]:
        return {a: list(v) for a, v in self.values.items()}

    def labels(self, conditions: dict[str, Sequence[int]] | None, n: int) -> Tensor | None:
        """``conditions`` (every attribute: one value index, or one per image) as an ``(n, K)`` long tensor."""
        if not self.values:
            return None
        conditions = conditions or {}
        missing = [a for a in self.values if a not in conditions]
        if missing:
            raise ConfigError(f"Give a value for every attribute of this model; missing: {', '.join(missing)}.")
        columns = []
        for a, size in zip(self.values, self.sizes, strict=True):
            c = torch.as_tensor(list(conditions[a]), dtype=torch.long).reshape(-1)
            c = c.expand(n) if len(c) == 1 else c
            if c.shape != (n,) or bool(((c < 0) | (c >= size)).any()):
                raise ConfigError(f"{a} needs 1 or {n} value indices in 0..{size - 1}; got {c.tolist()[:8]}.")
            columns.append(c)
        return torch.stack(columns, 1).to(self.device)

    def batch_labels(self, batch: Batch) -> Tensor | None:
        """The conditioned attributes' columns of ``batch.attrs`` (whose columns follow the data's schema)."""
        if not self.values:
            return None
        if batch.attrs is None:
            raise ConfigError("This GAN is conditional and trains on images with attributes; the batch has none.")
        schema = list(self.data_info.get("attributes") or self.values)
        return batch.attrs[:, [schema.index(a) for a in self.values]]

    # -- training -------------------------------------------------------------------------------------------------

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.config.beta1, self.config.beta2)
        return {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=self.config.lr, betas=betas),
            "discriminator": torch.optim.Adam(
                self.discriminator.parameters(), lr=self.config.d_lr or self.config.lr, betas=betas
            ),
        }

    def moves_averaged(self, step: int) -> bool:
        """Whether step ``step`` updates the generator: every ``d_steps``-th step does."""
        return (step + 1) % self.config.d_steps == 0

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        labels = self.batch_labels(batch)
        z = torch.randn(len(batch.x), self.latent_dim, device=batch.x.device)
        generator_step = self.moves_averaged(ctx.global_step)
        with ctx.autocast(), torch.set_grad_enabled(generator_step):  # only the generator's update needs its graph
            fake = self.generator(z, labels)
        logs = self._discriminator_step(batch.x, fake.detach(), labels, ctx)
        if generator_step:
            logs.update(self._generator_step(fake, labels, ctx))
        return logs

    def _classification(self, logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        """Cross-entropy of the class heads, averaged over attributes, and their mean accuracy."""
        losses, hits = [], []
        for k, part in enumerate(logits.float().split(self.sizes, dim=1)):
            losses.append(F.cross_entropy(part, labels[:, k]))
            hits.append((part.argmax(1) == labels[:, k]).float().mean())
        return torch.stack(losses).mean(), torch.stack(hits).mean()

    def _seen(self, x: Tensor) -> Tensor:
        """What the discriminator sees of ``x``: ``x`` differentiably augmented with ``config.d_augment``."""
        return diff_augment(x, self.config.d_augment)

    def _discriminator_step(
        self, x: Tensor, fake: Tensor, labels: Tensor | None, ctx: StepContext
    ) -> dict[str, Tensor]:
        penalise = self.config.r1 > 0 and ctx.global_step % self.config.r1_every == 0
        real = self._seen(x).detach().requires_grad_(penalise)
        with ctx.autocast():
            real_out, fake_out = self.discriminator(real), self.discriminator(self._seen(fake))
        adv = self.adversarial(real_out[:, :1], True, True) + self.adversarial(fake_out[:, :1], False, True)
        logs = {"loss_D": adv, "d_real": real_out[:, 0].float().mean(), "d_fake": fake_out[:, 0].float().mean()}
        if self.config.r1 > 0:
            c = self.config
            zero = torch.zeros((), device=x.device)
            logs["r1"] = r1_penalty(real_out[:, :1], real, c.r1, c.r1_every) if penalise else zero
            logs["loss_D"] = adv + logs["r1"]
        if labels is not None:
            n = sum(self.sizes)
            cls, acc = self._classification(real_out[:, 1 : 1 + n], labels)
            logs.update(loss_D=logs["loss_D"] + self.cls_weight * cls, adv_D=adv, cls_real=cls, acc_real=acc)
            if self.twin:  # the twin heads learn to tell the fakes' requested values
                twin, _ = self._classification(fake_out[:, 1 + n :], labels)
                logs.update(loss_D=logs["loss_D"] + self.cls_weight * twin, cls_twin=twin)
        ctx.backward(logs["loss_D"])
        ctx.step("discriminator")
        return _detached(logs)

    def _generator_step(self, fake: Tensor, labels: Tensor | None, ctx: StepContext) -> dict[str, Tensor]:
        self.discriminator.requires_grad_(False)  # this backward pass needs no discriminator weight gradients
        try:
            with ctx.autocast():
                out = self.discriminator(self._seen(fake))
            adv = self.adversarial(out[:, :1], True, False)
            logs = {"loss_G": adv}
            if labels is not None:
                n = sum(self.sizes)
                cls, _ = self._classification(out[:, 1 : 1 + n], labels)
                logs.update(loss_G=adv + self.cls_weight * cls, adv_G=adv, cls_fake=cls)
                if self.twin:  # ... and the generator plays against them
                    twin, _ = self._classification(out[:, 1 + n :], labels)
                    logs.update(loss_G=logs["loss_G"] - self.cls_weight * twin)
            ctx.backward(logs["loss_G"])
        finally:
            self.discriminator.requires_grad_(True)
        ctx.step("generator")
        return _detached(logs)

    # -- sampling ---------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def decode(self, z: Tensor, conditions: dict[str, Sequence[int]] | None = None) -> Tensor:
        """Images from noise (and conditions)."""
        z = z.to(self.device, torch.float32)
        return self.to_unit(self.generator(z, self.labels(conditions, len(z))).float())

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator, conditions: dict[str, Sequence[int]] | None = None) -> Tensor:
        z = torch.randn(n, self.latent_dim, generator=generator)
        return self.decode(z, random_conditions(self.values, n, generator, conditions))

    def preview(self, batch: Batch, generator: torch.Generator) -> list[Row]:
        """Real images, then three rows of samples from the same noise at every preview."""
        samples = self.sample(3 * PREVIEW_COLUMNS, generator).split(PREVIEW_COLUMNS)
        return [("real", self.to_unit(batch.x)), *(("samples", row) for row in samples)]


class DCGAN(GAN):
    """Unconditional DCGAN."""

    config: DCGANConfig


class ACGAN(GAN):
    """Auxiliary-classifier GAN conditioned on ``config.attributes``."""

    config: ACGANConfig

    def __init__(self, config: ACGANConfig) -> None:
        super().__init__(
            config, config.value_names(), config.embedding, config.embed_dim, config.cls_weight, config.twin
        )

    def preview(self, batch: Batch, generator: torch.Generator) -> list[Row]:
        """Real images, then one row per value of the first attribute (at most ``PREVIEW_ROWS``), every row from the
        same noise and other attributes: each column is one face across the values."""
        first, names = next(iter(self.values.items()))
        z = torch.randn(PREVIEW_COLUMNS, self.latent_dim, generator=generator)
        others = random_conditions(self.values, PREVIEW_COLUMNS, generator, {first: [0]})
        rows = range(min(len(names), PREVIEW_ROWS))
        drawn = [(f"{first}={names[v]}", self.decode(z, {**others, first: [v]})) for v in rows]
        return [("real", self.to_unit(batch.x)), *drawn]

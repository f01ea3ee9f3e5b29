"""CycleGAN networks, the image history pool, the LR schedule, and the CycleGAN's training and translation code.

Naming: ``G_AB`` translates domain A into domain B and ``G_BA`` back; ``D_A`` judges whether an image is a real A
image and ``D_B`` whether it is a real B one. Logged terms are named after the domain of the images they compare:
``cycle_A`` = λ_A·|G_BA(G_AB(a)) − a|, ``idt_A`` = λ_A·identity·|G_BA(a) − a|, ``adv_A`` = the adversarial loss of
``G_BA`` against ``D_A``, ``D_A`` = the loss of ``D_A``; the same with A and B swapped. (The reference implementation
names by network instead: its ``G_A``/``D_A`` are our ``G_AB``/``D_B``.)

The layers follow the reference PyTorch implementation (junyanz/pytorch-CycleGAN-and-pix2pix) exactly, so that its
weights convert by renaming alone (``genzoo.models.cyclegan.reference``): instance norm without affine parameters,
convolution biases only with instance norm, reflection padding in the ResNet, N(0, 0.02) initialisation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from genzoo.errors import CapabilityError
from genzoo.losses.gan import r1_penalty
from genzoo.models.base import Batch, GenerativeModel, Row, StepContext
from genzoo.models.cyclegan import CycleGANConfig, UnetCycleGANConfig
from genzoo.models.layers import blur_before
from genzoo.models.schedules import linear_decay
from genzoo.models.translator import Norm, ResnetGeneratorConfig, TranslatorConfig
from genzoo.registry import get_loss

CHANNELS = 3
MAX_MULT = 8  # channel multipliers stop growing at 8 × width, as in the reference
GanLossFn = Callable[[Tensor, bool, bool], Tensor]  # a registered "gan" loss: (prediction, real, for_discriminator)


# ---- building blocks ----------------------------------------------------------------------------------------------


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    """The reference's norms: instance norm without affine parameters or running statistics, batch norm, none."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    return nn.Identity()


def conv_bias(kind: Norm) -> bool:
    """Whether convolutions followed by a norm have a bias: only with instance norm (the reference's rule)."""
    return kind == "instance"


def conv_norm_relu(c_in: int, c_out: int, norm: Norm) -> nn.Sequential:
    """A stride-2 3×3 downsampling convolution, norm, ReLU."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=conv_bias(norm)), norm_layer(norm, c_out), nn.ReLU(True)
    )


def upsampling(c_in: int, c_out: int, norm: Norm, mode: str) -> nn.Sequential:
    """×2 upsampling, norm, ReLU: a transposed convolution (paper), or nearest resize then a 3×3 convolution."""
    bias = conv_bias(norm)
    if mode == "transpose":
        conv: list[nn.Module] = [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=bias)]
    else:
        conv = [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ReflectionPad2d(1),
            nn.Conv2d(c_in, c_out, 3, bias=bias),
        ]
    return nn.Sequential(*conv, norm_layer(norm, c_out), nn.ReLU(True))


class ResidualBlock(nn.Module):
    """``x + body(x)``; body: pad, 3×3 conv, norm, ReLU, (dropout), pad, 3×3 conv, norm (the reference's layout)."""

    def __init__(self, channels: int, norm: Norm, dropout: bool) -> None:
        super().__init__()
        bias = conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), norm_layer(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


# ---- generators and discriminator ---------------------------------------------------------------------------------


class ResnetGenerator(nn.Module):
    """7×7 stem, two stride-2 downsamplings, ``n_blocks`` residual blocks at ¼ size, two upsamplings, 7×7 head, tanh."""

    def __init__(self, config: ResnetGeneratorConfig) -> None:
        super().__init__()
        w, norm = config.width, config.norm
        self.stem = nn.Sequential(
            nn.ReflectionPad2d(3), nn.Conv2d(CHANNELS, w, 7, bias=conv_bias(norm)), norm_layer(norm, w), nn.ReLU(True)
        )
        self.down = nn.Sequential(conv_norm_relu(w, 2 * w, norm), conv_norm_relu(2 * w, 4 * w, norm))
        self.blocks = nn.Sequential(*[ResidualBlock(4 * w, norm, config.use_dropout) for _ in range(config.n_blocks)])
        self.up = nn.Sequential(
            upsampling(4 * w, 2 * w, norm, config.upsample), upsampling(2 * w, w, norm, config.upsample)
        )
        self.head = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(w, CHANNELS, 7), nn.Tanh())

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.up(self.blocks(self.down(self.stem(x)))))


def unet_upsampling(c_in: int, c_out: int, mode: str, *, bias: bool) -> list[nn.Module]:
    """The U-Net's ×2 upsampling: a 4×4 stride-2 transposed convolution (the reference), or a nearest-neighbour
    resize then a reflection-padded 3×3 convolution, whose output pixels all see the same kernel (no checkerboard)."""
    if mode == "transpose":
        return [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=bias)]
    return [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(c_in, c_out, 3, bias=bias)]


class UnetLevel(nn.Module):
    """One level of the U-Net: ``pre`` (LeakyReLU, none at the outermost), ``down`` (4×4 stride-2 conv, norm) and
    ``up`` (ReLU, ×2 upsampling, norm, optional dropout; tanh at the outermost)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        norm: Norm,
        *,
        outermost: bool,
        innermost: bool,
        dropout: bool,
        upsample: str = "transpose",
    ) -> None:
        super().__init__()
        bias = conv_bias(norm)
        self.pre: nn.Module = nn.Identity() if outermost else nn.LeakyReLU(0.2)
        down: list[nn.Module] = [nn.Conv2d(outer, inner, 4, stride=2, padding=1, bias=bias)]
        if not (outermost or innermost):
            down.append(norm_layer(norm, inner))
        self.down = nn.Sequential(*down)
        up_in, up_out = inner if innermost else 2 * inner, CHANNELS if outermost else outer
        up: list[nn.Module] = [nn.ReLU(), *unet_upsampling(up_in, up_out, upsample, bias=bias or outermost)]
        if outermost:
            up.append(nn.Tanh())
        else:
            up.append(norm_layer(norm, outer))
            if dropout:
                up.append(nn.Dropout(0.5))
        self.up = nn.Sequential(*up)


class UnetGenerator(nn.Module):
    """A U-Net of ``config.levels`` levels; level *i* works at ``image_size / 2**i`` with ``width·min(2**i, 8)``
    inner channels. Its depth follows the image size, so the innermost convolution makes a 1×1 map and no norm ever
    sees a 1×1 map (the reference's fixed depth fails below 128 px)."""

    def __init__(self, config: UnetCycleGANConfig) -> None:
        super().__init__()
        depth, w = config.levels, config.width

        def inner(i: int) -> int:
            return w * min(2**i, MAX_MULT)

        self.levels = nn.ModuleList(
            UnetLevel(
                CHANNELS if i == 0 else inner(i - 1),
                inner(i),
                config.norm,
                outermost=i == 0,
                innermost=i == depth - 1,
                dropout=config.use_dropout and 4 <= i < depth - 1,  # where the reference puts it
                upsample=config.upsample,
            )
            for i in range(depth)
        )

    def forward(self, x: Tensor) -> Tensor:
        levels = cast(list[UnetLevel], list(self.levels))
        skips, h = [], x
        for level in levels:
            h = level.pre(h)
            skips.append(h)  # activated, as the reference's in-place LeakyReLU leaves it (the up path's ReLU
            # makes that immaterial)
            h = level.down(h)
        for i in reversed(range(len(levels))):
            h = levels[i].up(h)
            if i > 0:
                h = torch.cat([skips[i], h], 1)
        return h


class PatchDiscriminator(nn.Module):
    """PatchGAN: ``disc_layers`` stride-2 4×4 convolutions, one stride-1, then a 1-channel map of patch logits.
    The layout (``model.N``) is the reference's ``NLayerDiscriminator``; ``disc_blur`` adds a ``Blur`` before each
    stride-2 convolution (``all``) or each but the first, on the image (``inner``); no weights."""

    def __init__(self, config: TranslatorConfig) -> None:
        super().__init__()
        w, n, norm = config.disc_width, config.disc_layers, config.norm
        bias = conv_bias(norm)
        blur = config.disc_blur
        layers: list[nn.Module] = [
            *blur_before(blur, CHANNELS, first=True),
            nn.Conv2d(CHANNELS, w, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for i in range(1, n + 1):
            prev, mult = mult, min(2**i, MAX_MULT)
            stride = 2 if i < n else 1
            layers += [
                *(blur_before(blur, w * prev) if stride == 2 else []),
                nn.Conv2d(w * prev, w * mult, 4, stride=stride, padding=1, bias=bias),
                norm_layer(norm, w * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(w * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class MultiScaleDiscriminator(nn.Module):
    """``disc_scales`` PatchGANs (pix2pixHD): the first reads the image, each next one the image averaged down to half
    the size of the one before, so that together they judge patches of several sizes. The output is ``(N, scales,
    L)``: each scale's flattened map of patch logits, every logit repeated so that all scales have the same ``L``
    (the least common multiple of their patch counts). A mean over the output, which every GAN loss and the R1
    penalty take, is then exactly the mean of the scales' own means: each scale weighs alike, as pix2pixHD's sum of
    per-scale losses does (up to the factor ``scales``)."""

    def __init__(self, config: TranslatorConfig) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(config) for _ in range(config.disc_scales))

    def forward(self, x: Tensor) -> Tensor:
        maps = []
        for i, discriminator in enumerate(self.scales):
            if i:
                x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)
            maps.append(discriminator(x).flatten(1))
        length = math.lcm(*(m.shape[1] for m in maps))
        return torch.stack([m.repeat_interleave(length // m.shape[1], dim=1) for m in maps], 1)


def patch_discriminator(config: TranslatorConfig) -> nn.Module:
    """One PatchGAN (``disc_scales`` 1: the reference's layout and weight names), else a multi-scale one."""
    return PatchDiscriminator(config) if config.disc_scales == 1 else MultiScaleDiscriminator(config)


def init_weights(module: nn.Module, std: float) -> None:
    """The reference's "normal" initialisation: conv weights N(0, std), batch-norm scales N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


# ---- image pool and LR schedule -----------------------------------------------------------------------------------


class ImagePool:
    """A history of generated images (Shrivastava et al.), as in the reference: until full, each image is stored and
    returned; then each image is, with probability ½, swapped with a random stored one (the stored one is returned),
    otherwise returned as is. The pool owns its random generator, so its draws are saved and restored exactly."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.count = 0
        self.images: Tensor | None = None
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, images: Tensor) -> Tensor:
        """The images to show the discriminator in place of ``images`` (detached, float32)."""
        images = images.detach().float()
        if self.size == 0:
            return images
        if self.images is None or self.images.device != images.device:
            self.images = torch.empty((self.size, *images.shape[1:]), device=images.device)
        out = []
        for image in images:
            if self.count < self.size:
                self.images[self.count] = image
                self.count += 1
                out.append(image)
            elif float(torch.rand((), generator=self.generator)) > 0.5:
                k = int(torch.randint(self.size, (), generator=self.generator))
                out.append(self.images[k].clone())
                self.images[k] = image
            else:
                out.append(image)
        return torch.stack(out)

    def state(self) -> dict[str, Any]:
        stored = None if self.images is None or self.count == 0 else self.images[: self.count].clone()
        return {"count": self.count, "images": stored, "rng": self.generator.get_state()}

    def load_state(self, state: dict[str, Any], device: torch.device) -> None:
        self.count = int(state["count"])
        self.generator.set_state(state["rng"])
        self.images = None
        stored = state["images"]
        if stored is not None:
            self.images = torch.empty((self.size, *stored.shape[1:]), device=device)
            self.images[: self.count] = stored.to(device)


def set_requires_grad(networks: Iterable[nn.Module], flag: bool) -> None:
    for net in networks:
        for p in net.parameters():
            p.requires_grad_(flag)


def l1(a: Tensor, b: Tensor) -> Tensor:
    return (a.float() - b.float()).abs().mean()


# ---- the model ----------------------------------------------------------------------------------------------------


class Translator(GenerativeModel):
    """What every translator shares: two generators, ``G_AB`` (domain A into B) and ``G_BA``, and two
    discriminators, ``D_A`` and ``D_B`` (PatchGANs, unless a family brings its own); choosing the generator for a
    target domain, translating, the optimisers (``G`` for the generators and any other trained head, ``D`` for the
    discriminators), the learning rate held and then decayed linearly, and the moving average of the generators'
    weights. Families add their training step."""

    config: TranslatorConfig
    pixel_range = "symmetric"
    averaged = ("G_AB", "G_BA")
    training_only: ClassVar[tuple[str, ...]] = ("D_A", "D_B")

    def __init__(
        self,
        config: TranslatorConfig,
        make_generator: Callable[[], nn.Module],
        make_discriminator: Callable[[], nn.Module] | None = None,
    ) -> None:
        super().__init__(config)
        self.G_AB = make_generator()
        self.G_BA = make_generator()
        discriminator = make_discriminator or (lambda: patch_discriminator(config))
        self.D_A = discriminator()
        self.D_B = discriminator()
        self.gan_loss = cast(GanLossFn, get_loss(config.gan_loss, "gan"))

    @property
    def average_decay(self) -> float:
        return self.config.ema

    @property
    def average_follows_lr(self) -> bool:
        return self.config.ema_follows_lr

    @property
    def weight_decay(self) -> float:
        """Adam's weight decay of every network (0: none, the CycleGAN's and CUT's)."""
        return 0.0

    # ---- domains ---------------------------------------------------------------------------------------------------

    @property
    def domains(self) -> tuple[str, str]:
        """The names of domains A and B (``("A", "B")`` for a model that has not seen data)."""
        return self.config.domains or ("A", "B")

    def target_index(self, to: str) -> int:
        """0 when ``to`` names domain A, 1 for domain B (exact name first, then ignoring case)."""
        for match in (lambda d: d == to, lambda d: d.casefold() == to.casefold()):
            hits = [i for i, d in enumerate(self.domains) if match(d)]
            if len(hits) == 1:
                return hits[0]
        a, b = self.domains
        name = self.model_name or type(self).__name__
        raise CapabilityError(
            f"{name} translates between the domains {a!r} and {b!r}; {to!r} is neither. "
            f"Use --to {b} (translate {a} images into {b}) or --to {a} (the other way)."
        )

    def generator_to(self, to: str) -> nn.Module:
        """The generator whose outputs are in domain ``to``."""
        index = self.target_index(to)
        key = ("G_BA", "G_AB")[index]
        imported = self.data_info.get("imported")
        if isinstance(imported, dict) and key in imported and not imported[key]:
            source = self.domains[1 - index]
            raise CapabilityError(
                f"These weights were imported with only one reference generator, which does not translate "
                f"{source} into {self.domains[index]}. Import the reference's other generator file too "
                f"(`genzoo import-weights … --reverse latest_net_G_B.pth`)."
            )
        return self.G_AB if index == 1 else self.G_BA

    def cannot(self, what: str) -> CapabilityError:
        a, b = self.domains
        name = self.model_name or type(self).__name__
        return CapabilityError(
            f"{name} cannot {what}: it is a translator, it turns {a} images into {b} and back rather than drawing "
            f"images from noise. Use `genzoo translate {name} IMAGE… --to {b}` (or --to {a})."
        )

    # ---- sampling protocol -----------------------------------------------------------------------------------------

    @torch.no_grad()
    def translate(self, x: Tensor, to: str) -> Tensor:
        """``[0, 1]`` images (NCHW) of one domain, translated into domain ``to`` (either name)."""
        generator = self.generator_to(to)
        return self.to_unit(generator(self.from_unit(x.to(self.device))).float())

    # ---- training protocol -----------------------------------------------------------------------------------------

    def trained_by_g(self) -> Iterator[nn.Parameter]:
        """The parameters the ``G`` optimiser trains: both generators (and any head a family adds)."""
        return itertools.chain(self.G_AB.parameters(), self.G_BA.parameters())

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        c = self.config
        betas = (c.beta1, c.beta2)
        discriminators = itertools.chain(self.D_A.parameters(), self.D_B.parameters())
        fused = self.device.type in {"cpu", "cuda"}  # one kernel for all parameters: much faster than a loop
        return {
            "G": torch.optim.Adam(self.trained_by_g(), c.lr, betas, weight_decay=self.weight_decay, fused=fused),
            "D": torch.optim.Adam(discriminators, c.lr, betas, weight_decay=self.weight_decay, fused=fused),
        }

    def configure_schedulers(
        self, optimizers: dict[str, torch.optim.Optimizer], total_steps: int
    ) -> dict[str, torch.optim.lr_scheduler.LRScheduler]:
        return {
            k: torch.optim.lr_scheduler.LambdaLR(o, linear_decay(total_steps, self.config.decay_start))
            for k, o in optimizers.items()
        }

    def _adversarial_d(self, d: nn.Module, real: Tensor, fake: Tensor) -> tuple[Tensor, Tensor]:
        """½ (the discriminator's loss on real images + on (detached) fakes), and its logits on the real images."""
        real_logits = d(real)
        return 0.5 * (self.gan_loss(real_logits, True, True) + self.gan_loss(d(fake), False, True)), real_logits

    def _r1_reals(self, ctx: StepContext, *reals: Tensor) -> list[Tensor]:
        """The real images a discriminator step sees: detached, and requiring grad on the steps where the R1
        penalty is due (every ``r1_every`` steps when ``r1`` > 0), so that ``_r1`` can differentiate through them."""
        c = self.config
        due = c.r1 > 0 and ctx.global_step % c.r1_every == 0
        return [x.detach().requires_grad_(due) for x in reals]

    def _r1(self, *pairs: tuple[Tensor, Tensor]) -> dict[str, Tensor]:
        """``{"r1": penalty}`` summed over (real images, the discriminator's logits on them) pairs: zero on the steps
        it is not due, and no entry at all when ``r1`` is 0, so that a run logs it only when it uses it."""
        c = self.config
        if c.r1 == 0:
            return {}
        due = [(x, out) for x, out in pairs if x.requires_grad]
        if not due:
            return {"r1": torch.zeros((), device=pairs[0][0].device)}
        return {"r1": torch.stack([r1_penalty(out, x, c.r1, c.r1_every) for x, out in due]).sum()}


class CycleGAN(Translator):
    """A translator trained with cycle consistency (Zhu et al., 2017): ``G_BA(G_AB(a)) ≈ a`` and back, identity
    losses, and history pools of fakes for the discriminators."""

    config: CycleGANConfig

    def __init__(self, config: CycleGANConfig, make_generator: Callable[[], nn.Module]) -> None:
        super().__init__(config, make_generator)
        init_weights(self, config.init_std)
        seed_a, seed_b = torch.randint(2**62, (2,)).tolist()
        self.pool_A = ImagePool(config.pool_size, seed_a)
        self.pool_B = ImagePool(config.pool_size, seed_b)

    def train_step(self, batch: Batch, ctx: StepContext) -> dict[str, Tensor]:
        if batch.y is None:
            raise CapabilityError("A CycleGAN trains on two domains; the batch has no target images (data.to).")
        real_a, real_b = batch.x, batch.y
        g_logs, fake_a, fake_b = self._generator_step(real_a, real_b, ctx)
        d_logs = self._discriminator_step(real_a, real_b, fake_a, fake_b, ctx)
        return {**g_logs, **d_logs}

    def _generator_step(
        self, real_a: Tensor, real_b: Tensor, ctx: StepContext
    ) -> tuple[dict[str, Tensor], Tensor, Tensor]:
        """One Adam step of both generators on adversarial + cycle + identity losses; D is frozen meanwhile."""
        c = self.config
        set_requires_grad((self.D_A, self.D_B), False)
        with ctx.autocast():
            if c.identity > 0:  # G_AB(b) should leave B images unchanged, G_BA(a) A images
                fake_b, idt_b = self._pair(self.G_AB, real_a, real_b)
                fake_a, idt_a = self._pair(self.G_BA, real_b, real_a)
            else:
                fake_b, fake_a = self.G_AB(real_a), self.G_BA(real_b)
            rec_a = self.G_BA(fake_b)
            rec_b = self.G_AB(fake_a)
            logs = {
                "adv_A": self.gan_loss(self.D_A(fake_a), True, False),
                "adv_B": self.gan_loss(self.D_B(fake_b), True, False),
                "cycle_A": l1(rec_a, real_a) * c.lambda_a,
                "cycle_B": l1(rec_b, real_b) * c.lambda_b,
            }
            if c.identity > 0:
                logs["idt_A"] = l1(idt_a, real_a) * (c.lambda_a * c.identity)
                logs["idt_B"] = l1(idt_b, real_b) * (c.lambda_b * c.identity)
        loss = torch.stack([v.float() for v in logs.values()]).sum()
        ctx.backward(loss)
        ctx.step("G")
        set_requires_grad((self.D_A, self.D_B), True)
        logs.setdefault("idt_A", torch.zeros((), device=loss.device))
        logs.setdefault("idt_B", torch.zeros((), device=loss.device))
        return {"loss_G": loss.detach(), **{k: v.detach() for k, v in logs.items()}}, fake_a, fake_b

    def _discriminator_step(
        self, real_a: Tensor, real_b: Tensor, fake_a: Tensor, fake_b: Tensor, ctx: StepContext
    ) -> dict[str, Tensor]:
        """One Adam step of both discriminators on real images and pooled (older) fakes."""
        pooled_a = self.pool_A.query(fake_a)
        pooled_b = self.pool_B.query(fake_b)
        real_a, real_b = self._r1_reals(ctx, real_a, real_b)
        ctx.zero_grad("D")
        with ctx.autocast():
            real_a_logits, fake_a_logits = self._pair(self.D_A, real_a, pooled_a)
            real_b_logits, fake_b_logits = self._pair(self.D_B, real_b, pooled_b)
            d_a = 0.5 * (self.gan_loss(real_a_logits, True, True) + self.gan_loss(fake_a_logits, False, True))
            d_b = 0.5 * (self.gan_loss(real_b_logits, True, True) + self.gan_loss(fake_b_logits, False, True))
        r1 = self._r1((real_a, real_a_logits), (real_b, real_b_logits))
        ctx.backward(torch.stack([d_a, d_b, *r1.values()]).sum())
        ctx.step("D")
        return {"D_A": d_a.detach(), "D_B": d_b.detach(), **{k: v.detach() for k, v in r1.items()}}

    def _pair(self, net: nn.Module, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """``net(x), net(y)``: in one call on the concatenated batch when every norm works per image (instance
        norm or none: the same results, and larger batches run faster), in two calls with batch norm."""
        if self.config.norm == "batch":
            return net(x), net(y)
        both = net(torch.cat([x, y.to(x.dtype)]))
        return both[: len(x)], both[len(x) :]

    def extra_state(self) -> dict[str, Any]:
        return {"pool_A": self.pool_A.state(), "pool_B": self.pool_B.state()}

    def load_extra_state(self, state: Any) -> None:
        if state:
            self.pool_A.load_state(state["pool_A"], self.device)
            self.pool_B.load_state(state["pool_B"], self.device)

    @torch.no_grad()
    def preview(self, batch: Batch, generator: torch.Generator) -> list[Row]:
        """Rows: real A, fake B, reconstructed A, real B, fake A, reconstructed B (one face per column)."""
        if batch.y is None:
            return []
        a, b = self.domains
        fake_b = self.G_AB(batch.x)
        fake_a = self.G_BA(batch.y)
        rows = (
            (a, batch.x), (f"to {b}", fake_b), (f"back to {a}", self.G_BA(fake_b)),
            (b, batch.y), (f"to {a}", fake_a), (f"back to {b}", self.G_AB(fake_a)),
        )  # fmt: skip
        return [(label, self.to_unit(r.float())) for label, r in rows]

"""The CycleGAN family: networks, losses, pool, schedule, training and exact resume, translation, reference weights."""

from __future__ import annotations

import datetime
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.cli import app
from genzoo.errors import CapabilityError, CheckpointError, ConfigError
from genzoo.images import read_grid
from genzoo.models.base import Batch
from genzoo.models.cyclegan.model import ImagePool
from genzoo.registry import get_loss
from genzoo.runs import RunDir
from genzoo.trainer import StepContext
from tests.conftest import CG_TINY, cli_fails, cli_ok

LOGGED = {"loss_G", "adv_A", "adv_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B"}
NETWORKS = ("G_AB", "G_BA", "D_A", "D_B")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cg_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 8-step cyclegan-resnet run, cartoon → anime at 32 px."""
    out = tmp_path_factory.mktemp("cg") / "run"
    genzoo.train("cyclegan-resnet", data="cartoon", to="anime", overrides=CG_TINY, steps=8, out=out)
    return out


def _tiny(name: str, size: int = 32, **fields: Any) -> Any:
    base = {"image_size": size, "width": 4, "disc_width": 4, **({"n_blocks": 1} if name == "cyclegan-resnet" else {})}
    return genzoo.create(name, **{**base, **fields})


_ok, _fails = cli_ok, cli_fails


# ---- networks --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["cyclegan-resnet", "cyclegan-unet"])
@pytest.mark.parametrize("size", [32, 64, 128])
def test_generators_and_discriminators_at_every_size(name: str, size: int) -> None:
    model = _tiny(name, size).train()  # training mode: an instance norm on a 1×1 map would raise here
    x = torch.rand(1, 3, size, size) * 2 - 1
    for g in (model.G_AB, model.G_BA):
        y = g(x)
        assert y.shape == x.shape and y.abs().max() <= 1
    patches = size // 8 - 2  # three stride-2 layers, then two 4×4 stride-1 convolutions
    assert model.D_A(x).shape == (1, 1, patches, patches)
    if name == "cyclegan-unet":
        assert len(model.G_AB.levels) == int(math.log2(size))


def test_resnet_options() -> None:
    model = _tiny("cyclegan-resnet", n_blocks=3, upsample="resize", width=6)
    assert len(model.G_AB.blocks) == 3
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.G_AB.modules())
    assert model.G_AB(torch.zeros(2, 3, 32, 32)).shape == (2, 3, 32, 32)
    assert model.G_AB.stem[1].out_channels == 6
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.weight.numel() > 1000]
    assert all(abs(float(c.weight.detach().std()) - 0.02) < 0.005 for c in convs)  # N(0, 0.02)
    assert not any(isinstance(m, nn.InstanceNorm2d) and m.affine for m in model.modules())


def test_unet_resize_upsampling() -> None:
    """upsample=resize: no transposed convolution left, the same shapes, the output still in [-1, 1]."""
    model = _tiny("cyclegan-unet", upsample="resize", width=4)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.G_AB.modules())
    assert sum(isinstance(m, nn.Upsample) for m in model.G_AB.modules()) == len(model.G_AB.levels)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = model.G_AB(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    plain = _tiny("cyclegan-unet", width=4)
    assert {k for k in plain.state_dict() if "up." in k} != {k for k in model.state_dict() if "up." in k}
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in plain.G_AB.modules()) == len(plain.G_AB.levels)


def test_blurred_discriminator_is_deaf_to_a_one_pixel_checkerboard() -> None:
    """``disc_blur`` puts a fixed binomial blur before each stride-2 convolution (``all``) or each but the image's
    (``inner``): no new weights, the same map of patch logits, and a one-pixel checkerboard (the pattern a stride's
    gradient is made of) is filtered out."""
    from genzoo.models.layers import Blur

    flat = torch.full((1, 2, 8, 8), 0.3)
    checker = (torch.arange(8)[:, None] + torch.arange(8)[None, :]) % 2 * 2 - 1.0
    assert torch.allclose(Blur(2)(flat), flat)
    assert Blur(2)(flat + checker)[..., 1:-1, 1:-1].sub(0.3).abs().max() < 1e-6  # borders are reflection-padded
    plain = _tiny("cyclegan-resnet")
    for blur, count in [("all", 3), ("inner", 2)]:  # the image and two strided layers; the strided layers only
        blurred = _tiny("cyclegan-resnet", disc_blur=blur)
        shapes = [[tuple(t.shape) for t in net.state_dict().values()] for net in (plain.D_A, blurred.D_A)]
        assert shapes[0] == shapes[1]  # the same weights (the blurs hold none; they shift the layers' indices)
        assert sum(isinstance(m, Blur) for m in blurred.D_A.modules()) == count
        assert isinstance(blurred.D_A.model[0], Blur) == (blur == "all")
        x = torch.rand(2, 3, 32, 32) * 2 - 1
        assert blurred.D_A(x).shape == plain.D_A(x).shape


def test_a_multi_scale_discriminator_weighs_each_scale_alike(tmp_path: Path) -> None:
    """``disc_scales`` PatchGANs per domain, the n-th reading the image at 1 / 2ⁿ⁻¹ of its size; their maps
    flattened and repeated to one length, so that the mean of the output is exactly the mean of the scales' own
    means. One scale is the reference's PatchGAN, weight names and all."""
    from genzoo.models.cyclegan.model import MultiScaleDiscriminator, PatchDiscriminator

    plain = _tiny("cyclegan-resnet", size=64, disc_layers=2)
    assert isinstance(plain.D_A, PatchDiscriminator) and next(iter(plain.D_A.state_dict())) == "model.0.weight"
    model = _tiny("cyclegan-resnet", size=64, disc_layers=2, disc_scales=2)
    assert isinstance(model.D_A, MultiScaleDiscriminator) and len(model.D_A.scales) == 2
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    out = model.D_A(x)
    fine = model.D_A.scales[0](x)
    coarse = model.D_A.scales[1](torch.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
    assert (fine.shape[-1], coarse.shape[-1]) == (14, 6)  # 196 and 36 patches: 1,764 logits a scale
    assert out.shape == (2, 2, 1764) and torch.equal(out[:, 0, ::9], fine.flatten(1))
    assert torch.allclose(out.mean(), (fine.mean() + coarse.mean()) / 2)
    with pytest.raises(ConfigError, match="disc_layers=3 at 2 scales needs images of at least 64 px"):
        genzoo.create("cyclegan-resnet", image_size=32, disc_scales=2)
    overrides = [*CG_TINY, "disc_layers=2", "disc_scales=2"]
    run = genzoo.train("cyclegan-resnet", data="cartoon", to="anime", overrides=overrides, steps=2, out=tmp_path / "r")
    weights = checkpoint.load_tensors(run.run_dir / "model.safetensors")
    assert any(k.startswith("D_A.scales.1.") for k in weights)
    assert np.isfinite(json.loads((run.run_dir / "summary.json").read_text())["heldout"]["translation"][
        "cartoon->anime"]["fd"])  # fmt: skip
    cut = _tiny("cut", size=64, disc_layers=2, disc_scales=2)
    assert cut.D_A(x).shape == out.shape


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match=r"registered gan losses: .*lsgan"):
        genzoo.create("cyclegan-resnet", gan_loss="nope")
    with pytest.raises(ConfigError, match="depth=6 would downsample 32-px images"):
        genzoo.create("cyclegan-unet", image_size=32, depth=6)
    with pytest.raises(ConfigError, match="disc_layers=4 needs images of at least 64 px"):
        genzoo.create("cyclegan-resnet", image_size=32, disc_layers=4)
    with pytest.raises(ConfigError, match="ema=0 keeps none; set ema too"):
        genzoo.create("cyclegan-resnet", ema_follows_lr=True)  # its default ema is 0: nothing would follow
    genzoo.create("cyclegan-unet", ema_follows_lr=True)  # the U-Net averages by default
    config = genzoo.create("cyclegan-resnet").config
    adapted = config.adapt_to_data({"domains": ["cartoon", "anime"]})
    assert adapted.domains == ("cartoon", "anime") and adapted.adapt_to_data({"domains": ["x", "y"]}) == adapted


# ---- losses, pool, schedule --------------------------------------------------------------------------------------


def test_gan_losses_on_simple_inputs() -> None:
    ones, zeros, p = torch.ones(2, 1, 3, 3), torch.zeros(2, 1, 3, 3), torch.tensor([-2.0, 0.5, 3.0])
    lsgan, vanilla, hinge = (get_loss(n, "gan") for n in ("lsgan", "vanilla", "hinge"))
    assert lsgan(ones, True).item() == 0 and lsgan(zeros, False).item() == 0 and lsgan(ones, False).item() == 1
    assert lsgan(p, True).item() == pytest.approx(((p - 1) ** 2).mean().item())
    assert vanilla(zeros, True).item() == pytest.approx(math.log(2))
    assert vanilla(torch.full((4,), 30.0), True).item() == pytest.approx(0, abs=1e-6)
    assert hinge(p, True, True).item() == pytest.approx((3 + 0.5 + 0) / 3)
    assert hinge(p, False, True).item() == pytest.approx((0 + 1.5 + 4) / 3)
    assert hinge(p, True, False).item() == pytest.approx(-p.mean().item())


def test_image_pool() -> None:
    x = torch.rand(3, 3, 4, 4)
    assert torch.equal(ImagePool(0, 0).query(x), x)
    pool = ImagePool(4, seed=1)
    assert torch.equal(pool.query(x), x) and pool.count == 3  # not full: returned as they are, and stored
    stored = [pool.query(torch.full((1, 3, 4, 4), 9.0))]  # the fourth fills it
    assert pool.count == 4 and torch.equal(stored[0], torch.full((1, 3, 4, 4), 9.0))
    before = pool.images.clone()
    saved = pool.state()
    new = torch.full((16, 3, 4, 4), -1.0)
    out = pool.query(new)
    olds = [i for i in range(16) if not torch.equal(out[i], new[i])]
    assert 3 <= len(olds) <= 13  # each image is swapped with probability 1/2
    assert all(any(torch.equal(out[i], b) for b in before) for i in olds)  # swapped out: an image stored earlier
    assert not torch.equal(pool.images, before) and (pool.images == -1).any()
    again = ImagePool(4, seed=99)
    again.load_state(saved, torch.device("cpu"))
    assert torch.equal(again.query(new), out) and torch.equal(again.images, pool.images)  # exact restore


def test_lr_constant_then_linear_to_zero() -> None:
    model = _tiny("cyclegan-resnet", decay_start=0.5)
    optimizers = model.configure_optimizers()
    schedulers = model.configure_schedulers(optimizers, 100)
    lrs = []
    for _ in range(100):
        lrs.append(optimizers["G"].param_groups[0]["lr"])
        assert optimizers["D"].param_groups[0]["lr"] == lrs[-1]
        optimizers["G"].step()
        optimizers["D"].step()
        for s in schedulers.values():
            s.step()
    assert lrs[:51] == pytest.approx([2e-4] * 51)
    assert lrs[75] == pytest.approx(1e-4) and lrs[99] == pytest.approx(2e-4 / 50)
    assert all(a > b for a, b in itertools.pairwise(lrs[50:]))
    assert optimizers["G"].param_groups[0]["lr"] == pytest.approx(0)


def test_generator_step_leaves_discriminators_alone() -> None:
    torch.manual_seed(0)
    model = _tiny("cyclegan-resnet").train()
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), None, 10)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a, b = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    model._generator_step(a, b, ctx)
    after = model.state_dict()
    for net in NETWORKS:
        changed = any(not torch.equal(before[k], after[k]) for k in after if k.startswith(net + "."))
        assert changed == net.startswith("G"), net
    assert all(p.grad is None and p.requires_grad for p in model.D_A.parameters())
    logs = model.train_step(Batch(a, b), ctx)
    assert set(logs) == LOGGED and all(torch.isfinite(v) for v in logs.values())
    assert all(not torch.equal(before[k], model.state_dict()[k]) for k in before if k.startswith("D_A."))


@pytest.mark.parametrize("name", ["cyclegan-resnet", "cyclegan-unet", "cut"])
def test_r1_penalises_the_discriminators_on_its_steps_only(name: str) -> None:
    """With ``r1`` > 0 a translator logs the penalty, positive on every ``r1_every``-th step and zero between; the
    penalty changes the discriminators' update (against the same step without it) and not the generators'."""
    a, b = torch.rand(2, 3, 32, 32) * 2 - 1, torch.rand(2, 3, 32, 32) * 2 - 1
    extra = {"n_blocks": 1, "nce_patches": 16, "nce_dim": 8} if name == "cut" else {}
    after = {}
    for r1 in (0.0, 10.0):
        torch.manual_seed(0)
        model = _tiny(name, **extra, r1=r1, r1_every=2).train()
        ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), None, 10)
        logs = []
        for step in (1, 2):
            ctx.begin(step)
            logs.append(model.train_step(Batch(a, b), ctx))
        after[r1] = {k: v.clone() for k, v in model.state_dict().items()}
        if r1 == 0:
            assert all("r1" not in line for line in logs)  # no penalty, no column in metrics.jsonl
        else:
            assert logs[0]["r1"] == 0 and logs[1]["r1"] > 0 and torch.isfinite(logs[1]["r1"])
    changed = {k for k, v in after[0.0].items() if not torch.equal(v, after[10.0][k])}
    assert changed and all(k.startswith(("D_A.", "D_B.")) for k in changed)
    assert any(k.startswith("D_A.") for k in changed) and any(k.startswith("D_B.") for k in changed)


# ---- training --------------------------------------------------------------------------------------------------------


def test_training_logs_every_term_and_updates_all_networks(cg_run: Path) -> None:
    run = RunDir(cg_run)
    metrics = run.read_metrics()
    assert [m["step"] for m in metrics] == [2, 4, 6, 8]
    for line in metrics:
        assert set(line) >= LOGGED and all(math.isfinite(line[k]) for k in LOGGED)
        assert line["loss_G"] == pytest.approx(sum(line[k] for k in LOGGED - {"loss_G", "D_A", "D_B"}), rel=1e-4)
    first = checkpoint.load_tensors(run.checkpoint_files()[0])
    final = checkpoint.load_tensors(run.weights)
    for net in NETWORKS:
        assert any(not torch.equal(first[k], final[k]) for k in final if k.startswith(net + ".")), net
    header = checkpoint.read_header(run.weights)
    assert header.config["domains"] == ["cartoon", "anime"] and header.extra["domains"] == ["cartoon", "anime"]
    assert (cg_run / "curves.png").is_file() and (cg_run / "previews" / "step-0000008.png").is_file()
    preview = read_grid(cg_run / "previews" / "step-0000008.png")
    assert preview is not None and preview.box[3] == 2 * (6 * 34 + 2)  # six rows, drawn at twice the size
    assert preview.rows == ["cartoon", "to anime", "back to cartoon", "anime", "to cartoon", "back to anime"]
    # Each direction: source, translated, and (the built-in held-out faces being paired) the ground truth.
    grid = read_grid(cg_run / "translations.png")
    assert grid is not None
    assert grid.rows == ["cartoon", "to anime", "anime (truth)", "anime", "to cartoon", "cartoon (truth)"]
    x, y, w, h = grid.box
    assert (w, h) == (2 * (8 * 34 + 2), 2 * (6 * 34 + 2))
    translations = np.asarray(Image.open(cg_run / "translations.png"))[y : y + h, x : x + w]
    tile = 2 * 34
    assert np.array_equal(translations[:tile], translations[5 * tile : 6 * tile])  # cartoon source = truth of B → A
    assert (np.asarray(Image.open(cg_run / "translations.png"))[y : y + h, :x] < 128).any()  # the labels are drawn


def test_resume_is_exact(cg_run: Path, tmp_path: Path) -> None:
    """A run stopped after its step-4 checkpoint and resumed ends exactly as the uninterrupted 8-step run.

    (Stopped, not a 4-step run extended: the LR schedule depends on the run's length.)"""
    import shutil

    stopped = tmp_path / "stopped"
    shutil.copytree(cg_run, stopped)
    for leftover in ("model.safetensors", "summary.json", "checkpoints/step-0000008.safetensors"):
        (stopped / leftover).unlink()
    resumed = genzoo.train(resume=stopped)
    assert resumed.steps == 8
    a, b = checkpoint.load_tensors(cg_run / "model.safetensors"), checkpoint.load_tensors(stopped / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    sa = checkpoint.load_state(RunDir(cg_run).checkpoint_files()[-1])
    sb = checkpoint.load_state(RunDir(stopped).checkpoint_files()[-1])
    for pool in ("pool_A", "pool_B"):
        assert sa["model"][pool]["count"] == 6
        assert torch.equal(sa["model"][pool]["images"], sb["model"][pool]["images"])
        assert torch.equal(sa["model"][pool]["rng"], sb["model"][pool]["rng"])
    assert sa["schedulers"] == sb["schedulers"]

    def without_time(run: Path) -> list[dict[str, object]]:
        return [{k: v for k, v in m.items() if k != "seconds"} for m in RunDir(run).read_metrics()]

    assert without_time(stopped) == without_time(cg_run)


def test_training_without_a_target_domain_says_to_pass_to(tmp_path: Path, runner: CliRunner) -> None:
    with pytest.raises(ConfigError, match="--to"):
        genzoo.train("cyclegan-unet", data="cartoon", overrides=CG_TINY[:3], steps=2, out=tmp_path / "x")
    assert "--to anime" in _fails(runner, "train", "cyclegan-resnet", "--steps", "2", "--out", str(tmp_path / "y"))
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


# ---- translation -----------------------------------------------------------------------------------------------------


def test_translate_cli_both_ways(cg_run: Path, tmp_path: Path, runner: CliRunner) -> None:
    _ok(runner, "data", "export", "cartoon", str(tmp_path / "faces"), "-n", "3", "--size", "64")
    face = tmp_path / "faces" / "00000.png"
    _ok(runner, "translate", str(cg_run), str(face), "--to", "anime", "--out", str(tmp_path / "one.png"))
    out = Image.open(tmp_path / "one.png")
    assert out.size == (32, 32)
    model = genzoo.load(cg_run)
    from genzoo.data.folder import load_image
    from genzoo.images import to_uint8
    from genzoo.models.base import image_tensor

    expected = to_uint8(model.translate(image_tensor(np.array(load_image(face, 32)[None])), "anime"))[0]
    assert np.abs(expected.astype(int) - np.asarray(out, dtype=int)).max() <= 1
    # a folder, the other way, with a grid
    _ok(runner, "translate", str(cg_run), str(tmp_path / "faces"), "--to", "cartoon", "--out", str(tmp_path / "back"))
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    # an ordinary photo-sized JPEG, cropped by default, its own size with --keep-size
    photo = tmp_path / "photo.jpg"
    Image.effect_mandelbrot((640, 480), (-2, -1.5, 1, 1.5), 50).convert("RGB").save(photo)
    _ok(runner, "translate", str(cg_run), str(photo), "--to", "anime", "--out", str(tmp_path / "p.png"))
    assert Image.open(tmp_path / "p.png").size == (32, 32)
    _ok(runner, "translate", str(cg_run), str(photo), "--to", "anime", "--keep-size", "--out", str(tmp_path / "k.png"))
    assert Image.open(tmp_path / "k.png").size == (640, 480)
    text = _fails(
        runner, "translate", str(cg_run), str(photo), str(face), "--to", "anime", "--out", str(tmp_path / "x.png")
    )
    assert "give a folder" in text


def test_translate_replaces_nothing_unasked(cg_run: Path, tmp_path: Path, runner: CliRunner) -> None:
    face = tmp_path / "f.png"
    Image.new("RGB", (32, 32), "white").save(face)
    out = tmp_path / "out"
    _ok(
        runner,
        "translate",
        str(cg_run),
        str(face),
        "--to",
        "anime",
        "--out",
        str(out),
        "--grid",
        str(tmp_path / "g.png"),
    )
    assert read_grid(tmp_path / "g.png").rows == ["input", "to anime"]  # type: ignore[union-attr]
    written = (out / "f.png").read_bytes()
    (out / "f.png").write_bytes(b"mine")  # the user's own file now stands there
    text = _fails(runner, "translate", str(cg_run), str(face), "--to", "cartoon", "--out", str(out))
    assert f"would replace {out / 'f.png'}" in text and "--overwrite" in text and "Nothing was written" in text
    assert (out / "f.png").read_bytes() == b"mine"
    text = _fails(runner, "translate", str(cg_run), str(face), "--to", "anime", "--grid", str(tmp_path / "g.png"),
                  "--out", str(tmp_path / "fresh"))  # fmt: skip
    assert f"would replace {tmp_path / 'g.png'}" in text and not (tmp_path / "fresh").exists()
    shown = _ok(runner, "translate", str(cg_run), str(face), "--to", "anime", "--out", str(out), "--overwrite")
    assert "replaced 1 file written before" in shown and (out / "f.png").read_bytes() == written


def test_translate_refusals(cg_run: Path, tmp_path: Path, runner: CliRunner) -> None:
    face = tmp_path / "f.png"
    Image.new("RGB", (32, 32), "white").save(face)
    text = _fails(runner, "translate", str(cg_run), str(face), "--to", "zebra")
    assert "'cartoon'" in text and "'anime'" in text and "zebra" in text
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image at all")
    assert "Cannot use the image" in _fails(runner, "translate", str(cg_run), str(bad), "--to", "anime")
    text = _fails(runner, "sample", str(cg_run), "--out", str(tmp_path / "s.png"))
    assert "cannot sample" in text and "translate" in text
    with pytest.raises(CapabilityError, match="translat"):
        genzoo.sample(genzoo.load(cg_run), 2)


# ---- reference weights -----------------------------------------------------------------------------------------------
# The reference architecture (junyanz/pytorch-CycleGAN-and-pix2pix, models/networks.py), written again here.


def _ref_norm(kind: str) -> Any:
    if kind == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    return lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)


class RefResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: Any, use_dropout: bool, use_bias: bool) -> None:
        super().__init__()
        block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=use_bias), norm(dim), nn.ReLU(True)]
        if use_dropout:
            block += [nn.Dropout(0.5)]
        block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, padding=0, bias=use_bias), norm(dim)]
        self.conv_block = nn.Sequential(*block)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class RefResnetGenerator(nn.Module):
    def __init__(self, ngf: int, norm_kind: str, use_dropout: bool, n_blocks: int) -> None:
        super().__init__()
        norm, use_bias = _ref_norm(norm_kind), norm_kind == "instance"
        model = [nn.ReflectionPad2d(3), nn.Conv2d(3, ngf, 7, padding=0, bias=use_bias), norm(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2**i
            model += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                norm(ngf * mult * 2),
                nn.ReLU(True),
            ]
        model += [RefResnetBlock(ngf * 4, norm, use_dropout, use_bias) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            model += [
                nn.ConvTranspose2d(
                    ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias
                ),
                norm(ngf * mult // 2),
                nn.ReLU(True),
            ]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, 3, 7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class RefUnetBlock(nn.Module):
    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: Any = None,
        use_bias: bool = True,
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu, downnorm, uprelu, upnorm = nn.LeakyReLU(0.2, True), norm(inner_nc), nn.ReLU(True), norm(outer_nc)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, uprelu, upconv, upnorm]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
            if use_dropout:
                model += [nn.Dropout(0.5)]
        self.model = nn.Sequential(*model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)  # the in-place LeakyReLU above changes x too, as in the reference


class RefUnetGenerator(nn.Module):
    def __init__(self, num_downs: int, ngf: int, norm_kind: str) -> None:
        super().__init__()
        kw = {"norm": _ref_norm(norm_kind), "use_bias": norm_kind == "instance"}
        block = RefUnetBlock(ngf * 8, ngf * 8, innermost=True, **kw)
        for _ in range(num_downs - 5):
            block = RefUnetBlock(ngf * 8, ngf * 8, submodule=block, **kw)
        block = RefUnetBlock(ngf * 4, ngf * 8, submodule=block, **kw)
        block = RefUnetBlock(ngf * 2, ngf * 4, submodule=block, **kw)
        block = RefUnetBlock(ngf, ngf * 2, submodule=block, **kw)
        self.model = RefUnetBlock(3, ngf, input_nc=3, submodule=block, outermost=True, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _reference(kind: str, norm: str, dropout: bool) -> nn.Module:
    torch.manual_seed(3)  # PyTorch's default initialisation: non-zero biases, outputs far from tanh's saturation
    net = RefResnetGenerator(4, norm, dropout, n_blocks=2) if kind == "resnet" else RefUnetGenerator(6, 4, norm)
    if norm == "batch":  # some running statistics
        with torch.no_grad():
            net.train()(torch.rand(4, 3, 64, 64) * 2 - 1)
    return net.eval()


@pytest.mark.parametrize(
    "kind,norm,dropout",
    [("resnet", "instance", False), ("resnet", "batch", True), ("unet", "instance", False), ("unet", "batch", False)],
)
def test_import_reference_weights(kind: str, norm: str, dropout: bool, tmp_path: Path, runner: CliRunner) -> None:
    ref = _reference(kind, norm, dropout)
    pth = tmp_path / "latest_net_G_A.pth"
    torch.save(ref.state_dict(), pth)
    out = tmp_path / "g.safetensors"
    _ok(runner, "import-weights", f"cyclegan-{kind}", str(pth), "--out", str(out), "--set", "image_size=64")
    model = genzoo.load(out)
    config = model.config
    assert (config.width, config.norm, config.image_size) == (4, norm, 64)
    if kind == "resnet":
        assert (config.n_blocks, config.use_dropout) == (2, dropout)
    else:
        assert config.depth == 6
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        expected = ref(x * 2 - 1)
        assert torch.allclose(model.G_AB(x * 2 - 1), expected, atol=1e-5)
    assert torch.allclose(model.translate(x, "B"), (expected + 1) / 2, atol=1e-5)
    with pytest.raises(CapabilityError, match="--reverse"):
        model.translate(x, "A")


def test_import_both_generators_with_domain_names(tmp_path: Path) -> None:
    from genzoo.models.cyclegan.reference import import_reference_weights

    a, b = tmp_path / "G_A.pth", tmp_path / "G_B.pth"
    torch.save(_reference("resnet", "instance", False).state_dict(), a)
    ref_b = _reference("resnet", "instance", False)
    with torch.no_grad():
        for p in ref_b.parameters():
            p.mul_(-1)
    torch.save(ref_b.state_dict(), b)
    path = import_reference_weights("cyclegan-resnet", a, tmp_path / "m.safetensors", ["domains=[horse,zebra]"], b)
    model = genzoo.load(path)
    assert model.domains == ("horse", "zebra") and model.config.image_size == 256
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model.translate(x, "horse"), (ref_b(x * 2 - 1) + 1) / 2, atol=1e-5)


def test_import_refuses_what_is_not_a_reference_generator(tmp_path: Path, runner: CliRunner) -> None:
    from genzoo.models.cyclegan.reference import import_reference_weights

    def refused(obj: Any, name: str = "cyclegan-resnet", overrides: tuple[str, ...] = ()) -> str:
        path = tmp_path / "x.pth"
        torch.save(obj, path)
        with pytest.raises(CheckpointError if not overrides else ConfigError) as info:
            import_reference_weights(name, path, tmp_path / "x.safetensors", overrides)
        return str(info.value)

    assert "not a generator state dict" in refused([torch.zeros(2)])
    assert "weights_only=True" in refused({"model.1.weight": torch.zeros(1), "when": datetime.date(2020, 1, 1)})
    unet = _reference("unet", "instance", False).state_dict()
    assert "cyclegan-unet" in refused(unet)
    resnet = _reference("resnet", "instance", False).state_dict()
    assert "keys that a reference UnetGenerator does not have" in refused(
        {**unet, "model.model.9.weight": torch.zeros(1)}, "cyclegan-unet"
    )
    assert "ResnetGenerator" in refused({**resnet, "model.99.weight": torch.zeros(1)})
    assert "contradicts" in refused(resnet, overrides=("width=8",))
    (tmp_path / "junk.pth").write_bytes(b"\x00" * 100)
    text = _fails(runner, "import-weights", "cyclegan-resnet", str(tmp_path / "junk.pth"))
    assert "cannot be read as a state dict" in text


def test_a_translator_name_is_refused_before_any_weights_are_sought(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    monkeypatch.chdir(tmp_path)  # no runs/ here: the refusal must not depend on finding weights
    result = CliRunner().invoke(app, ["reconstruct", "cyclegan-resnet"])
    assert result.exit_code == 2
    assert "cyclegan-resnet cannot reconstruct. It can: translate. Use `genzoo translate`" in " ".join(
        result.output.split()
    )

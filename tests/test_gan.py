"""The GAN family: dcgan and acgan networks, training, resume, conditional sampling and the sample command."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.data import toon
from genzoo.errors import ConfigError, GenzooError
from genzoo.images import read_grid
from genzoo.losses.gan import r1_penalty
from genzoo.models.average import WeightAverage
from genzoo.models.base import Batch, GenerativeModel
from genzoo.models.gan import ACGANConfig
from genzoo.models.layers import Blur
from genzoo.models.sampling import attribute_pairs, interpolate
from genzoo.registry import loss_names
from genzoo.runs import RunDir
from genzoo.trainer import StepContext
from tests.conftest import TINY, cli_fails, cli_ok, single_thread

SIZE = 16  # TINY's image size


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return checkpoint.load_tensors(path)


def _tiny(name: str, **overrides: object) -> GenerativeModel:
    return genzoo.create(name, image_size=SIZE, width=4, latent_dim=6, **overrides)


def _grid(path: Path) -> tuple[int, int]:
    """(width, height) of the images in a grid PNG, without its labels' margins."""
    text = read_grid(path)
    assert text is not None, f"{path} does not say what it shows"
    return text.box[2], text.box[3]


def _grid_size(rows: int, columns: int, size: int = SIZE, pad: int = 2) -> tuple[int, int]:
    """(width, height) of the PNG ``save_grid`` writes for rows × columns images (enlarged 2× when narrow)."""
    width, height = columns * (size + pad) + pad, rows * (size + pad) + pad
    scale = 2 if width < 400 else 1
    return width * scale, height * scale


# ---- networks -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("g_arch", "d_arch"), [("dcgan", "dcgan"), ("resnet", "dcgan"), ("resnet", "resnet")])
@pytest.mark.parametrize("name", ["dcgan", "acgan"])
@pytest.mark.parametrize("size", [16, 32, 64])
def test_shapes_at_every_size(name: str, size: int, g_arch: str, d_arch: str) -> None:
    model = genzoo.create(
        name, image_size=size, width=4, latent_dim=6, g_arch=g_arch, d_arch=d_arch, d_norm="spectral"
    ).eval()
    images = genzoo.sample(model, 3)
    assert images.shape == (3, 3, size, size) and images.min() >= 0 and images.max() <= 1
    outputs = model.discriminator(torch.rand(2, 3, size, size))
    assert outputs.shape == (2, 1 + sum(len(v) for v in model.condition_values.values()))
    assert model.latent_dim == 6
    assert model.decode(torch.randn(2, 6), {a: [0] for a in model.condition_values}).shape == (2, 3, size, size)


def test_dcgan_paper_defaults() -> None:
    model = genzoo.create("dcgan")
    assert model.config.image_size == 32 and model.pixel_range == "symmetric"
    for opt in model.configure_optimizers().values():
        assert opt.defaults["lr"] == 2e-4 and opt.defaults["betas"] == (0.5, 0.999)
    conv = model.discriminator.features[2].weight
    assert abs(conv.std().item() - 0.02) < 0.002 and abs(conv.mean().item()) < 0.002
    bn = model.generator.net[1].weight
    assert abs(bn.mean().item() - 1) < 0.01 and 0.01 < bn.std().item() < 0.03
    assert not isinstance(model.discriminator.features[1], torch.nn.BatchNorm2d)  # none on the first layer


def test_spectral_discriminator_and_its_own_learning_rate() -> None:
    torch.manual_seed(0)
    model = _tiny("dcgan", d_norm="spectral", d_lr=4e-4, lr=1e-4).train()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())
    optimizers = model.configure_optimizers()
    assert optimizers["discriminator"].defaults["lr"] == 4e-4 and optimizers["generator"].defaults["lr"] == 1e-4
    ctx = StepContext(optimizers, torch.device("cpu"), None, total_steps=10)
    for _ in range(3):  # the power iteration runs on every training forward pass
        model.train_step(Batch(torch.rand(8, 3, SIZE, SIZE) * 2 - 1), ctx)
    for module in model.discriminator.modules():
        if isinstance(module, torch.nn.Conv2d):
            sigma = torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2)
            assert sigma == pytest.approx(1.0, abs=0.1)


def test_residual_discriminator_downsamples_by_spectrally_normalised_residual_blocks() -> None:
    torch.manual_seed(0)
    model = _tiny("acgan", d_arch="resnet", d_norm="spectral").train()
    blocks = model.discriminator.blocks
    assert [b.conv1.out_channels for b in blocks] == [4, 8]  # 16 px → 8 → 4, width 4 doubled
    assert blocks[0].first and not blocks[1].first
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.discriminator.modules())
    x = torch.rand(2, 3, SIZE, SIZE)
    skip = blocks[0].skip.eval()  # (no power iteration between the two calls)
    pool = torch.nn.functional.avg_pool2d  # the skip pools before its 1×1 convolution: as after, the paper's order
    assert torch.allclose(skip(pool(x, 2)), pool(skip(x), 2), atol=1e-6)
    skip.train()
    model.data_info = {"attributes": {"hair_color": [], "glasses": []}}
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), None, total_steps=10)
    for _ in range(3):  # the power iteration runs on every training forward pass
        logs = model.train_step(Batch(x * 2 - 1, None, torch.tensor([[1, 0], [4, 1]])), ctx)
    assert all(math.isfinite(float(v)) for v in logs.values())
    layers = [m for m in model.discriminator.modules() if isinstance(m, torch.nn.Conv2d | torch.nn.Linear)]
    assert len(layers) == 3 * len(blocks) + 1
    for module in layers:
        sigma = torch.linalg.matrix_norm(module.weight.detach().flatten(1), ord=2)
        assert sigma == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("settings", [{"d_norm": "batch"}, {"d_norm": "spectral", "d_blur": "all"}])
def test_residual_discriminator_refuses_settings_it_does_not_have(settings: dict[str, str]) -> None:
    with pytest.raises(GenzooError, match="d_arch=resnet"):
        _tiny("dcgan", d_arch="resnet", **settings)


@pytest.mark.parametrize("d_norm", ["batch", "spectral"])
def test_blurred_discriminator_and_the_one_pixel_checkerboard(d_norm: str) -> None:
    """``d_blur`` adds a fixed blur before the stride-2 convolutions and no weight. Blurring the image too (``all``)
    makes the discriminator blind to a one-pixel checkerboard on a flat image; ``inner`` leaves the image as it is,
    so the first convolution and its non-linearity still see the pattern, as without a blur."""

    def build(blur: str) -> GenerativeModel:
        torch.manual_seed(0)
        return _tiny("dcgan", d_norm=d_norm, d_blur=blur).eval()

    nets = {blur: build(blur) for blur in ("off", "inner", "all")}
    for p, q, r in zip(*(net.parameters() for net in nets.values()), strict=True):
        assert torch.equal(p, q) and torch.equal(p, r)  # the same weights, drawn from the same seed
    strided = [m for m in nets["off"].discriminator.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    blurs = {name: sum(isinstance(m, Blur) for m in net.discriminator.modules()) for name, net in nets.items()}
    assert blurs == {"off": 0, "inner": len(strided) - 1, "all": len(strided)} and len(strided) == 2  # 16 px → 4×4
    flat = torch.full((2, 3, SIZE, SIZE), 0.2)
    checker = (torch.arange(SIZE)[:, None] + torch.arange(SIZE)[None, :]) % 2 * 0.6 - 0.3
    with torch.no_grad():
        seen = {k: (m.discriminator(flat + checker) - m.discriminator(flat)).abs().max() for k, m in nets.items()}
    assert seen["off"] > 1e-5 and seen["inner"] > 1e-5 and seen["all"] < 1e-4 * seen["off"]


@pytest.mark.parametrize("loss", sorted({"vanilla", "lsgan", "hinge", *loss_names("gan")}))
def test_each_gan_loss_through_a_dcgan_step(loss: str) -> None:
    torch.manual_seed(0)
    model = _tiny("dcgan", gan_loss=loss).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), None, total_steps=10)
    logs = model.train_step(Batch(torch.rand(8, 3, SIZE, SIZE) * 2 - 1), ctx)
    assert set(logs) == {"loss_G", "loss_D", "d_real", "d_fake"}
    assert all(math.isfinite(float(v)) for v in logs.values())
    after = model.state_dict()
    changed = {k.split(".")[0] for k, v in after.items() if v.is_floating_point() and not torch.equal(v, before[k])}
    assert changed == {"generator", "discriminator"}  # the weight average is the Trainer's (test_average.py)
    assert all(p.grad is None for p in model.parameters())
    trained = [*model.generator.parameters(), *model.discriminator.parameters()]
    assert all(p.requires_grad for p in trained)


def test_d_steps_updates_the_generator_on_every_d_steps_th_step_only() -> None:
    torch.manual_seed(0)
    model = _tiny("dcgan", d_steps=3).train()
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), None, total_steps=6)
    generator = [p.detach().clone() for p in model.generator.parameters()]
    for step in range(6):
        discriminator = [p.detach().clone() for p in model.discriminator.parameters()]
        ctx.begin(step)
        logs = model.train_step(Batch(torch.rand(8, 3, SIZE, SIZE) * 2 - 1), ctx)
        moved = [not torch.equal(a, b) for a, b in zip(generator, model.generator.parameters(), strict=True)]
        assert model.moves_averaged(step) == (step in (2, 5))
        if step in (2, 5):
            assert set(logs) == {"loss_G", "loss_D", "d_real", "d_fake"} and all(moved)
            generator = [p.detach().clone() for p in model.generator.parameters()]
        else:  # a discriminator-only step: no generator update, no generator loss to log
            assert set(logs) == {"loss_D", "d_real", "d_fake"} and not any(moved)
        assert all(not torch.equal(a, b) for a, b in zip(discriminator, model.discriminator.parameters(), strict=True))
        assert all(p.grad is None for p in model.parameters())


def test_acgan_step_in_bf16_logs_every_term() -> None:
    model = _tiny("acgan").train()
    model.data_info = {"attributes": {"hair_color": [], "glasses": [], "mouth": []}}
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), torch.bfloat16, total_steps=10)
    attrs = torch.tensor([[v % 6, v % 2, 0] for v in range(8)])
    logs = model.train_step(Batch(torch.rand(8, 3, SIZE, SIZE) * 2 - 1, None, attrs), ctx)
    assert set(logs) == {"loss_G", "loss_D", "adv_G", "adv_D", "cls_real", "cls_fake", "acc_real", "d_real", "d_fake"}
    assert all(math.isfinite(float(v)) for v in logs.values())
    assert float(logs["loss_D"]) == pytest.approx(float(logs["adv_D"]) + float(logs["cls_real"]), rel=1e-5)
    assert float(logs["cls_real"]) == pytest.approx(math.log(6) / 2 + math.log(2) / 2, rel=0.2)  # untrained: chance


def test_acgan_twin_classifier_adds_heads_trained_on_fakes_and_played_against() -> None:
    plain, twin = _tiny("acgan"), _tiny("acgan", twin=True).train()
    classes = sum(plain.sizes)
    x = torch.rand(8, 3, SIZE, SIZE) * 2 - 1
    assert plain.discriminator(x).shape == (8, 1 + classes)
    assert twin.discriminator(x).shape == (8, 1 + 2 * classes)  # real/fake, class heads, twin class heads
    twin.data_info = {"attributes": {"hair_color": [], "glasses": [], "mouth": []}}
    ctx = StepContext(twin.configure_optimizers(), torch.device("cpu"), None, total_steps=10)
    attrs = torch.tensor([[v % 6, v % 2, 0] for v in range(8)])
    logs = {k: float(v) for k, v in twin.train_step(Batch(x, None, attrs), ctx).items()}
    assert logs["loss_D"] == pytest.approx(logs["adv_D"] + logs["cls_real"] + logs["cls_twin"], rel=1e-5)
    assert logs["cls_twin"] == pytest.approx(math.log(6) / 2 + math.log(2) / 2, rel=0.2)  # untrained: chance
    # the generator's loss subtracts the twin heads' cross-entropy on its fakes (about chance, so clearly below)
    assert logs["loss_G"] < logs["adv_G"] + logs["cls_fake"] - 0.5


@pytest.mark.parametrize("embedding", ["concat", "sum"])
def test_conditioning_changes_the_output(embedding: str) -> None:
    model = _tiny("acgan", embedding=embedding, attributes=["hair_color", "glasses"]).eval()
    z = torch.randn(2, 6)
    blue = model.decode(z, {"hair_color": [4], "glasses": [0]})
    pink = model.decode(z, {"hair_color": [5], "glasses": [0]})
    assert not torch.allclose(blue, pink)
    assert torch.equal(blue, model.decode(z, {"hair_color": [4, 4], "glasses": [0, 0]}))
    with pytest.raises(GenzooError, match="missing: glasses"):
        model.decode(z, {"hair_color": [4]})


def test_conditional_batchnorm_generator() -> None:
    """embedding=cbn: z enters alone; each BatchNorm's scale and shift come from the values, starting as plain BN."""
    from genzoo.models.gan.model import ConditionalBatchNorm2d

    model = _tiny("acgan", embedding="cbn", ema=0).eval()
    g = model.generator
    assert len(g.embeddings) == 0 and g.net[0].in_channels == 6  # the latent alone
    norms = [m for m in g.net if isinstance(m, ConditionalBatchNorm2d)]
    assert norms and not any(isinstance(m, torch.nn.BatchNorm2d) and m.affine for m in g.modules())
    z = torch.randn(2, 6)
    blue = model.decode(z, {"hair_color": [4], "glasses": [0]})
    pink = model.decode(z, {"hair_color": [5], "glasses": [0]})
    assert torch.equal(blue, pink)  # the tables start at zero: the condition has no effect yet
    with torch.no_grad():
        norms[0].scales[0].weight[5].fill_(0.5)  # pink hair scales the first features by 1.5
    assert not torch.allclose(blue, model.decode(z, {"hair_color": [5], "glasses": [0]}))
    assert torch.equal(blue, model.decode(z, {"hair_color": [4], "glasses": [0]}))


def test_resnet_generator_upsamples_by_residual_blocks(tmp_path: Path) -> None:
    """g_arch=resnet: after the 4×4 map of the noise, one residual block per doubling of the side and no transposed
    convolution; with cbn the blocks' BatchNorms are conditional and read the values; it trains, and its checkpoint
    rebuilds the same architecture."""
    from genzoo.models.gan.model import ConditionalBatchNorm2d, UpBlock

    torch.manual_seed(0)
    model = _tiny("acgan", g_arch="resnet", ema=0).train()
    g = model.generator
    blocks = [m for m in g.modules() if isinstance(m, UpBlock)]
    assert len(blocks) == int(math.log2(SIZE // 4))  # 4 → 8 → 16
    assert [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)] == [g.net[0]]
    assert sum(isinstance(m, ConditionalBatchNorm2d) for m in g.modules()) == 2 * len(blocks) + 1
    model.data_info = {"attributes": {"hair_color": [], "glasses": [], "mouth": []}}
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), None, total_steps=10)
    attrs = torch.tensor([[v % 6, v % 2, 0] for v in range(8)])
    before = {k: v.clone() for k, v in g.state_dict().items()}
    for _ in range(2):
        logs = model.train_step(Batch(torch.rand(8, 3, SIZE, SIZE) * 2 - 1, None, attrs), ctx)
    assert all(math.isfinite(float(v)) for v in logs.values())
    trained = {k: not torch.equal(v, g.state_dict()[k]) for k, v in before.items() if k.endswith("conv1.weight")}
    assert len(trained) == len(blocks) and all(trained.values())  # every block's first convolution has learnt
    model.eval()
    z = torch.randn(2, 6)
    blue, pink = (model.decode(z, {"hair_color": [v], "glasses": [0]}) for v in (4, 5))
    assert blue.shape == (2, 3, SIZE, SIZE) and not torch.allclose(blue, pink)  # the tables have learnt
    path = checkpoint.save(
        tmp_path / "g.safetensors", model_name="acgan", config=model.config.model_dump(), weights=model.state_dict()
    )
    loaded = genzoo.load(path)
    assert loaded.config.g_arch == "resnet" and torch.equal(loaded.decode(z, {"hair_color": [4], "glasses": [0]}), blue)


def test_sampling_with_named_conditions_is_seeded() -> None:
    model = _tiny("acgan", embedding="sum").eval()  # an untrained cbn generator ignores the condition (see above)
    a = genzoo.sample(model, 4, seed=3, conditions={"hair_color": "blue"})
    assert torch.equal(a, genzoo.sample(model, 4, seed=3, conditions={"hair_color": 4}))
    assert not torch.equal(a, genzoo.sample(model, 4, seed=3, conditions={"hair_color": "red"}))
    rows, names = attribute_pairs(model, "glasses", n=3, conditions={"hair_color": "blue"})
    assert rows.shape == (3, 2, 3, SIZE, SIZE) and names == ["no", "yes"]
    assert interpolate(model, n=2, steps=5).shape == (2, 5, 3, SIZE, SIZE)


def test_interpolation_ends_at_the_two_latents() -> None:
    model = _tiny("dcgan").eval()
    walk = interpolate(model, n=2, steps=4, seed=1)
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 6, generator=g), torch.randn(2, 6, generator=g)
    assert torch.allclose(walk[:, 0], model.decode(a), atol=1e-5)
    assert torch.allclose(walk[:, -1], model.decode(b), atol=1e-5)
    assert torch.allclose(interpolate(model, n=2, steps=4, seed=1, spherical=False)[:, -1], walk[:, -1], atol=1e-5)


# ---- configs and data ---------------------------------------------------------------------------------------------


def test_adapt_to_data_fills_values_idempotently_and_checks_names() -> None:
    schema = {"hair_color": ["black", "blue"], "glasses": ["no", "yes"], "mouth": ["smile"]}
    info = {"domains": ["faces"], "attributes": schema}
    config = ACGANConfig(attributes=["glasses", "hair_color"]).adapt_to_data(info)
    assert config.values == {"glasses": ["no", "yes"], "hair_color": ["black", "blue"]}
    assert config.adapt_to_data(info) == config
    with pytest.raises(ConfigError, match=r"'beard'.*Valid attributes: hair_color, glasses, mouth"):
        ACGANConfig(attributes=["beard"]).adapt_to_data(info)
    with pytest.raises(ConfigError, match="has none"):
        ACGANConfig().adapt_to_data({"domains": ["plain"]})
    with pytest.raises(ConfigError, match="does not know the values of attribute 'class'"):
        genzoo.create("acgan", attributes=["class"])


# ---- training runs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dcgan", "acgan"])
def test_training_changes_both_networks_and_logs_every_loss(name: str, gan_runs: dict[str, Path]) -> None:
    run = RunDir(gan_runs[name])
    expected = {"loss_G", "loss_D", "d_real", "d_fake"}
    if name == "acgan":
        expected |= {"adv_G", "adv_D", "cls_real", "cls_fake", "acc_real"}
    metrics = run.read_metrics()
    assert [m["step"] for m in metrics] == [2, 4, 6, 8]
    assert all(expected <= set(m) for m in metrics)
    first, last = _weights(run.checkpoint_files()[0]), _weights(run.weights)
    changed = {k.split(".")[0] for k in last if last[k].is_floating_point() and not torch.equal(first[k], last[k])}
    assert {"generator", "discriminator"} <= changed
    for name_ in ("curves.png", "samples.png", "summary.json"):
        assert (run.path / name_).is_file()
    preview = sorted(run.previews.iterdir())[-1]
    rows = 1 + (6 if name == "acgan" else 3)  # real row, then hair colours / fixed-noise rows
    assert _grid(preview) == _grid_size(rows, 8)
    labels = read_grid(preview).rows  # type: ignore[union-attr]
    expected_rows = [f"hair_color={v}" for v in toon.ATTRIBUTES["hair_color"]] if name == "acgan" else ["samples"] * 3
    assert labels == ["real", *expected_rows]


@pytest.mark.parametrize("name", ["dcgan", "acgan"])
def test_resume_continues_exactly(name: str, gan_runs: dict[str, Path], tmp_path: Path) -> None:
    with single_thread():  # as gan_runs was trained: sums on another thread count round otherwise
        half = genzoo.train(name, data="cartoon", overrides=TINY, steps=4, out=tmp_path / "half")
        resumed = genzoo.train(resume=half.run_dir, steps=8)
    a, b = _weights(gan_runs[name] / "model.safetensors"), _weights(resumed.run_dir / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_d_steps_run_logs_the_generator_over_its_steps_moves_the_average_with_it_and_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    averaged: list[int] = []
    update = WeightAverage.update

    def recorded(self: WeightAverage, model: GenerativeModel, step: int, rate: float = 1.0) -> None:
        averaged.append(step)
        update(self, model, step, rate)

    monkeypatch.setattr(WeightAverage, "update", recorded)
    overrides = [*TINY, "d_steps=2", "log_every=4", "checkpoint_every=3"]
    with single_thread():
        whole = genzoo.train("dcgan", data="cartoon", overrides=overrides, steps=8, out=tmp_path / "whole")
        assert averaged == [1, 3, 5, 7]  # after the generator's updates only
        half = genzoo.train("dcgan", data="cartoon", overrides=overrides, steps=3, out=tmp_path / "half")
        resumed = genzoo.train(resume=half.run_dir, steps=8)  # resumed before a generator step
    metrics = RunDir(whole.run_dir).read_metrics()
    assert [m["step"] for m in metrics] == [4, 8]
    assert all({"loss_G", "loss_D"} <= set(m) and math.isfinite(m["loss_G"]) for m in metrics)
    a, b = _weights(whole.run_dir / "model.safetensors"), _weights(resumed.run_dir / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _class_folder(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for name, colour in {"red": (220, 30, 30), "blue": (30, 30, 220)}.items():
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = np.clip(np.array(colour) + rng.integers(-20, 20, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


def test_acgan_on_an_image_folder_conditions_on_class(tmp_path: Path, runner: CliRunner) -> None:
    folder = _class_folder(tmp_path / "colours")
    overrides = [*TINY, "batch_size=8", "attributes=[class]"]
    run = genzoo.train("acgan", data=str(folder), overrides=overrides, steps=4, out=tmp_path / "run").run_dir
    assert checkpoint.read_header(run / "model.safetensors").config["values"] == {"class": ["blue", "red"]}
    cli_ok(runner, "sample", str(run), "-n", "2", "--attr", "class=red", "-o", str(tmp_path / "red.png"))
    with pytest.raises(ConfigError, match="Valid attributes: class"):
        genzoo.train("acgan", data=str(folder), overrides=[*TINY, "batch_size=8"], steps=2, out=tmp_path / "bad")


# ---- the sample command ---------------------------------------------------------------------------------------------


def test_sample_command_attr_pairs_interpolate(runner: CliRunner, gan_runs: dict[str, Path], tmp_path: Path) -> None:
    acgan, dcgan = str(gan_runs["acgan"]), str(gan_runs["dcgan"])
    out = tmp_path / "s.png"
    cli_ok(runner, "sample", acgan, "-n", "5", "--attr", "hair_color=blue", "--attr", "glasses=yes", "-o", str(out))
    assert _grid(out) == _grid_size(1, 5)
    text = cli_ok(runner, "sample", acgan, "--pairs", "hair_color", "-n", "3", "--attr", "glasses=no", "-o", str(out))
    assert _grid(out) == _grid_size(3, 6)
    assert "hair_color = black, brown, blonde, red, blue, pink" in " ".join(text.split())
    assert read_grid(out).columns == ["black", "brown", "blonde", "red", "blue", "pink"]  # type: ignore[union-attr]
    cli_ok(runner, "sample", acgan, "--interpolate", "5", "-n", "2", "--attr", "glasses=yes", "-o", str(out))
    assert _grid(out) == _grid_size(2, 5)
    cli_ok(runner, "sample", dcgan, "--interpolate", "4", "-n", "3", "--linear", "-o", str(out))
    assert _grid(out) == _grid_size(3, 4)
    cli_ok(runner, "sample", dcgan, "-n", "12", "-o", str(out))
    assert _grid(out) == _grid_size(2, 8)


def test_interpolate_a_vae(runner: CliRunner, tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "vae.png"
    cli_ok(runner, "sample", str(tiny_run), "--interpolate", "6", "-n", "2", "-o", str(out))
    assert _grid(out) == _grid_size(2, 6)


def test_sample_command_errors_list_what_is_valid(runner: CliRunner, gan_runs: dict[str, Path], tiny_run: Path) -> None:
    acgan = str(gan_runs["acgan"])
    text = cli_fails(runner, "sample", acgan, "--attr", "hair=blue")
    assert "no attribute 'hair'" in text
    assert "hair_color (black, brown, blonde, red, blue, pink); glasses (no, yes)" in text
    text = cli_fails(runner, "sample", acgan, "--attr", "hair_color=green")
    assert "no value 'green'. Valid values: black, brown, blonde, red, blue, pink" in text
    assert "Valid values: no, yes" in cli_fails(runner, "sample", acgan, "--pairs", "hair_color", "--attr", "glasses=2")
    assert "no attribute 'mouth'" in cli_fails(runner, "sample", acgan, "--pairs", "mouth")
    assert "write name=value" in cli_fails(runner, "sample", acgan, "--attr", "glasses")
    assert "not both" in cli_fails(runner, "sample", acgan, "--pairs", "glasses", "--interpolate", "3")
    text = cli_fails(runner, "sample", str(gan_runs["dcgan"]), "--attr", "hair_color=blue")
    assert "dcgan is not conditional" in text and "Conditional models: acgan" in text
    assert "vae-conv is not conditional" in cli_fails(runner, "sample", str(tiny_run), "--pairs", "glasses")


def test_r1_penalty_is_the_squared_gradient_of_each_images_mean_output() -> None:
    """A linear discriminator ``D(x) = <w, x>`` has the gradient ``w`` everywhere, so R1 is ``gamma / 2 · |w|²``
    (times ``every``, lazily); a PatchGAN's map counts through its mean, so four equal patches weigh as one."""
    torch.manual_seed(0)
    w = torch.randn(3, 4, 4, requires_grad=True)
    x = torch.rand(5, 3, 4, 4, requires_grad=True)
    one = (x * w).sum((1, 2, 3)).unsqueeze(1)
    norm = w.detach().square().sum().item()
    assert r1_penalty(one, x, gamma=2.0).item() == pytest.approx(norm, rel=1e-5)
    assert r1_penalty(one, x, gamma=2.0, every=4).item() == pytest.approx(4 * norm, rel=1e-5)
    patches = one.view(5, 1, 1, 1).expand(5, 1, 2, 2)
    assert r1_penalty(patches, x, gamma=2.0).item() == pytest.approx(norm, rel=1e-5)
    r1_penalty(one, x, gamma=3.0).backward()  # it trains the discriminator: d/dw (3/2 |w|²) = 3 w
    assert torch.allclose(w.grad, 3 * w.detach(), rtol=1e-5)


def test_dcgan_logs_r1_on_its_steps() -> None:
    torch.manual_seed(0)
    model = _tiny("dcgan", d_norm="spectral", r1=1.0, r1_every=2).train()
    ctx = StepContext(model.configure_optimizers(), torch.device("cpu"), None, total_steps=10)
    logs = []
    for step in (1, 2):
        ctx.begin(step)
        logs.append(model.train_step(Batch(torch.rand(8, 3, SIZE, SIZE) * 2 - 1), ctx))
    assert logs[0]["r1"] == 0 and logs[1]["r1"] > 0
    assert logs[1]["loss_D"] > logs[1]["r1"]  # the penalty is part of the discriminator's loss

"""``train.compile``: the networks compiled for the training steps alone; weights, checkpoints and resume unchanged.

One compiled run and one compiled resume, on the tests' tiny vae-conv (compiling takes most of this module's time).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import genzoo
from genzoo import checkpoint
from genzoo.errors import ConfigError
from genzoo.runs import RunDir
from genzoo.trainer import TrainResult, compiling
from tests.conftest import TINY, cli_fails, single_thread

needs_compiler = pytest.mark.skipif(
    not any(shutil.which(c) for c in compiling.CPU_COMPILERS), reason="torch.compile on the CPU needs a C++ compiler"
)


@pytest.fixture(scope="module")
def compiled_run(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    with single_thread():
        return genzoo.train(
            "vae-conv", data="cartoon", overrides=[*TINY, "compile=true"], steps=8, out=tmp_path_factory.mktemp("c")
        )


@needs_compiler
def test_compiled_run_trains_the_same_math_and_ends_eager(compiled_run: TrainResult, tiny_run: Path) -> None:
    run = RunDir(compiled_run.run_dir)
    assert [m["step"] for m in run.read_metrics()] == [2, 4, 6, 8]
    assert sorted(p.name for p in run.previews.iterdir()) == ["step-0000004.png", "step-0000008.png"]
    compiled_weights = checkpoint.load_tensors(run.weights)
    eager_weights = checkpoint.load_tensors(tiny_run / "model.safetensors")  # the same run, eager
    assert compiled_weights.keys() == eager_weights.keys()  # in place: no "_orig_mod." in any name
    for key, value in eager_weights.items():  # the same math, to rounding (kernels fuse and order sums differently)
        assert torch.allclose(compiled_weights[key], value, rtol=1e-3, atol=1e-4), key
    assert all(network._compiled_call_impl is None for network in compiled_run.model.children())
    assert checkpoint.read_header(run.weights).run["train"]["compile"] is True


@needs_compiler
def test_compiled_resume_continues_exactly(tmp_path: Path, compiled_run: TrainResult) -> None:
    with single_thread():
        half = genzoo.train("vae-conv", data="cartoon", overrides=[*TINY, "compile=true"], steps=4, out=tmp_path / "h")
        resumed = genzoo.train(resume=half.run_dir, steps=8)
    a = checkpoint.load_tensors(RunDir(compiled_run.run_dir).weights)
    b = checkpoint.load_tensors(RunDir(resumed.run_dir).weights)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_compile_without_a_cpu_compiler_is_one_paragraph(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compiling.shutil, "which", lambda name: None)
    with pytest.raises(ConfigError, match="needs a C\\+\\+ compiler"):
        compiling.check_compile(torch.device("cpu"))
    compiling.check_compile(torch.device("cuda"))  # the GPU's compiler is triton's, not the PATH's
    message = cli_fails(
        runner, "train", "vae-conv", "--data", "cartoon", "--set", "compile=true", "--out", str(tmp_path / "r")
    )
    assert "apt-get install g++" in message and "without --set compile=true" in message
    assert not (tmp_path / "r").exists()
    dry = cli_fails(runner, "train", "vae-conv", "--data", "cartoon", "--set", "compile=true", "--dry-run")
    assert "needs a C++ compiler" in dry


@needs_compiler
def test_residual_discriminator_block_compiles() -> None:
    """SNGAN's first block (its 1×1 skip reads the image's 3 channels) trains compiled as eagerly: torch.compile
    mishandles a spectral norm whose power-iteration vector has 4 or fewer entries, so that skip is normalised as its
    transpose; a step through two calls (real and fake) must backpropagate."""
    from genzoo.models.gan.model import DownBlock

    torch.manual_seed(0)
    block = DownBlock(3, 8, first=True)
    assert block.skip.parametrizations.weight[0]._v.numel() == 8
    block.compile()
    x = torch.randn(2, 3, 8, 8)
    (block(x).sum() + block(x * 2).sum()).backward()
    grads = [p.grad for p in block.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    weight = block.skip.weight.detach().flatten(1)
    assert torch.linalg.matrix_norm(weight, 2) == pytest.approx(1.0, abs=0.2)

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import genzoo
from genzoo import checkpoint
from genzoo.errors import GenzooError
from genzoo.registry import models
from genzoo.runs import RunDir
from genzoo.trainer.log import Tally
from tests.conftest import TINY, single_thread


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return checkpoint.load_tensors(path)


def test_run_directory_contents(tiny_run: Path) -> None:
    run = RunDir(tiny_run)
    for name in (
        "config.json",
        "metrics.jsonl",
        "model.safetensors",
        "summary.json",
        "curves.png",
        "samples.png",
        "reconstructions.png",
        "latent.png",
        "report.html",
    ):
        assert (tiny_run / name).is_file(), name
    assert [p.name for p in run.checkpoint_files()] == ["step-0000004.safetensors", "step-0000008.safetensors"]
    assert sorted(p.name for p in run.previews.iterdir()) == ["step-0000004.png", "step-0000008.png"]
    metrics = run.read_metrics()
    assert [m["step"] for m in metrics] == [2, 4, 6, 8]
    for line in metrics:
        assert {"loss", "recon", "kl", "beta", "lr"} <= set(line)
        assert line["loss"] > 0 and line["kl"] >= 0
    summary = run.read_summary()
    assert 0 < summary["heldout"]["heldout_mse"] < 1
    assert summary["steps"] == 8
    info = checkpoint.read_header(run.weights)
    assert info.model == "vae-conv" and info.step == 8
    assert info.extra["domains"] == ["cartoon"]
    assert info.run is not None and info.run["data"]["train_size"] == 64


def test_training_changes_weights_and_same_seed_repeats(tmp_path: Path, tiny_run: Path) -> None:
    with single_thread():  # as tiny_run was trained
        again = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=8, out=tmp_path / "again")
    a, b = _weights(tiny_run / "model.safetensors"), _weights(again.run_dir / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    first = _weights(tiny_run / "checkpoints" / "step-0000004.safetensors")
    assert not all(torch.equal(a[k], first[k]) for k in a)
    other = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=8, seed=1, out=tmp_path / "other")
    c = _weights(other.run_dir / "model.safetensors")
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_resume_continues_exactly(tmp_path: Path, tiny_run: Path) -> None:
    with single_thread():  # as tiny_run was trained
        half = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=4, out=tmp_path / "half")
        resumed = genzoo.train(resume=half.run_dir, steps=8)
    assert resumed.steps == 8
    a, b = _weights(tiny_run / "model.safetensors"), _weights(resumed.run_dir / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)

    def without_time(run: Path) -> list[dict[str, object]]:
        return [{k: v for k, v in m.items() if k != "seconds"} for m in RunDir(run).read_metrics()]

    assert without_time(resumed.run_dir) == without_time(tiny_run)


def test_resume_skips_a_corrupt_newest_checkpoint(tmp_path: Path) -> None:
    run = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=8, out=tmp_path / "r")
    newest = RunDir(run.run_dir).checkpoint_files()[-1]
    newest.write_bytes(newest.read_bytes()[:1000])
    resumed = genzoo.train(resume=run.run_dir, steps=10)
    assert resumed.steps == 10
    assert json.loads((run.run_dir / "summary.json").read_text())["steps_this_session"] == 6


def test_new_run_refuses_a_used_folder(tmp_path: Path, tiny_run: Path) -> None:
    with pytest.raises(GenzooError, match="already holds files"):
        genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=2, out=tiny_run)


def test_resume_of_a_non_run(tmp_path: Path) -> None:
    with pytest.raises(GenzooError, match="not a genzoo run directory"):
        genzoo.train(resume=tmp_path)


def test_batch_larger_than_data(tmp_path: Path) -> None:
    with pytest.raises(GenzooError, match="fewer than the batch size"):
        genzoo.train("vae-conv", data="cartoon", overrides=[*TINY, "batch_size=128"], steps=2, out=tmp_path / "x")


def test_vae_mlp_with_bce_and_annealing(tmp_path: Path) -> None:
    overrides = [
        "image_size=16",
        "hidden=[32]",
        "latent_dim=4",
        "train_size=64",
        "heldout_size=16",
        "batch_size=16",
        "recon_loss=bce",
        "kl_schedule.kind=linear",
        "kl_schedule.warmup_steps=4",
        "log_every=1",
    ]
    result = genzoo.train("vae-mlp", data="cartoon", overrides=overrides, steps=6, out=tmp_path / "mlp")
    betas = [m["beta"] for m in RunDir(result.run_dir).read_metrics()]
    weight = models.get("vae-mlp").config().kl_weight
    assert betas == pytest.approx([weight * min(1, s / 4) for s in range(6)])


def test_resume_refuses_changed_options_and_no_new_steps(tiny_run: Path) -> None:
    before = (tiny_run / "model.safetensors").read_bytes()
    with pytest.raises(GenzooError, match="set cannot change"):
        genzoo.train(resume=tiny_run, overrides=["lr=1"], steps=12)
    with pytest.raises(GenzooError, match="seed cannot change"):
        genzoo.train(resume=tiny_run, seed=3, steps=12)
    with pytest.raises(GenzooError, match="already at step 8"):
        genzoo.train(resume=tiny_run, steps=8)
    assert (tiny_run / "model.safetensors").read_bytes() == before


def test_folder_paths_are_stored_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    for i in range(20):
        Image.new("RGB", (16, 16), (i * 10, 0, 0)).save(tmp_path / "imgs" / f"{i}.png")
    monkeypatch.chdir(tmp_path)
    config = genzoo.run_config("vae-conv", data="imgs", overrides=TINY)
    assert config.data.name == str(tmp_path / "imgs")


def test_memory_format_auto_and_explicit(tmp_path: Path, tiny_run: Path) -> None:
    """auto trains the convolutional VAE channels-last on the CPU in fp32 and the MLP one as it is; either layout
    saves ordinary contiguous weights, and the two layouts train to the same numbers up to rounding."""
    assert json.loads((tiny_run / "config.json").read_text())["memory_format"] == "channels_last"
    with single_thread():  # as tiny_run was trained
        plain = genzoo.train(
            "vae-conv", data="cartoon", overrides=[*TINY, "memory_format=contiguous"], steps=8, out=tmp_path / "c"
        )
    assert RunDir(plain.run_dir).read_summary()["memory_format"] == "contiguous"
    a, b = _weights(tiny_run / "model.safetensors"), _weights(plain.run_dir / "model.safetensors")
    assert all(t.is_contiguous() for t in a.values())
    assert all(torch.allclose(a[k], b[k], atol=1e-3, rtol=1e-3) for k in a)
    mlp_tiny = [o for o in TINY if not o.startswith("width")]
    mlp = genzoo.train("vae-mlp", data="cartoon", overrides=mlp_tiny, steps=2, out=tmp_path / "m")
    assert RunDir(mlp.run_dir).read_summary()["memory_format"] == "contiguous"


def test_resolve_memory_format() -> None:
    from genzoo.devices import resolve_memory_format

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_memory_format("auto", cpu, None, True) == torch.channels_last
    assert resolve_memory_format("auto", cpu, None, False) == torch.contiguous_format
    assert resolve_memory_format("auto", cpu, torch.bfloat16, True) == torch.contiguous_format  # unmeasured there
    assert resolve_memory_format("auto", cuda, None, True) == torch.contiguous_format
    assert resolve_memory_format("channels_last", cuda, torch.float16, False) == torch.channels_last
    assert resolve_memory_format("contiguous", cpu, None, True) == torch.contiguous_format


def test_a_metrics_line_averages_each_term_over_the_steps_that_reported_it() -> None:
    """A GAN with d_steps above 1 reports its generator's loss on some steps only; a checkpoint taken inside the
    window keeps the counts, and one written before they were kept counts every term at every step."""
    tally = Tally()
    tally.add({"loss_D": torch.tensor(1.0), "loss_G": torch.tensor(4.0)})
    tally.add({"loss_D": torch.tensor(3.0)})
    tensors: dict[str, torch.Tensor] = {}
    stored = json.loads(json.dumps(checkpoint.pack(tally.state(), tensors)))
    resumed = Tally()
    resumed.load(checkpoint.unpack(stored, tensors), torch.device("cpu"))
    resumed.add({"loss_D": torch.tensor(5.0)})
    assert resumed.close_window() == {"loss_D": 3.0, "loss_G": 4.0}
    assert resumed.close_window() == {}
    older = Tally()
    older.load({"window": {"sums": {"loss": torch.tensor(6.0)}, "steps": 3}}, torch.device("cpu"))
    assert older.close_window() == {"loss": 2.0}

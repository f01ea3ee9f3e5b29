from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch

import genzoo
from genzoo import checkpoint
from genzoo import io as genzoo_io
from genzoo.errors import CheckpointError
from genzoo.runs import RunDir
from tests.conftest import TINY


def _tiny(**overrides: object) -> genzoo.models.base.GenerativeModel:  # type: ignore[name-defined]
    return genzoo.create("vae-conv", **{"image_size": 16, "width": 4, "latent_dim": 4, **overrides})


def _save(model, path: Path, **kw) -> Path:
    return checkpoint.save(
        path,
        model_name="vae-conv",
        config=model.config.model_dump(mode="json"),
        weights=model.state_dict(),
        step=7,
        **kw,
    )


def test_round_trip_and_self_describing_header(tmp_path: Path) -> None:
    model = _tiny()
    path = _save(model, tmp_path / "m.safetensors", extra={"domains": ["cartoon"]})
    info = checkpoint.read_header(path)
    assert (info.model, info.step, info.version) == ("vae-conv", 7, genzoo.__version__)
    assert info.config["latent_dim"] == 4
    assert info.extra == {"domains": ["cartoon"]}
    assert not info.resumable
    assert info.num_parameters == sum(p.numel() for p in model.state_dict().values())
    loaded = genzoo.load(path)
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])


def test_mismatched_config_names_the_fields(tmp_path: Path) -> None:
    path = _save(_tiny(), tmp_path / "m.safetensors")
    other = _tiny(latent_dim=6, width=8)
    with pytest.raises(CheckpointError) as info:
        genzoo.load_weights(other, path)
    assert "latent_dim (file: 4, model: 6)" in str(info.value)
    assert "width (file: 4, model: 8)" in str(info.value)


def test_other_model_refused(tmp_path: Path) -> None:
    path = _save(_tiny(), tmp_path / "m.safetensors")
    mlp = genzoo.create("vae-mlp", image_size=16, hidden=[8], latent_dim=4)
    with pytest.raises(CheckpointError, match="holds weights of vae-conv, not of vae-mlp"):
        genzoo.load_weights(mlp, path)


def test_truncated_file_detected(tmp_path: Path) -> None:
    path = _save(_tiny(), tmp_path / "m.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        checkpoint.read_header(path)


def test_malformed_header_and_pickle_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", 10) + b"{not json}" + b"\0" * 10)
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.read_header(bad)
    pth = tmp_path / "latest_net_G_A.pth"
    torch.save({"w": torch.zeros(2)}, pth)
    with pytest.raises(CheckpointError, match="never unpickles"):
        checkpoint.read_header(pth)
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="too short"):
        checkpoint.read_header(empty)


def test_plain_safetensors_without_genzoo_header(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    path = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(CheckpointError, match="does not say which genzoo model"):
        checkpoint.read_header(path)


def test_interrupted_write_leaves_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _tiny()
    path = _save(model, tmp_path / "m.safetensors")
    before = path.read_bytes()

    def crash(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(genzoo_io.os, "fsync", crash)
    with pytest.raises(OSError):
        _save(_tiny(latent_dim=5), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left behind


def test_training_state_round_trip(tmp_path: Path) -> None:
    model = _tiny()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.5, 0.999))
    model(torch.rand(2, 3, 16, 16))[0].sum().backward()
    opt.step()
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / 10)
    opt.step()
    sched.step()
    state = {
        "optim": opt.state_dict(),
        "sched": sched.state_dict(),
        "rng": torch.get_rng_state(),
        "pool": [torch.ones(2), None],
        "pair": (1, 2.5),
    }
    path = _save(model, tmp_path / "ckpt.safetensors", state=state)
    assert checkpoint.read_header(path).resumable
    back = checkpoint.load_state(path)
    assert back["pair"] == (1, 2.5)
    assert back["optim"]["param_groups"][0]["betas"] == (0.5, 0.999)
    assert set(back["optim"]["state"]) == set(opt.state_dict()["state"])  # int keys survive
    for k, v in opt.state_dict()["state"][0].items():
        assert torch.equal(v, back["optim"]["state"][0][k])
    assert torch.equal(back["rng"], state["rng"])
    opt2 = torch.optim.Adam(_tiny().parameters())
    opt2.load_state_dict(back["optim"])
    assert json.dumps(checkpoint.pack(opt2.state_dict()["param_groups"], {})) == json.dumps(
        checkpoint.pack(opt.state_dict()["param_groups"], {})
    )
    # weights alone load without the state tensors
    assert not any(k.startswith(checkpoint.STATE_PREFIX) for k in checkpoint.load_tensors(path))


def test_pack_refuses_arbitrary_objects() -> None:
    with pytest.raises(TypeError, match="without pickle"):
        checkpoint.pack({"f": object()}, {})


def test_written_files_are_readable_by_others(tmp_path: Path) -> None:
    path = _save(_tiny(), tmp_path / "m.safetensors")
    assert path.stat().st_mode & 0o044 == 0o044  # group and others may read (with the usual umask 022)


def _without_field(path: Path, field: str) -> None:
    """Rewrite a checkpoint as a genzoo from before ``field`` existed would have written it: no such field in its
    header's model config (nor in the run config it carries)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as f:
        meta = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    config = json.loads(meta["config"])
    del config[field]
    meta["config"] = json.dumps(config)
    if "run" in meta:
        run = json.loads(meta["run"])
        del run["model"][field]
        meta["run"] = json.dumps(run)
    save_file(tensors, str(path), metadata=meta)


def test_a_checkpoint_from_before_a_config_field_existed_loads_and_resumes(tmp_path: Path) -> None:
    """A field the file lacks counts at its default, in loading and in resuming alike; a field it sets to another
    value is refused by both."""
    run = genzoo.train("vae-conv", data="cartoon", overrides=[*TINY, "checkpoint_every=2"], steps=4, out=tmp_path / "r")
    files = [run.run_dir / "model.safetensors", *RunDir(run.run_dir).checkpoint_files()]
    for path in files:
        _without_field(path, "max_width")
    saved = json.loads((run.run_dir / "config.json").read_text())
    del saved["model"]["max_width"]
    (run.run_dir / "config.json").write_text(json.dumps(saved))
    assert "max_width" not in checkpoint.read_header(files[0]).config

    model = genzoo.load(run.run_dir)
    assert model.config.max_width == 256
    assert genzoo.train(resume=run.run_dir, steps=6).steps == 6

    other = genzoo.create("vae-conv", model.config.model_copy(update={"max_width": 64}))
    with pytest.raises(CheckpointError, match=r"max_width \(file: 256, model: 64\)"):
        genzoo.load_weights(other, run.run_dir / "checkpoints" / "step-0000004.safetensors")

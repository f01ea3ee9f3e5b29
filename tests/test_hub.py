"""Sharing on the Hugging Face Hub without a network: `genzoo push --to-dir` writes a repository folder, a test lays
it out as huggingface_hub's cache does (`models--owner--repo/{blobs,refs,snapshots}`), and with the Hub offline
every model-taking command loads `hf:owner/repo` from there; uploads go to a stand-in `HfApi` that records them."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import genzoo
from genzoo.checkpoint import read_header, save
from genzoo.hub import HubRef
from genzoo.sharing import push
from tests.conftest import CG_TINY, cli_fails, cli_ok, single_thread

pytestmark = pytest.mark.usefixtures("one_thread")

REPO = "someone/tiny-vae"
CacheBuilder = Callable[..., Path]


def lay_out(folder: Path, cache: Path, repo_id: str, revision: str = "main") -> Path:
    """``folder`` as huggingface_hub's cache holds a downloaded repository: blobs named by their sha256, a
    snapshot of symbolic links named by a commit, and the revision's ref pointing at that commit."""
    root = cache / f"models--{repo_id.replace('/', '--')}"
    commit = hashlib.sha1(f"{repo_id}@{revision}".encode()).hexdigest()
    snapshot = root / "snapshots" / commit
    (root / "blobs").mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    snapshot.mkdir(parents=True)
    (root / "refs" / revision).write_text(commit)
    for file in folder.iterdir():
        blob = hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, root / "blobs" / blob)
        os.symlink(f"../../blobs/{blob}", snapshot / file.name)
    return snapshot


@pytest.fixture
def hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CacheBuilder:
    """An empty huggingface_hub cache with the Hub offline (HF_HUB_OFFLINE), and a function that lays a folder out
    in it as a repository."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.chdir(tmp_path)  # no runs/ here
    return lambda folder, repo_id=REPO, revision="main": lay_out(Path(folder), cache, repo_id, revision)


@pytest.fixture(scope="module")
def pushed(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny vae-conv run, pushed to a folder (float32 weights, figures of 16 images)."""
    folder = tmp_path_factory.mktemp("push") / "repo"
    with single_thread():
        cli_ok(CliRunner(), "push", str(tiny_run), REPO, "--to-dir", str(folder), "-n", "16")
    return folder


@pytest.fixture(scope="module")
def translator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A tiny cyclegan-resnet run and its pushed folder."""
    root = tmp_path_factory.mktemp("cg")
    with single_thread():
        run = genzoo.train("cyclegan-resnet", data="cartoon", to="anime", overrides=CG_TINY, steps=2, out=root / "run")
        push(run.run_dir, "someone/tiny-cg", to_dir=root / "repo", n=8)
    yield run.run_dir, root / "repo"


# ---- the repository folder ----------------------------------------------------------------------------------------


def test_push_writes_a_hub_repository(pushed: Path, tiny_run: Path) -> None:
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import model_index_to_eval_results

    assert {p.name for p in pushed.iterdir()} == {
        "model.safetensors",
        "config.json",
        "README.md",
        "grid.png",
        "curves.png",
    }
    header = read_header(pushed / "model.safetensors")
    assert (
        header.inference
        and header.model == "vae-conv"
        and header.step == read_header(tiny_run / "model.safetensors").step
    )
    config = json.loads((pushed / "config.json").read_text())
    assert config["library_name"] == "genzoo" and config["model"] == "vae-conv" and config["distribution"] == "genzoo"
    assert config["config"] == header.config and config["eval"]["n"] == 16
    card = ModelCard.load(pushed / "README.md")
    assert card.data.library_name == "genzoo" and card.data.license == "mit"
    assert {"genzoo", "vae-conv"} <= set(card.data.tags)
    _, results = model_index_to_eval_results(card.data.to_dict()["model-index"])
    metrics = {r.metric_type: r.metric_value for r in results}
    assert metrics["fd"] == pytest.approx(config["eval"]["fd"], rel=1e-5) and "mse" in metrics
    assert all(r.task_type == "unconditional-image-generation" for r in results)
    assert 'genzoo.load("hf:someone/tiny-vae")' in card.text and "![grid.png](grid.png)" in card.text


def test_a_bad_repository_name_is_refused_before_anything_is_written(
    tiny_run: Path, tmp_path: Path, runner: CliRunner
) -> None:
    message = cli_fails(runner, "push", str(tiny_run), "not a repo", "--to-dir", str(tmp_path / "x"))
    assert "not a Hub model name" in message and not (tmp_path / "x").exists()


# ---- loading by hf: -----------------------------------------------------------------------------------------------


def test_round_trip_gives_identical_pixels(pushed: Path, tiny_run: Path, hub_cache: CacheBuilder) -> None:
    import torch

    hub_cache(pushed)
    model = genzoo.load(f"hf:{REPO}")
    original = genzoo.load(tiny_run)
    assert torch.equal(genzoo.sample(model, n=6, seed=4), genzoo.sample(original, n=6, seed=4))


def test_every_model_taking_command_accepts_hf(
    pushed: Path, tiny_run: Path, hub_cache: CacheBuilder, runner: CliRunner
) -> None:
    hub_cache(pushed)
    source = f"hf:{REPO}"
    assert "using hf:someone/tiny-vae" in cli_ok(runner, "sample", source, "-n", "4", "--out", "s.png")
    cli_ok(runner, "reconstruct", source, "--out", "r.png")
    cli_ok(runner, "latent", source, "-n", "16", "--method", "pca", "--out", "l.png")
    printed = cli_ok(runner, "eval", source, "-n", "16", "--json")
    assert json.loads(printed[printed.index("{") : printed.rindex("}") + 1])["heldout_mse"] > 0
    assert "vae-conv" in cli_ok(runner, "info", source)
    cli_ok(runner, "export", source, "copy.safetensors")
    compared = json.loads(cli_ok(runner, "compare", str(tiny_run), source, "--json"))
    assert compared["runs"] == [str(tiny_run), source]
    assert compared["sources"][1] == "the Hub repository's config.json"
    assert compared["metrics"]["heldout_mse"][1] == pytest.approx(
        json.loads((pushed / "config.json").read_text())["eval"]["heldout_mse"]
    )
    assert all(Path(name).is_file() for name in ("s.png", "r.png", "l.png", "copy.safetensors"))


def test_a_translator_translates_from_the_hub(
    translator: tuple[Path, Path], hub_cache: CacheBuilder, runner: CliRunner
) -> None:
    import numpy as np
    from PIL import Image

    _, folder = translator
    hub_cache(folder, "someone/tiny-cg")
    Image.fromarray(np.full((40, 40, 3), 200, np.uint8)).save("face.png")
    cli_ok(runner, "translate", "hf:someone/tiny-cg", "face.png", "--to", "anime", "--out", "anime.png")
    assert Image.open("anime.png").size == (32, 32)
    assert read_header(folder / "model.safetensors").tensors.keys().isdisjoint({"D_A.model.0.weight"})


def test_fine_tuning_starts_from_published_weights(
    pushed: Path, tiny_run: Path, hub_cache: CacheBuilder, runner: CliRunner
) -> None:
    import torch

    hub_cache(pushed)
    out = cli_ok(runner, "train", "--init-from", f"hf:{REPO}", "--steps", "2", "--set", "lr=1e-12", "--out", "ft", "-q")
    assert "starting from the weights of hf:someone/tiny-vae" in out
    config = json.loads(Path("ft/config.json").read_text())
    assert config["name"] == "vae-conv" and config["train"]["init_from"] == f"hf:{REPO}"
    published_config = read_header(pushed / "model.safetensors").config
    assert {**config["model"], "lr": published_config["lr"]} == published_config  # the published model's config
    tuned = dict(genzoo.load("ft").named_parameters())
    published = dict(genzoo.load(f"hf:{REPO}").named_parameters())  # (running statistics move in any case)
    assert all(torch.allclose(tuned[k], published[k], atol=1e-6) for k in published)  # lr ≈ 0: where it started
    message = cli_fails(runner, "train", "dcgan", "--init-from", f"hf:{REPO}", "--dry-run")
    assert "holds weights of vae-conv, not of dcgan" in message


def test_a_revision_is_its_own_snapshot(pushed: Path, hub_cache: CacheBuilder) -> None:
    hub_cache(pushed, REPO, "v1")
    assert genzoo.info(f"hf:{REPO}@v1").model == "vae-conv"
    assert HubRef.parse(f"hf:{REPO}@v1") == HubRef(REPO, "v1")


def test_what_cannot_be_loaded_says_why(
    pushed: Path, hub_cache: CacheBuilder, runner: CliRunner, tmp_path: Path
) -> None:
    message = cli_fails(runner, "sample", "hf:someone/elsewhere")
    assert "not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in message
    other = tmp_path / "other"
    other.mkdir()
    (other / "README.md").write_text("a model of another library")
    hub_cache(other, "someone/not-genzoo")
    assert "not a genzoo repository: it has no model.safetensors" in cli_fails(
        runner, "sample", "hf:someone/not-genzoo"
    )
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    from safetensors.numpy import save_file

    save_file({"w": __import__("numpy").zeros(3, "float32")}, str(foreign / "model.safetensors"))
    hub_cache(foreign, "someone/foreign")
    assert "not a genzoo repository: its model.safetensors is not a genzoo checkpoint" in cli_fails(
        runner, "sample", "hf:someone/foreign"
    )
    assert "not a Hub model name" in cli_fails(runner, "sample", "hf:no-slash")


def test_a_plugin_model_names_its_package(
    pushed: Path, hub_cache: CacheBuilder, tmp_path: Path, runner: CliRunner
) -> None:
    from genzoo.checkpoint import load_tensors

    plugin = tmp_path / "plugin-repo"
    plugin.mkdir()
    header = read_header(pushed / "model.safetensors")
    save(plugin / "model.safetensors", model_name="resvae", config=header.config, weights=load_tensors(header.path),
         extra=header.extra, inference=True)  # fmt: skip
    config = {**json.loads((pushed / "config.json").read_text()), "model": "resvae", "distribution": "genzoo-example"}
    (plugin / "config.json").write_text(json.dumps(config))
    hub_cache(plugin, "someone/resvae")
    message = cli_fails(runner, "sample", "hf:someone/resvae")
    assert "'resvae', a model this installation does not have" in message and "pip install genzoo-example" in message


def test_a_damaged_cached_file_is_refused(pushed: Path, hub_cache: CacheBuilder, runner: CliRunner) -> None:
    snapshot = hub_cache(pushed)
    blob = (snapshot / "model.safetensors").resolve()
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert "does not match its sha256" in cli_fails(runner, "sample", f"hf:{REPO}")


def test_an_unknown_repository_online(monkeypatch: pytest.MonkeyPatch, runner: CliRunner) -> None:
    import huggingface_hub
    from huggingface_hub import errors

    def not_found(*args: Any, **kwargs: Any) -> str:
        raise errors.RepositoryNotFoundError.__new__(errors.RepositoryNotFoundError)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", not_found)
    message = cli_fails(runner, "sample", "hf:someone/nothing-here")
    assert "There is no repository someone/nothing-here on the Hugging Face Hub" in message


# ---- uploading ----------------------------------------------------------------------------------------------------


class RecordingApi:
    """Stands in for huggingface_hub.HfApi: records what would be sent."""

    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []

    def create_repo(self, repo_id: str, **kwargs: Any) -> str:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    def create_branch(self, repo_id: str, **kwargs: Any) -> None:
        self.calls.append(("create_branch", {"repo_id": repo_id, **kwargs}))

    def upload_folder(self, **kwargs: Any) -> str:
        files = sorted(p.name for p in Path(kwargs["folder_path"]).iterdir())
        self.calls.append(("upload_folder", {**kwargs, "files": files}))
        return f"https://huggingface.co/{kwargs['repo_id']}/commit/abc"


def test_push_uploads_the_folder(tiny_run: Path, monkeypatch: pytest.MonkeyPatch, runner: CliRunner) -> None:
    import huggingface_hub

    RecordingApi.calls = []
    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingApi)
    out = cli_ok(runner, "push", str(tiny_run), "me/mine", "--private", "--revision", "dev", "-m", "first", "--no-eval")
    assert "pushed to me/mine: https://huggingface.co/me/mine/commit/abc" in " ".join(out.split())
    (create, repo), (branch, made), (upload, sent) = RecordingApi.calls
    assert (create, repo["repo_id"], repo["private"], repo["exist_ok"]) == ("create_repo", "me/mine", True, True)
    assert (branch, made["branch"]) == ("create_branch", "dev")
    assert upload == "upload_folder" and sent["repo_id"] == "me/mine" and sent["revision"] == "dev"
    assert sent["commit_message"] == "first"
    assert sent["files"] == ["README.md", "config.json", "curves.png", "grid.png", "model.safetensors"]
    assert not Path(sent["folder_path"]).exists()  # the folder was temporary


def test_push_without_a_login_says_how(tiny_run: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    from huggingface_hub import errors

    class NoLogin(RecordingApi):
        def create_repo(self, repo_id: str, **kwargs: Any) -> str:
            raise errors.LocalTokenNotFoundError("no token")

    monkeypatch.setattr(huggingface_hub, "HfApi", NoLogin)
    message = cli_fails(runner, "push", str(tiny_run), "me/mine", "--no-eval")
    assert "hf auth login" in message and "--to-dir" in message

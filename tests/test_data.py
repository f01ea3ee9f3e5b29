"""Data as users have it: memory-mapped caches, parallel decoding, attributes.csv, augmentation and Hugging Face
data sets (a small one built locally: no network)."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

import genzoo
from genzoo.config import Augment, DataConfig
from genzoo.data.augment import augment
from genzoo.data.core import ImageArray, ImageSet, read_cache, write_cache
from genzoo.data.folder import decode_files, find_images
from genzoo.data.loading import load_data
from genzoo.runs import RunDir
from genzoo.trainer import BatchStream
from tests.conftest import TINY, cli_fails, cli_ok


def faces(folder: Path, n: int = 40, size: int = 24, fmt: str = "png") -> Path:
    """``n`` small distinct images (a colour gradient with a bright square at a place of its own)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        pixels = np.full((size, size, 3), rng.integers(0, 200, 3), np.uint8)
        pixels[i % size, : size // 2] = 255
        Image.fromarray(pixels).save(folder / f"{i:03d}.{fmt}")
    return folder


# ---- the cache ---------------------------------------------------------------------------------------------------


def test_a_decoded_folder_is_memory_mapped_and_split_without_copies(tmp_path: Path) -> None:
    split = load_data(DataConfig(name=str(faces(tmp_path / "f")), heldout_fraction=0.25), 16)
    for part in (split.train, split.heldout):
        assert isinstance(part.images, ImageArray) and part.images.mapped
    assert split.train.images.base is split.heldout.images.base  # one mapping, two lists of rows
    assert (len(split.train), len(split.heldout)) == (30, 10)
    again = load_data(DataConfig(name=str(tmp_path / "f"), heldout_fraction=0.25), 16)
    assert np.array_equal(again.train.images[:], split.train.images[:])


def test_an_edited_folder_is_decoded_again(tmp_path: Path) -> None:
    folder = faces(tmp_path / "f", n=12)
    config = DataConfig(name=str(folder), heldout_fraction=0.0)
    before = load_data(config, 16).train
    image = folder / "003.png"
    Image.new("RGB", (24, 24), "red").save(image)
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))
    after = load_data(config, 16).train
    changed = [i for i in range(12) if not np.array_equal(before.images[i], after.images[i])]
    assert changed == [3] and (after.images[3] == [255, 0, 0]).all()


def test_parallel_decoding_gives_what_one_process_gives(tmp_path: Path) -> None:
    files = find_images(faces(tmp_path / "f", n=150))
    Image.new("RGB", (1, 1)).save(tmp_path / "f" / "999.png")  # too small: skipped by both
    files = find_images(tmp_path / "f")
    one, many = (np.zeros((len(files), 16, 16, 3), np.uint8) for _ in range(2))
    assert (
        decode_files(files, 16, one, workers=1) == decode_files(files, 16, many, workers=2) == {150: "too small (1x1)"}
    )
    assert np.array_equal(one, many)
    mapped = np.memmap(tmp_path / "out.bin", mode="w+", dtype=np.uint8, shape=one.shape)
    decode_files(files, 16, mapped, workers=2)  # the workers write into the file themselves
    assert np.array_equal(np.asarray(mapped), one)


def test_cache_files_are_safetensors_written_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.numpy import load_file

    import genzoo.data.core

    monkeypatch.setattr(genzoo.data.core, "CHUNK_BYTES", 1000)  # many pieces
    images = np.random.default_rng(0).integers(0, 255, (9, 8, 8, 3), dtype=np.uint8)
    path = tmp_path / "c.safetensors"
    write_cache(path, images, "toy", np.arange(9)[:, None], {"n": tuple("abcdefghi")}, rows=np.array([7, 1, 4]))
    stored = load_file(str(path))
    assert np.array_equal(stored["images"], images[[7, 1, 4]]) and stored["attributes"].tolist() == [[7], [1], [4]]
    assert read_cache(path) is not None
    path.write_bytes(path.read_bytes()[:-50])  # damaged: read as missing, so it is built again
    assert read_cache(path) is None


def _resident_pages(path: Path) -> np.ndarray:
    """Which pages of ``path`` are in the page cache (Linux ``mincore`` over a private mapping of it)."""
    import ctypes
    import mmap

    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    libc = ctypes.CDLL(None, use_errno=True)
    with path.open("rb") as f, mmap.mmap(f.fileno(), size, access=mmap.ACCESS_COPY) as mapped:
        address = ctypes.addressof(ctypes.c_char.from_buffer(mapped))
        vector = (ctypes.c_ubyte * pages)()
        assert libc.mincore(ctypes.c_void_p(address), ctypes.c_size_t(size), vector) == 0, ctypes.get_errno()
        del address
        return np.frombuffer(bytes(vector), np.uint8) & 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore and posix_fadvise are Linux's")
def test_scattered_rows_read_only_their_own_pages(tmp_path: Path) -> None:
    """A batch of scattered rows brings into memory the pages of those rows, not the file around them (the memory
    map's read-ahead brought in up to several MB per row): checked on the page cache with mincore."""
    import mmap

    rows, size = 2000, 64  # 12 KB rows, 24 MB
    images = np.random.default_rng(0).integers(0, 255, (rows, size, size, 3), dtype=np.uint8)
    path = tmp_path / "big.safetensors"
    write_cache(path, images, "toy", None, {}, [])
    with path.open("rb") as f:
        os.fsync(f.fileno())
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    if _resident_pages(path).sum() > 8:
        pytest.skip("this file system keeps the file in memory (tmpfs?): nothing to measure")
    cached = read_cache(path)
    assert cached is not None and type(cached.images.base).__name__ == "RowFile"
    chosen = np.random.default_rng(1).choice(rows, 32, replace=False)
    assert np.array_equal(cached.images[chosen], images[chosen])
    resident = _resident_pages(path).astype(bool)
    start, row = cached.images.base.offset, size * size * 3  # type: ignore[union-attr]
    spanned = np.zeros_like(resident)
    for r in chosen:
        spanned[(start + r * row) // mmap.PAGESIZE : (start + (r + 1) * row - 1) // mmap.PAGESIZE + 1] = True
    assert resident[spanned].all()  # the rows were read
    others = int((resident & ~spanned).sum())
    assert others <= 4, f"{others} pages besides the rows' {int(spanned.sum())} (the header's are the first 1 or 2)"


def test_cache_reads_are_chosen_by_an_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from genzoo.errors import ConfigError

    images = np.random.default_rng(0).integers(0, 255, (40, 8, 8, 3), dtype=np.uint8)
    path = tmp_path / "c.safetensors"
    write_cache(path, images, "toy", None, {}, [])
    order = np.array([30, 2, 3, 4, 17, 0])
    for how, kind in (("pread", "RowFile"), ("mmap", "memmap"), ("mmap-random", "memmap")):
        monkeypatch.setenv("GENZOO_CACHE_READS", how)
        cached = read_cache(path)
        assert cached is not None and type(cached.images.base).__name__ == kind and cached.images.mapped
        assert np.array_equal(cached.images[order], images[order]) and np.array_equal(cached.images[5], images[5])
        part = cached.images.subset(np.array([9, 1, 33]))
        assert np.array_equal(part[1:], images[[1, 33]]) and np.array_equal(np.asarray(part), images[[9, 1, 33]])
    monkeypatch.setenv("GENZOO_CACHE_READS", "fast")
    with pytest.raises(ConfigError, match="GENZOO_CACHE_READS='fast' is not a way"):
        read_cache(path)


def test_a_cache_file_cut_short_while_in_use_is_one_paragraph(tmp_path: Path) -> None:
    from genzoo.errors import DataError

    images = np.zeros((40, 8, 8, 3), np.uint8)
    path = tmp_path / "c.safetensors"
    write_cache(path, images, "toy", None, {}, [])
    cached = read_cache(path)
    assert cached is not None
    with path.open("r+b") as f:
        f.truncate(path.stat().st_size - 8 * 8 * 3 * 5)
    with pytest.raises(DataError, match="truncated while in use"):
        cached.images[np.array([39])]
    with pytest.raises(IndexError):
        cached.images[np.array([40])]


# ---- attributes.csv ----------------------------------------------------------------------------------------------


def test_attributes_csv_gives_every_image_its_attributes(tmp_path: Path) -> None:
    folder = faces(tmp_path / "f", n=12)
    with (folder / "attributes.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "hair", "glasses"])
        for i in range(12):
            writer.writerow([f"{i:03d}.png", ["red", "blue", "green"][i % 3], "yes" if i % 2 else "no"])
    split = load_data(DataConfig(name=str(folder), heldout_fraction=0.0), 16)
    assert split.train.schema == {"hair": ("blue", "green", "red"), "glasses": ("no", "yes")}
    assert split.train.attributes[:4].tolist() == [[2, 0], [0, 1], [1, 0], [2, 1]]
    run = genzoo.train(
        "acgan", data=str(folder), overrides=[*TINY, "attributes=[hair]", "batch_size=4"], steps=2, out=tmp_path / "r"
    )
    assert genzoo.load(run.run_dir).condition_values == {"hair": ["blue", "green", "red"]}


def test_attributes_csv_problems_are_one_message(runner: CliRunner, tmp_path: Path) -> None:
    folder = faces(tmp_path / "f", n=6)
    (folder / "attributes.csv").write_text("file,hair\n000.png,red\n")
    shown = cli_ok(runner, "data", "preview", str(folder), "--out", str(tmp_path / "p.png"))  # it reads images only
    assert "wrote 6 " in shown
    message = cli_fails(
        runner, "train", "vae-conv", "--data", str(folder), "--steps", "1", "--out", str(tmp_path / "r")
    )
    assert "has no row for 5 of the 6 images (e.g. 001.png)" in message
    (folder / "attributes.csv").write_text("name,hair\n")
    message = cli_fails(
        runner, "train", "vae-conv", "--data", str(folder), "--steps", "1", "--out", str(tmp_path / "s")
    )
    assert "needs a header row with a `file` column" in message


# ---- augmentation ------------------------------------------------------------------------------------------------


def test_augmentations_are_per_image_and_repeat_with_the_seed() -> None:
    images = torch.arange(8 * 3 * 16 * 16, dtype=torch.int64).remainder(251).to(torch.uint8).reshape(8, 3, 16, 16)
    flips = augment(images, Augment(flip=True), torch.Generator().manual_seed(0))
    flipped = [bool(torch.equal(f, i.flip(-1))) for f, i in zip(flips, images, strict=True)]
    assert any(flipped) and not all(flipped)
    for config in (
        Augment(flip=True),
        Augment(crop="resize-crop"),
        Augment(crop="resized", crop_scale=0.5),
        Augment(jitter=0.3),
    ):
        a, b = (augment(images, config, torch.Generator().manual_seed(1)) for _ in range(2))
        assert a.shape == images.shape and a.dtype == torch.uint8 and torch.equal(a, b)
        assert not torch.equal(a, images)


def test_the_stream_augments_training_batches_the_same_after_a_seek() -> None:
    images = ImageSet(np.random.default_rng(0).integers(0, 255, (32, 8, 8, 3), dtype=np.uint8), "toy")
    config = Augment(flip=True, crop="resize-crop")

    def stream() -> BatchStream:
        return BatchStream(images, 8, seed=3, device=torch.device("cpu"), augment=config)

    straight = stream()
    batches = [straight.next()[0] for _ in range(6)]
    resumed = stream()
    resumed.seek(1, 8)  # where a checkpoint after the fifth batch would put it (4 batches an epoch)
    assert torch.equal(resumed.next()[0], batches[5])
    plain = BatchStream(images, 8, seed=3, device=torch.device("cpu"))
    assert not torch.equal(plain.next()[0], batches[0])


def test_augmented_training_resumes_exactly_and_evaluation_never_augments(tmp_path: Path) -> None:
    sets = [*TINY, "augment.flip=true", "augment.crop=resized", "checkpoint_every=2"]
    straight = genzoo.train("vae-conv", data="cartoon", overrides=sets, steps=4, out=tmp_path / "a").run_dir
    genzoo.train("vae-conv", data="cartoon", overrides=sets, steps=2, out=tmp_path / "b")
    resumed = genzoo.train(resume=tmp_path / "b", steps=4).run_dir
    a, b = (genzoo.checkpoint.load_tensors(r / "model.safetensors") for r in (straight, resumed))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert RunDir(straight).read_config()["data"]["augment"]["flip"] is True
    assert genzoo.evaluate(straight, n=8)["heldout_mse"] == genzoo.evaluate(straight, n=8)["heldout_mse"]


# ---- Hugging Face data sets --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hub_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small data set as `Dataset.save_to_disk` writes it: images, a class label and a caption column."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
    from datasets import Image as ImageFeature

    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(rng.integers(0, 255, (20, 30, 3), dtype=np.uint8)) for _ in range(24)]
    features = Features(
        {"caption": Value("string"), "picture": ImageFeature(), "kind": ClassLabel(names=["cat", "dog"])}
    )
    data = {"caption": [str(i) for i in range(24)], "picture": pictures, "kind": [i % 2 for i in range(24)]}
    folder = tmp_path_factory.mktemp("hub") / "pets"
    train = Dataset.from_dict(data, features=features)
    DatasetDict({"train": train, "test": train.select(range(6))}).save_to_disk(str(folder))
    return folder


def test_a_hub_data_set_loads_with_its_labels(hub_dataset: Path) -> None:
    split = load_data(DataConfig(name=f"hf:{hub_dataset}", heldout_fraction=0.25), 16)
    assert (len(split.train), len(split.heldout)) == (18, 6)
    assert split.train.domain == "pets" and split.train.schema == {"kind": ("cat", "dog")}
    assert split.train.images.mapped and split.train.images[0].shape == (16, 16, 3)
    test = load_data(DataConfig(name=f"hf:{hub_dataset}#picture@test", heldout_fraction=0.0), 16).train
    assert len(test) == 6 and np.array_equal(
        test.images[:], load_data(DataConfig(name=f"hf:{hub_dataset}", heldout_fraction=0.0), 16).train.images[:6]
    )


def test_training_on_a_hub_data_set(runner: CliRunner, hub_dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    sets = [a for s in [*TINY, "batch_size=4"] for a in ("--set", s)]
    cli_ok(
        runner, "train", "vae-conv", "--data", f"hf:{hub_dataset}", "--steps", "2", "--quiet", "--out", str(out), *sets
    )
    assert RunDir(out).read_config()["data"]["name"] == f"hf:{hub_dataset}"
    assert genzoo.evaluate(out, n=4)["heldout_images"] == 2


def test_hub_mistakes_are_one_message(
    runner: CliRunner, hub_dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = ["--steps", "1", "--out", str(tmp_path / "r")]
    for name, expected in (
        (f"hf:{hub_dataset}#caption", "Column 'caption' of"),
        (f"hf:{hub_dataset}#nope", "has no column 'nope'; its columns: caption, picture, kind"),
        (f"hf:{hub_dataset}@valid", "has no split 'valid'; it has train, test"),
        (f"hf:{tmp_path / 'missing'}", "could not be loaded"),
    ):
        assert expected in cli_fails(runner, "train", "vae-conv", "--data", name, *out)
    monkeypatch.setitem(sys.modules, "datasets", None)
    assert "pip install 'genzoo[hf]'" in cli_fails(runner, "train", "vae-conv", "--data", f"hf:{hub_dataset}", *out)


def test_a_hub_data_set_without_images_names_its_columns(runner: CliRunner, tmp_path: Path) -> None:
    from datasets import Dataset

    Dataset.from_dict({"text": ["a", "b"]}).save_to_disk(str(tmp_path / "words"))
    message = cli_fails(runner, "train", "vae-conv", "--data", f"hf:{tmp_path / 'words'}", "--steps", "1")
    assert "has no image column (columns: text)" in message and "#COLUMN" in message

"""The bad-input corpus: what a user sees when they hand the CLI something broken, odd or dangerous.

Every file is built here, in ``tmp_path``; nothing is downloaded or stored. Each case goes through the command a user
runs (``genzoo train``, ``reconstruct``, ``sample``, ``info``) and checks what the user sees: the exit code, one
message without a traceback that names the offending file or value and says what to do, skip notes with a count,
and the files on disk.

Images (in a data folder, beside good images; training finishes with a skip note, ``--strict`` fails naming the file,
``reconstruct`` of the file alone fails naming it):
    truncated PNG · zero-byte file · text file named .png · 1×1 image (too small to use: a documented skip) ·
    image over Pillow's decompression-bomb limit · non-UTF-8 file name · file-symlink loop and dangling link
Valid formats (load correctly, pixels checked through ``reconstruct``'s input row; one run trains on all of them):
    grayscale · RGBA (transparency on white) · palette · 16-bit PNG (scaled, not clipped) · animated GIF (first
    frame) · EXIF-rotated JPEG (rotation honoured)
Folders and paths:
    directory symlink loop · empty folder · folder without images · missing data path · missing image
Names and values:
    unknown model / loss / data set (with close-name suggestions) · bad ``--set`` syntax · out-of-range values
Weights:
    a run of another model resumed as this one · a checkpoint of another config in a run being resumed · weights
    that do not fit the config in their header · ``.pth`` / ``.pkl`` where safetensors is expected (never unpickled) ·
    safetensors with a malformed header (length, JSON, object, offsets, metadata)
Writing:
    full disk at the second checkpoint (first kept, no temp files, resumable) · read-only output folder
    (simulated, and a real ``chmod`` when not root) · ``--out`` on an existing run or on the data folder is refused
    and nothing is touched
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import pickle
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from genzoo import checkpoint
from genzoo import io as genzoo_io
from genzoo.data.folder import load_image
from genzoo.images import read_grid
from tests.conftest import TINY, cli_fails, cli_ok

RED = (255, 0, 0)
BLUE = (0, 0, 255)
FOLDER_RUN = [*TINY, "batch_size=4"]  # a dozen images: small batches


# ---- helpers -------------------------------------------------------------------------------------------------------


def sets(overrides: list[str]) -> list[str]:
    return [arg for override in overrides for arg in ("--set", override)]


def train_args(data: Path | str, out: Path, *extra: str, steps: int = 2) -> list[str]:
    return ["train", "vae-conv", "--data", str(data), "--steps", str(steps), "--quiet", "--out", str(out), *extra]


def good_folder(root: Path, n: int = 12) -> Path:
    """``n`` good 20×20 PNGs, each a different colour."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (20, 20), (i * 20, 120, 240 - i * 20)).save(root / f"good{i:02d}.png")
    return root


def png_bytes(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save)
    return buffer.getvalue()


def half_and_half(top: tuple[int, int, int], bottom: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    width, height = size
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[: height // 2], pixels[height // 2 :] = top, bottom
    return Image.fromarray(pixels)


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file below ``root``: its content hash and mtime, to prove nothing was touched."""
    return {
        str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp") or p.name.startswith(".")]


def input_tile(grid_png: Path) -> np.ndarray:
    """The first input image (16 px) of a ``reconstruct`` grid: 2 px padding, drawn at twice the size, right of the
    rows' labels."""
    grid = read_grid(grid_png)
    assert grid is not None and grid.rows[0] == "input"
    x, y = grid.box[:2]
    return np.asarray(Image.open(grid_png).convert("RGB"))[y + 4 : y + 36 : 2, x + 4 : x + 36 : 2]


def assert_colour(array: np.ndarray, colour: tuple[int, int, int], tolerance: int = 0) -> None:
    difference = np.abs(array.reshape(-1, 3).astype(int) - np.array(colour)).max()
    assert difference <= tolerance, f"max channel difference {difference} from {colour}"


def assert_mentions(message: str, *parts: str) -> None:
    """``message`` (from ``cli_fails``: no traceback, whitespace joined) is one error that says all of ``parts``."""
    assert message.startswith("error: ") and message.count("error:") == 1, message
    for part in parts:
        assert part in message, f"{part!r} not in {message!r}"


# ---- unreadable images: skipped with a count, fatal with --strict, named by reconstruct ----------------------------


def _truncated(path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    data = png_bytes(Image.fromarray(noise))
    path.write_bytes(data[: len(data) // 2])


BAD_IMAGES = {
    "truncated-png": (_truncated, "truncated or corrupt image"),
    "zero-byte": (lambda p: p.write_bytes(b""), "empty file"),
    "text-named-png": (lambda p: p.write_text("this is not a picture\n"), "not an image"),
    # Pillow decodes it, but one pixel cannot be resized into a training image: a documented skip
    "one-by-one": (lambda p: Image.new("RGB", (1, 1), RED).save(p), "too small (1x1)"),
}


def check_bad_image(
    runner: CliRunner, tmp_path: Path, tiny_run: Path, folder: Path, name: str, shown: str, reason: str
) -> str:
    """Training skips ``name`` and says so with a count; --strict stops naming it; reconstruct names it.

    Returns what training printed, on one line."""
    out = cli_ok(runner, *train_args(folder, tmp_path / "run"), *sets(FOLDER_RUN))
    text = " ".join(out.split())
    assert f"skipped 1 unreadable file: {shown} ({reason})" in text
    assert "--strict" in text
    assert (tmp_path / "run" / "model.safetensors").is_file()

    message = cli_fails(runner, *train_args(folder, tmp_path / "strict"), "--strict", *sets(FOLDER_RUN))
    assert_mentions(message, f"Cannot use the image '{shown}': {reason}", "Strict mode", "fix or remove it")
    assert not (tmp_path / "strict" / "model.safetensors").exists()

    message = cli_fails(runner, "reconstruct", str(tiny_run), str(folder / name), "--out", str(tmp_path / "r.png"))
    assert_mentions(message, shown, reason, "re-save it as PNG or JPEG, or remove it")
    assert not (tmp_path / "r.png").exists()
    return text


@pytest.mark.parametrize("case", list(BAD_IMAGES))
def test_unreadable_image(runner: CliRunner, tmp_path: Path, tiny_run: Path, case: str) -> None:
    make, reason = BAD_IMAGES[case]
    folder = good_folder(tmp_path / "photos")
    make(folder / "bad.png")
    check_bad_image(runner, tmp_path, tiny_run, folder, "bad.png", "bad.png", reason)


def test_decompression_bomb(runner: CliRunner, tmp_path: Path, tiny_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Over Pillow's limit (lowered here instead of writing a huge file): refused unread, not decoded."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 30 * 30)
    folder = good_folder(tmp_path / "photos")  # 20×20: below the limit
    Image.new("RGB", (64, 64), RED).save(folder / "bomb.png")
    reason = "larger than Pillow's decompression-bomb limit"
    check_bad_image(runner, tmp_path, tiny_run, folder, "bomb.png", "bomb.png", reason)
    assert Image.MAX_IMAGE_PIXELS == 30 * 30  # read, never raised by genzoo


def non_utf8(folder: Path, name: bytes, make: Callable[[Path], object] = lambda p: p.write_bytes(b"")) -> Path:
    """``folder/name`` made by ``make`` (an empty file by default), ``name`` being bytes that are not UTF-8."""
    path = Path(os.fsdecode(os.fsencode(folder) + b"/" + name))
    try:
        make(path)
    except (OSError, UnicodeError) as exc:
        pytest.skip(f"this file system refuses non-UTF-8 file names ({exc})")
    return path


def test_non_utf8_file_names(runner: CliRunner, tmp_path: Path, tiny_run: Path) -> None:
    """Latin-1 names, of the folder and of its files: a good image is used, a bad one is named with an escape."""
    folder = good_folder(non_utf8(tmp_path, b"fotos-\xe9", Path.mkdir))
    good = non_utf8(folder, b"caf\xe9-good.png")
    good.write_bytes(png_bytes(Image.new("RGB", (20, 20), BLUE)))
    non_utf8(folder, b"caf\xe9.png")  # empty: unreadable
    out = check_bad_image(runner, tmp_path, tiny_run, folder, os.fsdecode(b"caf\xe9.png"), "caf\\xe9.png", "empty file")
    assert "fotos-\\xe9: skipped 1 unreadable file" in out
    cli_ok(runner, "reconstruct", str(tiny_run), str(good), "--out", str(tmp_path / "good.png"))
    assert_colour(input_tile(tmp_path / "good.png"), BLUE, tolerance=1)


def test_symlinks_file_loop_and_dangling(runner: CliRunner, tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "photos")
    os.symlink("b.png", folder / "a.png")
    os.symlink("a.png", folder / "b.png")
    os.symlink(tmp_path / "nowhere.png", folder / "gone.png")
    out = " ".join(cli_ok(runner, *train_args(folder, tmp_path / "run"), *sets(FOLDER_RUN)).split())
    assert "skipped 3 unreadable files:" in out
    assert "a.png (cannot open file (Too many levels of symbolic links))" in out
    assert "gone.png (cannot open file (No such file or directory))" in out
    message = cli_fails(runner, *train_args(folder, tmp_path / "strict"), "--strict", *sets(FOLDER_RUN))
    assert_mentions(message, "'a.png'", "symbolic links", "Strict mode")


# ---- valid formats: each loads with the right pixels --------------------------------------------------------------


def _grayscale(path: Path) -> tuple[int, int, int]:
    Image.new("L", (20, 20), 77).save(path)
    return (77, 77, 77)


def _rgba(path: Path) -> tuple[int, int, int]:
    pixels = np.zeros((20, 20, 4), dtype=np.uint8)
    pixels[...] = (255, 0, 0, 0)  # fully transparent red: white on screen, so white here
    pixels[6:14, 6:14] = (0, 0, 255, 255)  # an opaque blue square in the middle
    Image.fromarray(pixels, mode="RGBA").save(path)
    return (255, 255, 255)


def _palette(path: Path) -> tuple[int, int, int]:
    image = Image.new("P", (20, 20), 1)
    image.putpalette([0, 0, 0, 12, 34, 56] + [0] * 762)
    image.save(path)
    return (12, 34, 56)


def _sixteen_bit(path: Path) -> tuple[int, int, int]:
    Image.fromarray(np.full((20, 20), 257 * 200, dtype=np.uint16)).save(path)  # clipping would give 255
    with Image.open(path) as check:
        assert check.mode.startswith("I")  # really stored as 16 bit
    return (200, 200, 200)


def _animated_gif(path: Path) -> tuple[int, int, int]:
    frames = [Image.new("RGB", (20, 20), colour) for colour in (RED, (0, 255, 0), BLUE)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 3
    return RED


def _exif_rotated(path: Path) -> tuple[int, int, int]:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": the red top ends up on the right
    half_and_half(RED, BLUE, (64, 32)).save(path, exif=exif, quality=95)
    return RED


VALID_FORMATS = {
    "grayscale.png": _grayscale,
    "rgba.png": _rgba,
    "palette.png": _palette,
    "sixteen-bit.png": _sixteen_bit,
    "animated.gif": _animated_gif,
    "exif-rotated.jpg": _exif_rotated,
}


@pytest.mark.parametrize("name", list(VALID_FORMATS))
def test_valid_format_loads(runner: CliRunner, tmp_path: Path, tiny_run: Path, name: str) -> None:
    path = tmp_path / name
    colour = VALID_FORMATS[name](path)
    out = tmp_path / "grid.png"
    assert "wrote 1 input and its reconstruction to" in cli_ok(
        runner, "reconstruct", str(tiny_run), str(path), "--out", str(out)
    )
    tile = input_tile(out)  # what the model was given, as the user sees it in the grid
    assert np.abs(tile.astype(int) - load_image(path, 16).astype(int)).max() <= 1
    if name == "exif-rotated.jpg":  # a wide red-over-blue picture, turned upright: red right, blue left
        assert_colour(tile[:, -4:], RED, tolerance=30)
        assert_colour(tile[:, :4], BLUE, tolerance=30)
    elif name == "rgba.png":
        for corner in (tile[:3, :3], tile[:3, -3:], tile[-3:, :3], tile[-3:, -3:]):
            assert_colour(corner, colour, tolerance=1)  # transparent: white, not the hidden red
        assert_colour(tile[7:9, 7:9], BLUE, tolerance=1)
    else:
        assert_colour(tile, colour, tolerance=1)


def test_training_on_every_valid_format(runner: CliRunner, tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "photos", n=6)
    for name, make in VALID_FORMATS.items():
        make(folder / name)
    out = cli_ok(runner, *train_args(folder, tmp_path / "run"), *sets(FOLDER_RUN))
    assert "skipped" not in out and "done 2 steps" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["heldout"]["heldout_images"] == 1  # 10 % of the 12 images, all read


# ---- folders and paths ---------------------------------------------------------------------------------------------


def test_directory_symlink_loop(runner: CliRunner, tmp_path: Path) -> None:
    """Links back up the tree are followed once: the run ends, and no image is counted twice."""
    folder = good_folder(tmp_path / "photos")
    os.symlink(".", folder / "self")
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")
    out = cli_ok(runner, *train_args(folder, tmp_path / "run"), *sets(FOLDER_RUN))
    assert "skipped" not in out and "done 2 steps" in out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["heldout"]["heldout_images"] == 1  # 12 images, not 12 per visit


@pytest.mark.parametrize("content", ["nothing", "no-images"])
def test_folder_without_images(runner: CliRunner, tmp_path: Path, content: str) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    if content == "no-images":
        (folder / "notes.txt").write_text("holiday pictures to come")
        (folder / ".hidden.png").write_bytes(png_bytes(Image.new("RGB", (20, 20))))
    message = cli_fails(runner, *train_args(folder, tmp_path / "run"), *sets(FOLDER_RUN))
    assert_mentions(message, f"No images found in '{folder}'", ".png", "Point to the folder that holds")
    assert not (tmp_path / "run").exists()


def test_missing_paths(runner: CliRunner, tmp_path: Path, tiny_run: Path) -> None:
    missing = tmp_path / "no-such-folder"
    message = cli_fails(runner, *train_args(missing, tmp_path / "run"), *sets(FOLDER_RUN))
    assert_mentions(message, f"'{missing}' does not exist", "Check the path for typos")
    assert not (tmp_path / "run").exists()
    image = tmp_path / "no-such.png"
    message = cli_fails(runner, "reconstruct", str(tiny_run), str(image), "--out", str(tmp_path / "r.png"))
    assert_mentions(message, f"'{image}' does not exist", "Check the path")
    weights = tmp_path / "no-such.safetensors"
    for command in ("info", "sample"):
        assert_mentions(cli_fails(runner, command, str(weights)), str(weights), "does not exist", "Give a")
    message = cli_fails(runner, "train", "--resume", str(missing))
    assert_mentions(message, str(missing), "not a genzoo run directory")


# ---- names and values ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["vae-cnv"], ["Unknown model 'vae-cnv'", "Did you mean 'vae-conv'", "genzoo list"]),
        (["vae-conv", "--set", "recon_loss=mes"], ["unknown reconstruction loss 'mes'", "did you mean 'mse'", "bce"]),
        (["vae-conv", "--set", "kl_schedule.kind=linaer"], ["unknown kl_schedule loss 'linaer'", "'linear'"]),
        (["vae-conv", "--data", "cartun"], ["Unknown data set 'cartun'", "Did you mean 'cartoon'", "folder"]),
    ],
    ids=["model", "loss", "schedule", "dataset"],
)
def test_unknown_names(runner: CliRunner, tmp_path: Path, args: list[str], expected: list[str]) -> None:
    message = cli_fails(runner, "train", *args, "--out", str(tmp_path / "run"))
    assert_mentions(message, *expected)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("foo", ["Bad --set 'foo'", "write key=value"]),
        ("=3", ["Bad --set '=3'", "write key=value"]),
        ("lr=[", ["model.lr = '['", "valid number"]),
        ("latnt_dim=3", ["no field 'latnt_dim'", "Did you mean latent_dim"]),
    ],
    ids=["no-equals", "no-key", "bad-value", "misspelt-key"],
)
def test_bad_set_syntax(runner: CliRunner, tmp_path: Path, override: str, expected: list[str]) -> None:
    message = cli_fails(runner, "train", "vae-conv", "--set", override, "--out", str(tmp_path / "run"))
    assert_mentions(message, *expected)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "lr=-0.001"], "model.lr = -0.001: Input should be greater than 0"),
        (["--steps", "-5"], "train.steps = -5: Input should be greater than 0"),
        (["--set", "batch_size=-1"], "train.batch_size = -1: Input should be greater than 0"),
        (["--set", "image_size=48"], "model.image_size = 48: must be a power of two of at least 16 (16, 32, 64"),
        (["--set", "heldout_fraction=1.5"], "data.heldout_fraction = 1.5: Input should be less than or equal to 0.9"),
    ],
    ids=["lr", "steps", "batch_size", "image_size", "heldout_fraction"],
)
def test_out_of_range_values(runner: CliRunner, tmp_path: Path, args: list[str], expected: str) -> None:
    message = cli_fails(runner, "train", "vae-conv", *args, "--out", str(tmp_path / "run"))
    assert_mentions(message, "Invalid configuration for vae-conv", expected, "fields:")
    assert not (tmp_path / "run").exists()


# ---- weights of another model or config ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two finished 4-step vae-conv runs with checkpoints at steps 2 and 4: latent_dim 8 and latent_dim 4."""
    import genzoo

    root = tmp_path_factory.mktemp("two-runs")
    runs = []
    for latent in (8, 4):
        out = root / f"latent{latent}"
        genzoo.train("vae-conv", overrides=[*TINY, f"latent_dim={latent}", "checkpoint_every=2"], steps=4, out=out)
        runs.append(out)
    return runs[0], runs[1]


def test_resume_as_another_model(runner: CliRunner, two_runs: tuple[Path, Path]) -> None:
    run = two_runs[0]
    before = snapshot(run)
    message = cli_fails(runner, "train", "vae-mlp", "--resume", str(run), "--steps", "6", "--quiet")
    assert_mentions(message, f"{run} is a run of vae-conv, not of vae-mlp")
    assert snapshot(run) == before


def test_resume_from_a_checkpoint_of_another_config(
    runner: CliRunner, tmp_path: Path, two_runs: tuple[Path, Path]
) -> None:
    """A latent_dim-4 checkpoint copied into a latent_dim-8 run: refused by name, nothing changed."""
    run = tmp_path / "run"
    run.mkdir()
    for item in two_runs[0].iterdir():  # a copy, so that the shared runs stay as they are
        if item.is_file():
            (run / item.name).write_bytes(item.read_bytes())
    (run / "checkpoints").mkdir()
    stranger = run / "checkpoints" / "step-0000004.safetensors"
    stranger.write_bytes((two_runs[1] / "checkpoints" / "step-0000004.safetensors").read_bytes())
    before = snapshot(run)
    message = cli_fails(runner, "train", "--resume", str(run), "--steps", "6", "--quiet")
    assert_mentions(message, f"Cannot resume {run}", str(stranger), "latent_dim (file: 4, run: 8)", "move it out of")
    assert snapshot(run) == before


def test_weights_that_do_not_fit_their_header(runner: CliRunner, tmp_path: Path, two_runs: tuple[Path, Path]) -> None:
    """A file whose header says latent_dim 4 but whose tensors are of latent_dim 8: refused when loading."""
    source = checkpoint.read_header(two_runs[0] / "model.safetensors")
    path = checkpoint.save(
        tmp_path / "mislabelled.safetensors",
        model_name="vae-conv",
        config={**source.config, "latent_dim": 4},
        weights=checkpoint.load_tensors(source.path),
    )
    assert "vae-conv" in cli_ok(runner, "info", str(path))  # the header alone is fine
    for command in (["sample", str(path)], ["reconstruct", str(path)]):
        message = cli_fails(runner, *command, "--out", str(tmp_path / "x.png"))
        assert_mentions(message, str(path), "does not fit vae-conv")
    assert not (tmp_path / "x.png").exists()


def test_weights_of_a_model_that_is_not_installed(runner: CliRunner, tmp_path: Path) -> None:
    """A checkpoint of a plugin's model, opened where the plugin is missing: the message says what to install."""
    import torch

    path = checkpoint.save(
        tmp_path / "resvae.safetensors", model_name="resvae", config={"image_size": 16}, weights={"w": torch.zeros(2)}
    )
    assert "resvae" in cli_ok(runner, "info", str(path))  # the header alone is fine
    translate = ["translate", str(path), str(path), "--to", "anime"]
    for command in (["sample", str(path)], ["reconstruct", str(path)], translate):
        message = cli_fails(runner, *command)
        assert_mentions(message, str(path), "'resvae'", "not registered", "GENZOO_DISABLE_PLUGINS", "vae-conv")


class _Payload:
    """Unpickling this creates the marker file: proof that a file was unpickled."""

    marker = Path(tempfile.gettempdir()) / "never"

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("suffix", [".pth", ".pkl"])
@pytest.mark.parametrize("command", ["info", "sample", "reconstruct"])
def test_pickle_where_safetensors_expected(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, suffix: str, command: str
) -> None:
    marker = tmp_path / "unpickled"
    monkeypatch.setattr(_Payload, "marker", marker)
    path = tmp_path / f"weights{suffix}"
    if suffix == ".pth":
        import torch

        torch.save({"w": _Payload()}, path)
    else:
        path.write_bytes(pickle.dumps({"w": _Payload()}))
    message = cli_fails(runner, command, str(path), *(["--out", str(tmp_path / "x.png")] if command != "info" else []))
    assert_mentions(message, str(path), "is not a genzoo safetensors checkpoint", "never unpickles")
    assert not marker.exists()


def test_pickle_given_to_import_weights(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The one command that reads .pth files reads tensors only: the payload is refused, not run."""
    import torch

    marker = tmp_path / "unpickled"
    monkeypatch.setattr(_Payload, "marker", marker)
    torch.save({"model.1.weight": _Payload()}, tmp_path / "latest_net_G_A.pth")
    message = cli_fails(
        runner,
        "import-weights",
        "cyclegan-resnet",
        str(tmp_path / "latest_net_G_A.pth"),
        "--out",
        str(tmp_path / "g.safetensors"),
    )
    assert_mentions(message, "latest_net_G_A.pth", "weights_only=True", "Unsupported global")
    assert "weights_only=False" not in message and "\x1b" not in message  # no advice to load it unsafely
    assert not marker.exists() and not (tmp_path / "g.safetensors").exists()


def _safetensors(header: object, body: bytes = b"", length: int | None = None) -> bytes:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(text) if length is None else length) + text + body


_META = {"format": "genzoo/1", "model": "vae-conv", "config": "{}"}
_F32x2 = {"dtype": "F32", "shape": [2]}
MALFORMED = {
    "bad-length": (_safetensors(b"{}", length=10**9), "its header length is impossible"),
    "short": (b"\x05\x00", "too short to hold a safetensors header"),
    "non-json": (_safetensors(b"{not json}"), "its header is not valid JSON"),
    "non-utf8": (_safetensors(b'{"a": "\xff"}'), "its header is not valid JSON"),
    "non-object": (_safetensors([1, 2, 3]), "its header is not a JSON object"),
    "offsets-vs-shape": (
        _safetensors({"w": {**_F32x2, "data_offsets": [0, 4]}, "__metadata__": _META}, b"\0" * 4),
        "its header entry for 'w' is malformed",
    ),
    "offsets-past-end": (
        _safetensors({"w": {**_F32x2, "data_offsets": [0, 8]}, "__metadata__": _META}, b"\0" * 4),
        "truncated or corrupt: the header describes",
    ),
    "offsets-overlap": (
        _safetensors(
            {"a": {**_F32x2, "data_offsets": [0, 8]}, "b": {**_F32x2, "data_offsets": [0, 8]}, "__metadata__": _META},
            b"\0" * 8,
        ),
        "overlaps another tensor's or leaves a gap",
    ),
    "negative-shape": (
        _safetensors({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [8, 4]}, "__metadata__": _META}),
        "its header entry for 'w' is malformed",
    ),
    "entry-not-object": (_safetensors({"w": "x", "__metadata__": _META}), "its header entry for 'w' is malformed"),
    "metadata-not-object": (_safetensors({"__metadata__": ["x"]}), "its __metadata__ is not a JSON object"),
    "model-not-a-name": (
        _safetensors({"__metadata__": {"format": "genzoo/1", "model": 5}}),
        "malformed genzoo header (model is 5, not a model name)",
    ),
    "config-not-object": (
        _safetensors({"__metadata__": {**_META, "config": "[1]"}}),
        "malformed genzoo header (its config is not a JSON object)",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_safetensors_header(runner: CliRunner, tmp_path: Path, case: str) -> None:
    data, reason = MALFORMED[case]
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    for command in (["info", str(path)], ["sample", str(path), "--out", str(tmp_path / "x.png")]):
        message = cli_fails(runner, *command)
        assert_mentions(message, str(path), reason)
    assert not (tmp_path / "x.png").exists()


# ---- writing: a full disk, a read-only folder, files already there -------------------------------------------------


def test_full_disk_at_the_second_checkpoint(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = tmp_path / "run"
    args = ["train", "vae-conv", "--steps", "6", "--quiet", "--out", str(run), *sets([*TINY, "checkpoint_every=2"])]
    real_write = checkpoint.atomic_write
    checkpoints: list[Path] = []

    def write(path: Path, data: bytes) -> None:
        if path.parent.name == "checkpoints":
            checkpoints.append(path)
            if len(checkpoints) == 2:  # the disk fills up while this one is being written
                with monkeypatch.context() as full:
                    full.setattr(genzoo_io.os, "fsync", lambda fd: _raise(OSError(errno.ENOSPC, "No space left")))
                    return real_write(path, data)
        return real_write(path, data)

    monkeypatch.setattr(checkpoint, "atomic_write", write)
    message = cli_fails(runner, *args, code=1)
    second = run / "checkpoints" / "step-0000004.safetensors"
    assert_mentions(
        message, "The disk is full", str(second), "Free some space", f"genzoo train --resume {run}", "step-0000002"
    )
    first = run / "checkpoints" / "step-0000002.safetensors"
    assert [p.name for p in (run / "checkpoints").iterdir()] == [first.name]
    assert temp_files(run) == []
    info = checkpoint.read_header(first)
    assert (info.model, info.step, info.resumable) == ("vae-conv", 2, True)
    weights = checkpoint.load_tensors(first)
    assert weights["decoder.0.weight"].shape == (256, 8) and checkpoint.load_state(first)["data"] == {"x": [0, 32]}

    monkeypatch.setattr(checkpoint, "atomic_write", real_write)  # space again
    assert "done 6 steps" in cli_ok(runner, "train", "--resume", str(run), "--quiet")
    assert checkpoint.read_header(run / "model.safetensors").step == 6
    assert [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()] == [2, 4, 6]
    assert temp_files(run) == []


def _raise(exc: BaseException) -> None:
    raise exc


def test_full_disk_while_writing_samples(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_run: Path
) -> None:
    monkeypatch.setattr(genzoo_io.os, "fsync", lambda fd: _raise(OSError(errno.ENOSPC, "No space left on device")))
    grid = tmp_path / "samples.png"
    message = cli_fails(runner, "sample", str(tiny_run), "-n", "4", "--out", str(grid), code=1)
    assert_mentions(message, "The disk is full", str(grid), "Free some space, then run the command again")
    assert list(tmp_path.iterdir()) == []  # neither the grid nor its temporary file


def test_read_only_output_simulated(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root can write anywhere, so the refusal is simulated where every run file is created: the temporary file."""
    out = tmp_path / "locked" / "run"
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: object, dir: str | None = None, **kwargs: object) -> tuple[int, str]:
        if dir is not None and (tmp_path / "locked") in (Path(dir), *Path(dir).parents):
            raise PermissionError(errno.EACCES, "Permission denied", os.path.join(dir, ".x.tmp"))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(genzoo_io.tempfile, "mkstemp", mkstemp)
    message = cli_fails(runner, "train", "vae-conv", "--steps", "2", "--quiet", "--out", str(out), *sets(TINY), code=1)
    assert_mentions(message, "Permission denied", str(out / "config.json"), "another --out", "permissions")
    assert ".tmp" not in message
    assert [p for p in out.rglob("*") if p.is_file()] == []
    grid = tmp_path / "locked" / "samples.png"
    tiny = tmp_path / "tiny.safetensors"
    message = cli_fails(runner, "sample", str(_tiny_weights(tiny)), "-n", "2", "--out", str(grid), code=1)
    assert_mentions(message, "Permission denied", str(grid), "another --out")
    assert not grid.exists()


def _tiny_weights(path: Path) -> Path:
    import genzoo

    model = genzoo.create("vae-conv", image_size=16, width=4, latent_dim=4)
    return checkpoint.save(
        path, model_name="vae-conv", config=model.config.model_dump(mode="json"), weights=model.state_dict()
    )


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_read_only_output_chmod(runner: CliRunner, tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        out = locked / "run"
        message = cli_fails(
            runner, "train", "vae-conv", "--steps", "2", "--quiet", "--out", str(out), *sets(TINY), code=1
        )
        assert_mentions(message, "Permission denied", str(out), "another --out")
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


def test_out_on_an_existing_run_is_refused(runner: CliRunner, tmp_path: Path, tiny_run: Path) -> None:
    before = snapshot(tiny_run)
    args = ["train", "vae-conv", "--steps", "2", "--quiet", "--out", str(tiny_run), *sets(TINY)]
    message = cli_fails(runner, *args)
    assert_mentions(message, f"{tiny_run} already holds files", "another --out", f"--resume {tiny_run}")
    assert snapshot(tiny_run) == before


def test_out_on_the_data_folder_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "photos")
    before = snapshot(folder)
    message = cli_fails(runner, *train_args(folder, folder), *sets(FOLDER_RUN))
    assert_mentions(message, f"{folder} already holds files", "Choose another --out")
    assert snapshot(folder) == before

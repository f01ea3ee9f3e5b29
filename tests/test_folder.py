"""Tests for genzoo.data.folder: finding, decoding and loading a user's image folder.

Every image is built in ``tmp_path`` by the test itself; no binary fixtures.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from genzoo.data import folder
from genzoo.data.folder import (
    IMAGE_EXTENSIONS,
    Skipped,
    UnreadableImage,
    find_images,
    image_names,
    load_folder,
    load_image,
    skipped_summary,
    split_heldout,
)
from genzoo.errors import DataError, GenzooError

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


# --------------------------------------------------------------------------------------------------------------------
# Corpus builders


def solid(path: Path, colour: tuple[int, ...], size: tuple[int, int] = (12, 12), mode: str = "RGB", **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path, **save)
    return path


def truncated_png(path: Path) -> Path:
    noise = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return path


def half_and_half(top: tuple[int, int, int], bottom: tuple[int, int, int], size: tuple[int, int]) -> Image.Image:
    """An image whose top half is ``top`` and bottom half ``bottom``."""
    width, height = size
    pixels = np.empty((height, width, 3), dtype=np.uint8)
    pixels[: height // 2] = top
    pixels[height // 2 :] = bottom
    return Image.fromarray(pixels)


def assert_colour(array: np.ndarray, colour: tuple[int, int, int], tolerance: int = 0) -> None:
    difference = np.abs(array.reshape(-1, 3).astype(int) - np.array(colour)).max()
    assert difference <= tolerance, f"max channel difference {difference} from {colour}"


# --------------------------------------------------------------------------------------------------------------------
# load_image: pixels


def test_rgb_png_exact(tmp_path: Path) -> None:
    out = load_image(solid(tmp_path / "a.png", (10, 200, 30)), 8)
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    assert_colour(out, (10, 200, 30))


def test_jpeg(tmp_path: Path) -> None:
    out = load_image(solid(tmp_path / "a.jpg", (200, 40, 40), quality=95), 8)
    assert out.shape == (8, 8, 3)
    assert_colour(out, (200, 40, 40), tolerance=6)


def test_large_jpeg_is_drafted_but_correct(tmp_path: Path) -> None:
    image = half_and_half(RED, BLUE, (400, 800))
    image.save(tmp_path / "big.jpg", quality=95)
    out = load_image(tmp_path / "big.jpg", 16)
    # centre square of a tall image: rows 200..600, red above 400, blue below
    assert_colour(out[:6], RED, tolerance=20)
    assert_colour(out[-6:], BLUE, tolerance=20)


def test_uppercase_extension_and_bmp_webp(tmp_path: Path) -> None:
    for name in ("a.PNG", "b.JpEg", "c.bmp", "d.webp"):
        solid(tmp_path / name, GREEN, lossless=True) if name.endswith("webp") else solid(tmp_path / name, GREEN)
        assert_colour(load_image(tmp_path / name, 4), GREEN, tolerance=3)


def test_greyscale_and_one_bit(tmp_path: Path) -> None:
    assert_colour(load_image(solid(tmp_path / "l.png", 77, mode="L"), 4), (77, 77, 77))
    assert_colour(load_image(solid(tmp_path / "one.png", 1, mode="1"), 4), WHITE)
    assert_colour(load_image(solid(tmp_path / "zero.png", 0, mode="1"), 4), (0, 0, 0))


def test_rgba_transparent_becomes_white(tmp_path: Path) -> None:
    pixels = np.zeros((10, 10, 4), dtype=np.uint8)
    pixels[:, :5] = (255, 0, 0, 0)  # fully transparent red -> white
    pixels[:, 5:] = (0, 0, 0, 128)  # half-transparent black -> mid grey
    Image.fromarray(pixels, mode="RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png", 10)
    assert_colour(out[:, :4], WHITE)
    assert_colour(out[:, 6:], (127, 127, 127), tolerance=1)


def test_la_transparent_becomes_white(tmp_path: Path) -> None:
    assert_colour(load_image(solid(tmp_path / "la.png", (0, 0), mode="LA"), 4), WHITE)
    assert_colour(load_image(solid(tmp_path / "la2.png", (50, 255), mode="LA"), 4), (50, 50, 50))


def test_palette_and_palette_transparency(tmp_path: Path) -> None:
    image = Image.new("P", (8, 8), 1)
    image.putpalette([0, 0, 0, 12, 34, 56] + [0] * 762)
    image.save(tmp_path / "p.png")
    assert_colour(load_image(tmp_path / "p.png", 8), (12, 34, 56))
    image.save(tmp_path / "pt.png", transparency=1)
    assert_colour(load_image(tmp_path / "pt.png", 8), WHITE)


def test_cmyk_jpeg(tmp_path: Path) -> None:
    out = load_image(solid(tmp_path / "c.jpg", (0, 255, 255, 0), mode="CMYK", quality=95), 8)
    assert_colour(out, RED, tolerance=8)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 32896, 65535, 257 * 200]] * 4, dtype=np.uint16)
    image = Image.fromarray(values)
    assert image.mode == "I;16"
    image.save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as reopened:
        assert reopened.mode.startswith("I")  # really stored as 16 bit
    out = load_image(tmp_path / "g16.png", 4)  # already 4 px tall: columns are kept as they are
    assert out.shape == (4, 4, 3)
    np.testing.assert_array_equal(out[0, :, 0], [0, 128, 255, 200])
    assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_sixteen_bit_modes(mode: str) -> None:
    image = Image.new(mode, (3, 3), 32896)
    rgb = folder.to_rgb(Path("x.png"), image)
    assert rgb.mode == "RGB"
    assert_colour(np.asarray(rgb), (128, 128, 128))


def test_animated_gif_first_frame(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (10, 10), colour) for colour in (RED, GREEN, BLUE)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(tmp_path / "anim.gif") as check:
        assert check.n_frames == 3
    assert_colour(load_image(tmp_path / "anim.gif", 10), RED)


@pytest.mark.parametrize(("orientation", "red_side"), [(6, "right"), (8, "left"), (1, None)])
def test_exif_orientation(tmp_path: Path, orientation: int, red_side: str | None) -> None:
    image = half_and_half(RED, BLUE, (64, 32))  # wide: red top, blue bottom
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(tmp_path / "rot.jpg", exif=exif, quality=95)
    out = load_image(tmp_path / "rot.jpg", 16)
    if red_side is None:  # not rotated: still red on top
        assert_colour(out[:5], RED, tolerance=30)
        assert_colour(out[-5:], BLUE, tolerance=30)
        return
    left, right = out[:, :5], out[:, -5:]
    assert_colour(right if red_side == "right" else left, RED, tolerance=30)
    assert_colour(left if red_side == "right" else right, BLUE, tolerance=30)


def test_resize_shorter_side_then_centre_crop(tmp_path: Path) -> None:
    pixels = np.zeros((30, 90, 3), dtype=np.uint8)
    pixels[:, :30], pixels[:, 30:60], pixels[:, 60:] = RED, GREEN, BLUE
    Image.fromarray(pixels).save(tmp_path / "wide.png")
    out = load_image(tmp_path / "wide.png", 10)
    assert out.shape == (10, 10, 3)
    assert_colour(out[:, 2:8], GREEN, tolerance=2)  # the crop is the green middle third


def test_upscales_small_images(tmp_path: Path) -> None:
    out = load_image(solid(tmp_path / "tiny.png", BLUE, size=(2, 3)), 16)
    assert out.shape == (16, 16, 3)
    assert_colour(out, BLUE)


# --------------------------------------------------------------------------------------------------------------------
# load_image: unreadable files


def reason_for(path: Path) -> str:
    with pytest.raises(UnreadableImage) as caught:
        load_image(path, 8)
    assert isinstance(caught.value, DataError)  # escapes to the CLI as a clean message if ever uncaught
    assert caught.value.reason in str(caught.value)
    return caught.value.reason


def test_truncated_png(tmp_path: Path) -> None:
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    assert reason_for(truncated_png(tmp_path / "t.png")) == "truncated or corrupt image"


def test_truncated_jpeg(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="JPEG")
    (tmp_path / "t.jpg").write_bytes(buffer.getvalue()[:-400])
    assert reason_for(tmp_path / "t.jpg") == "truncated or corrupt image"


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "e.png").touch()
    assert reason_for(tmp_path / "e.png") == "empty file"


def test_text_file_named_png(tmp_path: Path) -> None:
    (tmp_path / "notes.png").write_text("this is not a picture\n")
    assert reason_for(tmp_path / "notes.png") == "not an image"


def test_one_pixel_image(tmp_path: Path) -> None:
    assert reason_for(solid(tmp_path / "dot.png", RED, size=(1, 1))) == "too small (1x1)"
    assert reason_for(solid(tmp_path / "line.png", RED, size=(40, 1))) == "too small (40x1)"


def test_decompression_bomb_warning_and_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warn_size = solid(tmp_path / "warn.png", RED, size=(40, 40))  # 1600 px: over the limit -> warning
    error_size = solid(tmp_path / "error.png", RED, size=(100, 100))  # 10000 px: over twice the limit -> error
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    filters_before = list(warnings.filters)
    assert reason_for(warn_size) == "larger than Pillow's decompression-bomb limit"
    assert reason_for(error_size) == "larger than Pillow's decompression-bomb limit"
    assert Image.MAX_IMAGE_PIXELS == 1000  # global left alone
    assert warnings.filters == filters_before
    assert_colour(load_image(solid(tmp_path / "ok.png", RED, size=(30, 30)), 4), RED)  # 900 px is still fine


def test_broken_symlink(tmp_path: Path) -> None:
    (tmp_path / "gone.png").symlink_to(tmp_path / "nowhere.png")
    assert reason_for(tmp_path / "gone.png").startswith("cannot open file (")


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_bad_size(tmp_path: Path, size: object) -> None:
    with pytest.raises(DataError, match="positive whole number"):
        load_image(solid(tmp_path / "a.png", RED), size)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------------------
# find_images


def test_find_images_recursive_sorted_filtered(tmp_path: Path) -> None:
    for name in ("b.png", "a.JPG", "sub/c.gif", "sub/deeper/d.webp", "z.BMP"):
        solid(tmp_path / name, RED, format="PNG")
    (tmp_path / "readme.txt").write_text("hi")
    (tmp_path / "model.safetensors").write_bytes(b"\0")
    solid(tmp_path / ".hidden.png", RED)
    solid(tmp_path / ".cache" / "x.png", RED)
    solid(tmp_path / "sub" / ".thumbs" / "y.png", RED)
    found = [path.relative_to(tmp_path).as_posix() for path in find_images(tmp_path)]
    assert found == ["a.JPG", "b.png", "sub/c.gif", "sub/deeper/d.webp", "z.BMP"]
    assert find_images(tmp_path) == find_images(tmp_path)
    assert image_names(tmp_path) == [str(Path(name)) for name in found]  # what a cache key lists
    assert image_names(tmp_path / "sub") == [str(Path("c.gif")), str(Path("deeper/d.webp"))]


def test_image_names_sort_part_by_part(tmp_path: Path) -> None:
    """The order (the cache's row order and so the held-out split) is by path parts: "a/x" before "a-b" and "a.png",
    although "-" and "." sort below "/" as characters."""
    names = ["a/x.png", "a-b.png", "a.png", "a/b/c.png", "a0.png", "b.PNG", "a/y", "dir.png/z.png", "c.tar.png"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    listed = image_names(tmp_path)
    expected = sorted((Path(n) for n in names if n != "a/y"), key=lambda path: path.parts)
    assert listed == [str(path) for path in expected]


def test_extensions() -> None:
    assert frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif"}) == IMAGE_EXTENSIONS


def test_symlink_loop_and_linked_folder(tmp_path: Path) -> None:
    root = tmp_path / "root"
    solid(root / "a" / "one.png", RED)
    (root / "a" / "loop").symlink_to(root)  # root/a/loop/a/loop/... forever
    (root / "self").symlink_to(".")
    solid(tmp_path / "outside" / "two.png", RED)
    (root / "linked").symlink_to(tmp_path / "outside")
    (root / "spin.png").symlink_to(root / "spin.png")  # a file symlink to itself
    found = [path.relative_to(root).as_posix() for path in find_images(root)]
    assert found == ["a/one.png", "linked/two.png", "spin.png"]
    result = load_folder(root, 4)
    assert [path.as_posix() for path in result.paths] == ["a/one.png", "linked/two.png"]
    assert result.skipped[0].path == Path("spin.png")
    assert result.skipped[0].reason.startswith("cannot open file")


def test_non_utf8_file_name(tmp_path: Path) -> None:
    name = os.fsdecode(b"caf\xe9.png")
    try:
        solid(tmp_path / name, GREEN)
    except (OSError, UnicodeEncodeError):
        pytest.skip("file system does not accept non-UTF-8 names")
    (tmp_path / os.fsdecode(b"bad\xff.png")).write_bytes(b"")
    assert find_images(tmp_path) == [tmp_path / os.fsdecode(b"bad\xff.png"), tmp_path / name]
    result = load_folder(tmp_path, 4)
    assert result.paths == [Path(name)]
    assert_colour(result.images[0], GREEN)
    summary = skipped_summary(result.skipped)
    assert summary == "skipped 1 unreadable file: bad\\xff.png (empty file)"
    summary.encode("utf-8")  # printable: no lone surrogates
    with pytest.raises(DataError) as caught:
        load_folder(tmp_path, 4, strict=True)
    str(caught.value).encode("utf-8")
    assert "bad\\xff.png" in str(caught.value)


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        find_images(tmp_path / "nope")
    with pytest.raises(DataError, match="does not exist"):
        load_folder(tmp_path / "nope", 8)


def test_file_instead_of_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a file, not a folder"):
        find_images(solid(tmp_path / "a.png", RED))


def test_empty_folder_names_extensions(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("nothing here")
    solid(tmp_path / ".hidden" / "a.png", RED)
    with pytest.raises(DataError) as caught:
        find_images(tmp_path)
    message = str(caught.value)
    assert message.startswith("No images found in")
    for extension in IMAGE_EXTENSIONS:
        assert extension in message
    assert isinstance(caught.value, GenzooError)


# --------------------------------------------------------------------------------------------------------------------
# load_folder


def build_mixed_corpus(root: Path) -> None:
    solid(root / "good.png", RED)
    solid(root / "good.jpg", BLUE, quality=95)
    solid(root / "grey.png", 90, mode="L")
    truncated_png(root / "broken.png")
    (root / "empty.png").touch()
    (root / "text.png").write_text("not an image")
    solid(root / "dot.gif", RED, size=(1, 1))


def test_load_folder_skips_and_records(tmp_path: Path) -> None:
    build_mixed_corpus(tmp_path)
    calls: list[tuple[int, int]] = []
    result = load_folder(tmp_path, 6, progress=lambda done, total: calls.append((done, total)))
    assert [path.as_posix() for path in result.paths] == ["good.jpg", "good.png", "grey.png"]
    assert result.images.shape == (3, 6, 6, 3) and result.images.dtype == np.uint8
    assert_colour(result.images[0], BLUE, tolerance=6)
    assert_colour(result.images[1], RED)
    assert_colour(result.images[2], (90, 90, 90))
    assert result.labels is None and result.classes == ()
    assert {item.path.as_posix(): item.reason for item in result.skipped} == {
        "broken.png": "truncated or corrupt image",
        "dot.gif": "too small (1x1)",
        "empty.png": "empty file",
        "text.png": "not an image",
    }
    assert calls[-1] == (7, 7)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)


def test_load_folder_strict_stops_at_first_bad(tmp_path: Path) -> None:
    build_mixed_corpus(tmp_path)
    with pytest.raises(DataError) as caught:
        load_folder(tmp_path, 6, strict=True)
    message = str(caught.value)
    assert "broken.png" in message and "truncated or corrupt image" in message and "strict" in message


def test_load_folder_nothing_readable(tmp_path: Path) -> None:
    (tmp_path / "a.png").touch()
    (tmp_path / "b.jpg").write_text("hello")
    truncated_png(tmp_path / "c.png")
    (tmp_path / "d.png").touch()
    with pytest.raises(DataError) as caught:
        load_folder(tmp_path, 8)
    message = str(caught.value)
    assert message.startswith("None of the 4 image files in")
    assert "skipped 4 unreadable files: a.png (empty file), b.jpg (not an image), " in message
    assert "c.png (truncated or corrupt image), and 1 more" in message


def test_load_folder_class_labels(tmp_path: Path) -> None:
    solid(tmp_path / "dogs" / "1.png", RED)
    solid(tmp_path / "cats" / "1.png", GREEN)
    solid(tmp_path / "dogs" / "puppies" / "2.png", BLUE)
    solid(tmp_path / "cats" / "2.png", GREEN)
    (tmp_path / "birds").mkdir()  # no images: not a class
    (tmp_path / "cats" / "3.png").touch()  # unreadable, skipped
    result = load_folder(tmp_path, 4)
    assert result.classes == ("cats", "dogs")
    assert [path.as_posix() for path in result.paths] == [
        "cats/1.png",
        "cats/2.png",
        "dogs/1.png",
        "dogs/puppies/2.png",
    ]
    assert result.labels is not None and result.labels.dtype == np.int64
    np.testing.assert_array_equal(result.labels, [0, 0, 1, 1])
    assert len(result.skipped) == 1


def test_single_class_or_root_images_give_no_labels(tmp_path: Path) -> None:
    solid(tmp_path / "one" / "a.png", RED)
    solid(tmp_path / "one" / "b.png", RED)
    single = load_folder(tmp_path, 4)
    assert single.labels is None and single.classes == ()
    solid(tmp_path / "two" / "c.png", RED)
    solid(tmp_path / "loose.png", RED)  # an image directly in root: the folder is not a class layout
    mixed = load_folder(tmp_path, 4)
    assert mixed.labels is None and mixed.classes == ()
    assert len(mixed.paths) == 4


def test_load_folder_does_not_import_torch() -> None:
    code = "import sys, genzoo.data.folder; sys.exit('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], check=False)
    assert result.returncode == 0


# --------------------------------------------------------------------------------------------------------------------
# split_heldout and skipped_summary


def test_split_heldout_deterministic_and_disjoint() -> None:
    train, heldout = split_heldout(100, 0.1, seed=7)
    again_train, again_heldout = split_heldout(100, 0.1, seed=7)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(heldout, again_heldout)
    assert len(heldout) == 10 and len(train) == 90
    assert train.dtype == np.int64 and heldout.dtype == np.int64
    assert (np.diff(train) > 0).all() and (np.diff(heldout) > 0).all()
    np.testing.assert_array_equal(np.sort(np.concatenate([train, heldout])), np.arange(100))
    assert not np.array_equal(split_heldout(100, 0.1, seed=8)[1], heldout)


@pytest.mark.parametrize(
    ("n", "fraction", "expected_heldout"),
    [(10, 0.0, 0), (10, 0.01, 1), (2, 0.1, 1), (2, 0.9, 1), (1, 0.5, 0), (0, 0.5, 0), (1000, 0.25, 250)],
)
def test_split_heldout_sizes(n: int, fraction: float, expected_heldout: int) -> None:
    train, heldout = split_heldout(n, fraction, seed=0)
    assert len(heldout) == expected_heldout
    assert len(train) == n - expected_heldout


@pytest.mark.parametrize("fraction", [-0.1, 0.95, 1.0, float("nan")])
def test_split_heldout_bad_fraction(fraction: float) -> None:
    with pytest.raises(DataError, match=r"between 0 and 0\.9"):
        split_heldout(10, fraction, seed=0)


def test_split_heldout_negative_seed_is_deterministic() -> None:
    np.testing.assert_array_equal(split_heldout(20, 0.2, -1)[1], split_heldout(20, 0.2, -1)[1])


def test_skipped_summary() -> None:
    skipped = [
        Skipped(Path("a.png"), "truncated or corrupt image"),
        Skipped(Path("b.png"), "not an image"),
        Skipped(Path("c.png"), "empty file"),
        Skipped(Path("d.png"), "too small (1x1)"),
    ]
    assert skipped_summary(skipped) == (
        "skipped 4 unreadable files: a.png (truncated or corrupt image), b.png (not an image), "
        "c.png (empty file), and 1 more"
    )
    assert skipped_summary(skipped[:3]) == (
        "skipped 3 unreadable files: a.png (truncated or corrupt image), b.png (not an image), c.png (empty file)"
    )
    assert skipped_summary(skipped[:1]) == "skipped 1 unreadable file: a.png (truncated or corrupt image)"
    assert skipped_summary(skipped, limit=0) == "skipped 4 unreadable files"
    assert skipped_summary([Skipped(Path("cats/x.png"), "empty file")]) == (
        "skipped 1 unreadable file: cats/x.png (empty file)"
    )
    assert skipped_summary([]) == ""

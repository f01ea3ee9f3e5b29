"""The procedural toon-face renderer: records, determinism, shapes, validation and that attributes show."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from genzoo.data import toon
from genzoo.data.toon import ATTRIBUTES, STYLES, FaceRecord, Jitter

BASE = FaceRecord("round", "tan", "short", "brown", "round", "blue", "smile", "no", "gray")


@pytest.fixture(scope="module")
def records() -> list[FaceRecord]:
    return toon.random_records(200, seed=7)


def test_attribute_table_is_well_formed() -> None:
    assert [f.name for f in dataclasses.fields(FaceRecord)] == [*ATTRIBUTES, "jitter"]
    for name, values in ATTRIBUTES.items():
        assert len(values) >= 2, name
        assert len(set(values)) == len(values), name
        assert all(v.isascii() and v.islower() and " " not in v for v in values), name
    assert ATTRIBUTES["glasses"] == ("no", "yes")
    assert STYLES == ("cartoon", "anime")
    assert np.prod([len(v) for v in ATTRIBUTES.values()]) > 10_000


def test_records_are_deterministic_and_seed_dependent() -> None:
    assert toon.random_records(50, 3) == toon.random_records(50, 3)
    assert toon.random_records(50, 3) != toon.random_records(50, 4)
    assert toon.random_records(100, 3)[:10] == toon.random_records(10, 3)  # a longer list extends a shorter one
    assert toon.random_records(0, 3) == []
    with pytest.raises(ValueError):
        toon.random_records(-1, 3)


def test_records_cover_every_value_with_valid_codes(records: list[FaceRecord]) -> None:
    for name, values in ATTRIBUTES.items():
        seen = {getattr(r, name) for r in records}
        assert seen == set(values), name
    for record in records:
        codes = record.codes()
        assert list(codes) == list(ATTRIBUTES)
        assert {name: ATTRIBUTES[name][i] for name, i in codes.items()} == record.attributes()
        assert FaceRecord.from_codes(list(codes.values()), record.jitter) == record
        assert FaceRecord.from_codes(codes, record.jitter) == record
        assert all(-1.0 <= v <= 1.0 for v in dataclasses.astuple(record.jitter))
    jitters = {r.jitter for r in records}
    assert len(jitters) == len(records)  # the nuisance parameters vary


def test_codes_array_matches_records(records: list[FaceRecord]) -> None:
    codes = toon.codes_array(records)
    assert codes.shape == (200, len(ATTRIBUTES)) and codes.dtype == np.int64
    assert codes[5].tolist() == list(records[5].codes().values())
    assert (codes.max(axis=0) == [len(v) - 1 for v in ATTRIBUTES.values()]).all()
    assert toon.codes_array([]).shape == (0, len(ATTRIBUTES))


def test_invalid_record_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="hair_color"):
        dataclasses.replace(BASE, hair_color="green")
    with pytest.raises(ValueError, match="expected 9 codes"):
        FaceRecord.from_codes([0, 1])
    with pytest.raises(ValueError, match="glasses code 2 is out of range"):
        FaceRecord.from_codes([0, 0, 0, 0, 0, 0, 0, 2, 0])
    with pytest.raises(ValueError, match="out of range"):
        FaceRecord.from_codes([-1, 0, 0, 0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("size", [16, 32, 64, 128])
def test_render_shape_dtype_and_determinism(style: str, size: int) -> None:
    record = toon.random_records(1, 5)[0]
    image = toon.render(record, style, size)
    assert image.shape == (size, size, 3) and image.dtype == np.uint8
    assert np.array_equal(image, toon.render(record, style, size))
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # a drawing, not a flat fill


def test_render_many_matches_render_and_reports_progress() -> None:
    records = toon.random_records(300, 1)
    calls: list[int] = []
    images = toon.render_many(records, "anime", 32, progress=calls.append)
    assert images.shape == (300, 32, 32, 3) and images.dtype == np.uint8
    assert calls == [256, 300]
    assert np.array_equal(images[123], toon.render(records[123], "anime", 32))
    assert toon.render_many([], "cartoon", 64).shape == (0, 64, 64, 3)


@pytest.mark.parametrize("size", [0, 8, 48, 100, 1024, 64.0, True])
def test_bad_size_is_a_value_error(size: object) -> None:
    with pytest.raises(ValueError, match="power of two from 16 to 512"):
        toon.render(BASE, "cartoon", size)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="power of two"):
        toon.render_many([BASE], "cartoon", size)  # type: ignore[arg-type]


def test_bad_style_is_a_value_error_naming_the_styles() -> None:
    with pytest.raises(ValueError, match="cartoon, anime"):
        toon.render(BASE, "manga")
    with pytest.raises(ValueError, match="cartoon, anime"):
        toon.render_many([BASE], "photo", 64)


def test_same_seed_same_pixels_different_seed_different_pixels() -> None:
    a = toon.render_many(toon.random_records(8, 0), "cartoon", 32)
    assert np.array_equal(a, toon.render_many(toon.random_records(8, 0), "cartoon", 32))
    assert not np.array_equal(a, toon.render_many(toon.random_records(8, 1), "cartoon", 32))


def test_different_records_give_different_images(records: list[FaceRecord]) -> None:
    images = toon.render_many(records[:60], "cartoon", 32)
    flat = images.reshape(len(images), -1)
    assert len(np.unique(flat, axis=0)) == len(images)


@pytest.mark.parametrize("style", STYLES)
def test_every_attribute_value_changes_the_picture(style: str) -> None:
    for name, values in ATTRIBUTES.items():
        images = [toon.render(dataclasses.replace(BASE, **{name: v}), style, 64).astype(int) for v in values]
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                changed = np.abs(images[i] - images[j]).sum(axis=2) > 30
                assert changed.sum() >= 10, f"{style}: {name}={values[i]} looks like {name}={values[j]}"


def test_colour_attributes_show_their_colour() -> None:
    blue_hair = toon.render(dataclasses.replace(BASE, hair_color="blue"), "cartoon", 64).astype(int)
    bluish = (blue_hair[..., 2] - blue_hair[..., 0] > 100).sum()
    assert bluish > 150  # the hair and the blue irises
    yellow = toon.render(dataclasses.replace(BASE, background="yellow"), "anime", 64)
    assert tuple(yellow[1, 1]) == pytest.approx((250, 228, 120), abs=15)  # a corner shows the background


def test_glasses_draw_dark_frames_around_the_eyes() -> None:
    for style in STYLES:
        without = toon.render(BASE, style, 64).astype(int)
        with_ = toon.render(dataclasses.replace(BASE, glasses="yes"), style, 64).astype(int)
        darker = (without - with_).sum(axis=2) > 150
        rows = np.nonzero(darker.any(axis=1))[0]
        cols = np.nonzero(darker.any(axis=0))[0]
        assert darker.sum() > 40, style
        assert 20 <= rows.mean() <= 40 and cols.min() < 22 and cols.max() > 42, style  # across both eyes


def test_jitter_moves_the_face_but_not_its_content() -> None:
    still = toon.render(BASE, "cartoon", 64)
    moved = toon.render(dataclasses.replace(BASE, jitter=Jitter(dx=1.0)), "cartoon", 64)
    assert not np.array_equal(still, moved)
    assert np.abs(moved[:, 2:].astype(int) - still[:, :-2]).mean() < np.abs(moved.astype(int) - still).mean()


def test_styles_differ_for_the_same_record(records: list[FaceRecord]) -> None:
    for record in records[:5]:
        cartoon = toon.render(record, "cartoon", 64).astype(int)
        anime = toon.render(record, "anime", 64).astype(int)
        assert (np.abs(cartoon - anime).sum(axis=2) > 30).mean() > 0.1
        assert tuple(cartoon[0, 0]) == pytest.approx(tuple(anime[0, 0]), abs=2)  # same background


def test_module_does_not_import_torch() -> None:
    code = "import sys; sys.modules['torch'] = None; import genzoo.data.toon"  # any torch import now fails
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr

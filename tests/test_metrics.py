"""Metrics: Fréchet-distance numerics, attribute counts, paired errors, the translator metrics on a perfect
translator, the FD of real and of untrained models, and `genzoo eval --json` for every family and a folder."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn
from typer.testing import CliRunner

import genzoo
from genzoo.config import DataConfig, ModelConfig
from genzoo.data.core import ImageSet
from genzoo.data.loading import load_data
from genzoo.data.toon import STYLES
from genzoo.judge import HEADS, Reading, load_judge
from genzoo.metrics import evaluate
from genzoo.metrics.attributes import agreement, combinations, coverage, possible_combinations, valid
from genzoo.metrics.frechet import feature_distance, frechet_distance, gaussian
from genzoo.metrics.images import is_toon
from genzoo.metrics.paired import l1, ssim
from genzoo.metrics.result import Section
from genzoo.metrics.sampling import diversity, judge_codes
from genzoo.metrics.translation import evaluate_translator, same_records
from genzoo.models.base import GenerativeModel, image_tensor
from genzoo.report.tables import rows, tables
from tests.conftest import CG_TINY, TINY, cli_ok

DOCS = Path(__file__).parent.parent / "docs" / "metrics.md"


pytestmark = pytest.mark.usefixtures("one_thread")


# ---- Fréchet distance ----------------------------------------------------------------------------------------------


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_fd_of_identical_sets_is_zero() -> None:
    x = np.random.default_rng(0).normal(size=(400, 32)) @ np.random.default_rng(1).normal(size=(32, 32))
    assert feature_distance(x, x) < 1e-7 * np.trace(np.cov(x, rowvar=False))
    low_rank = x[:20]  # 20 vectors in 32 dimensions: a singular covariance
    assert feature_distance(low_rank, low_rank) < 1e-6 * np.trace(np.cov(low_rank, rowvar=False))


def test_fd_of_gaussians_with_known_distance() -> None:
    d = 8
    q = _rotation(d, 2)
    a, b = np.linspace(0.5, 3, d), np.linspace(2, 0.1, d)
    mu1, mu2 = np.zeros(d), np.arange(d) / 4
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(mu1, q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-9)
    # a shifted copy of a sample: same covariance, so exactly the squared shift
    x = np.random.default_rng(3).normal(size=(1000, d))
    shift = np.full(d, 0.5)
    assert feature_distance(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-9)
    # independent samples of N(0, I) and N(m, 4 I): |m|² + d (2 - 1)²
    y = 2 * np.random.default_rng(4).normal(size=(20000, d)) + shift
    x = np.random.default_rng(5).normal(size=(20000, d))
    assert feature_distance(x, y) == pytest.approx(float(shift @ shift) + d, rel=0.05)


def test_fd_matches_a_general_matrix_square_root() -> None:
    linalg = pytest.importorskip("scipy.linalg")
    rng = np.random.default_rng(6)
    m1, m2 = rng.normal(size=(6, 6)), rng.normal(size=(6, 6))
    c1, c2 = m1 @ m1.T + 0.1 * np.eye(6), m2 @ m2.T + 0.1 * np.eye(6)  # do not commute
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    root = linalg.sqrtm(c1 @ c2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(c1 + c2 - 2 * root)
    assert frechet_distance(mu1, c1, mu2, c2) == pytest.approx(expected, rel=1e-8)


def test_fd_needs_two_vectors() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        gaussian(np.zeros((1, 4)))


# ---- attribute counts, paired errors, the table --------------------------------------------------------------------


def test_combinations_and_coverage_on_synthetic_labels() -> None:
    codes = {
        "hair_color": np.array([0, 0, 1, 1, 5, 0]),
        "glasses": np.array([0, 0, 1, 1, 0, 1]),
        "skin_tone": np.array([3, 3, 2, 2, 0, 3]),
    }
    attributes = ["hair_color", "glasses", "skin_tone"]
    assert possible_combinations(attributes) == 6 * 2 * 4
    assert combinations(codes, attributes) == 4  # (0,0,3) twice, (1,1,2) twice, (5,0,0), (0,1,3)
    assert coverage(codes, attributes) == pytest.approx(4 / 48)
    assert combinations(codes, ["glasses"]) == 2 and coverage(codes, ["glasses"]) == 1.0
    assert combinations({"glasses": np.array([], dtype=int)}, ["glasses"]) == 0


def test_agreement_valid_and_condition_mapping() -> None:
    truth = np.array([[0, 1], [1, 1], [2, 0], [0, 0]])
    read = {"face_shape": np.array([0, 1, 1, 0]), "glasses": np.array([1, 1, 0, 1])}
    assert agreement(read, truth, ["face_shape", "glasses"]) == {"face_shape": 0.75, "glasses": 0.75}
    n = 3
    reading = Reading(
        np.zeros((n, 2)),
        {h: np.zeros(n, np.int64) for h in HEADS},
        {h: np.full(n, 0.99) for h in HEADS},
    )
    reading.codes["style"] = np.array([0, 0, 1])  # cartoon, cartoon, anime
    reading.confidence["mouth"] = np.array([0.99, 0.5, 0.99])
    assert valid(reading, "cartoon").tolist() == [True, False, False]
    assert valid(reading, "anime").tolist() == [False, False, True]
    mapping = judge_codes({"glasses": ["yes", "no"], "hair_color": ["pink", "black"]})
    assert mapping is not None and mapping["glasses"].tolist() == [1, 0] and mapping["hair_color"].tolist() == [5, 0]
    assert judge_codes({"class": ["cats", "dogs"]}) is None


def test_diversity_is_the_mean_distance_within_a_group() -> None:
    points = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0], [6.0, 8.0], [1.0, 1.0]])
    pairs = [np.linalg.norm(points[i] - points[j]) for i in range(5) for j in range(i + 1, 5)]
    assert diversity(points) == pytest.approx(np.mean(pairs))
    groups = np.array([[0, 1], [0, 1], [1, 0], [1, 0], [2, 2]])  # (5 apart), (10 apart), a single image
    assert diversity(points, groups) == pytest.approx(7.5)
    collapsed = np.repeat(points[:1], 5, axis=0)  # the same face for every noise vector
    assert diversity(collapsed, groups) == 0.0
    assert diversity(points[:1]) is None and diversity(points, np.arange(5)) is None  # no pair anywhere


def test_l1_and_ssim() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32, generator=g)
    assert l1(x, x) == 0 and ssim(x, x) == pytest.approx(1.0, abs=1e-5)
    noisy = (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    assert 0 < l1(x, noisy) < 0.25
    assert ssim(x, noisy) < 0.9 and ssim(x, 1 - x) < 0
    assert l1(torch.zeros(1, 3, 16, 16), torch.ones(1, 3, 16, 16)) == 1.0


def test_table_rows_put_real_values_beside_model_values() -> None:
    result = {
        "model": "m",
        "fd": 3.0,
        "fd_real": 0.5,
        "translation": {"a->b": {"preservation": {"glasses": 0.9}, "preservation_real": {"glasses": 1.0}}},
        "not_applicable": {},
    }
    assert rows(result) == [("fd", 3.0, 0.5), ("translation.a->b.preservation.glasses", 0.9, 1.0)]
    result["judge"] = {"size": 64, "path": "/cache/judge.safetensors", "min_accuracy": 0.975}
    (_, main), (title, direction) = tables(result)
    assert main == [("fd", 3.0, 0.5), ("judge", "64 px, lowest accuracy 97.5%", None)]
    assert title == "translation a->b" and direction == [("preservation.glasses", 0.9, 1.0)]


# ---- translator metrics on a perfect translator ----------------------------------------------------------------------


def _key(image: np.ndarray) -> bytes:
    return np.ascontiguousarray(image).tobytes()


def _to_uint8(images: Tensor | np.ndarray) -> np.ndarray:
    if isinstance(images, np.ndarray):
        return images
    return images.mul(255).round().byte().permute(0, 2, 3, 1).numpy()


class Oracle:
    """A stand-in judge that knows the faces of the given sets: it finds an image among them and reads its record,
    with full confidence (other images: value -1, confidence 0). Its features are the quadrants' mean colours."""

    def __init__(self, *sets: ImageSet) -> None:
        self.known: dict[bytes, list[int]] = {}
        for s in sets:
            assert s.attributes is not None
            for image, codes in zip(s.images, s.attributes, strict=True):
                self.known[_key(image)] = [*codes.tolist(), STYLES.index(s.domain)]

    def read(self, images: Tensor | np.ndarray, batch_size: int = 256) -> Reading:
        array = _to_uint8(images)
        unknown = [-1] * len(HEADS)
        table = np.array([self.known.get(_key(a), unknown) for a in array])
        h = array.shape[1] // 2
        quads = [array[:, i : i + h, j : j + h].mean(axis=(1, 2)) for i in (0, h) for j in (0, h)]
        return Reading(
            np.concatenate(quads, axis=1).astype(np.float64),
            {head: table[:, k] for k, head in enumerate(HEADS)},
            {head: (table[:, k] >= 0).astype(np.float64) for k, head in enumerate(HEADS)},
        )

    def describe(self) -> dict[str, Any]:
        return {"oracle": True}


class PairedTranslator(GenerativeModel):
    """Translates a held-out face into the ground truth: the same record in the other style (or, with ``shift``,
    the ground truth of another record)."""

    def __init__(self, a: ImageSet, b: ImageSet, shift: int = 0) -> None:
        super().__init__(ModelConfig(image_size=a.size))
        self.anchor = nn.Parameter(torch.zeros(()))
        self.sets = {a.domain: a, b.domain: b}
        self.shift = shift

    @property
    def domains(self) -> tuple[str, ...]:
        return tuple(self.sets)

    def translate(self, x: Tensor, to: str) -> Tensor:
        source = next(s for name, s in self.sets.items() if name != to)
        where = {_key(image): i for i, image in enumerate(source.images)}
        index = np.array([where[_key(a)] for a in _to_uint8(x.cpu())])
        target = self.sets[to].images
        return image_tensor(target[(index + self.shift) % len(target)])


@pytest.fixture(scope="module")
def paired_sets() -> tuple[ImageSet, ImageSet]:
    config = DataConfig(train_size=8, heldout_size=24)
    return load_data(config, 16).heldout, load_data(config, 16, domain="anime").heldout


def test_a_perfect_translator_preserves_every_attribute(paired_sets: tuple[ImageSet, ImageSet]) -> None:
    cartoon, anime = paired_sets
    assert same_records(cartoon, anime, 24) and is_toon(cartoon) and is_toon(anime)
    out = Section()
    evaluate_translator(PairedTranslator(cartoon, anime), cartoon, anime, Oracle(cartoon, anime), 24, out)
    result = out.result()
    assert result["not_applicable"] == {}
    for direction in ("cartoon->anime", "anime->cartoon"):
        d = result[direction]
        assert d["preservation"] == {a: 1.0 for a in HEADS if a != "style"}
        assert d["preservation"] == d["preservation_real"]
        assert d["style_share"] == d["style_share_real"] == 1.0
        assert d["paired_l1"] == 0.0 and d["paired_ssim"] == pytest.approx(1.0, abs=1e-5)
        assert d["speckle"] == d["speckle_real"] > 0
        assert d["paired_l1_source"] > 0.05 and d["paired_ssim_source"] < 0.9
        assert d["combinations_out"] == d["combinations_in"] > 1
        assert d["fd"] == pytest.approx(0.0, abs=1e-9) and d["fd_reference"] == "fresh render"


def test_a_translator_that_mixes_up_faces_is_caught(paired_sets: tuple[ImageSet, ImageSet]) -> None:
    cartoon, anime = paired_sets
    out = Section()
    evaluate_translator(PairedTranslator(cartoon, anime, shift=1), cartoon, anime, Oracle(cartoon, anime), 24, out)
    d = out.result()["cartoon->anime"]
    assert d["style_share"] == 1.0  # right style...
    assert np.mean(list(d["preservation"].values())) < 0.8  # ...wrong faces
    assert d["paired_l1"] > 0.05 and d["paired_ssim"] < 0.9


def test_unpaired_sets_have_no_paired_error(paired_sets: tuple[ImageSet, ImageSet]) -> None:
    cartoon, _ = paired_sets
    anime_train = load_data(DataConfig(train_size=24, heldout_size=24), 16, domain="anime").train
    assert not same_records(cartoon, anime_train, 24)


# ---- the Fréchet distance of real faces and of an untrained generator ------------------------------------------------


def test_fd_real_is_near_zero_and_an_untrained_generator_is_far() -> None:
    split = load_data(DataConfig(train_size=64, heldout_size=64), 16)
    judge = load_judge(progress=False)
    torch.manual_seed(0)
    untrained = genzoo.create("dcgan", image_size=16, width=4, latent_dim=6)
    result = evaluate(untrained, split, judge=judge, n=64, seed=0)
    assert result["n"] == 64 and result["fd_reference"] == "fresh render"
    train_vs_heldout = feature_distance(
        judge.read(split.train.images).features, judge.read(split.heldout.images).features
    )
    assert result["fd_real"] < result["fd"] / 5
    assert train_vs_heldout < result["fd"] / 5
    assert result["coverage"] <= result["coverage_real"]
    assert evaluate(untrained, split, judge=judge, n=64, seed=0)["fd"] == result["fd"]  # a seed repeats


# ---- genzoo eval --json ----------------------------------------------------------------------------------------------


def documented_keys() -> set[str]:
    return set(re.findall(r"^\| `([^`]+)` \|", DOCS.read_text(), flags=re.MULTILINE))


def eval_json(runner: CliRunner, run: Path, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(cli_ok(runner, "eval", str(run), "--json", *args))
    keys = documented_keys()
    assert set(result) <= keys, set(result) - keys
    for direction in (result.get("translation") or {}).values():
        assert set(direction) <= keys, set(direction) - keys
    for key in result["not_applicable"]:  # each names a value that is null
        value: Any = result
        for part in key.split("."):
            value = value[part]
        assert value is None, key
    return result


def test_eval_json_of_a_vae(runner: CliRunner, tiny_run: Path) -> None:
    result = eval_json(runner, tiny_run, "-n", "12", "--seed", "3")
    assert result["n"] == 12 and result["seed"] == 3 and result["heldout_images"] == 16
    assert 0 < result["heldout_mse"] < 1
    assert result["judge"]["size"] == 16 and 0 <= result["judge"]["min_accuracy"] <= 1
    assert 0 < result["fd_real"] < result["fd"] and result["fd_reference"] == "fresh render"
    for key in ("valid_share", "valid_share_real", "coverage", "coverage_real"):
        assert 0 <= result[key] <= 1, key
    assert result["diversity"] > 0 and result["diversity_real"] > 0
    assert result["coverage_attributes"] == ["hair_color", "glasses", "skin_tone"]
    assert result["coverage_combinations"] == 48 and result["not_applicable"] == {}
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert summary["heldout"]["judge"] is not None  # conftest trained the judge before this run finished
    table = cli_ok(runner, "eval", str(tiny_run), "-n", "12")
    assert "fd" in table and "valid_share" in table and "real images" in table


def test_eval_json_of_gans(runner: CliRunner, gan_runs: dict[str, Path]) -> None:
    dcgan = eval_json(runner, gan_runs["dcgan"])
    assert "heldout_mse" not in dcgan and "conditional_accuracy" not in dcgan
    assert dcgan["fd"] > 0 and dcgan["coverage_combinations"] == 48
    acgan = eval_json(runner, gan_runs["acgan"])
    assert acgan["coverage_attributes"] == ["hair_color", "glasses"] and acgan["coverage_combinations"] == 12
    assert set(acgan["conditional_accuracy"]) == set(acgan["conditional_accuracy_real"]) == {"hair_color", "glasses"}
    assert all(0 <= v <= 1 for v in acgan["conditional_accuracy"].values())
    for result in (dcgan, acgan):
        assert result["diversity"] > 0 and result["diversity_real"] > 0
    # acgan's pairs are within one requested condition, of 12: closer than dcgan's, which may be any two faces
    assert acgan["diversity_real"] < dcgan["diversity_real"]


def test_eval_json_of_a_cyclegan(runner: CliRunner, tmp_path: Path) -> None:
    run = genzoo.train(
        "cyclegan-resnet", data="cartoon", to="anime", overrides=CG_TINY, steps=4, out=tmp_path / "cg"
    ).run_dir
    result = eval_json(runner, run)
    assert result["n"] == 8 and "fd" not in result
    assert set(result["translation"]) == {"cartoon->anime", "anime->cartoon"}
    for d in result["translation"].values():
        assert d["fd"] > 0 and d["fd_reference"] == "fresh render"
        assert set(d["preservation"]) == set(HEADS) - {"style"}
        assert 0 <= d["paired_l1"] <= 1 and -1 <= d["paired_ssim"] <= 1
        assert d["combinations_in"] >= 1 and d["coverage_combinations"] == 48
    assert result["not_applicable"] == {}


def _folder(root: Path, n: int = 40) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        colour = rng.integers(0, 255, 3)
        pixels = np.clip(colour + rng.integers(-30, 30, (16, 16, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(root / f"{i:03d}.png")
    return root


def test_a_folder_trained_model_marks_attribute_metrics_not_applicable(runner: CliRunner, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "blobs")
    run = genzoo.train("vae-conv", data=str(folder), overrides=TINY, steps=2, out=tmp_path / "run").run_dir
    result = eval_json(runner, run)
    assert result["n"] == 4 and result["heldout_mse"] > 0
    assert result["fd"] > 0 and result["fd_reference"] == "halves" and result["fd_real"] > 0
    for key in ("valid_share", "valid_share_real", "coverage", "coverage_real", "coverage_attributes"):
        assert result[key] is None
        assert "blobs is not one of them" in result["not_applicable"][key]
    assert result["diversity"] > 0 and result["diversity_real"] > 0  # judge features exist for any image


def test_the_training_summary_skips_the_judge_when_it_is_not_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    import genzoo.judge

    monkeypatch.setattr(genzoo.judge, "DEFAULT_CONFIG", dataclasses.replace(genzoo.judge.DEFAULT_CONFIG, seed=99))
    run = genzoo.train("vae-conv", data="cartoon", overrides=TINY, steps=2, out=tmp_path / "run").run_dir
    heldout = json.loads((run / "summary.json").read_text())["heldout"]
    assert heldout["judge"] is None and "fd" not in heldout and heldout["heldout_mse"] > 0
    assert "genzoo eval" in heldout["not_applicable"]["judge"]
    assert genzoo.judge.cached_judge() is None  # and training did not train it


# ---- the kernel distance -----------------------------------------------------------------------------------------


def test_kid_is_unbiased_where_fd_reads_backwards() -> None:
    """Two samples of one distribution: on 300 images the Fréchet distance of the halves (150 each) comes out far
    above that of the whole set against another 300, as if real images were worse than a model that draws the same
    faces; KID stays at zero (within its spread) for both, and is clearly positive once the distributions differ."""
    from genzoo.metrics.kernel import kernel_distance

    rng = np.random.default_rng(0)
    real, model = rng.normal(size=(300, 32)), rng.normal(size=(300, 32))
    fd_model, fd_halves = feature_distance(model, real), feature_distance(real[:150], real[150:])
    assert fd_halves > 1.5 * fd_model
    kid, spread = kernel_distance(model, real)
    kid_halves, spread_halves = kernel_distance(real[:150], real[150:])
    assert abs(kid) < 3 * spread + 1e-3 and abs(kid_halves) < 3 * spread_halves + 1e-3 and spread > 0
    shifted, shifted_spread = kernel_distance(model + 0.5, real)
    assert shifted > kid + 10 * shifted_spread
    assert kernel_distance(model, real) == kernel_distance(model, real)  # seeded subsets: the same value again


def test_kid_is_reported_times_a_thousand_on_scaled_features() -> None:
    """``kid`` in a result is KID ×10³ of the features divided by the judge's feature scale: the same number for
    features of any magnitude once the scale follows them."""
    from genzoo.metrics.common import put_fd
    from genzoo.metrics.kernel import kernel_distance

    rng = np.random.default_rng(1)
    fake, real = rng.normal(0.3, 1, (200, 16)), rng.normal(0, 1, (200, 16))
    folder_set = ImageSet(np.zeros((200, 8, 8, 3), np.uint8), domain="blobs")  # not renderable: halves

    def measured(scale: float) -> dict[str, Any]:
        out = Section()
        a, b = Reading(fake * scale, scale=scale), Reading(real * scale, scale=scale)
        put_fd(out, None, a, b, folder_set)  # type: ignore[arg-type]  # no judge: the folder is not rendered again
        return out.values

    plain, scaled = measured(1.0), measured(40.0)
    assert plain["kid"] == pytest.approx(1000 * kernel_distance(fake, real)[0])
    assert plain["kid_real"] == pytest.approx(1000 * kernel_distance(real[:100], real[100:])[0])
    assert scaled["kid"] == pytest.approx(plain["kid"]) and scaled["kid_std"] == pytest.approx(plain["kid_std"])
    assert scaled["fd"] == pytest.approx(1600 * plain["fd"])  # the Fréchet distance stays in feature units


def test_the_done_line_puts_each_figure_beside_its_reference() -> None:
    from genzoo.report.tables import summary_line

    heldout = {
        "heldout_mse": 0.00512, "fd": 3912.25, "fd_real": 34.56, "kid": 1647.66, "kid_real": 1.2338,
        "valid_share": 0.026, "valid_share_real": 0.977, "n": 1000, "judge": {"size": 64},
        "translation": {
            "cartoon->anime": {"fd": 387.2, "fd_real": 33.1, "paired_l1": 0.0651, "paired_l1_source": 0.0832,
                               "style_share": 1.0, "style_share_real": 1.0, "speckle": 0.03},
        },
    }  # fmt: skip
    assert summary_line(heldout) == (
        "heldout_mse 0.0051; fd 3,912 (real 34.6); kid×10³ 1,648 (real 1.23); valid_share 3 % (real 98 %); "
        "cartoon->anime: fd 387 (real 33.1), paired_l1 0.0651 (do nothing 0.0832), style_share 100 % (real 100 %)"
    )
    assert summary_line({}) == ""


def test_a_small_set_gets_a_note_and_kid(runner: CliRunner, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "blobs")
    run = genzoo.train("vae-conv", data=str(folder), overrides=TINY, steps=2, out=tmp_path / "run").run_dir
    result = eval_json(runner, run)
    assert result["kid_std"] >= 0 and "kid_real" in result
    assert any("biased upwards" in note and "compare kid" in note for note in result["notes"])
    assert "note:" in cli_ok(runner, "eval", str(run)) and "±" in cli_ok(runner, "eval", str(run))


def test_speckle_sees_lone_pixels_not_drawings() -> None:
    """A flat image, an edge and a two-pixel line have no speckle; lone pixels and noise do, in proportion; a
    shape's corners a little (a 3×3 median rounds them)."""
    from genzoo.metrics.speckle import speckle

    drawing = torch.zeros(2, 3, 16, 16)
    drawing[0, :, :, 8:] = 1.0  # an edge
    drawing[1, :, 3:5, :] = 0.5  # a line two pixels wide, across the image
    assert speckle(drawing) == 0.0
    dots = drawing.clone()
    dots[:, :, 10, 3] = 1.0  # one lone pixel per image and channel
    assert speckle(dots) == pytest.approx(1 / 256)
    noise = torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert speckle(drawing * 0.9 + noise * 0.1) > speckle(dots) > speckle(drawing)
    square = drawing.clone()
    square[:, :, 10:14, 2:6] = 0.25  # four corner pixels of a 4×4 square
    assert speckle(square) == pytest.approx(4 * 0.25 / 256)
    assert speckle(torch.rand(300, 3, 8, 8)) == pytest.approx(speckle(torch.rand(300, 3, 8, 8)), rel=0.05)  # chunks

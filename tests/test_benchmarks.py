"""The benchmark scripts that produce figures in the docs: ``quality_curve.py`` on tiny runs."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

import genzoo.api
from tests.conftest import CG_TINY

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(module: ModuleType, monkeypatch: pytest.MonkeyPatch, *args: str) -> None:
    monkeypatch.setattr(sys, "argv", [module.__file__, *args])
    module.main()


def test_quality_curve_of_a_gan(
    gan_runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    curve = script("quality_curve")
    run = gan_runs["dcgan"]
    run_main(curve, monkeypatch, str(run), "--n", "12")
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split()[:2] == ["step", "minutes"])
    rows = [line.split() for line in lines[head + 1 :]]
    assert [row[0] for row in rows] == ["4", "8", "real"]  # a checkpoint at 4, the final weights at 8
    assert float(rows[1][1]) >= 0 and rows[1][4].endswith("%")  # minutes logged; the valid share
    stored = {p.name: json.loads(p.read_text()) for p in (run / "curve").iterdir()}
    assert set(stored) == {"step-0000004.json", "step-0000008.json"}
    assert all(r["n"] == 12 and r["weights"] == "average" and r["fd"] > 0 for r in stored.values())

    def unexpected(*args: object, **kwargs: object) -> None:
        raise AssertionError("evaluated again")

    monkeypatch.setattr(genzoo.api, "evaluate", unexpected)
    run_main(curve, monkeypatch, str(run), "--n", "12")  # from the stored results
    assert capsys.readouterr().out.splitlines()[-3:] == lines[-3:]


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import genzoo

    out = tmp_path_factory.mktemp("bench") / "cg"
    return genzoo.train("cyclegan-resnet", data="cartoon", to="anime", overrides=CG_TINY, steps=4, out=out).run_dir


def test_quality_curve_of_a_translator(
    translator_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_main(script("quality_curve"), monkeypatch, str(translator_run), "--n", "8", "--raw-weights")
    out = capsys.readouterr().out
    assert "a: cartoon->anime, c: anime->cartoon" in out and "weights: raw" in out
    assert "a:L1" in out and "c:glasses" in out
    last = out.splitlines()[-1].split()
    assert last[0] == "real" and last[2].startswith("(0.")  # the untranslated source's L1
    assert "a:speckle" in out and 0 < float(last[3]) < 1  # real images' speckle
    assert (translator_run / "curve" / "step-0000004-raw.json").exists()


def test_cycle_noise_of_a_translator(
    translator_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_main(script("cycle_noise"), monkeypatch, str(translator_run), "--n", "4", "--sigmas", "0", "0.5")
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split("  ")[0].strip(): [float(v) for v in line.split()[-2:]] for line in lines[2:]}
    assert set(rows) == {"cartoon -> anime -> cartoon", "anime -> cartoon -> anime"}
    assert all(0 < clean < 1 and 0 < noisy < 1 and clean != noisy for clean, noisy in rows.values())


def test_cycle_noise_refuses_a_model_that_does_not_translate(
    gan_runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit, match="not a translator"):
        run_main(script("cycle_noise"), monkeypatch, str(gan_runs["dcgan"]))


def test_quality_curve_of_a_conditional_gan(
    gan_runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_main(script("quality_curve"), monkeypatch, str(gan_runs["acgan"]), "--n", "12")
    lines = capsys.readouterr().out.splitlines()
    assert lines[-4].split()[-4:] == ["acc", "hair_color", "acc", "glasses"]
    assert all(cell.endswith("%") for cell in lines[-1].split()[-2:])  # the real images' accuracy


def test_layout_benchmark_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Both layouts train every model given, a translator included, and the table says which one auto picks."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # for its `from _common import ...`
    bench = script("bench_layout")
    args = ["--models", "dcgan", "cyclegan-resnet", "--size", "32", "--batch-size", "2", "--set", "width=4"]
    run_main(bench, monkeypatch, *args, "--steps", "1", "--repeats", "1")
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[3:]}
    assert set(rows) == {"dcgan", "cyclegan-resnet"}
    assert [rows[m][-1] for m in ("dcgan", "cyclegan-resnet")] == ["NHWC", "NCHW"]
    for row in rows.values():
        nchw, nhwc, ratio = float(row[3]), float(row[4]), float(row[5].rstrip("x"))
        # the ratio is printed to two decimals from the unrounded times, the times to four digits: both roundings add
        assert nchw > 0 and nhwc > 0 and abs(ratio - nhwc / nchw) <= 0.005 + 0.002 * nhwc / nchw


def test_option_benchmark_table(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Each model trains with and without the option given, a translator included, and the ratio is theirs."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = script("bench_option")
    args = ["--models", "dcgan", "cyclegan-resnet", "--base", "image_size=32", "width=4", "--set", "r1=1"]
    run_main(bench, monkeypatch, *args, "--steps", "1", "--repeats", "1")
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[3:]}
    assert set(rows) == {"dcgan", "cyclegan-resnet"}
    for row in rows.values():
        without, with_, ratio = float(row[2]), float(row[3]), float(row[4].rstrip("x"))
        assert without > 0 and with_ > 0 and ratio == pytest.approx(with_ / without, rel=0.002, abs=0.006)


def test_models_side_by_side(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Two models' Trainer rates in one table, each with its steps/s and its ratio to the first's."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    bench = script("bench_models")
    args = ["--models", "cyclegan-resnet", "ugatit", "--set", "image_size=32", "width=4", "disc_width=4", "n_blocks=1"]
    run_main(bench, monkeypatch, *args, "--steps", "1", "--repeats", "1")
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[3:]}
    assert set(rows) == {"cyclegan-resnet", "ugatit"}
    assert float(rows["cyclegan-resnet"][4].rstrip("x")) == 1.0  # the first model is the yardstick
    for row in rows.values():
        batch, images, steps = int(row[1]), float(row[2]), float(row[3])
        assert images > 0 and steps == pytest.approx(images / batch, rel=0.01)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/status and /proc/PID/io")
def test_data_memory_and_reads_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``bench_data.py memory`` trains once per way of reading and prints one row each; ``reads`` times them."""
    bench = script("bench_data")
    run_main(bench, monkeypatch, "make", str(tmp_path / "faces"), "--n", "60", "--size", "16")
    home = tmp_path / "home"
    args = ["--size", "16", "--steps", "3", "--batch", "8", "--home", str(home), "--repeats", "1", "--cold"]
    run_main(bench, monkeypatch, "memory", str(tmp_path / "faces"), *args, "--reads", "mmap", "pread")
    out = capsys.readouterr().out
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in out.splitlines() if line.startswith("| ")}
    assert set(rows) == {"reads", "mmap", "pread"} and "cold" in out and "60 images at 16 px" in out
    img_s, peak_rss, anonymous, file_backed = (float(v) for v in rows["pread"][:4])
    assert img_s > 0 and peak_rss >= anonymous > 0 and file_backed > 0
    monkeypatch.delenv("GENZOO_CACHE_READS", raising=False)
    run_main(bench, monkeypatch, "reads", str(home), "--batches", "4", "--batch", "8", "--repeats", "1")
    table = [line.split("|")[1:-1] for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    assert [row[0].strip() for row in table[1:]] == ["mmap", "mmap-random", "pread"]
    assert all(float(cell) > 0 for row in table[1:] for cell in row[1:])

"""Data at scale: the first decode of an image folder by 1 and by N worker processes, Pillow's decoding against
torchvision's ``decode_image`` on the same files, opening the cache later, and the memory of a training run on a
folder larger than the memory it is allowed.

    python benchmarks/bench_data.py make DIR --n 10000 --size 256 --format png     # a folder of rendered faces
    python benchmarks/bench_data.py decode DIR --size 64 --workers 1 2              # images/s, then reopening
    python benchmarks/bench_data.py memory DIR --size 128 --steps 20 [--cold] [--reads mmap mmap-random pread]
    python benchmarks/bench_data.py reads HOME --batches 50 --batch 64                # the data path alone

``decode`` uses a fresh, temporary ``GENZOO_HOME`` for every measurement, so each one is a first decode. ``memory``
decodes DIR once into a ``GENZOO_HOME`` (``--home`` reuses one), then trains ``vae-conv`` on it in a child process
once per way of reading the cache (``GENZOO_CACHE_READS``: the memory map, the memory map advised for random access,
positioned reads), in rounds, ``--repeats`` times; with ``--cold`` the cache file is dropped from the page cache
before each run (``posix_fadvise(DONTNEED)``). It samples the child's ``/proc/PID/status`` and ``/proc/PID/io`` every
0.1 s and at each step line, and prints a table of medians: images/s, peak resident memory and its anonymous
(private) and file-backed parts, how much the file-backed part grew while training against the bytes of the rows
the steps used, and the bytes the disk read per training image against its decoded size. ``--limit-gb`` runs the
child inside a memory cgroup (as root on a Linux machine with cgroup v1: a folder larger than the memory).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make(folder: Path, n: int, size: int, fmt: str, seed: int) -> None:
    """``n`` rendered cartoon faces as PNG or JPEG (quality 90) files of ``size`` px."""
    from PIL import Image

    from genzoo.data import toon

    folder.mkdir(parents=True, exist_ok=True)
    step = 2000
    for start in range(0, n, step):
        records = toon.random_records(min(step, n - start), seed + start)
        for i, image in enumerate(toon.render_many(records, "cartoon", size)):
            path = folder / f"{start + i:06d}.{fmt}"
            Image.fromarray(image).save(path, **({"quality": 90} if fmt == "jpg" else {}))
        print(f"{min(start + step, n)} of {n}", flush=True)


def first_decode(folder: Path, size: int, workers: int) -> tuple[float, float, int]:
    """images/s of a first decode into a fresh cache, seconds to open it again, and the image count."""
    home = tempfile.mkdtemp(prefix="genzoo-bench-")
    code = (
        "import sys, time; from genzoo.config import DataConfig; from genzoo.data.loading import load_data;"
        f"c = DataConfig(name={str(folder)!r}, heldout_fraction=0.0, workers={workers});"
        f"t = time.perf_counter(); s = load_data(c, {size}); first = time.perf_counter() - t;"
        f"t = time.perf_counter(); load_data(c, {size}); again = time.perf_counter() - t;"
        "print(len(s.train), first, again)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "GENZOO_HOME": home},
        capture_output=True,
        text=True,
        check=True,
    )
    subprocess.run(["rm", "-rf", home], check=True)
    n, first, again = out.stdout.split()
    return int(n) / float(first), float(again), int(n)


def torchvision_rate(files: list[Path], size: int) -> float:
    """images/s of torchvision's decode_image, resize (antialiased) and centre crop, one process."""
    import torch
    from torchvision.io import ImageReadMode, decode_image, read_file
    from torchvision.transforms.v2 import functional as F

    torch.set_num_threads(1)
    start = time.perf_counter()
    for f in files:
        x = decode_image(read_file(str(f)), mode=ImageReadMode.RGB)
        F.center_crop(F.resize(x, size, antialias=True), size)
    return len(files) / (time.perf_counter() - start)


def pillow_rate(files: list[Path], size: int) -> float:
    """images/s of genzoo's own decoding (Pillow: draft JPEG decoding, Lanczos resize, centre crop), one process."""
    from genzoo.data.folder import load_image

    start = time.perf_counter()
    for f in files:
        load_image(f, size)
    return len(files) / (time.perf_counter() - start)


def decode(folder: Path, size: int, workers: list[int], repeats: int) -> None:
    from genzoo.data.folder import find_images

    files = find_images(folder)
    sample = files[: min(len(files), 2000)]
    print(f"{folder} ({len(files)} files, {files[0].suffix}) at {size} px, medians of {repeats}")
    pil = statistics.median(pillow_rate(sample, size) for _ in range(repeats))
    tv = statistics.median(torchvision_rate(sample, size) for _ in range(repeats))
    print(f"| decoder, 1 process | images/s |\n|---|---:|\n| Pillow (genzoo) | {pil:.0f} |\n| torchvision | {tv:.0f} |")
    print("\n| workers | first decode, images/s | speed-up | opening the cache again, s |\n|---:|---:|---:|---:|")
    base = None
    for w in workers:
        runs = [first_decode(folder, size, w) for _ in range(repeats)]
        rate, again = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        base = base or rate
        print(f"| {w} | {rate:.0f} | {rate / base:.2f}× | {again:.2f} |", flush=True)


def _proc(pid: int) -> dict[str, int]:
    """The child's resident memory (KiB: VmRSS, RssAnon, RssFile) and the bytes it had the disk read (read_bytes)."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in {"VmRSS", "RssAnon", "RssFile"}:
                out[key] = int(value.split()[0])
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "read_bytes":
                out[key] = int(value)
    return out


def evict(home: Path) -> None:
    """Drop the cache files of ``home`` from the page cache, so that the next run reads them from the disk."""
    for path in (home / "data").glob("*.safetensors"):
        with path.open("rb") as f:
            os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def train_command(folder: Path, size: int, steps: int, batch: int) -> list[str]:
    return [
        sys.executable, "-m", "genzoo", "train", "vae-conv", "--data", str(folder), "--steps", str(steps),
        "--set", f"image_size={size}", "--set", f"batch_size={batch}", "--set", "log_every=1",
        "--set", "checkpoint_every=100000", "--set", "preview_every=100000",
        "--out", tempfile.mkdtemp(prefix="genzoo-bench-run-") + "/run",
    ]  # fmt: skip


def measure_run(command: list[str], env: dict[str, str], limit_gb: float | None) -> dict[str, float]:
    """Run one training, sampling the child every 0.1 s; the step lines on its stderr mark when training runs."""
    import threading

    cgroup = None
    if limit_gb and os.geteuid() == 0 and Path("/sys/fs/cgroup/memory").is_dir():
        cgroup = Path(f"/sys/fs/cgroup/memory/genzoo-bench-{os.getpid()}-{time.monotonic_ns()}")
        cgroup.mkdir()
        (cgroup / "memory.limit_in_bytes").write_text(str(int(limit_gb * 2**30)))
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if cgroup is not None:
        (cgroup / "cgroup.procs").write_text(str(child.pid))
    marks: dict[str, dict[str, int]] = {}
    peaks: dict[str, int] = {}
    during: dict[str, int] = {}

    def sample() -> dict[str, int]:
        try:
            now = _proc(child.pid)
        except OSError:
            return {}
        for key, value in now.items():
            peaks[key] = max(peaks.get(key, 0), value)
            if "first" in marks and "last" not in marks:
                during[key] = max(during.get(key, 0), value)
        return now

    def watch_steps() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            if line.startswith("step "):
                now = sample()
                marks.setdefault("first", now)
                marks["latest"] = now
                if line.split()[1].split("/")[0] == line.split()[1].split("/")[1]:
                    marks["last"] = now

    reader = threading.Thread(target=watch_steps, daemon=True)
    reader.start()
    while child.poll() is None:
        sample()
        time.sleep(0.1)
    reader.join(timeout=5)
    stdout = child.stdout.read() if child.stdout else ""
    if cgroup is not None:
        cgroup.rmdir()
    if child.returncode != 0:
        raise SystemExit(f"the training failed ({child.returncode}):\n{stdout}")
    done = next(line for line in stdout.splitlines() if line.startswith("done"))
    rate = float(done.split("(")[1].split()[0])
    first, last = marks["first"], marks.get("last", marks["latest"])
    return {
        "img_s": rate,
        "peak_rss": peaks.get("VmRSS", 0) / 2**20,
        "peak_anon": peaks.get("RssAnon", 0) / 2**20,
        "peak_file": peaks.get("RssFile", 0) / 2**20,
        "file_growth": (during.get("RssFile", first["RssFile"]) - first["RssFile"]) / 2**20,
        "read_during": last["read_bytes"] - first["read_bytes"],
    }


def memory(
    folder: Path, size: int, steps: int, batch: int, limit_gb: float | None, home: str | None, reads: list[str],
    repeats: int, cold: bool,
) -> None:  # fmt: skip
    """Each way of reading the cache in turn (rounds, medians): throughput, resident memory by kind, and the disk
    bytes read per training image (with ``cold``, the cache file dropped from the page cache before each run)."""
    from genzoo.data.folder import find_images

    home_dir = Path(home or tempfile.mkdtemp(prefix="genzoo-bench-home-"))
    env = {**os.environ, "GENZOO_HOME": str(home_dir)}
    subprocess.run(train_command(folder, size, 1, batch), env=env, capture_output=True, check=True)  # the cache
    images = len(find_images(folder))
    decoded = images * size * size * 3 / 2**30
    row = size * size * 3
    used = (steps - 1) * batch * row / 2**30  # the rows of the steps after the first step line
    results: dict[str, list[dict[str, float]]] = {how: [] for how in reads}
    for _ in range(repeats):
        for how in reads:
            if cold:
                evict(home_dir)
            run = measure_run(train_command(folder, size, steps, batch), {**env, "GENZOO_CACHE_READS": how}, limit_gb)
            results[how].append(run)
            print(f"  {how}: {run}", file=sys.stderr, flush=True)
    state = "cold: the cache file dropped from the page cache before each run" if cold else "warm page cache"
    print(
        f"\n{folder}: {images} images at {size} px, decoded {decoded:.2f} GiB; vae-conv, {steps} steps of {batch} "
        f"({used * 1024:.0f} MiB of rows after the first step); {state}; medians of {repeats}\n"
    )
    print(
        "| reads | img/s | peak RSS, GiB | anonymous, GiB | file-backed, GiB | file-backed growth while training, MiB "
        "| growth / rows used | disk read per training image, KiB | ÷ its decoded size |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for how, runs in results.items():
        m = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        per_image = m["read_during"] / ((steps - 1) * batch)
        print(
            f"| {how} | {m['img_s']:.0f} | {m['peak_rss']:.2f} | {m['peak_anon']:.2f} | {m['peak_file']:.2f} "
            f"| {m['file_growth'] * 1024:.0f} | {m['file_growth'] / used:.1f}× | {per_image / 1024:.0f} "
            f"| {per_image / row:.2f}× |"
        )


def batch_reads(home: Path, reads: list[str], batches: int, batch: int, repeats: int) -> None:
    """The data path alone: milliseconds to read a batch of random rows from the largest cache file of ``home``, by
    each way of reading it, from a cold page cache (the file dropped first) and a warm one (read once before)."""
    from genzoo.data.core import read_cache

    path = max((home / "data").glob("*.safetensors"), key=lambda p: p.stat().st_size)
    times: dict[tuple[str, str], list[float]] = {}
    before = os.environ.get("GENZOO_CACHE_READS")
    try:
        for _ in range(repeats):
            for how in reads:
                os.environ["GENZOO_CACHE_READS"] = how
                for state in ("cold", "warm"):
                    if state == "cold":
                        evict(home)
                    times.setdefault((how, state), []).append(_batch_ms(path, batches, batch))
    finally:
        os.environ.pop("GENZOO_CACHE_READS", None)
        if before is not None:
            os.environ["GENZOO_CACHE_READS"] = before
    shape = read_cache(path).images.shape  # type: ignore[union-attr]
    mib = batch * shape[1] * shape[2] * 3 / 2**20
    print(
        f"\n{path.name}: {shape[0]} rows of {shape[1]} px; {batches} batches of {batch} random rows ({mib:.1f} MiB "
        f"each); medians of {repeats}\n"
    )
    print("| reads | cold: ms per batch | cold: MiB/s | warm: ms per batch | warm: MiB/s |\n|---|---:|---:|---:|---:|")
    for how in reads:
        cold, warm = (statistics.median(times[(how, state)]) for state in ("cold", "warm"))
        print(f"| {how} | {cold:.1f} | {mib / cold * 1000:.0f} | {warm:.2f} | {mib / warm * 1000:.0f} |")


def _batch_ms(path: Path, batches: int, batch: int) -> float:
    """Milliseconds per batch of ``batch`` random rows (the same rows every time), read the current way."""
    import numpy as np

    from genzoo.data.core import read_cache

    cached = read_cache(path)
    assert cached is not None
    images = cached.images
    order = np.random.default_rng(0).permutation(len(images))[: batches * batch]
    start = time.perf_counter()
    for b in range(batches):
        images[order[b * batch : (b + 1) * batch]]
    return (time.perf_counter() - start) / batches * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    m = sub.add_parser("make")
    m.add_argument("folder", type=Path)
    m.add_argument("--n", type=int, default=10_000)
    m.add_argument("--size", type=int, default=256)
    m.add_argument("--format", choices=["png", "jpg"], default="png")
    m.add_argument("--seed", type=int, default=0)
    d = sub.add_parser("decode")
    d.add_argument("folder", type=Path)
    d.add_argument("--size", type=int, default=64)
    d.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    d.add_argument("--repeats", type=int, default=3)
    r = sub.add_parser("memory")
    r.add_argument("folder", type=Path)
    r.add_argument("--size", type=int, default=128)
    r.add_argument("--steps", type=int, default=20)
    r.add_argument("--batch", type=int, default=64)
    r.add_argument("--limit-gb", type=float, default=None)
    r.add_argument("--home", default=None, help="GENZOO_HOME of the runs (to reuse a decoded cache)")
    r.add_argument("--reads", nargs="+", default=["mmap", "mmap-random", "pread"], help="GENZOO_CACHE_READS values")
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--cold", action="store_true", help="drop the cache file from the page cache before each run")
    b = sub.add_parser("reads")
    b.add_argument("home", type=Path, help="a GENZOO_HOME holding the decoded cache (from `memory --home`)")
    b.add_argument("--reads", nargs="+", default=["mmap", "mmap-random", "pread"])
    b.add_argument("--batches", type=int, default=50)
    b.add_argument("--batch", type=int, default=64)
    b.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.what == "make":
        make(args.folder, args.n, args.size, args.format, args.seed)
    elif args.what == "decode":
        decode(args.folder, args.size, args.workers, args.repeats)
    elif args.what == "reads":
        batch_reads(args.home, args.reads, args.batches, args.batch, args.repeats)
    else:
        memory(
            args.folder, args.size, args.steps, args.batch, args.limit_gb, args.home, args.reads, args.repeats,
            args.cold,
        )  # fmt: skip


if __name__ == "__main__":
    main()

"""Data at scale: the first decode of an image folder by 1 and by N worker processes, Pillow's decoding against
torchvision's ``decode_image`` on the same files, opening the cache later, and the memory of a training run on a
folder larger than the memory it is allowed.

    python benchmarks/bench_data.py make DIR --n 10000 --size 256 --format png     # a folder of rendered faces
    python benchmarks/bench_data.py decode DIR --size 64 --workers 1 2              # images/s, then reopening
    python benchmarks/bench_data.py memory DIR --size 128 --steps 300 --limit-gb 1.5

``decode`` uses a fresh, temporary ``GENZOO_HOME`` for every measurement, so each one is a first decode. ``memory``
trains ``vae-conv`` on DIR in a child process (inside a memory cgroup of ``--limit-gb`` when this runs as root on a
Linux machine with cgroup v1, which is how a folder larger than the memory is simulated), samples the child's
resident memory every 0.2 s and prints the peaks of its anonymous (private) and file-backed (the memory-mapped
cache, reclaimable) parts.
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


def _memory_kib(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in {"VmRSS", "RssAnon", "RssFile"}:
                out[key] = int(value.split()[0])
    return out


def memory(folder: Path, size: int, steps: int, limit_gb: float | None, home: str | None) -> None:
    command = [
        sys.executable, "-m", "genzoo", "train", "vae-conv", "--data", str(folder), "--steps", str(steps), "--quiet",
        "--set", f"image_size={size}", "--set", "checkpoint_every=100000", "--set", "preview_every=100000",
        "--out", tempfile.mkdtemp(prefix="genzoo-bench-run-") + "/run",
    ]  # fmt: skip
    cgroup = None
    if limit_gb and os.geteuid() == 0 and Path("/sys/fs/cgroup/memory").is_dir():
        cgroup = Path(f"/sys/fs/cgroup/memory/genzoo-bench-{os.getpid()}")
        cgroup.mkdir()
        (cgroup / "memory.limit_in_bytes").write_text(str(int(limit_gb * 2**30)))
    env = {**os.environ, **({"GENZOO_HOME": home} if home else {})}
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env)
    if cgroup is not None:
        (cgroup / "cgroup.procs").write_text(str(child.pid))
    peaks: dict[str, int] = {}
    while child.poll() is None:
        try:
            for key, value in _memory_kib(child.pid).items():
                peaks[key] = max(peaks.get(key, 0), value)
        except OSError:
            pass
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    limit = ""
    if cgroup is not None:
        used = int((cgroup / "memory.max_usage_in_bytes").read_text()) / 2**30
        limit = f"; cgroup limit {limit_gb} GiB, its peak use {used:.2f} GiB"
        cgroup.rmdir()
    from genzoo.data.folder import find_images

    decoded = len(find_images(folder)) * size * size * 3 / 2**30
    print(
        f"exit {child.returncode} in {seconds:.0f} s; decoded size {decoded:.2f} GiB; peak RSS "
        f"{peaks.get('VmRSS', 0) / 2**20:.2f} GiB (anonymous {peaks.get('RssAnon', 0) / 2**20:.2f}, file-backed "
        f"{peaks.get('RssFile', 0) / 2**20:.2f}){limit}"
    )


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
    r.add_argument("--steps", type=int, default=300)
    r.add_argument("--limit-gb", type=float, default=None)
    r.add_argument("--home", default=None, help="GENZOO_HOME of the run (to reuse a decoded cache)")
    args = parser.parse_args()
    if args.what == "make":
        make(args.folder, args.n, args.size, args.format, args.seed)
    elif args.what == "decode":
        decode(args.folder, args.size, args.workers, args.repeats)
    else:
        memory(args.folder, args.size, args.steps, args.limit_gb, args.home)


if __name__ == "__main__":
    main()

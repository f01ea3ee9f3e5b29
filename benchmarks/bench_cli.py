"""How quick the command line feels: the wall time of `genzoo --help`, `genzoo list` and other commands that must
not load torch, beside the floor that Python and the libraries they need set.

    python benchmarks/bench_cli.py [--repeats 9]

Each command runs as a new process (as a user runs it), ``--repeats`` times after one untimed run; the table shows
the median and the minimum wall time, and whether torch or torchvision was imported (it must not be). The last rows
time what a command that trains pays for torch and torchvision.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

PROBE = "import sys; sys.argv = {argv!r}; from genzoo.cli import main\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
LOADED = "\nprint('torch' in sys.modules, 'torchvision' in sys.modules, file=sys.stderr)"
COMMANDS = {
    "genzoo --help": ["genzoo", "--help"],
    "genzoo list": ["genzoo", "list"],
    "genzoo list --kind losses": ["genzoo", "list", "--kind", "losses"],
    "genzoo info vae-conv": ["genzoo", "info", "vae-conv"],
    "genzoo data list": ["genzoo", "data", "list"],
}
FLOORS = {
    "python (nothing imported)": "pass",
    "import typer (the CLI framework)": "import typer",
    "import pydantic's BaseModel (the configs)": "from pydantic import BaseModel",
    "import torch (what these commands avoid)": "import torch",
    "import torch, torchvision (what these commands avoid)": "import torch, torchvision",
}


def timed(code: str, repeats: int) -> tuple[float, float, str]:
    """Median and minimum wall seconds of ``python -c code``, and what its last run printed on stderr."""
    times, err = [], ""
    for i in range(repeats + 1):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        if i:  # the first run warms the file cache
            times.append(time.perf_counter() - start)
        err = done.stderr.strip()
    return statistics.median(times), min(times), err


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    print("| command | median s | min s | torch, torchvision loaded |\n|---|---:|---:|---|")
    for name, argv in COMMANDS.items():
        median, best, loaded = timed(PROBE.format(argv=argv) + LOADED, args.repeats)
        print(f"| `{name}` | {median:.3f} | {best:.3f} | {loaded.splitlines()[-1]} |", flush=True)
    for name, code in FLOORS.items():
        median, best, _ = timed(code, args.repeats)
        print(f"| {name} | {median:.3f} | {best:.3f} | |", flush=True)


if __name__ == "__main__":
    main()

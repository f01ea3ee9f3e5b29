"""The ``genzoo`` Typer application: how a command's errors become one message and an exit code, the consoles,
JSON output and the entry point. The commands live in the other modules of this package, each a thin layer over
``genzoo.api``; nothing here imports torch, so ``genzoo --help`` and ``genzoo list`` stay instant.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import Annotated, Any, cast

import typer
from rich.markup import escape
from typer.core import TyperGroup

from genzoo._version import __version__
from genzoo.errors import GenzooError, disk_full
from genzoo.progress import LineConsole
from genzoo.runs import WeightsChoice, find_weights

console = LineConsole()
err_console = LineConsole(stderr=True)


def report_error(exc: GenzooError) -> None:
    # under torchrun every process reports; the rank says whose message it is
    rank = f"rank {os.environ['RANK']} " if int(os.environ.get("WORLD_SIZE", "1")) > 1 else ""
    # escaped: messages quote user input and config syntax such as `attributes=[class]`, never rich markup
    err_console.print(f"[bold red]{rank}{exc.label}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)


def os_error_message(exc: OSError) -> str:
    """What went wrong with a file and what to do: a full disk and a read-only folder get their own advice."""
    where = f" ({exc.filename})" if exc.filename else ""
    if disk_full(exc):
        return (
            f"The disk is full{where}: {exc.strerror}. Free some space, then run the command again (an interrupted "
            "training run continues from its last checkpoint with `genzoo train --resume RUN_DIR`)."
        )
    if exc.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
        return (
            f"{exc.strerror}{where}. Choose a place you may write to (e.g. another --out), or change the permissions "
            "of that file or folder."
        )
    return f"{exc.strerror or exc}{where}. Check that the path exists and is writable."


class GenzooGroup(TyperGroup):
    """Turns a user's mistake anywhere below it into one message and a non-zero exit."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GenzooError as exc:
            report_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # permissions, a full disk, a missing folder: the user's environment, not a bug
            report_error(GenzooError(os_error_message(exc)))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err_console.print("[bold red]interrupted[/]")
            raise typer.Exit(130) from None


app = typer.Typer(
    cls=GenzooGroup,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode="rich",
    help="A zoo of generative image models: train, sample, reconstruct and evaluate them on built-in toon faces "
    "or your own images.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def version_callback(value: bool) -> None:
    if value:
        console.print(f"genzoo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """genzoo command line."""


SOURCE_HELP = "Model name (its newest run, else its released weights), run directory or .safetensors file."
WeightsOption = Annotated[
    str,
    typer.Option(
        "--weights",
        help="For a model name: auto (its newest finished run in runs/, else its released weights), local or "
        "released.",
    ),
]


def resolved(source: str, weights: str = "auto") -> str:
    """The weights a SOURCE argument names: itself when it is a path; a model name stands for its newest finished
    run, else its released weights (``--weights`` chooses), which are then named on stderr (one dim line), so
    that it is never a guess."""
    found = find_weights(source, weights=cast(WeightsChoice, weights))
    if found.origin != "path":
        err_console.print(f"[dim]{escape(found.describe(source))}[/]", highlight=False, soft_wrap=True)
    return str(found.header.path)


def print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def main() -> None:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        app(prog_name="genzoo")
        return
    # Under torchrun, leave without the interpreter's teardown: gloo's threads, still alive there even after the
    # process group is destroyed, now and then abort a process that has finished ("terminate called without an
    # active exception"), and torchrun would report a finished run as failed.
    try:
        app(prog_name="genzoo")
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)

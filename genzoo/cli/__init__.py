"""The ``genzoo`` command line: thin Typer commands over ``genzoo.api``.

A user's mistake (a ``GenzooError``) is printed as one paragraph on stderr and ends the command with the error's
exit code, never a traceback. Nothing here imports torch at module level: ``genzoo --help`` and ``genzoo list``
stay instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from genzoo.cli.completion import complete_data, complete_datasets, complete_models, complete_sources
from genzoo.errors import GenzooError, disk_full

if TYPE_CHECKING:
    from genzoo.judge.cache import JudgeInfo

console = Console()
err_console = Console(stderr=True)


def report_error(exc: GenzooError) -> None:
    import os

    from rich.markup import escape

    # under torchrun every process reports; the rank says whose message it is
    rank = f"rank {os.environ['RANK']} " if int(os.environ.get("WORLD_SIZE", "1")) > 1 else ""
    # escaped: messages quote user input and config syntax such as `attributes=[class]`, never rich markup
    err_console.print(f"[bold red]{rank}{exc.label}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)


def os_error_message(exc: OSError) -> str:
    """What went wrong with a file and what to do: a full disk and a read-only folder get their own advice."""
    import errno

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
data_app = typer.Typer(cls=GenzooGroup, no_args_is_help=True, help="The built-in data sets: list, preview, export.")
app.add_typer(data_app, name="data")


def version_callback(value: bool) -> None:
    if value:
        from genzoo._version import __version__

        console.print(f"genzoo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """genzoo command line."""


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


# ---- list / info ---------------------------------------------------------------------------------------------------


@app.command("list")
def list_command(
    pattern: Annotated[str | None, typer.Argument(help="fnmatch pattern, e.g. 'vae-*'.")] = None,
    kind: Annotated[str, typer.Option(help="What to list: models, losses or datasets.")] = "models",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List registered models (or losses, or data sets), built-in and from plugins."""
    from genzoo.registry import datasets, losses, models

    registries = {"models": models, "losses": losses, "datasets": datasets}
    if kind not in registries:
        raise GenzooError(f"--kind {kind!r} is not one of {', '.join(registries)}.")
    entries = registries[kind].entries(pattern)
    rows = [_entry_row(e) for e in entries]
    if as_json:
        _print_json(rows)
    else:
        table = Table(title=f"genzoo {kind}" + (f" matching {pattern!r}" if pattern else ""))
        for column in rows[0] if rows else ["name"]:
            table.add_column(column)
        for row in rows:
            table.add_row(*[str(v) for v in row.values()])
        console.print(table)
    for problem in registries[kind].errors:
        err_console.print(f"[yellow]plugin {problem.name!r} from {problem.distribution} skipped:[/] {problem.error}")


def _entry_row(entry: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"name": entry.name}
    if hasattr(entry, "family"):
        row["family"] = entry.family
        row["capabilities"] = ", ".join(sorted(entry.capabilities))
    if hasattr(entry, "kind"):
        row["kind"] = entry.kind
    row["description"] = entry.description
    row["source"] = entry.source
    return row


@app.command()
def info(
    source: Annotated[
        str,
        typer.Argument(help="A .safetensors file, a run directory, or a model name.", autocompletion=complete_sources),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (keys: model, config, version, step, …).")
    ] = False,
    parameters: Annotated[
        bool,
        typer.Option(
            "--parameters", help="For a model name: build it at its defaults and count its parameters (loads torch)."
        ),
    ] = False,
) -> None:
    """Tell what a checkpoint is, from its header alone (no tensors are loaded), or what a model name is."""
    from genzoo.api import info as read_info
    from genzoo.registry import models

    if source in models and not Path(source).exists():
        _model_info(source, as_json, parameters)
        return
    header = read_info(source)
    if as_json:
        _print_json(header.to_json())
        return
    table = Table(show_header=False, title=str(header.path))
    for key in ("model", "version", "step", "resumable", "num_parameters"):
        table.add_row(key, str(header.to_json()[key]))
    table.add_row("config", json.dumps(header.config, indent=1))
    if header.extra:
        table.add_row("data", json.dumps(header.extra))
    console.print(table)


def _model_info(name: str, as_json: bool, parameters: bool) -> None:
    from genzoo.registry import models
    from genzoo.runs import finished_runs

    entry = models.get(name)
    runs = finished_runs(name)
    payload: dict[str, Any] = {
        **_entry_row(entry),
        "config": entry.config().model_dump(mode="json"),
        "train_defaults": entry.train_defaults,
        "newest_run": str(runs[-1].path) if runs else None,
    }
    if parameters:
        from genzoo.api import num_parameters

        payload["num_parameters"] = num_parameters(name)
    if as_json:
        _print_json(payload)
        return
    table = Table(show_header=False, title=name)
    for key, value in payload.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)


# ---- train ---------------------------------------------------------------------------------------------------------


@app.command()
def train(
    name: Annotated[
        str | None,
        typer.Argument(
            help="Model to train (see `genzoo list`); optional with --resume.", autocompletion=complete_models
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", "-d", help="Built-in data set (cartoon) or image folder.", autocompletion=complete_data),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(help="Target domain of a translator: data set or folder.", autocompletion=complete_data),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="YAML, TOML or JSON config file.")] = None,
    overrides: Annotated[
        list[str] | None, typer.Option("--set", "-s", help="Override a field: key=value (repeatable).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Run directory (default: runs/<model>-<time>).")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Passes over the data, when --steps is not given.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed: the same seed repeats a run.")] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue this run directory from its last checkpoint.")] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first unreadable image instead of skipping it.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    log: Annotated[
        list[str] | None,
        typer.Option("--log", help="Also log to: tensorboard (RUN/tensorboard/; needs genzoo[tensorboard])."),
    ] = None,
) -> None:
    """Train a model; the run directory gets config, metrics, previews, checkpoints and final weights.

    On several processes: `torchrun --nproc_per_node N -m genzoo train …` (docs/distributed.md).
    """
    from genzoo.api import train as run_training

    if strict:
        overrides = [*(overrides or []), "data.strict=true"]
    result = run_training(
        name,
        data=data,
        to=to,
        config_file=config,
        overrides=overrides or (),
        out=out,
        resume=resume,
        progress=not quiet,
        steps=steps,
        epochs=epochs,
        device=device,
        seed=seed,
        log=log,
    )
    if not result.main:  # under torchrun, rank 0 reports
        return
    summary = json.loads((result.run_dir / "summary.json").read_text())
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in summary.get("heldout", {}).items() if isinstance(v, float))
    console.print(
        f"[bold green]done[/] {result.steps} steps in {result.seconds:.0f} s ({result.images_per_second:.0f} img/s)"
        f"{'; held-out ' + metrics if metrics else ''}\nrun: {result.run_dir}"
    )


# ---- sample / reconstruct ------------------------------------------------------------------------------------------


def _parse_attrs(texts: list[str]) -> dict[str, str]:
    """``["hair_color=blue", …]`` → ``{"hair_color": "blue", …}``."""
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise GenzooError(f"Bad --attr {text!r}: write name=value, for example `--attr hair_color=blue`.")
        out[name.strip()] = value.strip()
    return out


@app.command()
def sample(
    source: Annotated[
        str,
        typer.Argument(
            help="Model name (newest run), run directory or .safetensors file.", autocompletion=complete_sources
        ),
    ],
    n: Annotated[
        int, typer.Option("-n", min=1, max=4096, help="How many images (rows, with --pairs or --interpolate).")
    ] = 64,
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG grid to write.")] = Path("samples.png"),
    seed: Annotated[int, typer.Option(help="Seed of the latent draws (and of attributes not given).")] = 0,
    device: Annotated[str, typer.Option(help="cpu, auto, cuda, cuda:N or mps.")] = "cpu",
    attr: Annotated[
        list[str] | None,
        typer.Option("--attr", "-a", help="Conditional models: fix an attribute, name=value (repeatable)."),
    ] = None,
    pairs: Annotated[
        str | None,
        typer.Option(help="Conditional models: render each latent vector with every value of this attribute."),
    ] = None,
    interpolate: Annotated[
        int | None, typer.Option(min=2, max=64, help="Render this many steps between two latent vectors per row.")
    ] = None,
    linear: Annotated[bool, typer.Option(help="With --interpolate: straight lines, not great circles.")] = False,
) -> None:
    """Draw samples from a model and save them as one grid.

    With --pairs ATTR each of -n rows is one latent vector and each column one value of ATTR; with --interpolate K
    each of -n rows walks in K steps between two latent vectors. --attr fixes attributes in every mode.
    """
    from genzoo import api
    from genzoo.report.images import save_grid

    if pairs is not None and interpolate is not None:
        raise GenzooError("Give --pairs or --interpolate, not both.")
    conditions = _parse_attrs(attr or [])
    api.require(source, "sample")
    model = api.load(source, device=device)
    if pairs is not None:
        rows, names = api.attribute_pairs(model, pairs, n, seed, conditions)
        save_grid(list(rows), out)
        console.print(f"wrote {n} rows × {len(names)} columns of {model.model_name} to {out}")
        console.print(f"columns, left to right: {pairs} = {', '.join(names)}", highlight=False)
    elif interpolate is not None:
        rows = api.interpolate(model, n, interpolate, seed, conditions, spherical=not linear)
        save_grid(list(rows), out)
        kind = "linear" if linear else "spherical"
        console.print(f"wrote {n} {kind} interpolations of {interpolate} steps of {model.model_name} to {out}")
    else:
        images = api.sample(model, n, seed, conditions)
        save_grid([images], out, columns=min(n, 8))
        console.print(f"wrote {n} samples of {model.model_name} to {out}")


@app.command()
def reconstruct(
    source: Annotated[
        str,
        typer.Argument(
            help="Model name (newest run), run directory or .safetensors file.", autocompletion=complete_sources
        ),
    ],
    images: Annotated[list[Path] | None, typer.Argument(help="Images to reconstruct (default: held-out ones).")] = None,
    n: Annotated[int, typer.Option("-n", min=1, max=256, help="How many held-out images, without IMAGES.")] = 16,
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG grid: inputs above reconstructions.")] = Path(
        "reconstructions.png"
    ),
    device: Annotated[str, typer.Option(help="cpu, auto, cuda, cuda:N or mps.")] = "cpu",
) -> None:
    """Reconstruct images (yours, or held-out ones) and save inputs and reconstructions side by side."""
    from genzoo.api import load, load_inputs, require
    from genzoo.report.images import save_grid

    require(source, "reconstruct")
    model = load(source, device=device)
    x = load_inputs(model, images or [], n)
    recon = model.reconstruct(x.to(model.device))
    rows = []
    for i in range(0, len(x), 8):
        rows += [x[i : i + 8], recon[i : i + 8]]
    save_grid(rows, out)
    console.print(f"wrote {len(x)} inputs and reconstructions to {out}")


# ---- eval / plot ---------------------------------------------------------------------------------------------------


@app.command("eval")
def eval_command(
    source: Annotated[
        str,
        typer.Argument(help="Run directory, .safetensors file or model name.", autocompletion=complete_sources),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (keys: docs/metrics.md).")] = False,
    n: Annotated[
        int, typer.Option("-n", min=2, help="Images generated or translated, compared with as many held-out ones.")
    ] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the generated images.")] = 0,
) -> None:
    """Measure a trained model on the held-out images of its data: what applies to what it can do.

    Reconstruction error; the Fréchet distance of judge features to real images; valid faces, attribute coverage
    and conditional accuracy of samples; style, attribute preservation and paired error of translations. The judge
    network is trained once, on first use. Every metric is shown beside its value on real images.
    """
    from genzoo.api import evaluate
    from genzoo.metrics.table import format_value, tables

    result = evaluate(source, n=n, seed=seed)
    if as_json:
        _print_json(result)
        return
    for title, rows in tables(result):
        table = Table(title=title)
        table.add_column("metric")
        table.add_column("model", justify="right")
        table.add_column("real images", justify="right")
        for key, value, reference in rows:
            table.add_row(key, format_value(value), "" if reference is None else format_value(reference))
        console.print(table)
    for key, reason in result.get("not_applicable", {}).items():
        console.print(f"[dim]n/a[/] {key}: {reason}", highlight=False)


# ---- judge ---------------------------------------------------------------------------------------------------------

judge_app = typer.Typer(
    cls=GenzooGroup, no_args_is_help=True, help="The judge network the metrics read faces with: train it, show it."
)
app.add_typer(judge_app, name="judge")


def _print_judge(info: JudgeInfo) -> None:
    """The judge's held-out accuracy per head, by style and at smaller sizes, then its file."""
    from genzoo.data.toon import STYLES

    faces = f"{info.heldout_per_style} faces per style"
    table = Table(title=f"judge — held-out accuracy at {info.config.size} px ({faces})")
    table.add_column("head")
    for style in (*STYLES, "both"):
        table.add_column(style, justify="right")
    for smaller in info.accuracy_by_size:
        table.add_column(f"{smaller} px", justify="right")
    for head, both in info.accuracy.items():
        by_style = [info.accuracy_by_style[s][head] for s in STYLES]
        by_size = [a[head] for a in info.accuracy_by_size.values()]
        table.add_row(head, *[f"{a:.2%}" for a in (*by_style, both, *by_size)])
    trained = f"trained in {info.seconds:.0f} s ({info.precision}, torch {info.torch})"
    smaller = " px, ".join(map(str, info.accuracy_by_size))
    drawn = f"{smaller} px: both styles drawn at that size, resized up\n" if smaller else ""
    table.caption = f"{drawn}{trained}; renderer {info.renderer}"
    console.print(table)
    console.print(f"judge file: {info.path}", highlight=False, soft_wrap=True)


@judge_app.command("train")
def judge_train(
    force: Annotated[bool, typer.Option("--force", help="Train again even when a judge is cached.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Train the judge (a few minutes on a CPU) and cache it; print its held-out accuracy per attribute."""
    from genzoo.judge import judge_info, train_judge

    cached = judge_info() is not None and not force
    info = train_judge(force=force).info
    if info is None:  # a judge from train_judge always carries its info
        raise GenzooError("The judge was trained but its accuracy could not be read back; run the command again.")
    if as_json:
        _print_json(info.to_json())
        return
    _print_judge(info)
    if cached:
        console.print("The judge was already trained for this renderer; --force trains it again.")


@judge_app.command("info")
def judge_info_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Show the cached judge: file, held-out accuracy per attribute and style, training time."""
    from genzoo.judge import judge_info

    info = judge_info()
    if info is None:
        raise GenzooError(
            "No judge is trained for the current face renderer yet. Train it with `genzoo judge train` (a few "
            "minutes), or let `genzoo eval` train it on first use."
        )
    if as_json:
        _print_json(info.to_json())
        return
    _print_judge(info)


@app.command()
def plot(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="PNG to write (default: RUN/curves.png).")] = None,
) -> None:
    """Plot a run's learning curves from its metrics.jsonl."""
    from genzoo.report.curves import plot_curves
    from genzoo.runs import existing_run

    run_dir = existing_run(run)
    metrics = run_dir.read_metrics()
    if not metrics:
        raise GenzooError(f"{run} has no metrics yet: its metrics.jsonl is missing or empty.")
    from genzoo.api import create
    from genzoo.config import RunConfig

    config = RunConfig.from_json(run_dir.read_config())
    groups = getattr(create(config.name, config.model), "curve_groups", None)
    path = plot_curves(metrics, out or run_dir.path / "curves.png", title=run_dir.path.name, groups=groups)
    console.print(f"wrote {path}")


# ---- data ----------------------------------------------------------------------------------------------------------


@data_app.command("list")
def data_list() -> None:
    """List the registered data sets."""
    list_command(None, "datasets", False)


@data_app.command("preview")
def data_preview(
    name: Annotated[
        str, typer.Argument(help="Data set name (cartoon, anime) or image folder.", autocompletion=complete_data)
    ] = "cartoon",
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG grid to write.")] = Path("grid.png"),
    n: Annotated[int, typer.Option("-n", min=1, max=1024, help="How many images.")] = 64,
    size: Annotated[int, typer.Option(help="Image size in pixels.")] = 64,
    seed: Annotated[int, typer.Option(help="Renderer seed.")] = 0,
) -> None:
    """Save a grid of a data set's images."""
    from genzoo.data.export import preview_images
    from genzoo.report.images import save_grid

    save_grid([preview_images(name, n, size, seed)], out, columns=min(n, 8))
    console.print(f"wrote {n} {name} images to {out}")


@data_app.command("export")
def data_export(
    name: Annotated[
        str, typer.Argument(help="Built-in data set name (cartoon, anime).", autocompletion=complete_datasets)
    ],
    folder: Annotated[Path, typer.Argument(help="Folder to write PNGs and attributes.csv into.")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many images.")] = 1000,
    size: Annotated[int, typer.Option(help="Image size in pixels.")] = 64,
    seed: Annotated[int, typer.Option(help="Renderer seed.")] = 0,
) -> None:
    """Write a built-in data set's images as PNG files with their attributes in attributes.csv."""
    from genzoo.data.export import export

    path = export(name, folder, n, size, seed)
    console.print(f"wrote {n} {name} images and {path.name} to {folder}")


def main() -> None:
    import os

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


from genzoo.cli import plugins as _plugins  # noqa: E402,F401  (registers plugins)
from genzoo.cli import report as _report  # noqa: E402,F401  (registers latent, report, compare)
from genzoo.cli import translate as _translate  # noqa: E402,F401  (registers translate, import-weights)

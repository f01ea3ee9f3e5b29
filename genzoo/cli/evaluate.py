"""``genzoo eval``, ``genzoo judge`` and ``genzoo plot``: measuring a trained model and the instrument that does it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from genzoo import api
from genzoo.cli.app import GenzooGroup, WeightsOption, app, console, print_json, resolved
from genzoo.cli.completion import complete_sources
from genzoo.errors import GenzooError
from genzoo.registry import models
from genzoo.report.curves import plot_curves
from genzoo.report.tables import format_value, tables
from genzoo.runs import CURVES_FILE, existing_run

if TYPE_CHECKING:
    from genzoo.judge.config import JudgeInfo


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
    raw_weights: Annotated[
        bool, typer.Option("--raw-weights", help="Use the trained weights, not their moving average (where kept).")
    ] = False,
    weights: WeightsOption = "auto",
    judge: Annotated[
        Path | None,
        typer.Option(
            "--judge", help="A judge file of your own (`genzoo judge train --out`) instead of the shipped judge."
        ),
    ] = None,
) -> None:
    """Measure a trained model on the held-out images of its data: what applies to what it can do.

    Reconstruction error; the Fréchet and kernel distances of judge features to real images; valid faces, attribute
    coverage and conditional accuracy of samples; style, attribute preservation and paired error of translations,
    read by the judge network genzoo ships. Every metric is shown beside its value on real images.
    """
    result = api.evaluate(resolved(source, weights), n=n, seed=seed, average=not raw_weights, judge=judge)
    if as_json:
        print_json(result)
        return
    for title, rows in tables(result):
        table = Table(title=title)
        table.add_column("metric")
        table.add_column("model", justify="right")
        table.add_column("real images", justify="right")
        for key, value, reference in rows:
            table.add_row(key, format_value(value), "" if reference is None else format_value(reference))
        console.print(table)
    for note in result.get("notes", []):
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    for key, reason in result.get("not_applicable", {}).items():
        console.print(f"[dim]n/a[/] {key}: {reason}", highlight=False)


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
    trained = f"trained in {info.seconds:.0f} s ({info.precision}, torch {info.torch}, Pillow {info.pillow or '?'})"
    smaller = " px, ".join(map(str, info.accuracy_by_size))
    drawn = f"{smaller} px: both styles drawn at that size, resized up\n" if smaller else ""
    table.caption = f"{drawn}{trained}; renderer {info.renderer}; feature scale {info.feature_scale:.4g}"
    console.print(table)
    console.print(f"judge file: {info.path}", highlight=False, soft_wrap=True)
    from genzoo.data.render import renderer_hash

    if info.renderer != renderer_hash():
        console.print(
            f"[yellow]note:[/] the faces are now drawn by renderer {renderer_hash()}, not the {info.renderer} this "
            "judge learned from: train it again (`genzoo judge train --force --out FILE`).",
            highlight=False,
        )


@judge_app.command("train")
def judge_train(
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="A judge field: key=value (repeatable), e.g. width=32 or epochs=8."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Judge file to write (default: the data cache).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Train again even when that judge exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Train a judge of your own (minutes on a CPU) and print its held-out accuracy per attribute.

    genzoo ships its judge, so nothing needs this: it is for a judge of another configuration, or for making the
    shipped one again (`genzoo judge train --out genzoo/judge/judge-64px.safetensors`). Measure with yours by
    `genzoo eval RUN --judge FILE`, or set GENZOO_JUDGE=FILE for every command.
    """
    from genzoo.judge import DEFAULT_CONFIG, judge_info, train_judge
    from genzoo.judge.config import with_overrides

    config = with_overrides(DEFAULT_CONFIG, overrides or [])
    if out is not None and out.is_dir():
        raise GenzooError(f"--out {out} is a folder; name the judge file to write, e.g. {out / 'judge.safetensors'}.")
    existing = judge_info(config) if out is None else judge_info(path=out)
    already = not force and existing is not None and existing.config == config
    judge = train_judge(config, force=force, out=out)
    info = judge.info
    if info is None:  # a judge from train_judge always carries its info
        raise GenzooError("The judge was trained but its accuracy could not be read back; run the command again.")
    if as_json:
        print_json(info.to_json())
        return
    _print_judge(info)
    if already:
        console.print("That judge exists already (above); --force trains it again.")
    console.print(f"Measure with it: genzoo eval RUN --judge {info.path}", highlight=False, soft_wrap=True)


@judge_app.command("info")
def judge_info_command(
    path: Annotated[Path | None, typer.Argument(help="A judge file (default: the judge the metrics use).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a judge's card: file, held-out accuracy per attribute, style and size, feature scale, training."""
    from genzoo.judge import chosen_file, judge_info

    chosen = chosen_file(path)
    info = judge_info(path=chosen)
    if info is None:
        where = chosen or "genzoo/judge/judge-64px.safetensors"
        raise GenzooError(
            f"{where} is not a judge file genzoo can read: it is missing, damaged or holds another model. Make one "
            "with `genzoo judge train --out FILE`; the judge genzoo ships comes back with `pip install "
            "--force-reinstall genzoo`."
        )
    if as_json:
        print_json(info.to_json())
        return
    _print_judge(info)


@app.command()
def plot(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="PNG to write (default: RUN/curves.png).")] = None,
) -> None:
    """Plot a run's learning curves from its metrics.jsonl."""
    run_dir = existing_run(run)
    metrics = run_dir.read_metrics()
    if not metrics:
        raise GenzooError(f"{run} has no metrics yet: its metrics.jsonl is missing or empty.")
    name = str(run_dir.read_config().get("name"))
    entry = models.get(name) if name in models else None
    path = plot_curves(metrics, out or run_dir.path / CURVES_FILE, title=run_dir.path.name, entry=entry)
    console.print(f"wrote {path}")

"""``genzoo latent``, ``genzoo report`` and ``genzoo compare``: thin commands over ``genzoo.api``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from genzoo import api
from genzoo.cli.app import SOURCE_HELP, WeightsOption, app, console, print_json, resolved
from genzoo.report.compare import display


@app.command()
def latent(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    color_by: Annotated[
        str | None,
        typer.Option("--color-by", "-c", help="Attribute whose values colour the points, e.g. hair_color."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG to write.")] = Path("latent.png"),
    n: Annotated[int, typer.Option("-n", min=5, max=20000, help="How many held-out images to encode.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the embedding: the same seed draws the same map.")] = 0,
    method: Annotated[str, typer.Option(help="tsne (scikit-learn's t-SNE) or pca.")] = "tsne",
    device: Annotated[str, typer.Option(help="cpu, auto, cuda, cuda:N or mps.")] = "cpu",
    weights: WeightsOption = "auto",
) -> None:
    """Encode held-out images and plot their latent codes in 2-D, coloured by an attribute (models that encode)."""
    result = api.latent_map(resolved(source, weights), color_by, out=out, n=n, seed=seed, method=method, device=device)
    coloured = f", coloured by {color_by}" if color_by else ""
    console.print(f"wrote a latent map of {len(result.points)} held-out images{coloured} to {out}")
    if result.summary:
        console.print(result.summary)


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="Run directory.")],
    evaluate: Annotated[
        bool, typer.Option("--eval/--no-eval", help="Evaluate the model first and store the result as eval.json.")
    ] = False,
) -> None:
    """Write RUN/report.html: config, curves, grids, latent map and metrics in one file that opens offline."""
    path = api.report(run, evaluate=evaluate)
    console.print(f"wrote {path}")


@app.command()
def compare(
    runs: Annotated[
        list[str],
        typer.Argument(help="Two or more finished run directories, or weights: hf:OWNER/REPO, a file, a model name."),
    ],
    evaluate: Annotated[
        bool, typer.Option("--eval/--no-eval", help="Evaluate runs that have no current eval.json (and store it).")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare runs: the config fields that differ between them, and each run's metrics."""
    result = api.compare(runs, evaluate=evaluate)
    if as_json:
        print_json(result.to_json())
        return
    names = [label if label.startswith("hf:") else Path(label).name or label for label in result.runs]
    headers = names if len(set(names)) == len(names) else list(result.runs)
    if result.config:
        caption = (
            f"Showing the {len(result.config)} of {result.config_fields} config fields that differ; "
            f"the other {result.same} are the same in every run."
        )
    else:
        caption = f"All {result.config_fields} config fields are the same in every run."
    table = Table()
    table.add_column("")
    for header in headers:
        table.add_column(Text(header), justify="right", overflow="fold")
    table.add_row("[bold]config[/]", *[""] * len(headers))
    for key, values in result.config.items():
        table.add_row(Text(key), *[Text(display(v)) for v in values])
    table.add_section()
    table.add_row("[bold]metrics[/] (from)", *result.sources)
    for key, values in result.metrics.items():
        table.add_row(Text(key), *[Text(display(v)) for v in values])
    console.print(table)
    console.print(caption)

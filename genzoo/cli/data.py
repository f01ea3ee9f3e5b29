"""``genzoo data``: the data sets, listed, previewed as a grid, or exported as PNG files with their attributes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genzoo.cli.app import GenzooGroup, app, console
from genzoo.cli.completion import complete_data, complete_datasets
from genzoo.cli.inspect import list_command

data_app = typer.Typer(cls=GenzooGroup, no_args_is_help=True, help="The built-in data sets: list, preview, export.")
app.add_typer(data_app, name="data")


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
    from genzoo.images import save_sheet

    images = preview_images(name, n, size, seed)
    title = f"{len(images)} {name} images, {images.shape[1]} px, seed {seed}"
    save_sheet(images, out, columns=min(len(images), 8), title=title)
    console.print(f"wrote {len(images)} {name} image{'s' if len(images) != 1 else ''} to {out}", highlight=False)


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

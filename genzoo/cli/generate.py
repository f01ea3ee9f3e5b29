"""``genzoo sample`` and ``genzoo reconstruct``: pictures from a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from genzoo import api
from genzoo.cli.app import SOURCE_HELP, WeightsOption, app, console, resolved
from genzoo.cli.completion import complete_sources
from genzoo.errors import GenzooError


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
            help=SOURCE_HELP, autocompletion=complete_sources
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
    raw_weights: Annotated[
        bool, typer.Option("--raw-weights", help="Use the trained weights, not their moving average (where kept).")
    ] = False,
    weights: WeightsOption = "auto",
) -> None:
    """Draw samples from a model and save them as one grid.

    With --pairs ATTR each of -n rows is one latent vector and each column one value of ATTR; with --interpolate K
    each of -n rows walks in K steps between two latent vectors. --attr fixes attributes in every mode.
    """
    from genzoo.images import save_grid
    from genzoo.models import sampling

    if pairs is not None and interpolate is not None:
        raise GenzooError("Give --pairs or --interpolate, not both.")
    conditions = _parse_attrs(attr or [])
    api.require(source, "sample")
    model = api.load(resolved(source, weights), device=device, average=not raw_weights)
    if pairs is not None:
        rows, names = sampling.attribute_pairs(model, pairs, n, seed, conditions)
        title = f"{model.model_name}, seed {seed}: each row one noise, each column one value of {pairs}"
        save_grid(list(rows), out, column_labels=names, title=title)
        console.print(f"wrote {n} rows × {len(names)} columns of {model.model_name} to {out}")
        console.print(f"columns, left to right: {pairs} = {', '.join(names)}", highlight=False)
    elif interpolate is not None:
        rows = sampling.interpolate(model, n, interpolate, seed, conditions, spherical=not linear)
        kind = "linear" if linear else "spherical"
        title = f"{model.model_name}, seed {seed}: each row a {kind} walk between two latent vectors"
        save_grid(list(rows), out, title=title)
        console.print(f"wrote {n} {kind} interpolations of {interpolate} steps of {model.model_name} to {out}")
    else:
        images = sampling.sample(model, n, seed, conditions)
        save_grid([images], out, columns=min(n, 8), title=f"{n} samples of {model.model_name}, seed {seed}")
        console.print(f"wrote {n} samples of {model.model_name} to {out}")


@app.command()
def reconstruct(
    source: Annotated[
        str,
        typer.Argument(
            help=SOURCE_HELP, autocompletion=complete_sources
        ),
    ],
    images: Annotated[list[Path] | None, typer.Argument(help="Images to reconstruct (default: held-out ones).")] = None,
    n: Annotated[int, typer.Option("-n", min=1, max=256, help="How many held-out images, without IMAGES.")] = 16,
    out: Annotated[Path, typer.Option("--out", "-o", help="PNG grid: inputs above reconstructions.")] = Path(
        "reconstructions.png"
    ),
    device: Annotated[str, typer.Option(help="cpu, auto, cuda, cuda:N or mps.")] = "cpu",
    raw_weights: Annotated[
        bool, typer.Option("--raw-weights", help="Use the trained weights, not their moving average (where kept).")
    ] = False,
    weights: WeightsOption = "auto",
) -> None:
    """Reconstruct images (yours, or held-out ones) and save inputs and reconstructions side by side."""
    from genzoo.images import save_grid
    from genzoo.report.artefacts import reconstruction_rows

    api.require(source, "reconstruct")
    model = api.load(resolved(source, weights), device=device, average=not raw_weights)
    x = api.load_inputs(model, images or [], n)
    save_grid(reconstruction_rows(x, model.reconstruct(x.to(model.device)).cpu()), out)
    pictures = f"{len(x)} input{'s' if len(x) != 1 else ''} and {'their' if len(x) != 1 else 'its'} reconstruction"
    console.print(
        f"wrote {pictures}{'s' if len(x) != 1 else ''} to {escape(str(out))}", highlight=False, soft_wrap=True
    )

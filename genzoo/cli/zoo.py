"""``genzoo export``, ``genzoo release`` and ``genzoo push``: inference-only weights, a model's released weights with
their card, and a model shared on the Hugging Face Hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from genzoo import api, sharing
from genzoo.cli.app import SOURCE_HELP, WeightsOption, app, console, err_console, resolved
from genzoo.cli.completion import complete_sources
from genzoo.registry import builtin_release
from genzoo.release import make_release


@app.command()
def export(
    source: Annotated[
        str,
        typer.Argument(
            help=SOURCE_HELP,
            autocompletion=complete_sources,
        ),
    ],
    out: Annotated[Path, typer.Argument(help="The .safetensors file to write.")],
    fp32: Annotated[
        bool, typer.Option("--fp32", help="Keep float32 tensors (default: float16, half the size).")
    ] = False,
    weights: WeightsOption = "auto",
) -> None:
    """Write inference-only weights: what sampling, reconstruction and translation use, the moving average in place
    of the trained weights where one is kept, no discriminator and no training state."""
    header = api.export(resolved(source, weights), out, half=not fp32)
    size = out.stat().st_size
    console.print(
        f"wrote {escape(str(out))}: {header.model} at step {header.step}, {header.num_parameters:,} parameters in "
        f"{'float32' if fp32 else 'float16'}, {size / 1e6:.1f} MB",
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def release(
    run: Annotated[Path, typer.Argument(help="A finished run of the preset (genzoo train NAME --preset zoo).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The package's released/ folder.")] = Path("genzoo/released"),
    preset: Annotated[str, typer.Option(help="The preset the run must have been trained with.")] = "zoo",
    n: Annotated[int, typer.Option("-n", min=2, help="Images per evaluation (the card's figures).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the evaluations and the picture.")] = 0,
    curve_every: Annotated[
        int | None, typer.Option(min=1, help="Steps between the learning curve's points (default: a tenth of the run).")
    ] = None,
    package: Annotated[str, typer.Option(help="The package that ships OUT (a plugin's own).")] = "genzoo",
    note: Annotated[
        str | None,
        typer.Option(help="The card's note: what the figures show, and what limits those that miss their targets."),
    ] = None,
) -> None:
    """Release a finished run: inference-only weights (float16 where they measure as float32 do), a card (data,
    command, steps, time, machine, learning curve, `genzoo eval` beside real data) and a picture, then print the
    `Release` to register with the model. Measures every curve point not measured yet: minutes per point."""
    made, card = make_release(
        run, out, preset=preset, n=n, seed=seed, curve_every=curve_every, package=package, note=note
    )
    console.print(
        f"released {card['model']} into {escape(str(out))}: {card['file']} ({card['bytes'] / 1e6:.1f} MB, "
        f"{card['dtype']}), the card {card['model']}.json and the picture {card['model']}.png",
        highlight=False,
        soft_wrap=True,
    )
    registration = (
        f"builtin_release({card['model']!r}, {made.sha256!r})"
        if made == builtin_release(card["model"], made.sha256)
        else f"Release({made.package!r}, {made.file!r}, {made.sha256!r})"
    )
    console.print(f"register it with the model: release={registration}", highlight=False, soft_wrap=True)


@app.command()
def push(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP, autocompletion=complete_sources)],
    repo_id: Annotated[str, typer.Argument(help="The Hub repository to push to: OWNER/REPO.")],
    to_dir: Annotated[
        Path | None, typer.Option("--to-dir", help="Write the repository folder here; upload nothing.")
    ] = None,
    private: Annotated[bool, typer.Option("--private", help="Create the repository private.")] = False,
    revision: Annotated[str | None, typer.Option(help="The branch to push to (created when missing).")] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="The commit message.")] = None,
    license: Annotated[str, typer.Option(help="The license of the weights, in the card's metadata.")] = "mit",
    n: Annotated[int, typer.Option("-n", min=2, help="Images per `genzoo eval` for the card's figures.")] = 1000,
    no_eval: Annotated[bool, typer.Option("--no-eval", help="Leave the card's figures out (no evaluation).")] = False,
    half: Annotated[bool, typer.Option("--half", help="Store the weights in float16 (half the size).")] = False,
    weights: WeightsOption = "auto",
) -> None:
    """Share a model on the Hugging Face Hub: write its repository (inference-only model.safetensors, config.json, a
    model card with its `genzoo eval` figures, pictures) and upload it with huggingface_hub's own login
    (`hf auth login`). Anyone then loads it as hf:OWNER/REPO."""
    resolved(source, weights)  # names what a model name stands for
    where = sharing.push(
        source,
        repo_id,
        weights=weights,
        to_dir=to_dir,
        private=private,
        revision=revision,
        message=message,
        license=license,
        n=n,
        evaluate=not no_eval,
        half=half,
    )
    if to_dir is not None:
        console.print(f"wrote the repository folder of {escape(repo_id)} to {escape(where)}", highlight=False)
    else:
        console.print(f"pushed to {escape(repo_id)}: {escape(where)}", highlight=False, soft_wrap=True)
        console.print(f"load it with: genzoo sample hf:{escape(repo_id)} (or genzoo.load('hf:{escape(repo_id)}'))")


@app.command()
def demo(
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            help="Models to show: names, run directories, files or hf:OWNER/REPO (default: every model with released "
            "weights or a finished run).",
            autocompletion=complete_sources,
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="The address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="The port (default: a free one).")] = None,
    share: Annotated[bool, typer.Option("--share", help="Also open a public Gradio link (off by default).")] = False,
) -> None:
    """Open a page to try every model: sample, interpolate, set attributes, translate and reconstruct your own
    pictures (needs genzoo[demo])."""
    import time

    from genzoo import demo as page

    page.require_gradio()
    exhibits = [page.exhibit(s) for s in (sources or page.default_sources())]
    for ex in exhibits:
        err_console.print(f"[dim]{escape(ex.label)}: {escape(ex.origin)}[/]", highlight=False, soft_wrap=True)
    with page.served(exhibits, host=host, port=port, share=share) as url:
        console.print(f"genzoo demo: {url}  (Ctrl-C stops it)", highlight=False, soft_wrap=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            console.print("stopped")

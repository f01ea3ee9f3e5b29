"""``genzoo translate`` and ``genzoo import-weights``: thin commands over ``genzoo.translation`` and the CycleGAN
family's import of the reference implementation's weights."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from genzoo import api
from genzoo.cli.app import SOURCE_HELP, WeightsOption, app, console, resolved
from genzoo.cli.completion import complete_domains, complete_sources, complete_translators


@app.command()
def translate(
    source: Annotated[
        str,
        typer.Argument(help=SOURCE_HELP, autocompletion=complete_sources),
    ],
    images: Annotated[list[Path], typer.Argument(help="Image files and/or folders of images to translate.")],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            "-t",
            help="Domain to translate into: either of the model's domains.",
            autocompletion=complete_domains,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Output file for one image (x.png), else a folder (default: translated/)."),
    ] = None,
    keep_size: Annotated[
        bool,
        typer.Option(
            "--keep-size", help="Scale results back to each input's size (the whole picture is translated, uncropped)."
        ),
    ] = False,
    grid: Annotated[Path | None, typer.Option(help="Also write a PNG grid of inputs above their translations.")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda or auto.")] = "cpu",
    raw_weights: Annotated[
        bool, typer.Option("--raw-weights", help="Use the trained weights, not their moving average (where kept).")
    ] = False,
    weights: WeightsOption = "auto",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace results (and the grid) written before; else refused.")
    ] = False,
) -> None:
    """Translate images into another domain (e.g. cartoon → anime) with a translator such as cyclegan-resnet.

    Inputs of any size are centre-cropped to a square at the model's size; with --keep-size, the whole picture.
    """
    from genzoo.translation import plan, replaced, translate_files

    before = replaced(plan(images, out), grid) if overwrite else []
    written = translate_files(
        resolved(source, weights),
        images,
        to,
        out=out,
        keep_size=keep_size,
        grid=grid,
        device=device,
        average=not raw_weights,
        overwrite=overwrite,
    )
    where = written[0] if len(written) == 1 else written[0].parent
    console.print(f"translated {len(written)} image{'s' if len(written) != 1 else ''} to {to}: {where}")
    if grid is not None:
        console.print(f"grid: {grid}")
    if before:
        console.print(f"replaced {len(before)} file{'s' if len(before) != 1 else ''} written before (--overwrite)")


@app.command("import-weights")
def import_weights(
    model: Annotated[
        str, typer.Argument(help="cyclegan-resnet or cyclegan-unet.", autocompletion=complete_translators)
    ],
    file: Annotated[Path, typer.Argument(help="Reference generator state dict, e.g. latest_net_G_A.pth (A → B).")],
    reverse: Annotated[
        Path | None, typer.Option(help="The reference's other generator, e.g. latest_net_G_B.pth (B → A).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Checkpoint to write (default: FILE's stem + .safetensors).")
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", "-s", help="Config field, e.g. image_size=256 (default) or domains=\\[horse,zebra] (repeatable)."
        ),
    ] = None,
) -> None:
    """Convert a generator of the reference PyTorch CycleGAN (pytorch-CycleGAN-and-pix2pix) to a genzoo checkpoint.

    The file is read with torch.load(weights_only=True): tensors only, nothing else is unpickled.
    """
    from genzoo.models.cyclegan.reference import import_reference_weights

    path = import_reference_weights(model, file, out, overrides or (), reverse)
    header = api.info(path)
    config = header.config
    shape = ", ".join(f"{k} {config[k]}" for k in ("n_blocks", "depth", "width", "norm", "image_size") if k in config)
    a, b = header.extra["domains"]
    back = f" and --to {a}" if reverse is not None else ""
    console.print(f"wrote {path}: {model} ({shape})\ntranslate with `genzoo translate {path} IMAGE… --to {b}`{back}")

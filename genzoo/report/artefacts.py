"""The pictures a finished run leaves beside its weights: learning curves and grids of what the model can do."""

from __future__ import annotations

import torch

from genzoo.data.core import Split
from genzoo.data.loading import Domains
from genzoo.data.tensors import image_tensor
from genzoo.images import Row, paired_rows, save_grid
from genzoo.models.base import GenerativeModel
from genzoo.registry import models
from genzoo.report.curves import plot_curves
from genzoo.runs import RunDir


@torch.no_grad()
def write_pictures(model: GenerativeModel, data: Domains, run: RunDir, seed: int) -> None:
    """Write ``curves.png`` and the grids the model's capabilities allow: ``samples.png``, ``reconstructions.png``,
    ``translations.png``."""
    entry = models.get(model.model_name)
    plot_curves(run.read_metrics(), run.path / "curves.png", title=f"{model.model_name} — {run.path.name}", entry=entry)
    if "sample" in entry.capabilities:
        samples = model.sample(64, torch.Generator().manual_seed(seed))
        save_grid([samples], run.path / "samples.png", columns=8, title=f"64 samples, seed {seed}")
    if "reconstruct" in entry.capabilities:
        x = image_tensor(data.source.heldout.images[:16], model.device)
        save_grid(reconstruction_rows(x, model.reconstruct(x)), run.path / "reconstructions.png")
    if "translate" in entry.capabilities and data.target is not None:
        save_grid(translation_rows(model, data.source, data.target), run.path / "translations.png")


def paired(a: Split, b: Split) -> bool:
    """Whether the held-out images of ``a`` and ``b`` are the same records drawn in two styles (the built-in data)."""
    x, y = a.heldout.attributes, b.heldout.attributes
    return x is not None and y is not None and x.shape == y.shape and bool((x == y).all())


def reconstruction_rows(x: torch.Tensor, recon: torch.Tensor) -> list[Row]:
    """Inputs above their reconstructions, eight to a row, each row labelled."""
    return paired_rows(x, recon, ("input", "reconstruction"))


def translation_rows(model: GenerativeModel, a: Split, b: Split, n: int = 8) -> list[Row]:
    """Three labelled rows per direction: the held-out source images, their translations, and a third row that is
    the ground truth (the same records drawn in the target style) when the data is paired, else the translations
    translated back.

    With paired data the middle row can be read against the rows above and below it: the style of the one below, the
    identity (hair, skin, glasses) of the one above.
    """
    name_a, name_b = model.domains
    truth = paired(a, b)
    rows: list[Row] = []
    for source, target, to, back in ((a, b, name_b, name_a), (b, a, name_a, name_b)):
        x = image_tensor(source.heldout.images[:n], model.device)
        fake = model.translate(x, to=to)
        if truth:
            third: Row = (f"{to} (truth)", image_tensor(target.heldout.images[:n], model.device))
        else:
            third = (f"back to {back}", model.translate(fake, to=back))
        rows += [(back, x), (f"to {to}", fake), third]
    return rows

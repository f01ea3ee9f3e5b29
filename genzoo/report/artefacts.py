"""What a finished run leaves beside its weights: learning curves, grids of what the model can do, its metrics."""

from __future__ import annotations

from typing import Any

import torch

from genzoo.data.core import Split
from genzoo.metrics import capabilities, evaluate
from genzoo.models.base import GenerativeModel, image_tensor
from genzoo.report.curves import plot_curves
from genzoo.report.images import save_grid
from genzoo.runs import RunDir


@torch.no_grad()
def write_run_artefacts(model: GenerativeModel, data: dict[str, Split], run: RunDir, seed: int) -> dict[str, Any]:
    """Write ``curves.png`` and the grids the model's capabilities allow; return the held-out metrics."""
    plot_curves(
        run.read_metrics(),
        run.path / "curves.png",
        title=f"{model.model_name} — {run.path.name}",
        groups=getattr(model, "curve_groups", None),
    )
    can = capabilities(model)
    if "sample" in can:
        save_grid([model.sample(64, torch.Generator().manual_seed(seed))], run.path / "samples.png", columns=8)
    if "reconstruct" in can:
        x = image_tensor(data["x"].heldout.images[:16], model.device)
        recon = model.reconstruct(x)
        save_grid([x[:8], recon[:8], x[8:], recon[8:]], run.path / "reconstructions.png")
    return {"heldout": evaluate(model, data["x"])}

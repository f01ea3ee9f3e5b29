"""Latent maps: held-out images encoded, laid out in the plane (t-SNE or PCA) and coloured by a known attribute.

A model that declares the ``encode`` capability (the VAEs) turns each held-out image into a latent vector; the
vectors are embedded in two dimensions with scikit-learn and drawn as a scatter plot whose colours are the values of
one attribute of the data (``hair_color`` of the built-in faces, ``class`` of a folder with sub-folders). Clusters
of one colour mean the model's latent space has organised itself along that attribute. Because a picture is easy
to over-read, a coloured map also measures it: how often a point's nearest neighbours on the map share its value,
against how often they would by chance. The run report colours its map by the attribute that scores best.

scikit-learn, matplotlib and torch are imported inside the functions that need them. ``draw_run_map`` draws the map
of a run's report: ``latent.png`` in the run directory.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from genzoo.data.core import ImageSet
from genzoo.errors import CapabilityError, GenzooError
from genzoo.io import atomic_write
from genzoo.registry import models
from genzoo.runs import LATENT_FILE, RunDir

if TYPE_CHECKING:
    from genzoo.models.base import GenerativeModel

METHODS = {"tsne": "t-SNE", "pca": "PCA"}
"""Embedding methods by name, with the label used in plots."""

MIN_POINTS = 5
NEIGHBOURS = 5
REPORT_POINTS = 500
"""Held-out images in a report's latent map: enough to show structure, few enough for t-SNE to take seconds."""


@dataclass(frozen=True)
class LatentMap:
    """Where each encoded image landed in the plane, and which value of ``attribute`` it has."""

    points: np.ndarray
    """``(N, 2)`` embedded coordinates, one row per held-out image."""
    method: str
    attribute: str | None = None
    codes: np.ndarray | None = None
    """``(N,)`` index into ``values`` of each image's attribute value (None when not coloured)."""
    values: tuple[str, ...] = ()
    agreement: float | None = None
    """How often a point's nearest neighbours on the map share its value of ``attribute``…"""
    chance: float | None = None
    """…and how often they would if the map ignored the attribute (the sum of the squared value shares)."""
    path: Path | None = None
    """The PNG it was drawn into, when it was."""

    @property
    def title(self) -> str:
        title = f"{METHODS[self.method]} of {len(self.points)} held-out latent codes"
        return title + (f" by {self.attribute}" if self.attribute else "")

    @property
    def kappa(self) -> float | None:
        """The agreement above chance, as a share of what is possible above chance (like Cohen's kappa): 0 for a map
        that ignores the attribute, 1 for one whose neighbourhoods never mix its values."""
        if self.agreement is None or self.chance is None:
            return None
        return (self.agreement - self.chance) / max(1 - self.chance, 1e-9)

    @property
    def summary(self) -> str:
        """The agreement in words, e.g. ``neighbours share hair_style 61% of the time (chance: 21%)``."""
        if self.agreement is None or self.chance is None:
            return ""
        return (
            f"the {NEIGHBOURS} nearest neighbours share {self.attribute} {self.agreement:.0%} of the time "
            f"(chance: {self.chance:.0%})"
        )


def encoding_models() -> str:
    """The registered models that can encode, grouped by family: ``vae-conv, vae-mlp (vae)``."""
    families: dict[str, list[str]] = {}
    for entry in models.entries():
        if "encode" in entry.capabilities:
            families.setdefault(entry.family, []).append(entry.name)
    return "; ".join(f"{', '.join(names)} ({family})" for family, names in families.items()) or "none installed"


def require_encode(name: str) -> None:
    """Refuse, naming what can, when the registered model ``name`` cannot encode images."""
    entry = models.get(name)
    if "encode" not in entry.capabilities:
        raise CapabilityError(
            f"{name} cannot encode images, so it has no latent map: a {entry.family} model can "
            f"{', '.join(sorted(entry.capabilities))}. Models that encode: {encoding_models()}."
        )


def attribute_codes(images: ImageSet, attribute: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each image's value index of ``attribute`` and the value names; a set without it says what it has."""
    if images.attributes is None or not images.schema:
        raise GenzooError(
            f"The {images.domain} images have no attributes, so --color-by {attribute} has nothing to colour by. "
            f"Attributes come with the built-in data sets (cartoon, anime: hair_color, glasses, …) and with image "
            f"folders sorted into sub-folders (attribute class). Leave out --color-by for an uncoloured map."
        )
    if attribute not in images.schema:
        raise GenzooError(
            f"The {images.domain} images have no attribute {attribute!r}. Colour by one of: {', '.join(images.schema)}."
        )
    column = list(images.schema).index(attribute)
    return images.attributes[:, column].astype(np.int64), tuple(images.schema[attribute])


def encode_images(model: GenerativeModel, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """uint8 ``(N, H, W, 3)`` images → ``(N, D)`` float32 latent codes (the posterior means of a VAE)."""
    import torch

    from genzoo.models.base import image_tensor

    was_training = model.training
    model.eval()
    parts = []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            z = model.encode(image_tensor(images[i : i + batch_size], model.device))
            parts.append(z.float().reshape(len(z), -1).cpu().numpy())
    model.train(was_training)
    return np.concatenate(parts)


def embed(codes: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """``(N, D)`` codes → ``(N, 2)`` points with scikit-learn's t-SNE or PCA; the same ``seed`` gives the same map."""
    if method not in METHODS:
        raise GenzooError(f"Unknown embedding method {method!r}: use {' or '.join(METHODS)}.")
    if len(codes) < MIN_POINTS:
        raise GenzooError(f"A latent map needs at least {MIN_POINTS} images; there are {len(codes)}.")
    codes = codes.astype(np.float64)
    if codes.shape[1] < 2:  # a one-dimensional latent: the map is that axis
        return np.column_stack([codes[:, 0], np.zeros(len(codes))])
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(codes)
    from sklearn.manifold import TSNE

    perplexity = min(30.0, (len(codes) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(codes)


def latent_map(
    model: GenerativeModel,
    images: ImageSet,
    color_by: str | None = None,
    n: int = 500,
    seed: int = 0,
    method: str = "tsne",
) -> LatentMap:
    """Encode the first ``n`` of ``images`` with ``model`` and embed them; coloured by ``color_by`` when given."""
    if model.model_name in models:
        require_encode(model.model_name)
    if method not in METHODS:
        raise GenzooError(f"Unknown embedding method {method!r}: use {' or '.join(METHODS)}.")
    if color_by is not None:
        attribute_codes(images, color_by)  # a wrong attribute fails before the work
    points = embed(encode_images(model, images.images[:n]), method, seed)
    plain = LatentMap(points, method)
    return plain if color_by is None else coloured(plain, images, color_by)


def coloured(latent: LatentMap, images: ImageSet, attribute: str) -> LatentMap:
    """``latent`` (of the first images of ``images``) coloured by ``attribute``, with its neighbour agreement."""
    from sklearn.neighbors import NearestNeighbors

    codes, values = attribute_codes(images, attribute)
    codes = codes[: len(latent.points)]
    k = min(NEIGHBOURS, len(codes) - 1)
    nearest = NearestNeighbors(n_neighbors=k).fit(latent.points).kneighbors(return_distance=False)  # self excluded
    agreement = float((codes[nearest] == codes[:, None]).mean())
    chance = float(np.square(np.bincount(codes) / len(codes)).sum())
    return replace(latent, attribute=attribute, codes=codes, values=values, agreement=agreement, chance=chance)


def most_structured(latent: LatentMap, images: ImageSet) -> LatentMap:
    """``latent`` coloured by the attribute its neighbourhoods agree on most above chance (``LatentMap.kappa``), so
    that attributes with few and with many values compare fairly."""
    candidates = [coloured(latent, images, attribute) for attribute in images.schema]
    return max(candidates, key=lambda m: m.kappa or 0.0)


def plot_latent_map(latent: LatentMap, path: str | Path, subtitle: str = "") -> LatentMap:
    """Draw ``latent`` as a PNG scatter plot (a legend of the attribute's values); return it with ``path`` set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 5.0))
    x, y = latent.points[:, 0], latent.points[:, 1]
    if latent.codes is None:
        ax.scatter(x, y, s=16, color="tab:blue", alpha=0.8, linewidths=0)
    else:
        palette = plt.get_cmap("tab10" if len(latent.values) <= 10 else "tab20")
        for index, name in enumerate(latent.values):
            chosen = latent.codes == index
            if chosen.any():
                colour = palette(index % palette.N)
                ax.scatter(x[chosen], y[chosen], s=16, color=colour, alpha=0.8, linewidths=0, label=name)
        columns = 1 if len(latent.values) <= 20 else 2
        ax.legend(title=latent.attribute, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=columns, frameon=False)
    label = METHODS[latent.method]
    ax.set_xlabel(f"{label} 1")
    ax.set_ylabel(f"{label} 2")
    ax.set_xticks([])
    ax.set_yticks([])
    lines = [latent.title, subtitle, latent.summary]
    ax.set_title("\n".join(line for line in lines if line), fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    atomic_write(Path(path), buffer.getvalue())
    return replace(latent, path=Path(path))


def needs_run_map(run: RunDir, name: str) -> bool:
    """Whether a finished run of model ``name`` (one that encodes) lacks an up-to-date ``latent.png``."""
    if not run.finished or name not in models or "encode" not in models.get(name).capabilities:
        return False
    path = run.path / LATENT_FILE
    return not path.is_file() or path.stat().st_mtime_ns < run.weights.stat().st_mtime_ns


def draw_run_map(run: RunDir, model: GenerativeModel, heldout: ImageSet, seed: int = 0) -> str | None:
    """Draw ``latent.png`` of a run from its model and held-out images, coloured by the attribute the map agrees on
    most; return why not, when it cannot be drawn (a note for the report)."""
    if heldout.attributes is None or not heldout.schema:
        return "No latent map: the data has no attributes to colour it by."
    try:
        latent = most_structured(latent_map(model, heldout, None, REPORT_POINTS, seed), heldout)
        plot_latent_map(latent, run.path / LATENT_FILE, subtitle=f"{model.model_name} · {run.path.name}")
    except GenzooError as exc:
        return f"No latent map: {exc}"
    return None

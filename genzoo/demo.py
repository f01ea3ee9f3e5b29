"""``genzoo demo``: a local page to try every model, a thin layer over the Python API.

Each model shown is an ``Exhibit``: its weights resolved once (released weights, a local run, a Hub repository or a
file, as every command resolves them), loaded once per process, and its card's figures. What the page does is
plain functions of an exhibit that return pictures (uint8 ``(H, W, 3)`` arrays), so they are tested without a
browser: ``draw`` (a grid from a seed), ``walk`` (a path through latent space between two seeds), ``condition`` (the
same noise with chosen attribute values), ``translate`` (an upload or a built-in face, both ways, with the true
render for a built-in face) and ``reconstruct`` (an upload or a built-in face, its reconstruction and the per-pixel
error). Uploads are decoded as folders are (``genzoo.data.folder.load_image``: transparency on white, 16-bit and
grey to RGB, a decompression bomb refused), and anything unreadable is a ``DemoInputError`` whose message the page
shows while the server keeps serving.

The page is Gradio (the optional extra ``genzoo[demo]``), bound to 127.0.0.1 on a free port unless told otherwise,
with no public link unless asked; Gradio's uploads and outputs stay in a temporary folder removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genzoo import api
from genzoo.data import toon
from genzoo.data.folder import UnreadableImage, load_image
from genzoo.errors import GenzooError
from genzoo.hub import is_hub
from genzoo.registry import models
from genzoo.release import Figure, figures, show
from genzoo.runs import DEFAULT_ROOT, find_weights, finished_runs

if TYPE_CHECKING:
    import torch

    from genzoo.models.base import GenerativeModel

INSTALL = "pip install 'genzoo[demo]'"
MAX_COUNT = 64
"""The most samples one click draws."""
WALK_STEPS = 8


class DemoInputError(GenzooError):
    """Something the page was given that it cannot use (an upload that is not an image, a value out of range)."""


@dataclass
class Exhibit:
    """A model on the page: what was asked for, where its weights came from, the loaded model, its figures."""

    source: str
    origin: str
    model: GenerativeModel
    figures: list[Figure] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.model.model_name

    @property
    def capabilities(self) -> frozenset[str]:
        return models.get(self.name).capabilities

    @property
    def label(self) -> str:
        """The tab's title: the model's name, and where its weights are when it was not named by it."""
        if self.source == self.name:
            return self.name
        return f"{self.name} ({self.source if is_hub(self.source) else Path(self.source).name})"

    def summary(self) -> str:
        """What the model is and the weights it uses, in Markdown."""
        return f"**{self.name}**: {models.get(self.name).description} Weights: {self.origin}."

    def figure_table(self) -> str:
        """Its headline figures beside real data, as a Markdown table ("" when none are known)."""
        if not self.figures:
            return ""
        lines = ["| figure | this model | real data |", "|---|---:|---:|"]
        lines += [f"| {f.label} | {show(f.value, f.kind)} | {show(f.real, f.kind)} |" for f in self.figures]
        return "\n".join(lines)


def default_sources(root: Path = DEFAULT_ROOT) -> list[str]:
    """Every model with released weights or a finished run in ``root``."""
    return [e.name for e in models.entries() if e.release is not None or finished_runs(e.name, root)]


def exhibit(source: str, root: Path = DEFAULT_ROOT) -> Exhibit:
    """Resolve and load ``source`` once, with its figures: a release's card, a Hub repository's, a run's
    evaluation."""
    found = find_weights(source, root)
    stored = api.stored_figures(source, found)
    return Exhibit(source, stored.origin, api.load(found.header.path), figures(stored.result or {}))


# ---- what the page does -------------------------------------------------------------------------------------------


DISPLAY = 256
"""Pictures smaller than this (pixels, on their longer side) are enlarged by a whole factor (nearest neighbour)."""


def _picture(rows: Sequence[torch.Tensor], columns: int | None = None) -> np.ndarray:
    """Rows of images as one picture, enlarged so that 64-px faces can be seen on the page."""
    from genzoo.images import grid_picture

    picture = grid_picture(rows, columns)
    factor = max(1, DISPLAY // max(picture.shape[:2]))
    return picture.repeat(factor, axis=0).repeat(factor, axis=1)


def _check(value: float, low: float, high: float, what: str) -> int:
    if value is None or not low <= value <= high:
        raise DemoInputError(f"{what} must be between {low:g} and {high:g}; got {value}.")
    return int(value)


def draw(ex: Exhibit, seed: float, count: float) -> np.ndarray:
    """``count`` samples drawn from ``seed``, as a grid of up to 8 columns."""
    from genzoo.models import sampling

    n = _check(count, 1, MAX_COUNT, "The number of samples")
    images = sampling.sample(ex.model, n, _check(seed, 0, 2**31 - 1, "The seed"))
    return _picture([images], columns=min(n, 8))


def _latents(ex: Exhibit, seeds: Sequence[int]) -> torch.Tensor:
    import torch

    dim = ex.model.latent_dim
    if dim is None:
        raise DemoInputError(f"{ex.name} has no latent space to walk through.")
    return torch.cat([torch.randn(1, dim, generator=torch.Generator().manual_seed(s)) for s in seeds])


def _fixed_conditions(ex: Exhibit, n: int, chosen: dict[str, str] | None = None) -> dict[str, list[int]]:
    """One value per attribute for all ``n`` images: the chosen ones, else each attribute's first value."""
    out = {}
    for attribute, names in ex.model.condition_values.items():
        value = (chosen or {}).get(attribute, names[0])
        if value not in names:
            raise DemoInputError(f"{attribute} has no value {value!r}; its values: {', '.join(names)}.")
        out[attribute] = [names.index(value)] * n
    return out


def walk(ex: Exhibit, seed_a: float, seed_b: float, position: float) -> tuple[np.ndarray, np.ndarray]:
    """The path from ``seed_a``'s latent vector to ``seed_b``'s along the great circle: a strip of
    ``WALK_STEPS`` images, and the image at ``position`` (0 to 1) on it."""
    import torch

    from genzoo.models.sampling import slerp

    t = float(position) if position is not None else -1.0
    if not 0 <= t <= 1:
        raise DemoInputError(f"The position on the path must be between 0 and 1; got {position}.")
    a, b = _latents(ex, [_check(seed_a, 0, 2**31 - 1, "Seed A"), _check(seed_b, 0, 2**31 - 1, "Seed B")])
    steps = torch.cat([torch.linspace(0, 1, WALK_STEPS), torch.tensor([t])])
    z = slerp(a[None], b[None], steps)[0]
    with torch.no_grad():
        images = ex.model.decode(z, _fixed_conditions(ex, len(z)) or None)
    return _picture([images[:-1]]), _picture([images[-1:]])


def condition(ex: Exhibit, seed: float, chosen: dict[str, str], count: int = 4) -> np.ndarray:
    """``count`` faces from the noise of ``seed`` with the ``chosen`` attribute values: changing one value keeps
    the noise, so only that attribute changes."""
    import torch

    if not ex.model.condition_values:
        raise DemoInputError(f"{ex.name} is not conditional.")
    z = _latents(ex, [_check(seed, 0, 2**31 - 1, "The seed") + k for k in range(count)])
    with torch.no_grad():
        images = ex.model.decode(z, _fixed_conditions(ex, count, chosen))
    return _picture([images])


def read_upload(path: str | Path | None, size: int) -> torch.Tensor:
    """An uploaded file as a ``(1, 3, size, size)`` image in ``[0, 1]``; anything unusable is a ``DemoInputError``."""
    from genzoo.data.tensors import image_tensor

    if path is None:
        raise DemoInputError("Upload an image first, or pick a built-in face.")
    try:
        array = load_image(Path(path), size)
    except UnreadableImage as exc:
        raise DemoInputError(f"That upload cannot be used: {exc.reason}. Upload a PNG, JPEG or WebP picture.") from None
    return image_tensor(np.array(array[None]))  # a writable copy of Pillow's read-only pixels


def builtin_face(seed: float, style: str, size: int) -> torch.Tensor:
    """A face of the built-in data drawn from ``seed`` in ``style``, as ``(1, 3, size, size)``."""
    from genzoo.data.tensors import image_tensor

    record = toon.random_records(1, _check(seed, 0, 2**31 - 1, "The face number"))
    return image_tensor(np.array(toon.render_many(record, style, size)))


def _input(ex: Exhibit, upload: str | None, face: float | None, style: str) -> tuple[torch.Tensor, bool]:
    """The picture to work on, and whether it is a built-in face (for which the truth is known)."""
    size = ex.model.config.image_size
    if upload:
        return read_upload(upload, size), False
    if face is None:
        raise DemoInputError("Upload an image first, or pick a built-in face.")
    if style not in toon.STYLES:
        raise DemoInputError(f"{ex.name} was trained on {style!r}, not on built-in faces: upload an image.")
    return builtin_face(face, style, size), True


def translate(ex: Exhibit, upload: str | None, face: float | None, to: str) -> tuple[np.ndarray, np.ndarray, Any]:
    """The input (an upload, else built-in face ``face`` drawn in the other domain), its translation into ``to``,
    and, for a built-in face, the same face drawn in ``to`` (the ground truth), else None."""
    from genzoo.translation import translate as run

    domains = ex.model.domains
    if to not in domains:
        raise DemoInputError(f"{ex.name} translates between {' and '.join(domains)}; choose one of them.")
    source = domains[1 - domains.index(to)]
    x, builtin = _input(ex, upload, face, source)
    fake = run(ex.model, x, to=to)
    truth = _picture([builtin_face(face, to, x.shape[-1])]) if builtin and to in toon.STYLES else None
    return _picture([x]), _picture([fake]), truth


def reconstruct(ex: Exhibit, upload: str | None, face: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The input, its reconstruction, and the per-pixel error (mean absolute difference over the colours, white
    where they agree, black at the largest possible error)."""
    import torch

    data = ex.model.data_info.get("domains") or ["cartoon"]
    x, _ = _input(ex, upload, face, str(data[0]))
    with torch.no_grad():
        recon = ex.model.reconstruct(x.to(ex.model.device)).cpu()
    error = (recon - x).abs().mean(1, keepdim=True).expand(-1, 3, -1, -1)
    return _picture([x]), _picture([recon]), _picture([1 - error])


# ---- the page -----------------------------------------------------------------------------------------------------


def require_gradio() -> None:
    """Refuse, with the extra to install, where Gradio is missing (before any model is loaded)."""
    _gradio()


def _gradio() -> Any:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # nothing leaves the machine
    try:
        import gradio
    except ImportError:
        raise GenzooError(
            f"`genzoo demo` needs Gradio, which is not installed: {INSTALL} (or `pip install gradio`). Every model "
            "the page shows also works from the command line: `genzoo sample`, `genzoo translate`, …"
        ) from None
    return gradio


def _shown(fn: Any) -> Any:
    """``fn`` with a ``DemoInputError`` (or any ``GenzooError``) turned into a message on the page."""
    gr = _gradio()

    def wrapped(*args: Any) -> Any:
        try:
            return fn(*args)
        except GenzooError as exc:
            raise gr.Error(str(exc)) from None

    return wrapped


def build_page(exhibits: Sequence[Exhibit]) -> Any:
    """The Gradio page: a tab per model, and in it a tab per thing the model can do."""
    gr = _gradio()
    if not exhibits:
        raise GenzooError(
            "There is no model to show: none has released weights or a finished run in runs/. Name one "
            "(`genzoo demo runs/RUN` or `genzoo demo hf:OWNER/REPO`), or train one first."
        )
    with gr.Blocks(title="genzoo demo", analytics_enabled=False) as page:
        gr.Markdown("# genzoo\nEvery model here runs on this machine; nothing leaves it.")
        for ex in exhibits:
            with gr.Tab(ex.label, elem_id=f"model-{ex.name}"):
                gr.Markdown(ex.summary())
                if ex.figure_table():
                    with gr.Accordion("measured: genzoo eval beside real data", open=False):
                        gr.Markdown(ex.figure_table())
                _tabs(gr, ex)
    return page


def _tabs(gr: Any, ex: Exhibit) -> None:
    can = ex.capabilities
    key = ex.name
    if "sample" in can:
        with gr.Tab("sample", elem_id=f"{key}-sample"):
            seed = gr.Number(0, label="seed", precision=0, elem_id=f"{key}-sample-seed")
            count = gr.Slider(1, MAX_COUNT, 16, step=1, label="how many", elem_id=f"{key}-sample-count")
            with gr.Row():
                go = gr.Button("draw", elem_id=f"{key}-sample-draw")
                again = gr.Button("another", elem_id=f"{key}-sample-another")
            out = gr.Image(label="samples", type="numpy", format="png", elem_id=f"{key}-sample-out")
            grid = _shown(lambda s, c: draw(ex, s, c))
            go.click(grid, [seed, count], out)
            again.click(lambda s: (s or 0) + 1, seed, seed).then(grid, [seed, count], out)
    if "sample" in can and ex.model.latent_dim is not None:
        with gr.Tab("interpolate", elem_id=f"{key}-walk"):
            with gr.Row():
                a = gr.Number(0, label="seed A", precision=0, elem_id=f"{key}-walk-a")
                b = gr.Number(1, label="seed B", precision=0, elem_id=f"{key}-walk-b")
            position = gr.Slider(0, 1, 0.5, step=0.05, label="from A to B", elem_id=f"{key}-walk-position")
            strip = gr.Image(label="the path", type="numpy", format="png", elem_id=f"{key}-walk-strip")
            here = gr.Image(label="here", type="numpy", format="png", elem_id=f"{key}-walk-here")
            for trigger in (position.change, a.submit, b.submit, gr.Button("walk", elem_id=f"{key}-walk-go").click):
                trigger(_shown(lambda x, y, t: walk(ex, x, y, t)), [a, b, position], [strip, here])
    if "conditional" in can:
        with gr.Tab("conditional", elem_id=f"{key}-cond"):
            seed = gr.Number(0, label="seed (the noise)", precision=0, elem_id=f"{key}-cond-seed")
            controls = [
                gr.Radio(values, value=values[0], label=attribute, elem_id=f"{key}-cond-{attribute}")
                for attribute, values in ex.model.condition_values.items()
            ]
            out = gr.Image(label="faces", type="numpy", format="png", elem_id=f"{key}-cond-out")
            names = list(ex.model.condition_values)

            def faces(s: float, *values: str) -> np.ndarray:
                return condition(ex, s, dict(zip(names, values, strict=True)))

            for trigger in [seed.submit, *(c.change for c in controls)]:
                trigger(_shown(faces), [seed, *controls], out)
    if "translate" in can:
        _translate_tab(gr, ex)
    if "reconstruct" in can:
        with gr.Tab("reconstruct", elem_id=f"{key}-recon"), gr.Row():
            with gr.Column():
                upload = gr.File(label="your image", type="filepath", height=120, elem_id=f"{key}-recon-upload")
                face = gr.Number(0, label="or a built-in face", precision=0, elem_id=f"{key}-recon-face")
                go = gr.Button("reconstruct", variant="primary", elem_id=f"{key}-recon-go")
            with gr.Column():
                shown = [
                    gr.Image(label=label, type="numpy", format="png", elem_id=f"{key}-recon-{label.split()[0]}")
                    for label in ("input", "reconstruction", "error (dark: large)")
                ]
            go.click(_shown(lambda u, f: reconstruct(ex, u, f)), [upload, face], shown)


def _translate_tab(gr: Any, ex: Exhibit) -> None:
    key = ex.name
    with gr.Tab("translate", elem_id=f"{key}-trans"), gr.Row():
        with gr.Column():
            upload = gr.File(label="your image", type="filepath", height=120, elem_id=f"{key}-trans-upload")
            face = gr.Number(0, label="or a built-in face", precision=0, elem_id=f"{key}-trans-face")
            to = gr.Radio(list(ex.model.domains), value=ex.model.domains[1], label="into", elem_id=f"{key}-trans-to")
            go = gr.Button("translate", variant="primary", elem_id=f"{key}-trans-go")
        with gr.Column():
            shown = [
                gr.Image(label=label, type="numpy", format="png", height=160, elem_id=f"{key}-trans-{label.split()[0]}")
                for label in ("input", "translation", "truth (built-in faces)")
            ]
        go.click(_shown(lambda u, f, t: translate(ex, u, f, t)), [upload, face, to], shown)


def free_port(host: str) -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(
    exhibits: Sequence[Exhibit], host: str = "127.0.0.1", port: int | None = None, share: bool = False
) -> Iterator[str]:
    """The page, served in the background inside the block; yields its URL. Gradio's files go to a temporary
    folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="genzoo-demo-") as tmp:
        os.environ["GRADIO_TEMP_DIR"] = tmp  # before Gradio is imported: it reads it then
        gr = _gradio()
        page = build_page(exhibits)
        port = port or free_port(host)
        page.queue(default_concurrency_limit=1)  # one model call at a time: the two cores are its
        page.launch(
            server_name=host,
            server_port=port,
            share=share,
            prevent_thread_lock=True,
            quiet=True,
            show_error=True,
            max_file_size="20mb",
            theme=gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"]),
        )
        try:
            yield getattr(page, "share_url", None) or f"http://{host}:{port}/"
        finally:
            page.close()

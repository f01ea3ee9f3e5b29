"""Translation as a Python API: translate tensors or image files with a translator (a CycleGAN), and import the
generators of the reference PyTorch CycleGAN. The CLI's ``translate`` and ``import-weights`` call these.

>>> model = genzoo.load("cyclegan-resnet")                              # newest finished run
>>> anime = translate(model, images, to="anime")                        # [0, 1] NCHW in and out
>>> translate_files("cyclegan-resnet", [Path("faces/")], to="anime")    # → translated/*.png
>>> import_reference_weights("cyclegan-resnet", Path("latest_net_G_A.pth"), Path("h2z.safetensors"))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from genzoo.errors import CheckpointError, ConfigError, DataError, GenzooError
from genzoo.runs import DEFAULT_ROOT

if TYPE_CHECKING:
    import torch

    from genzoo.config import ModelConfig
    from genzoo.models.base import GenerativeModel
    from genzoo.registry import ModelEntry

DEFAULT_OUT = Path("translated")
CHUNK = 16
GRID_LIMIT = 64
IMPORT_IMAGE_SIZE = 256  # the reference models are trained on 256-px crops


# ---- tensors -------------------------------------------------------------------------------------------------------


def translate(model: GenerativeModel, images: torch.Tensor, to: str, batch_size: int = CHUNK) -> torch.Tensor:
    """``[0, 1]`` images (NCHW, the model's size) translated into domain ``to``, in ``[0, 1]``, on the CPU."""
    import torch

    model.eval()
    with torch.no_grad():
        parts = [model.translate(chunk.to(model.device), to).cpu() for chunk in images.split(batch_size)]
    return torch.cat(parts) if parts else images.new_zeros((0, *images.shape[1:]))


# ---- files ---------------------------------------------------------------------------------------------------------


@dataclass
class Job:
    """One image to translate: where it is read from and where the result goes."""

    source: Path
    target: Path


def plan(inputs: Sequence[Path], out: Path | None) -> list[Job]:
    """Input files (folders read whole, recursively) and their output paths.

    One input file with an ``out`` that ends like an image (``x.png``) writes that file; otherwise ``out`` (default
    ``translated/``) is a folder, and each result is ``<stem>.png`` (below a folder input: its relative path).
    """
    from genzoo.data.folder import IMAGE_EXTENSIONS, find_images

    if not inputs:
        raise DataError("Give at least one image or folder to translate.")
    found: list[tuple[Path, Path]] = []
    for path in inputs:
        if path.is_dir():
            found += [(f, f.relative_to(path).with_suffix(".png")) for f in find_images(path)]
        elif path.is_file():
            found.append((path, Path(path.stem + ".png")))
        else:
            raise DataError(f"Image {path} does not exist. Give image files or folders of images.")
    if out is not None and out.suffix.lower() in IMAGE_EXTENSIONS and not out.is_dir():
        if len(inputs) == 1 and len(found) == 1 and not inputs[0].is_dir():
            return [Job(found[0][0], out)]
        raise DataError(
            f"--out {out} names one image file, but {len(found)} images were given; give a folder instead, "
            f"e.g. --out {DEFAULT_OUT}/."
        )
    folder = out if out is not None else DEFAULT_OUT
    return [Job(src, folder / rel) for src, rel in _unique(found)]


def _unique(found: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
    """Output names made unique: a second ``x.png`` becomes ``x-2.png``."""
    seen: set[Path] = set()
    out = []
    for src, rel in found:
        name, k = rel, 1
        while name in seen:
            k += 1
            name = rel.with_name(f"{rel.stem}-{k}{rel.suffix}")
        seen.add(name)
        out.append((src, name))
    return out


def read_input(path: Path, size: int, keep_size: bool) -> tuple[np.ndarray, tuple[int, int]]:
    """One image at ``size``×``size`` (uint8 RGB) and its original (width, height).

    By default the central square is cropped (as for training). With ``keep_size`` the whole picture is resized to a
    square instead, so that nothing is lost when the result is scaled back to the original size.
    """
    from genzoo.data.folder import load_image

    cropped = load_image(path, size)  # decodes robustly; an unusable file raises a clear UnreadableImage
    if not keep_size:
        return cropped, (size, size)
    from PIL import Image

    from genzoo.data.folder import _exif_transpose, _to_rgb  # the same orientation and colour handling as load_image

    with Image.open(path) as image:
        rgb = _to_rgb(path, _exif_transpose(image))
        original = rgb.size
        whole = rgb.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(whole, dtype=np.uint8), original


def write_image(picture: np.ndarray, path: Path, size: tuple[int, int]) -> None:
    """Save a uint8 RGB picture, resized to ``size`` (width, height) when it differs."""
    from PIL import Image

    image = Image.fromarray(picture)
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"Cannot write {path}: {exc}. Choose another --out.") from None


def translate_files(
    source: str | Path,
    inputs: Sequence[Path],
    to: str,
    *,
    out: Path | None = None,
    keep_size: bool = False,
    grid: Path | None = None,
    device: str = "cpu",
    root: Path = DEFAULT_ROOT,
) -> list[Path]:
    """Translate image files (or folders) into domain ``to`` with the model at ``source`` (a model name, run directory
    or .safetensors file); returns the written files.

    Images are read, translated and written ``CHUNK`` at a time, so memory stays small for any number of files; a
    wrong ``to`` fails before anything is written, an unreadable file stops the command with its name.
    """
    from genzoo.api import load
    from genzoo.models.base import image_tensor
    from genzoo.report.images import save_grid, to_uint8

    model = load(source, device=device, root=root)
    jobs = plan(inputs, out)
    size = model.config.image_size
    shown: list[torch.Tensor] = []
    for start in range(0, len(jobs), CHUNK):
        chunk = jobs[start : start + CHUNK]
        read = [read_input(job.source, size, keep_size) for job in chunk]
        x = image_tensor(np.stack([array for array, _ in read]))
        y = translate(model, x, to)
        for job, picture, (_, original) in zip(chunk, to_uint8(y), read, strict=True):
            write_image(picture, job.target, original if keep_size else (size, size))
        if grid is not None and start < GRID_LIMIT:
            shown += [x, y]
    if grid is not None:
        save_grid(_grid_rows(shown), grid)
    return [job.target for job in jobs]


def _grid_rows(pairs: list[torch.Tensor], columns: int = 8) -> list[torch.Tensor]:
    """Inputs above their translations, ``columns`` to a row, at most ``GRID_LIMIT`` images."""
    import torch

    x = torch.cat(pairs[0::2])[:GRID_LIMIT]
    y = torch.cat(pairs[1::2])[:GRID_LIMIT]
    rows = []
    for i in range(0, len(x), columns):
        rows += [x[i : i + columns], y[i : i + columns]]
    return rows


# ---- reference weights ---------------------------------------------------------------------------------------------


def read_reference(path: Path) -> dict[str, torch.Tensor]:
    """A reference ``.pth`` state dict, read with ``torch.load(weights_only=True)``: tensors only, no other pickle."""
    import torch

    from genzoo.models.cyclegan.reference import clean_state

    if not Path(path).is_file():
        raise CheckpointError(f"{path} does not exist. Give the reference generator file, e.g. latest_net_G_A.pth.")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # weights_only refuses anything but tensors and plain containers
        raise CheckpointError(
            f"{path} cannot be read as a state dict of tensors ({_refusal(exc)}). genzoo reads .pth files with "
            f"torch.load(weights_only=True) only, never unpickling other objects; expected the generator state dict "
            f"that the reference CycleGAN saves (latest_net_G_A.pth)."
        ) from None
    return clean_state(obj, str(path))


def _refusal(exc: Exception) -> str:
    """The reason in torch.load's error (e.g. "Unsupported global: …"), without its advice to load the file
    unsafely and without colour codes."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    for line in text.splitlines():
        if "nsupported" in line:
            return line.split("WeightsUnpickler error:")[-1].strip()[:200]
    if "weights_only" in text or "Weights only" in text:
        return "it holds objects other than tensors and plain containers"
    return (text.strip().splitlines() or [type(exc).__name__])[0][:200]


def _family(entry: ModelEntry) -> str:
    from genzoo.models.cyclegan import ResnetCycleGANConfig, UnetCycleGANConfig

    if issubclass(entry.config, ResnetCycleGANConfig):
        return "resnet"
    if issubclass(entry.config, UnetCycleGANConfig):
        return "unet"
    raise GenzooError(
        f"{entry.name} is not a CycleGAN; import-weights converts the reference CycleGAN's generators into "
        f"cyclegan-resnet or cyclegan-unet."
    )


def import_config(entry: ModelEntry, fields: dict[str, Any], overrides: Iterable[str], source: Path) -> ModelConfig:
    """The config of an imported model: what the file says, ``image_size`` 256, then ``--set`` overrides (which
    may not contradict the file)."""
    from pydantic import ValidationError

    from genzoo.config import describe_validation_error, parse_override

    user: dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        key = key.removeprefix("model.")
        if key not in entry.config.model_fields:
            raise ConfigError(
                f"--set {key}: not a field of {entry.name}'s config. Fields: {', '.join(entry.config.model_fields)}."
            )
        user[key] = value
    for key, found in fields.items():
        if key in user and str(user[key]) != str(found):
            raise ConfigError(
                f"--set {key}={user[key]} contradicts {source}: the file's generator has {key} = {found!r}. "
                f"Leave {key} out; it is read from the file."
            )
    base = {"image_size": max(IMPORT_IMAGE_SIZE, 2 ** int(fields.get("depth", 0)))}
    try:
        return entry.config.model_validate({**base, **fields, **user})
    except ValidationError as exc:
        raise ConfigError(
            f"Invalid configuration for {entry.name}: {describe_validation_error(exc, 'model')}."
        ) from None


def _load_generator(net: torch.nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:400]
        raise CheckpointError(f"{source} does not fit the generator its keys describe: {detail}") from None


def import_reference_weights(
    name: str,
    path: Path,
    out: Path | None = None,
    overrides: Iterable[str] = (),
    reverse: Path | None = None,
) -> Path:
    """Convert the reference's generator ``path`` (A → B; ``reverse``: B → A, optional) into a genzoo checkpoint of
    model ``name`` (cyclegan-resnet or cyclegan-unet); returns the written file (default ``<stem>.safetensors``)."""
    import torch

    from genzoo import checkpoint
    from genzoo.api import create
    from genzoo.models.cyclegan.reference import generator_fields, to_genzoo
    from genzoo.registry import models

    entry = models.get(name)
    family = _family(entry)
    path = Path(path)
    state = read_reference(path)
    fields = generator_fields(state, family, str(path))
    converted = {"G_AB": to_genzoo(state, family, fields)}
    if reverse is not None:
        back = read_reference(Path(reverse))
        back_fields = generator_fields(back, family, str(reverse))
        if back_fields != fields:
            raise CheckpointError(
                f"{path} and {reverse} are generators of different shapes ({fields} vs {back_fields}); give the two "
                f"generators of one reference model."
            )
        converted["G_BA"] = to_genzoo(back, family, fields)
    config = import_config(entry, fields, overrides, path)
    torch.manual_seed(0)  # the networks not in the files (discriminators, a missing generator) start the same way
    model = create(name, config)
    for key, weights in converted.items():
        _load_generator(getattr(model, key), weights, path if key == "G_AB" else Path(str(reverse)))
    target = out if out is not None else Path(path.stem + ".safetensors")
    imported = {"G_AB": str(path), "G_BA": str(reverse) if reverse is not None else None}
    checkpoint.save(
        target,
        model_name=name,
        config=config.model_dump(mode="json"),
        weights=model.state_dict(),
        extra={"domains": list(getattr(model, "domains", ("A", "B"))), "imported": imported},
    )
    return target

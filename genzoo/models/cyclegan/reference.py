"""Weights of the reference PyTorch CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix) as genzoo generator weights.

The reference saves each network's ``state_dict`` (``latest_net_G_A.pth``: domain A → B; ``latest_net_G_B.pth``:
B → A). genzoo's generators have the same layers in the same order, so converting is renaming keys, module by
module (``prefix.weight`` → ``new_prefix.weight``):

ResNet generator with *n* blocks (reference ``ResnetGenerator``, padding ``reflect``):

==============================================  ==================================
reference                                       genzoo (``G_AB.`` / ``G_BA.``)
==============================================  ==================================
``model.1``, ``model.2`` (7×7 conv, norm)       ``stem.1``, ``stem.2``
``model.4``, ``model.5``; ``model.7``, ``.8``   ``down.0.0``, ``down.0.1``; ``down.1.0``, ``down.1.1``
``model.{10+i}.conv_block.{j}``                 ``blocks.{i}.body.{j}``
``model.{10+n}``, ``{11+n}``; ``{13+n}``, …     ``up.0.0``, ``up.0.1``; ``up.1.0``, ``up.1.1``
``model.{17+n}`` (last 7×7 conv)                ``head.1``
==============================================  ==================================

U-Net generator of depth *d* (reference ``UnetGenerator``: nested ``UnetSkipConnectionBlock``; level *i*'s
``Sequential`` is ``S_i`` = ``model.model`` for *i* = 0, ``model.model.1.model`` for 1, then ``.3.model`` added per
level):

===========================================================  =================================================
reference                                                    genzoo
===========================================================  =================================================
``S_0.0`` (down conv), ``S_0.3`` (up conv)                   ``levels.0.down.0``, ``levels.0.up.1``
``S_i.1``, ``S_i.2``, ``S_i.5``, ``S_i.6`` (0 < i < d−1)     ``levels.i.down.0``, ``.down.1``, ``.up.1``, ``.up.2``
``S_{d−1}.1``, ``S_{d−1}.3``, ``S_{d−1}.4`` (innermost)      ``levels.{d−1}.down.0``, ``.up.1``, ``.up.2``
===========================================================  =================================================

``import_reference_weights`` turns such files into a genzoo checkpoint (``genzoo import-weights``). The architecture
(width, blocks, depth, norm, dropout) is read from the keys and shapes. Instance norm in the
reference has no parameters; files written by old PyTorch versions carry unused instance-norm running statistics,
which are dropped (the reference drops them too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from torch import Tensor

from genzoo.checkpoint import save
from genzoo.config import ModelConfig, describe_validation_error, parse_override
from genzoo.errors import CheckpointError, ConfigError, GenzooError
from genzoo.models.cyclegan import ResnetCycleGANConfig, UnetCycleGANConfig
from genzoo.registry import ModelEntry, models

IMPORT_IMAGE_SIZE = 256  # the reference models are trained on 256-px crops

RESNET_EXAMPLE = "model.1.weight, model.4.weight, model.10.conv_block.1.weight, …"
UNET_EXAMPLE = "model.model.0.weight, model.model.1.model.1.weight, model.model.1.model.3.model.1.weight, …"
STALE_STATS = {"running_mean", "running_var", "num_batches_tracked"}


# ---- key tables ---------------------------------------------------------------------------------------------------


def resnet_modules(n_blocks: int) -> dict[str, str]:
    """Reference module prefix → genzoo module prefix, for a ResNet generator with ``n_blocks`` blocks."""
    n = n_blocks
    table = {
        "model.1": "stem.1",
        "model.2": "stem.2",
        "model.4": "down.0.0",
        "model.5": "down.0.1",
        "model.7": "down.1.0",
        "model.8": "down.1.1",
        f"model.{10 + n}": "up.0.0",
        f"model.{11 + n}": "up.0.1",
        f"model.{13 + n}": "up.1.0",
        f"model.{14 + n}": "up.1.1",
        f"model.{17 + n}": "head.1",
    }
    table.update({f"model.{10 + i}.conv_block": f"blocks.{i}.body" for i in range(n)})
    return table


def unet_sequential(level: int) -> str:
    """The reference prefix of the ``Sequential`` of U-Net level ``level`` (0 = outermost)."""
    return "model.model" + "".join(".1.model" if i == 0 else ".3.model" for i in range(level))


def unet_modules(depth: int) -> dict[str, str]:
    """Reference module prefix → genzoo module prefix, for a U-Net generator of ``depth`` levels."""
    table = {f"{unet_sequential(0)}.0": "levels.0.down.0", f"{unet_sequential(0)}.3": "levels.0.up.1"}
    for i in range(1, depth):
        s, g = unet_sequential(i), f"levels.{i}"
        if i < depth - 1:
            table.update(
                {f"{s}.1": f"{g}.down.0", f"{s}.2": f"{g}.down.1", f"{s}.5": f"{g}.up.1", f"{s}.6": f"{g}.up.2"}
            )
        else:
            table.update({f"{s}.1": f"{g}.down.0", f"{s}.3": f"{g}.up.1", f"{s}.4": f"{g}.up.2"})
    return table


def rename(state: Mapping[str, Tensor], table: Mapping[str, str], kind: str) -> dict[str, Tensor]:
    """``state`` with every key's longest known module prefix translated by ``table``; a key that no entry covers
    is an error."""
    out, unknown = {}, []
    for key, value in state.items():
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # the longest module prefix that the table knows
            prefix = ".".join(parts[:cut])
            if prefix in table:
                out[".".join([table[prefix], *parts[cut:]])] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise CheckpointError(
            f"The file has keys that a reference {kind} does not have: {', '.join(unknown[:6])}"
            f"{' …' if len(unknown) > 6 else ''}."
        )
    return out


# ---- reading the architecture from a state dict -------------------------------------------------------------------


def clean_state(obj: Any, source: str) -> dict[str, Tensor]:
    """A loaded object as a flat state dict (``module.`` prefixes of DataParallel removed), or a clear error."""
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        what = type(obj).__name__ if not isinstance(obj, Mapping) else "a mapping that does not hold only tensors"
        raise CheckpointError(
            f"{source} holds {what}, not a generator state dict (a mapping of parameter names to tensors, as the "
            f"reference saves in latest_net_G_A.pth)."
        )
    state = {str(k).removeprefix("module."): v for k, v in obj.items()}
    return drop_stale_instance_stats(state)


def drop_stale_instance_stats(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Remove running statistics of norms without parameters: the reference's instance norms as saved by old
    PyTorch versions (never used; the reference's loader drops them as well). Batch norms keep theirs."""
    modules: dict[str, set[str]] = {}
    for key in state:
        module, _, param = key.rpartition(".")
        modules.setdefault(module, set()).add(param)
    stale = {m for m, params in modules.items() if params <= STALE_STATS}
    return {k: v for k, v in state.items() if k.rpartition(".")[0] not in stale}


def detect_kind(state: Mapping[str, Tensor]) -> str:
    """``resnet``, ``unet`` or ``discriminator``, from the layout of the keys."""
    if any(k.startswith("model.model.") for k in state):
        return "unet"
    if any(re.match(r"model\.\d+\.conv_block\.", k) for k in state) or "model.1.weight" in state:
        if "model.0.weight" in state:  # the discriminator's first layer is a convolution, the generators' a pad
            return "discriminator"
        return "resnet"
    if "model.0.weight" in state:
        return "discriminator"
    return "unknown"


def _norm(state: Mapping[str, Tensor], norm_module: str, conv_module: str) -> str:
    if f"{norm_module}.weight" in state:
        return "batch"
    return "instance" if f"{conv_module}.bias" in state else "none"


def _check_rgb(state: Mapping[str, Tensor], key: str, dim: int, source: str) -> None:
    if key in state and state[key].shape[dim] != 3:
        raise CheckpointError(
            f"{source} is a generator for {state[key].shape[dim]}-channel images ({key} has shape "
            f"{tuple(state[key].shape)}); genzoo translates RGB images (3 channels)."
        )


def resnet_fields(state: Mapping[str, Tensor], source: str) -> dict[str, Any]:
    """``width``, ``n_blocks``, ``norm``, ``use_dropout`` of a reference ResNet generator's state dict."""
    if any(re.match(r"model\.\d+\.conv_block\.0\.weight", k) for k in state):
        raise CheckpointError(
            f"{source} is a ResNet generator with zero padding; genzoo's uses reflection padding (the reference's "
            f"default, padding_type='reflect')."
        )
    blocks = {int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv_block\.", k))}
    n_blocks = len(blocks)
    if blocks and blocks != set(range(10, 10 + n_blocks)):
        raise CheckpointError(
            f"{source}: residual blocks at unexpected positions {sorted(blocks)} (expected 10, 11, …)."
        )
    if "model.1.weight" not in state:
        raise CheckpointError(f"{source} has no first convolution model.1.weight; expected keys {RESNET_EXAMPLE}")
    _check_rgb(state, "model.1.weight", 1, source)
    second = state.get("model.10.conv_block.6.weight")  # the second conv with dropout, else a norm or nothing
    dropout = second is not None and second.dim() == 4
    return {
        "width": int(state["model.1.weight"].shape[0]),
        "n_blocks": n_blocks,
        "norm": _norm(state, "model.2", "model.1"),
        "use_dropout": bool(dropout),
        "upsample": "transpose",
    }


def unet_fields(state: Mapping[str, Tensor], source: str) -> dict[str, Any]:
    """``width``, ``depth``, ``norm`` (and ``upsample``: the reference's transposed convolutions) of a reference U-Net
    generator's state dict (dropout leaves no trace)."""
    first = f"{unet_sequential(0)}.0.weight"
    if first not in state:
        raise CheckpointError(f"{source} has no first convolution {first}; expected keys {UNET_EXAMPLE}")
    _check_rgb(state, first, 1, source)
    _check_rgb(state, f"{unet_sequential(0)}.3.weight", 1, source)
    depth = 1
    while any(k.startswith(unet_sequential(depth) + ".") for k in state):
        depth += 1
    if depth < 2:
        raise CheckpointError(f"{source} is a U-Net with a single level; expected at least two ({UNET_EXAMPLE}).")
    s1 = unet_sequential(1)
    norm = _norm(state, f"{s1}.2", f"{s1}.1") if depth > 2 else _norm(state, f"{s1}.4", f"{s1}.3")
    return {"width": int(state[first].shape[0]), "depth": depth, "norm": norm, "upsample": "transpose"}


def generator_fields(state: Mapping[str, Tensor], family: str, source: str) -> dict[str, Any]:
    """The config fields of the generator in ``state``, for genzoo model family ``family`` (resnet or unet)."""
    kind = detect_kind(state)
    if kind == "discriminator":
        raise CheckpointError(
            f"{source} holds a discriminator (reference NLayerDiscriminator, latest_net_D_*.pth); import a generator: "
            f"latest_net_G_A.pth (A → B) or latest_net_G_B.pth (B → A)."
        )
    if kind != family:
        expected = RESNET_EXAMPLE if family == "resnet" else UNET_EXAMPLE
        found = f"a reference {kind} generator" if kind in {"resnet", "unet"} else "no reference generator I know"
        hint = f" Import it with `genzoo import-weights cyclegan-{kind}`." if kind in {"resnet", "unet"} else ""
        raise CheckpointError(
            f"{source} holds {found} (keys {', '.join(list(state)[:3])}, …); cyclegan-{family} expects the "
            f"reference {'ResnetGenerator' if family == 'resnet' else 'UnetGenerator'} layout ({expected}).{hint}"
        )
    return resnet_fields(state, source) if family == "resnet" else unet_fields(state, source)


def to_genzoo(state: Mapping[str, Tensor], family: str, fields: Mapping[str, Any]) -> dict[str, Tensor]:
    """The reference generator ``state`` renamed to genzoo's generator layout."""
    if family == "resnet":
        return rename(state, resnet_modules(int(fields["n_blocks"])), "ResnetGenerator")
    return rename(state, unet_modules(int(fields["depth"])), "UnetGenerator")


# ---- importing a reference model ----------------------------------------------------------------------------------


def read_reference(path: Path) -> dict[str, torch.Tensor]:
    """A reference ``.pth`` state dict, read with ``torch.load(weights_only=True)``: tensors only, no other pickle."""
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
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    for line in text.splitlines():
        if "nsupported" in line:
            return line.split("WeightsUnpickler error:")[-1].strip()[:200]
    if "weights_only" in text or "Weights only" in text:
        return "it holds objects other than tensors and plain containers"
    return (text.strip().splitlines() or [type(exc).__name__])[0][:200]


def _family(entry: ModelEntry) -> str:
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
    model = entry.build(config)
    for key, weights in converted.items():
        _load_generator(getattr(model, key), weights, path if key == "G_AB" else Path(str(reverse)))
    target = out if out is not None else Path(path.stem + ".safetensors")
    imported = {"G_AB": str(path), "G_BA": str(reverse) if reverse is not None else None}
    save(
        target,
        model_name=name,
        config=config.model_dump(mode="json"),
        weights=model.state_dict(),
        extra={"domains": list(model.domains), "imported": imported},
    )
    return target

"""Checkpoints: one ``.safetensors`` file that describes itself; no pickle anywhere.

The header metadata (all strings, as safetensors requires) holds:

============  ===========================================================================
``format``    ``genzoo/1``
``model``     the registered model name, e.g. ``vae-conv``
``config``    the model's full config as JSON: enough to rebuild it
``version``   the genzoo version that wrote the file
``step``      the training step the weights are from
``run``       the whole run config (model, train, data) as JSON, when written by a run
``extra``     JSON of anything else the model wants known (e.g. a translator's domain names)
``state``     only in resumable checkpoints: the JSON skeleton of the training state
``inference`` ``true`` in an inference-only file (``genzoo export``): only what sampling, reconstruction and
              translation use, the moving average in place of the trained weights, no training state
============  ===========================================================================

Weights are stored under their ``state_dict`` names. A resumable checkpoint adds the training state (optimizers,
schedulers, gradient scaler, RNG, data position, the model's extra state): nested dicts and lists of numbers go into
the ``state`` JSON, tensors into ``__state__/N`` entries. ``read_header`` parses the header without torch, so
``genzoo info`` is instant, and it detects truncated or malformed files. Writes are atomic: a temporary file in the
same folder, fsync, then rename, so a crash never leaves a half-written file under the final name.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo._version import __version__
from genzoo.errors import CheckpointError
from genzoo.io import atomic_write

if TYPE_CHECKING:
    import torch

FORMAT = "genzoo/1"
STATE_PREFIX = "__state__/"
AVERAGE_PREFIX = "average/"
"""Tensors of the moving average of some weights (``genzoo.models.average``), beside the weights themselves."""
_MAX_HEADER = 100 * 1024 * 1024
_DTYPE_BYTES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
}


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint is, read from its header alone."""

    path: Path
    model: str
    config: dict[str, Any]
    version: str
    step: int
    run: dict[str, Any] | None
    extra: dict[str, Any]
    resumable: bool
    tensors: dict[str, tuple[str, tuple[int, ...]]] = field(repr=False)
    inference: bool = False
    """Whether the file holds only the weights inference uses (``genzoo export``), not a whole model."""

    @property
    def num_parameters(self) -> int:
        count = 0
        for name, (_, shape) in self.tensors.items():
            if not name.startswith((STATE_PREFIX, AVERAGE_PREFIX)):
                n = 1
                for d in shape:
                    n *= d
                count += n
        return count

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "model": self.model,
            "config": self.config,
            "version": self.version,
            "step": self.step,
            "run": self.run,
            "extra": self.extra,
            "resumable": self.resumable,
            "inference": self.inference,
            "num_parameters": self.num_parameters,
        }


# ---- reading ------------------------------------------------------------------------------------------------------


def _not_safetensors(path: Path, why: str) -> CheckpointError:
    hint = ""
    if path.suffix.lower() in {".pth", ".pt", ".pkl", ".ckpt", ".bin"}:
        hint = (
            " genzoo never unpickles files; a CycleGAN .pth from the reference implementation can be converted "
            "with `genzoo import-weights`."
        )
    return CheckpointError(f"{path} is not a genzoo safetensors checkpoint: {why}.{hint}")


def read_header(path: Path) -> CheckpointInfo:
    """Parse a checkpoint's header without loading tensors (and without importing torch)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise _not_safetensors(path, "the file is too short to hold a safetensors header")
        (length,) = struct.unpack("<Q", head)
        if length > min(size - 8, _MAX_HEADER):
            raise _not_safetensors(path, "its header length is impossible (not safetensors, or truncated)")
        try:
            header = json.loads(f.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _not_safetensors(path, "its header is not valid JSON") from None
    if not isinstance(header, dict):
        raise _not_safetensors(path, "its header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise _not_safetensors(path, "its __metadata__ is not a JSON object")
    tensors, end = _tensor_table(path, header)
    if 8 + length + end != size:
        raise CheckpointError(
            f"Checkpoint {path} is truncated or corrupt: the header describes {8 + length + end} bytes, the file has "
            f"{size}. Use an earlier checkpoint, or train again."
        )
    if meta.get("format") != FORMAT or "model" not in meta:
        raise _not_safetensors(
            path, "it is a safetensors file, but its header does not say which genzoo model it holds"
        )
    try:
        if not isinstance(meta["model"], str):
            raise TypeError(f"model is {meta['model']!r}, not a model name")
        return CheckpointInfo(
            path=path,
            model=meta["model"],
            config=_json_object(meta, "config"),
            version=str(meta.get("version", "unknown")),
            step=int(meta.get("step", 0)),
            run=_json_object(meta, "run") if "run" in meta else None,
            extra=_json_object(meta, "extra"),
            resumable="state" in meta,
            tensors=tensors,
            inference=meta.get("inference") == "true",
        )
    except (ValueError, TypeError) as exc:
        raise CheckpointError(
            f"Checkpoint {path} has a malformed genzoo header ({exc}). Use an earlier checkpoint, or train again."
        ) from None


def _json_object(meta: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The metadata entry ``key`` (JSON text, ``{}`` when absent) as a dict; anything else raises ValueError."""
    value = json.loads(meta.get(key, "{}"))
    if not isinstance(value, dict):
        raise ValueError(f"its {key} is not a JSON object")
    return value


def _tensor_table(path: Path, header: dict[str, Any]) -> tuple[dict[str, tuple[str, tuple[int, ...]]], int]:
    """The tensors' dtypes and shapes, and where their data ends; their data must tile ``[0, end)`` exactly."""
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, desc in header.items():
        try:
            dtype, shape, (start, stop) = desc["dtype"], tuple(int(d) for d in desc["shape"]), desc["data_offsets"]
            n = 1
            for d in shape:
                n *= d
            if stop - start != n * _DTYPE_BYTES.get(dtype, 0) or start < 0 or min(shape, default=0) < 0:
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise _not_safetensors(path, f"its header entry for {name!r} is malformed") from None
        tensors[name] = (dtype, shape)
        spans.append((start, stop, name))
    end = 0
    for start, stop, name in sorted(spans):
        if start != end:
            raise _not_safetensors(path, f"the data of {name!r} overlaps another tensor's or leaves a gap")
        end = stop
    return tensors, end


def load_tensors(path: Path, *, state: bool = False) -> dict[str, torch.Tensor]:
    """The weights (or, with ``state=True``, only the training-state tensors) of a checkpoint, on the CPU."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {k: f.get_tensor(k) for k in f.keys() if k.startswith(STATE_PREFIX) == state}  # noqa: SIM118
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"Checkpoint {path} could not be read ({exc}). Use an earlier checkpoint.") from None


def load_state(path: Path) -> dict[str, Any]:
    """The training state saved in a resumable checkpoint (see ``pack``)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    if "state" not in meta:
        raise CheckpointError(f"{path} holds weights only, no training state to resume from.")
    tensors = {k.removeprefix(STATE_PREFIX): v for k, v in load_tensors(path, state=True).items()}
    return unpack(json.loads(meta["state"]), tensors)


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, sha256: str, what: str) -> None:
    """Refuse ``path`` (described as ``what``, e.g. "the released weights of vae-conv") unless its bytes have
    ``sha256``: a missing, truncated, damaged or replaced file is one ``CheckpointError`` that says what to do."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"{what} should be at {path}, but the file is missing: the installation is incomplete. Reinstall the "
            f"package that provides it (in a git checkout: `git checkout -- {path.name}` in its folder), or train "
            f"the model yourself and give its run directory."
        )
    found = sha256_of(path)
    if found != sha256:
        raise CheckpointError(
            f"{what} ({path}, {path.stat().st_size:,} bytes) do not match their sha256: expected {sha256[:16]}…, "
            f"found {found[:16]}…. The file is truncated, damaged or was replaced, so it is not loaded. Reinstall "
            f"the package that provides it (in a git checkout: `git checkout -- {path.name}` in its folder), or "
            f"train the model yourself and give its run directory."
        )


# ---- writing ------------------------------------------------------------------------------------------------------


def save(
    path: Path,
    *,
    model_name: str,
    config: Mapping[str, Any],
    weights: Mapping[str, torch.Tensor],
    step: int = 0,
    run: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    state: Any = None,
    inference: bool = False,
) -> Path:
    """Write a checkpoint atomically: weights, self-describing header, and (optionally) training state; with
    ``inference`` the header marks it as holding only what inference uses."""
    from safetensors.torch import save as to_bytes

    tensors = {k: v.detach().to("cpu").contiguous() for k, v in weights.items()}
    meta = {
        "format": FORMAT,
        "model": model_name,
        "config": json.dumps(dict(config), sort_keys=True),
        "version": __version__,
        "step": str(step),
        "extra": json.dumps(dict(extra or {}), sort_keys=True),
    }
    if run is not None:
        meta["run"] = json.dumps(dict(run), sort_keys=True)
    if inference:
        meta["inference"] = "true"
    if state is not None:
        state_tensors: dict[str, torch.Tensor] = {}
        meta["state"] = json.dumps(pack(state, state_tensors))
        tensors.update({STATE_PREFIX + k: v.detach().to("cpu").contiguous() for k, v in state_tensors.items()})
    atomic_write(Path(path), to_bytes(tensors, metadata=meta))
    return Path(path)


# ---- pickle-free nested state -------------------------------------------------------------------------------------


def pack(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """A JSON-able skeleton of ``obj`` (dicts, lists, tuples, numbers, strings, None, tensors), tensors moved out.

    Tensors are put in ``tensors`` under fresh numeric keys; dict keys that are not strings and tuples are tagged,
    so that ``unpack`` gives back exactly the same structure (optimizer states have int keys and tuple betas).
    """
    import torch

    if isinstance(obj, torch.Tensor):
        key = str(len(tensors))
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: pack(v, tensors) for k, v in obj.items()}
        return {"__items__": [[pack(k, tensors), pack(v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [pack(v, tensors) for v in obj]}
    if isinstance(obj, list):
        return [pack(v, tensors) for v in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint without pickle")


def unpack(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The inverse of ``pack``."""
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return tensors[skeleton["__tensor__"]]
        if "__items__" in skeleton:
            return {_hashable(unpack(k, tensors)): unpack(v, tensors) for k, v in skeleton["__items__"]}
        if "__tuple__" in skeleton:
            return tuple(unpack(v, tensors) for v in skeleton["__tuple__"])
        return {k: unpack(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [unpack(v, tensors) for v in skeleton]
    return skeleton


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key

"""Devices, precision and seeds: which device and autocast dtype a run uses, and seeding every generator.

Used by the Trainer, by loading a model (``genzoo.load(device=…)``) and by the judge's training, so it is its own
small module: asking for a device does not import the Trainer.
"""

from __future__ import annotations

import platform
import random

import numpy as np
import torch

from genzoo.errors import GenzooError


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when there is a GPU, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; a device this
    machine lacks is refused with what to use instead."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GenzooError(f"--device {name} was asked for, but this machine has no usable CUDA GPU. Use --device cpu.")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GenzooError(f"--device {name} was asked for, but MPS is not available here. Use --device cpu.")
    return device


def cpu_supports_bf16() -> bool:
    """True where bf16 matrix kernels are fast on this CPU (AVX-512 BF16 or AMX)."""
    cpu = getattr(torch, "cpu", None)
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, c, lambda: False)()) for c in checks)


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain fp32."""
    if precision == "fp32":
        return None
    if precision == "fp16":
        if device.type == "cpu":
            raise GenzooError("precision fp16 is for GPUs; on the CPU use bf16 (or fp32).")
        return torch.float16
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if device.type == "cpu" and cpu_supports_bf16() else None


def machine_name(device: torch.device) -> str:
    """What a run trains on, as a reader of a card wants it: the GPU's name, or the CPU's model with its fastest
    vector extension (which decides the CPU's speed and its default precision)."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type != "cpu":
        return device.type
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            named = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
        model = named[0] if named else model
    except OSError:
        pass
    level = torch.backends.cpu.get_cpu_capability()  # e.g. AVX512, AVX2, DEFAULT
    vectors = "AVX-512 BF16" if cpu_supports_bf16() else level.replace("AVX512", "AVX-512")
    return f"{model} ({vectors})"


def precision_name(dtype: torch.dtype | None) -> str:
    """The config spelling of an autocast dtype: bf16, fp16, or fp32 for none."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32") if dtype is not None else "fp32"


def resolve_memory_format(
    name: str, device: torch.device, dtype: torch.dtype | None, channels_last_on_cpu: bool
) -> torch.memory_format:
    """The layout training keeps images and convolution weights in: ``contiguous`` (NCHW), ``channels_last``
    (NHWC), or ``auto``: channels-last where it was measured faster, on the CPU in fp32 for a model that says so
    (``GenerativeModel.channels_last_on_cpu``), else NCHW."""
    if name == "channels_last" or (name == "auto" and channels_last_on_cpu and device.type == "cpu" and dtype is None):
        return torch.channels_last
    return torch.contiguous_format


def layout_name(memory_format: torch.memory_format) -> str:
    """The config spelling of a memory format: channels_last or contiguous."""
    return "channels_last" if memory_format == torch.channels_last else "contiguous"


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)

"""``train.compile``: the model's networks compiled with ``torch.compile`` for the training steps alone.

Each network is compiled in place (``nn.Module.compile``), so its weights keep their names: checkpoints, averages and
released files are the same as an eager run's. Only the steps run compiled; everything between them (previews, the
averaged weights' statistics) runs eagerly (``torch.compiler.set_stance("force_eager")``), and the networks are eager
again once training ends, so that nothing waits for a compilation of its own: evaluation, sampling and export after
training neither.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
from torch import nn

from genzoo.errors import ConfigError

CPU_COMPILERS = ("c++", "g++", "clang++")


def check_compile(device: torch.device) -> None:
    """Refuse ``train.compile`` in one paragraph where it cannot work: a torch without ``set_stance`` (< 2.6), or a
    CPU run with no C++ compiler on the PATH (inductor builds its CPU kernels with one)."""
    if not hasattr(torch.compiler, "set_stance"):
        raise ConfigError(
            f"train.compile needs torch 2.6 or newer (this is {torch.__version__}). Upgrade torch, or train without "
            "--set compile=true."
        )
    if device.type == "cpu" and not any(shutil.which(c) for c in CPU_COMPILERS):
        raise ConfigError(
            "train.compile on the CPU needs a C++ compiler, and none of c++, g++ or clang++ is on the PATH. Install "
            "one (e.g. `apt-get install g++`), or train without --set compile=true."
        )


@contextmanager
def compiled(model: nn.Module, enabled: bool) -> Iterator[None]:
    """Within: the model's direct submodules (its networks) compiled in place, yet run eagerly outside ``compiled_step``
    (previews, the averaged weights' statistics in checkpoints); after: eager again for good."""
    if not enabled:
        yield
        return
    networks = list(model.children())
    for network in networks:
        network.compile()
    try:
        with torch.compiler.set_stance("force_eager"):
            yield
    finally:
        for network in networks:
            network._compiled_call_impl = None  # what nn.Module.compile set: the module calls forward eagerly again


def compiled_step(enabled: bool) -> AbstractContextManager[object]:
    """Within ``compiled``: the networks run compiled (the training step)."""
    return torch.compiler.set_stance("default") if enabled else nullcontext()

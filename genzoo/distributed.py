"""Training on several processes, as launched by ``torchrun``: a ``World`` and the few collectives the Trainer needs.

``torchrun --nproc_per_node N -m genzoo train …`` starts N copies of the command with ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and a rendezvous address in their environment. ``world()`` joins them into one process group (gloo
on the CPU, NCCL on CUDA); without those variables it is a world of one, and every function here does nothing.

The Trainer keeps the ranks in lockstep the way ``DistributedDataParallel`` does, but at the optimizer rather than
inside ``backward``, so that a model's own training step, with several networks, optimizers and backward passes
(a GAN, a CycleGAN), runs unchanged:

- every rank starts from rank 0's parameters and buffers (``broadcast_tensors``);
- each step, each rank takes its own share of the global batch (``BatchStream``'s ``rank``/``world``);
- before each optimizer step the gradients of that optimizer are averaged over the ranks (``average_gradients``),
  so every rank applies the same update and the weights stay identical;
- after each step, buffers such as BatchNorm's running statistics are rank 0's again (as DDP's
  ``broadcast_buffers``);
- each step, the logged losses and a "stop" flag (a signal, on any rank) are summed over the ranks, so every rank
  sees the same losses, takes the same NaN decision and stops at the same step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the training processes: ``rank`` of ``size``; ``local_rank`` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes files and draws the progress bar."""
        return self.rank == 0


def launched() -> bool:
    """Whether torchrun (or another launcher setting ``WORLD_SIZE``) started several processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world(device: str = "auto") -> World:
    """The process group this process belongs to, joined on first use; a world of one when not launched."""
    if not launched():
        return World()
    if not dist.is_initialized():
        cuda = device != "cpu" and not device.startswith("mps") and torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group("nccl" if cuda else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def share(make: Callable[[], T], w: World) -> T:
    """``make()`` run on rank 0, its result given to every rank (e.g. a run directory named after the time)."""
    value = [make() if w.main else None]
    if w.active:
        dist.broadcast_object_list(value, src=0)
    return value[0]  # type: ignore[return-value]


def barrier(w: World) -> None:
    if w.active:
        dist.barrier()


def _coalesced(tensors: Iterable[Tensor], collective: Callable[[Tensor], None]) -> None:
    """Run ``collective`` on one flat buffer per dtype instead of once per tensor, then copy the results back."""
    groups: dict[tuple[torch.dtype, torch.device], list[Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    for group in groups.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        collective(flat)
        for t, part in zip(group, flat.split([t.numel() for t in group]), strict=True):
            t.copy_(part.view_as(t))


def broadcast_tensors(tensors: Iterable[Tensor], w: World) -> None:
    """Give every rank rank 0's values of ``tensors`` (parameters at the start, buffers after each step)."""
    if w.active:
        with torch.no_grad():
            _coalesced(tensors, lambda flat: dist.broadcast(flat, src=0))


def average_gradients(params: Iterable[Tensor], w: World) -> None:
    """Replace each gradient with its mean over the ranks (parameters without a gradient are left alone)."""
    if not w.active:
        return
    grads = [p.grad for p in params if p.grad is not None]

    def mean(flat: Tensor) -> None:
        dist.all_reduce(flat)
        flat.div_(w.size)

    _coalesced(grads, mean)


def sum_over_ranks(values: Tensor, w: World) -> Tensor:
    """The element-wise sum of ``values`` (a 1-D float tensor) over the ranks."""
    if w.active:
        dist.all_reduce(values)
    return values


def gather(obj: Any, w: World) -> list[Any] | None:
    """Every rank's ``obj`` (tensors moved to the CPU), as a list on rank 0; None on the other ranks."""
    obj = to_cpu(obj)
    if not w.active:
        return [obj]
    out: list[Any] | None = [None] * w.size if w.main else None
    dist.gather_object(obj, out, dst=0)
    return out


def to_cpu(obj: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_cpu(v) for v in obj)
    return obj

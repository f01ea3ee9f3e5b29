"""The data stream of a run: batches of uint8 images on the device, in an order that depends on (seed, epoch) alone."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from genzoo.config import Augment
from genzoo.data.augment import augment
from genzoo.data.core import ImageSet
from genzoo.errors import GenzooError
from genzoo.models.base import Batch, GenerativeModel


class BatchStream:
    """Batches of one image set: epoch *e*'s order depends on (seed, e) only; the last partial batch of an epoch is
    dropped. ``position`` is (epoch, offset) and can be set to resume exactly.

    Each batch's images are read from the set when it is drawn (from its cache file, only the batch's rows: the set
    may be larger than the memory), augmented as ``augment`` says with draws seeded by the batch's place in the epoch,
    and moved to the device. Under torchrun it is also the distributed sampler: a step takes ``world × batch_size``
    images of the epoch's order, and rank *r* trains on the *r*-th share of them, so the ranks see disjoint images and
    together the whole epoch. The position counts images of the global order, so it is the same on every rank."""

    def __init__(
        self,
        images: ImageSet,
        batch_size: int,
        seed: int,
        device: torch.device,
        rank: int = 0,
        world: int = 1,
        augment: Augment | None = None,
        memory_format: torch.memory_format = torch.contiguous_format,
    ) -> None:
        if len(images) < batch_size * world:
            processes = f" × {world} processes" if world > 1 else ""
            raise GenzooError(
                f"The data set {images.domain!r} has {len(images)} training images, fewer than the batch size "
                f"{batch_size}{processes}. Lower it with `--set batch_size={max(1, len(images) // world)}` or add "
                "images."
            )
        self.images = images.images
        self.attrs = None if images.attributes is None else torch.from_numpy(images.attributes)
        self.batch_size, self.seed, self.device, self.rank, self.world = batch_size, seed, device, rank, world
        self.augment = augment if augment is not None and augment.active else None
        self.memory_format = memory_format
        self.epoch, self.offset = 0, 0
        self._order = self._permutation(0)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def batches_per_epoch(self) -> int:
        return len(self) // (self.batch_size * self.world)

    def _permutation(self, epoch: int) -> Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self), generator=g)

    def seek(self, epoch: int, offset: int) -> None:
        self.epoch, self.offset = epoch, offset
        self._order = self._permutation(epoch)

    def next(self) -> tuple[Tensor, Tensor | None]:
        """This rank's images of the next step as float in [0, 1], on the device, in ``memory_format`` (the layout
        of the model's convolution weights: a channels-last batch into NCHW weights makes CPU convolutions several
        times slower), and their attribute codes."""
        step = self.batch_size * self.world
        if self.offset + step > len(self):
            self.seek(self.epoch + 1, 0)
        first = self.offset + self.rank * self.batch_size
        idx = self._order[first : first + self.batch_size]
        self.offset += step
        x = torch.from_numpy(self.images[idx.numpy()]).permute(0, 3, 1, 2)
        if self.augment is not None:
            draws = torch.Generator().manual_seed(((self.seed * 1_000_003 + self.epoch) * 1_000_033 + first) % 2**63)
            x = augment(x, self.augment, draws)
        x = x.to(self.device).contiguous(memory_format=self.memory_format).float().div_(255)
        return x, (None if self.attrs is None else self.attrs[idx].to(self.device))


@dataclass
class Streams:
    """The streams of a run: its source images and, for a translator, the target images, drawn independently."""

    source: BatchStream
    target: BatchStream | None = None

    def batch(self, model: GenerativeModel) -> Batch:
        """The next training batch, in the model's pixel range."""
        x, attrs = self.source.next()
        y = model.from_unit(self.target.next()[0]) if self.target is not None else None
        return Batch(model.from_unit(x), y, attrs)

    def position(self) -> dict[str, list[int]]:
        """Where each stream is, as a checkpoint stores it: ``x`` (source) and ``y`` (target) → (epoch, offset)."""
        out = {"x": [self.source.epoch, self.source.offset]}
        if self.target is not None:
            out["y"] = [self.target.epoch, self.target.offset]
        return out

    def seek(self, position: dict[str, list[int]]) -> None:
        """Continue where ``position`` (from ``position()``) says."""
        self.source.seek(*position["x"])
        if self.target is not None:
            self.target.seek(*position["y"])

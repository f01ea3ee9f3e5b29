"""A run's training state on disk: resumable checkpoints in ``RUN/checkpoints/``, and resuming from the newest one
that reads completely.

A checkpoint holds the weights and everything else that changes during training (see ``docs/architecture.md``,
"Exact resume"): optimizers, LR schedulers, the gradient scaler, the data position, the RNG states, the model's
extra state, and the Trainer's tally. Under torchrun the RNG states and the model's extra state differ between the
processes; the checkpoint holds every process's under ``ranks``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from genzoo import checkpoint, distributed
from genzoo.checkpoint import AVERAGE_PREFIX
from genzoo.config import RunConfig
from genzoo.devices import seed_everything
from genzoo.distributed import World
from genzoo.errors import CheckpointError, GenzooError
from genzoo.io import TEMP_SUFFIX
from genzoo.models.average import WeightAverage
from genzoo.models.base import GenerativeModel, StepContext
from genzoo.models.loading import mismatch
from genzoo.progress import TrainProgress
from genzoo.runs import RunDir
from genzoo.trainer.log import Tally, truncate_metrics
from genzoo.trainer.stream import Streams


@dataclass
class Session:
    """What a run trains with: the model, its step context (optimizers, scaler), LR schedulers, batch streams and
    the Trainer's tally. Everything in it is what a checkpoint saves and a resume restores."""

    model: GenerativeModel
    ctx: StepContext
    schedulers: dict[str, Any]
    streams: Streams
    tally: Tally
    average: WeightAverage | None = None
    """The moving average of the weights the model asks to have averaged (``GenerativeModel.averaged``)."""


class Checkpoints:
    """Writes and reads the checkpoints of ``run`` in ``run_dir`` for this process (rank 0 writes)."""

    def __init__(self, run: RunConfig, run_dir: RunDir, world: World, device: torch.device) -> None:
        self.run, self.dir, self.world, self.device = run, run_dir, world, device

    # -- writing ------------------------------------------------------------------------------------------------------

    def write(self, path: Path, s: Session, step: int, state: dict[str, Any] | None = None) -> Path:
        """A self-describing checkpoint of the session's model (and weight average) at ``step``, resumable when
        ``state`` is given."""
        weights = s.model.state_dict()
        if s.average is not None:
            weights |= s.average.state_dict(s.model)
        return checkpoint.save(
            path,
            model_name=self.run.name,
            config=self.run.model.model_dump(mode="json"),
            weights=weights,
            step=step,
            run=self.run.to_json(),
            extra=s.model.data_info,
            state=state,
        )

    def save(self, session: Session, step: int) -> Path | None:
        """Write a resumable checkpoint (rank 0; every process must call it) and drop the oldest beyond
        ``keep_checkpoints``. The new file is complete before an old one is removed."""
        state = self._state(session)
        if state is None:
            return None
        path = self.write(self.dir.checkpoint_path(step), session, step, state)
        for old in self.dir.checkpoint_files()[: -self.run.train.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def _state(self, s: Session) -> dict[str, Any] | None:
        """Everything a resumed run needs, on rank 0 (None on the others)."""
        own = {"rng": self._rng_state(), "model": s.model.extra_state()}
        ranks = distributed.gather(own, self.world)  # every process takes part
        if ranks is None:
            return None
        state = {
            "optimizers": {k: o.state_dict() for k, o in s.ctx.optimizers.items()},
            "schedulers": {k: sched.state_dict() for k, sched in s.schedulers.items()},
            "scaler": s.ctx.scaler.state_dict() if s.ctx.scaler is not None else None,
            "data": s.streams.position(),
            **s.tally.state(),
        }
        return {**state, "ranks": ranks} if self.world.active else {**state, **ranks[0]}

    def _rng_state(self) -> dict[str, Any]:
        cuda = [torch.cuda.get_rng_state(self.device)] if self.device.type == "cuda" else []
        return {"torch": torch.get_rng_state(), "cuda": cuda}

    # -- resuming -----------------------------------------------------------------------------------------------------

    def resume(self, session: Session, ui: TrainProgress) -> int:
        """Restore the newest readable checkpoint into ``session`` and return its step. An unreadable newer one (cut
        short by a crash, corrupted on disk) is named, and the one before used."""
        problems = []
        for path in reversed(self.dir.checkpoint_files()):
            try:
                info = checkpoint.read_header(path)
            except GenzooError as exc:
                problems.append(str(exc))
                continue
            self._check_belongs(info)
            try:
                weights = checkpoint.load_tensors(path)
                state = checkpoint.load_state(path)
            except GenzooError as exc:
                problems.append(str(exc))
                continue
            if problems:
                ui.note(f"{problems[-1]} Resuming from {path.name} (step {info.step}) instead.")
            self._restore(session, weights, state, info.step, ui)
            if self.world.main:
                truncate_metrics(self.dir, info.step)
                for partial in self.dir.path.rglob(f".*{TEMP_SUFFIX}"):
                    partial.unlink(missing_ok=True)  # a write cut short by a crash (see genzoo.io.atomic_write)
            return info.step
        why = f" ({'; '.join(problems)})" if problems else ""
        raise GenzooError(
            f"Cannot resume {self.dir.path}: it has no readable checkpoint{why}. Start a new run instead."
        )

    def _check_belongs(self, info: checkpoint.CheckpointInfo) -> None:
        """Refuse a checkpoint of another model or config (one copied over from another run, say) before loading it."""
        problem = mismatch(info, self.run.name, self.run.model, against="run")
        if problem is not None:
            raise CheckpointError(
                f"Cannot resume {self.dir.path}: its checkpoint {info.path} holds {problem}. It does not belong to "
                f"this run: move it out of {self.dir.checkpoints} and resume again."
            )

    def _restore(
        self, s: Session, weights: dict[str, torch.Tensor], state: dict[str, Any], step: int, ui: TrainProgress
    ) -> None:
        weights = s.model.upgrade_weights(weights)
        averaged = {k: weights.pop(k) for k in [k for k in weights if k.startswith(AVERAGE_PREFIX)]}
        s.model.load_state_dict(weights)
        if s.average is not None:
            s.average.load_state_dict(averaged)
        for k, o in s.ctx.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, sched in s.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
        if s.ctx.scaler is not None and state["scaler"] is not None:
            s.ctx.scaler.load_state_dict(state["scaler"])
        s.streams.seek(state["data"])
        s.tally.load(state, self.device)
        ranks = state.get("ranks") or [{"rng": state["rng"], "model": state["model"]}]
        if len(ranks) == self.world.size:
            own = ranks[self.world.rank]
            self._set_rng_state(own["rng"])
        else:  # another number of processes than wrote the checkpoint: the run goes on, but not bit-exactly
            own = ranks[min(self.world.rank, len(ranks) - 1)]
            seed_everything(self.run.train.seed + 1_000_003 * self.world.rank + 1009 * step)
            ui.note(
                f"the checkpoint was written by {len(ranks)} process(es) and this run has {self.world.size}: "
                "training continues from it, but random draws differ from an uninterrupted run"
            )
        s.model.load_extra_state(own["model"])

    def _set_rng_state(self, rng: dict[str, Any]) -> None:
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"][0], self.device)

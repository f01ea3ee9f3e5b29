"""The one Trainer, for every family.

The model owns its training step (``GenerativeModel.train_step``); the Trainer owns everything around it: device and
precision, seeding, the data stream, LR schedules, the NaN guard, logging to ``metrics.jsonl``, preview grids,
checkpoints, exact resume and the progress bar. ``_train`` is the whole loop; each of its concerns is a helper
named after it. What a finished run shows (pictures, held-out metrics, the report) is composed afterwards by
``genzoo.api.train``.

Under torchrun every process runs this same loop on its share of each batch (see ``genzoo.distributed``); rank 0
alone writes files and draws the progress bar.
"""

from __future__ import annotations

import json
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from genzoo import distributed
from genzoo._version import __version__
from genzoo.config import RunConfig
from genzoo.data.loading import Domains, load_domains
from genzoo.data.tensors import image_tensor
from genzoo.devices import (
    layout_name,
    machine_name,
    precision_name,
    resolve_device,
    resolve_memory_format,
    resolve_precision,
    seed_everything,
)
from genzoo.errors import GenzooError
from genzoo.images import save_grid
from genzoo.io import atomic_write, write_json
from genzoo.models.average import WeightAverage
from genzoo.models.base import Batch, GenerativeModel, StepContext
from genzoo.models.loading import load_weights
from genzoo.progress import TrainProgress
from genzoo.registry import models
from genzoo.runs import NOT_CURVES, RunDir, resolve_weights
from genzoo.trainer.checkpoints import Checkpoints, Session
from genzoo.trainer.compiling import check_compile, compiled, compiled_step
from genzoo.trainer.log import MetricsLog, Tally
from genzoo.trainer.stream import BatchStream, Streams

PREVIEW_IMAGES = 8


class TrainingError(GenzooError):
    """Training cannot go on (a non-finite loss); the last good checkpoint is kept."""

    exit_code = 3


class Interrupted(GenzooError):
    """SIGINT/SIGTERM: the current step finished, a checkpoint was saved."""

    exit_code = 130
    label = "stopped"


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    seconds: float
    images_per_second: float
    last_metrics: dict[str, float]
    main: bool = True
    """False on the processes other than rank 0 under torchrun, which write nothing (no summary to read)."""
    model: GenerativeModel | None = None
    """The trained model, in eval mode, with its trained weights (``genzoo.load(run_dir)`` gives it with the moving
    average of its weights where it keeps one: see ``average``)."""
    data: Domains | None = None
    """The data it was trained on (its held-out images are what a run's pictures and metrics show)."""
    average: WeightAverage | None = None
    """The moving average of the model's weights, for a model that keeps one (``with average.applied(model):``)."""


class Trainer:
    """Trains ``run.name`` as ``run`` says, writing everything to ``run_dir``.

    ``model`` and ``data`` may be given instead of being built from the run config and loaded (tests, benchmarks).
    """

    def __init__(
        self,
        run: RunConfig,
        run_dir: Path,
        *,
        resume: bool = False,
        progress: bool = True,
        model: GenerativeModel | None = None,
        data: Domains | None = None,
    ) -> None:
        self.run, self.dir, self.resume = run, RunDir(Path(run_dir)), resume
        self.world = distributed.world(run.train.device)
        self.show_progress = progress and self.world.main
        self.device = resolve_device(run.train.device)
        if self.world.active and self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", self.world.local_rank)  # one GPU per process
        self.dtype = resolve_precision(run.train.precision, self.device)
        if run.train.compile:
            check_compile(self.device)
        self._model, self._data = model, data
        self._stop_signal: int | None = None

    def fit(self) -> TrainResult:
        try:
            result = self._fit()
            distributed.barrier(self.world)  # the others wait for rank 0's final files, then all leave together
            return result
        finally:
            distributed.shutdown()

    # -- the run -------------------------------------------------------------------------------------------------------

    def _fit(self) -> TrainResult:
        seed_everything(self.run.train.seed)
        with TrainProgress(enabled=self.show_progress, notes=self.world.main) as ui:
            data = self._load_data(ui)
            session, start, total = self._begin(data, ui)
            previews = self._preview_batch(session.model, data)
            before = self.dir.metrics_at(start)  # a resumed run's last line: its time so far and losses
            seconds_before, last = float(before.get("seconds", 0.0)), _losses(before)
            began = time.perf_counter()
            ui.start(total, start)
            with (
                self._signals(),
                MetricsLog(
                    self.dir, enabled=self.world.main, tensorboard="tensorboard" in self.run.train.log, start=start
                ) as log,
                compiled(session.model, self.run.train.compile),
            ):
                last = self._train(session, start, total, previews, log, ui, began - seconds_before) or last
            this_session = time.perf_counter() - began
            if session.tally.skipped:
                ui.note(
                    f"{session.tally.skipped} step(s) with a non-finite loss or gradient were skipped "
                    "(train.on_nan=skip)"
                )
        model = session.model.eval()
        images = (total - start) * self.run.train.batch_size * self.world.size  # every process's images
        timing = {
            "seconds": round(seconds_before + this_session, 2),
            "seconds_this_session": round(this_session, 2),
            "steps_this_session": total - start,
            "images_per_second": round(images / max(this_session, 1e-9), 1),
        }
        if self.world.main:
            self._finish(session, total, timing, last)
        return TrainResult(
            self.dir.path,
            total,
            timing["seconds"],
            timing["images_per_second"],
            last,
            self.world.main,
            model,
            data,
            session.average,
        )

    def _train(
        self,
        s: Session,
        start: int,
        total: int,
        previews: Batch,
        log: MetricsLog,
        ui: TrainProgress,
        began: float,
    ) -> dict[str, float]:
        """Steps ``start`` to ``total``; returns the averages of the last logging window."""
        t, last = self.run.train, {}
        for step in range(start, total):
            s.ctx.begin(step)
            batch = s.streams.batch(s.model)
            stop = self._step(s, batch, step)
            done = step + 1
            if done % t.log_every == 0 or done == total:
                last = s.tally.close_window()
                self._log_line(s, done, last, log, time.perf_counter() - began)
                ui.losses(done, last)
            if self.world.main and (done % t.preview_every == 0 or done == total):
                log.image("preview", self._save_preview(s, previews, done), done)
            if done % t.checkpoint_every == 0 or done == total or stop:
                self.checkpoints.save(s, done)
            ui.advance(done)
            if stop:
                how = signal.Signals(self._stop_signal).name if self._stop_signal else "a signal"
                raise Interrupted(
                    f"Training stopped by {how} after step {done} of {total}; a checkpoint was saved. "
                    f"Continue with `genzoo train --resume {self.dir.path}`."
                )
        return last

    def _step(self, s: Session, batch: Batch, step: int) -> bool:
        """One training step of the model, then the schedulers; its loss terms join the tally unless one is not
        finite (the NaN guard). Returns whether to stop after this step (a signal arrived)."""
        kept = [b.detach().clone() for b in s.model.buffers()] if s.ctx.skip_nonfinite else None
        rate = s.average.rate() if s.average is not None else 1.0  # this step's LR, before the schedulers move it
        with compiled_step(self.run.train.compile):
            logs = s.model.train_step(batch, s.ctx)
        if s.ctx.scaler is not None:
            s.ctx.scaler.update()
        for scheduler in s.schedulers.values():
            scheduler.step()
        logs, stop = self._agree(logs)
        if self._counts(logs, step, s):
            s.tally.add(logs)
        elif kept is not None:  # a skipped step leaves BatchNorm statistics as they were, too
            for b, old in zip(s.model.buffers(), kept, strict=True):
                b.copy_(old)
        distributed.broadcast_tensors(s.model.buffers(), self.world)
        if s.average is not None and s.model.moves_averaged(step):
            s.average.update(s.model, step, rate)
        return stop

    # -- set-up --------------------------------------------------------------------------------------------------------

    def _load_data(self, ui: TrainProgress) -> Domains:
        """The data; under torchrun, rank 0 loads (and renders into the cache) first, then the others read it."""
        if self._data is not None:
            return self._data
        size = self.run.model.image_size
        if not self.world.main:
            distributed.barrier(self.world)
            return load_domains(self.run.data, size)
        data = load_domains(self.run.data, size, ui.data_progress)
        distributed.barrier(self.world)
        return data

    def _begin(self, data: Domains, ui: TrainProgress) -> tuple[Session, int, int]:
        """The model, its optimizers and the data streams, restored from the newest checkpoint of a resumed run;
        with the step to start at and the total."""
        t, w = self.run.train, self.world
        info = self._data_info(data)
        for split in (data.source, data.target):
            for note in split.train.skipped if split is not None else ():
                ui.note(f"{split.train.domain}: {note} (use --strict to stop at the first one)")
        self.run = self.run.model_copy(update={"model": self.run.model.adapt_to_data(info)})
        model = self._model or models.get(self.run.name).build(self.run.model)
        model.data_info = info
        if t.init_from is not None and not self.resume:  # fine-tuning: a resumed run has its own weights
            start_from = resolve_weights(t.init_from)
            load_weights(model, start_from.path, fine_tune=True)
            ui.note(f"starting from the weights of {t.init_from} (step {start_from.step} of {start_from.model})")
        self.memory_format = resolve_memory_format(t.memory_format, self.device, self.dtype, model.channels_last_on_cpu)
        model.to(self.device, memory_format=self.memory_format).train()
        distributed.broadcast_tensors([*model.parameters(), *model.buffers()], w)
        if w.active:
            seed_everything(t.seed + 1_000_003 * w.rank)  # each process its own noise (latents, dropout, pools)
        streams = Streams(*(self._stream(split, t.seed + i) for i, split in enumerate((data.source, data.target))))
        total = self._total_steps(streams.source)
        optimizers = model.configure_optimizers()
        schedulers = model.configure_schedulers(optimizers, total)
        ctx = StepContext(optimizers, self.device, self.dtype, total, w, skip_nonfinite=t.on_nan == "skip")
        average = None
        if model.averaged and model.average_decay > 0:
            average = WeightAverage(model, model.average_decay, optimizers if model.average_follows_lr else None)
        session = Session(model, ctx, schedulers, streams, Tally(), average)
        self.checkpoints = Checkpoints(self.run, self.dir, w, self.device)
        start = self.checkpoints.resume(session, ui) if self.resume else 0
        if not self.resume and self.dir.path.exists() and any(self.dir.path.iterdir()):
            raise GenzooError(
                f"{self.dir.path} already holds files. Choose another --out, or continue that run with "
                f"`genzoo train --resume {self.dir.path}`."
            )
        distributed.barrier(w)  # every process has checked the run folder before rank 0 writes to it
        if start > total or (start == total and self.dir.finished):
            raise GenzooError(
                f"{self.dir.path} is already at step {start}; to train on, resume with more steps "
                f"(e.g. `genzoo train --resume {self.dir.path} --steps {start + total}`)."
            )
        if w.main:
            self._write_config()
            self._log_session(start)
            if start < total and self.dir.finished:  # trained further: unfinished again until its new final weights
                self.dir.weights.unlink()
                ui.note(
                    f"training on from step {start} to {total}: until it finishes, {self.dir.path} is an unfinished "
                    f"run (its weights at step {start} are in {self.dir.checkpoint_path(start).name})"
                )
        return session, start, total

    def _stream(self, split: Any, seed: int) -> BatchStream | None:
        if split is None:
            return None
        w = self.world
        augment = self.run.data.augment
        return BatchStream(
            split.train, self.run.train.batch_size, seed, self.device, w.rank, w.size, augment, self.memory_format
        )

    def _total_steps(self, stream: BatchStream) -> int:
        t = self.run.train
        if t.steps is not None:
            return t.steps
        return max(1, math.ceil((t.epochs or 1.0) * stream.batches_per_epoch))

    def _data_info(self, data: Domains) -> dict[str, Any]:
        info: dict[str, Any] = {"domains": data.names, "data": self.run.data.model_dump(mode="json")}
        if data.source.train.schema:
            info["attributes"] = {k: list(v) for k, v in data.source.train.schema.items()}
        return info

    def _write_config(self) -> None:
        payload = {
            **self.run.to_json(),
            "genzoo_version": __version__,
            "torch_version": torch.__version__,
            "device": str(self.device),
            "precision": precision_name(self.dtype),
            "memory_format": layout_name(self.memory_format),
        }
        atomic_write(self.dir.config_file, json.dumps(payload, indent=2).encode())

    def _log_session(self, start: int) -> None:
        """Append this session to ``sessions.jsonl``: where it starts and what it runs on (a run resumed on another
        machine has a line per machine, so that its time can be told apart)."""
        line = {
            "step": start,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine_name(self.device),
            "cores": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "processes": self.world.size,
            "device": str(self.device),
            "precision": precision_name(self.dtype),
            "torch": torch.__version__,
            "genzoo": __version__,
        }
        with self.dir.sessions_file.open("a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")

    # -- the loop's helpers --------------------------------------------------------------------------------------------

    def _agree(self, logs: dict[str, Tensor]) -> tuple[dict[str, Tensor], bool]:
        """The step's loss terms (averaged over the processes under torchrun) and whether to stop after it (a
        signal reached some process): the same on every process, so all take the same decisions."""
        if not self.world.active:
            return logs, self._stop_signal is not None
        flag = torch.tensor([float(self._stop_signal is not None)], device=self.device)
        flat = torch.cat([torch.stack([v.detach().float().reshape(()) for v in logs.values()]), flag])
        flat = distributed.sum_over_ranks(flat, self.world)
        return {k: flat[i] / self.world.size for i, k in enumerate(logs)}, bool(flat[-1] > 0)

    def _counts(self, logs: dict[str, Tensor], step: int, s: Session) -> bool:
        """Whether the step counts. A non-finite loss term stops training (``train.on_nan=stop``); with
        ``on_nan=skip`` the step's update is left out and counted, until ``skip_limit`` steps in a row were bad."""
        values = torch.stack([v.detach().float().reshape(()) for v in logs.values()])
        if bool(torch.isfinite(values).all()) and not s.ctx.skipped:
            return True
        bad = [k for k, v in zip(logs, values.tolist(), strict=True) if not math.isfinite(v)] or ["a gradient"]
        kept = self.dir.checkpoint_files()
        where = f"the last good checkpoint is {kept[-1]}" if kept else "no checkpoint had been saved yet"
        advice = "Lower the learning rate (e.g. `--set lr=…`) or try `--set train.precision=fp32`."
        t = self.run.train
        if t.on_nan == "stop":
            raise TrainingError(
                f"Training diverged at step {step + 1}: the loss term(s) {', '.join(bad)} became non-finite (NaN or "
                f"inf); {where}. {advice} To skip such steps instead, use `--set train.on_nan=skip`."
            )
        s.tally.skip()
        if s.tally.bad_in_a_row >= t.skip_limit:
            raise TrainingError(
                f"Training diverged: {s.tally.bad_in_a_row} steps in a row up to step {step + 1} were skipped because "
                f"{', '.join(bad)} was non-finite (train.skip_limit={t.skip_limit}); {where}. {advice}"
            )
        return False

    def _log_line(self, s: Session, step: int, averages: dict[str, float], log: MetricsLog, seconds: float) -> None:
        line = {
            "step": step,
            "epoch": s.streams.source.epoch,
            **averages,
            "seconds": round(seconds, 3),
            "lr": {k: o.param_groups[0]["lr"] for k, o in s.ctx.optimizers.items()},
        }
        if s.ctx.skip_nonfinite:
            line["skipped_steps"] = s.tally.skipped
        log.write(line)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """On SIGINT/SIGTERM, finish the current step, save, and stop (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: object) -> None:
            self._stop_signal = signum

        old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in old.items():
                signal.signal(s, h)

    def _preview_batch(self, model: GenerativeModel, data: Domains) -> Batch:
        """The first held-out images, the same at every preview."""
        n = min(PREVIEW_IMAGES, len(data.source.heldout))

        def images(split: Any) -> Tensor:
            return model.from_unit(image_tensor(split.heldout.images[:n], self.device))

        attrs = data.source.heldout.attributes
        return Batch(
            images(data.source),
            images(data.target) if data.target is not None else None,
            None if attrs is None else torch.from_numpy(attrs[:n]).to(self.device),
        )

    def _save_preview(self, s: Session, batch: Batch, step: int) -> Path | None:
        """The model's preview rows of the fixed held-out ``batch``, drawn with the averaged weights if it has them."""
        s.model.eval()
        with s.average.applied(s.model) if s.average is not None else nullcontext():
            rows = s.model.preview(batch, torch.Generator().manual_seed(self.run.train.seed))
        s.model.train()
        return save_grid(rows, self.dir.previews / f"step-{step:07d}.png") if rows else None

    # -- the end -------------------------------------------------------------------------------------------------------

    def _finish(self, s: Session, total: int, timing: dict[str, float], last: dict[str, float]) -> None:
        """The final weights (whose presence marks the run finished) and ``summary.json``."""
        self.checkpoints.write(self.dir.weights, s, total)
        summary: dict[str, Any] = {
            "steps": total,
            **timing,
            "processes": self.world.size,
            "device": str(self.device),
            "precision": precision_name(self.dtype),
            "memory_format": layout_name(self.memory_format),
            "final_losses": last,
        }
        if self.run.train.on_nan == "skip":
            summary["skipped_steps"] = s.tally.skipped
        write_json(self.dir.summary_file, summary)


def _losses(line: dict[str, Any]) -> dict[str, float]:
    """The loss terms of a ``metrics.jsonl`` line."""
    return {k: v for k, v in line.items() if k not in NOT_CURVES}

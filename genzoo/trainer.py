"""The one Trainer, for every family.

The model owns its training step (``GenerativeModel.train_step``); the Trainer owns everything around it: device and
precision, seeding, the data stream, LR schedules, the NaN guard, logging to ``metrics.jsonl``, preview grids,
checkpoints, exact resume, the progress bar and the final artefacts. Read ``_fit`` from top to bottom to see a whole
run.

Exact resume: the data order of epoch *e* is a permutation drawn from ``seed`` and *e* alone, so the data position
is just (epoch, offset); the RNG state, optimizers, schedulers, gradient scaler, the model's extra state, the NaN
counters and the partial logging window are saved in every checkpoint, so a run resumed from any checkpoint (a
periodic one, or the one written on SIGINT/SIGTERM) ends with the same weights and writes the same metrics as an
uninterrupted one.

Under torchrun every process runs this same loop on its share of each batch (see ``genzoo.distributed``); rank 0
alone writes files and draws the progress bar.
"""

from __future__ import annotations

import json
import math
import signal
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from genzoo import checkpoint, distributed
from genzoo.config import RunConfig
from genzoo.data.core import ImageSet, Progress, Split, load_data
from genzoo.distributed import World
from genzoo.errors import CheckpointError, GenzooError
from genzoo.models.base import Batch, GenerativeModel, image_tensor
from genzoo.runs import RunDir

if TYPE_CHECKING:
    from genzoo.report.progress import TrainProgress
    from genzoo.report.tensorboard import TensorBoard


class TrainingError(GenzooError):
    """Training cannot go on (a non-finite loss); the last good checkpoint is kept."""

    exit_code = 3


class Interrupted(GenzooError):
    """SIGINT/SIGTERM: the current step finished, a checkpoint was saved."""

    exit_code = 130
    label = "stopped"


# ---- devices and precision ------------------------------------------------------------------------------------------


def resolve_device(name: str) -> torch.device:
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


def precision_name(dtype: torch.dtype | None) -> str:
    """The config spelling of an autocast dtype: bf16, fp16, or fp32 for none."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(dtype, "fp32") if dtype is not None else "fp32"


def seed_everything(seed: int) -> None:
    import random

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# ---- the step context ----------------------------------------------------------------------------------------------


class StepContext:
    """What a model's ``train_step`` uses to run its step under the Trainer's precision and optimizers.

    Under torchrun, ``step`` first averages the optimizer's gradients over the processes. With ``skip_nonfinite``
    it leaves out an optimizer step whose gradients hold a NaN or an infinity (and sets ``skipped``).
    """

    def __init__(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        device: torch.device,
        dtype: torch.dtype | None,
        total_steps: int,
        world: World | None = None,
        skip_nonfinite: bool = False,
    ) -> None:
        self.optimizers = optimizers
        self.device = device
        self.dtype = dtype
        self.total_steps = total_steps
        self.world = world or World()
        self.skip_nonfinite = skip_nonfinite
        self.global_step = 0
        self.skipped = False
        self.scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None

    def begin(self, step: int) -> None:
        self.global_step, self.skipped = step, False

    def autocast(self) -> AbstractContextManager[Any]:
        """The mixed-precision region for forward passes (a no-op in fp32)."""
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def backward(self, loss: Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, name: str) -> None:
        """Step the optimizer called ``name`` on its accumulated gradients, then clear them."""
        opt = self.optimizers[name]
        params = [p for group in opt.param_groups for p in group["params"]]
        distributed.average_gradients(params, self.world)
        if self.scaler is not None:  # it skips steps with non-finite gradients itself, lowering its scale
            self.scaler.step(opt)
        elif self.skip_nonfinite and not _finite_gradients(params):
            self.skipped = True
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def zero_grad(self, name: str) -> None:
        """Drop gradients that another network's loss left on ``name``'s parameters."""
        self.optimizers[name].zero_grad(set_to_none=True)


def _finite_gradients(params: list[Tensor]) -> bool:
    grads = [p.grad for p in params if p.grad is not None]
    return not grads or bool(torch.isfinite(torch.stack(torch._foreach_norm(grads, float("inf")))).all())


# ---- the data stream -------------------------------------------------------------------------------------------------


class BatchStream:
    """Batches of one image set, on the device: epoch *e*'s order depends on (seed, e) only; the last partial
    batch of an epoch is dropped. ``position`` is (epoch, offset) and can be set to resume exactly.

    Under torchrun it is also the distributed sampler: a step takes ``world × batch_size`` images of the epoch's
    order, and rank *r* trains on the *r*-th share of them, so the ranks see disjoint images and together the
    whole epoch. The position counts images of the global order, so it is the same on every rank."""

    def __init__(
        self, images: ImageSet, batch_size: int, seed: int, device: torch.device, rank: int = 0, world: int = 1
    ) -> None:
        if len(images) < batch_size * world:
            processes = f" × {world} processes" if world > 1 else ""
            raise GenzooError(
                f"The data set {images.domain!r} has {len(images)} training images, fewer than the batch size "
                f"{batch_size}{processes}. Lower it with `--set batch_size={max(1, len(images) // world)}` or add "
                "images."
            )
        # uint8, contiguous NCHW: a channels-last batch would make CPU convolutions several times slower
        self.images = torch.from_numpy(images.images).to(device).permute(0, 3, 1, 2).contiguous()
        self.attrs = None if images.attributes is None else torch.from_numpy(images.attributes).to(device)
        self.batch_size, self.seed, self.device, self.rank, self.world = batch_size, seed, device, rank, world
        self.epoch, self.offset = 0, 0
        self._order = self._permutation(0)

    @property
    def batches_per_epoch(self) -> int:
        return len(self.images) // (self.batch_size * self.world)

    def _permutation(self, epoch: int) -> Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.images), generator=g).to(self.device)

    def seek(self, epoch: int, offset: int) -> None:
        self.epoch, self.offset = epoch, offset
        self._order = self._permutation(epoch)

    def next(self) -> tuple[Tensor, Tensor | None]:
        """This rank's images of the next step as float in [0, 1] (NCHW), and their attribute codes."""
        step = self.batch_size * self.world
        if self.offset + step > len(self.images):
            self.seek(self.epoch + 1, 0)
        first = self.offset + self.rank * self.batch_size
        idx = self._order[first : first + self.batch_size]
        self.offset += step
        x = self.images[idx].float().div_(255)
        return x, (None if self.attrs is None else self.attrs[idx])


def to_model(model: GenerativeModel, images: np.ndarray, device: torch.device) -> Tensor:
    """uint8 ``(N, H, W, 3)`` images as float NCHW in the model's pixel range, on ``device``."""
    return model.from_unit(image_tensor(images, device))


# ---- the trainer -----------------------------------------------------------------------------------------------------


@dataclass
class Session:
    """What a run trains with: the model, its step context (optimizers, scaler), LR schedulers and batch streams.
    Everything in it, and the Trainer's counters, is what a checkpoint saves and a resume restores."""

    model: GenerativeModel
    ctx: StepContext
    schedulers: dict[str, Any]
    streams: dict[str, BatchStream]


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    seconds: float
    images_per_second: float
    last_metrics: dict[str, float]
    main: bool = True
    """False on the processes other than rank 0 under torchrun, which write nothing (no summary to read)."""


class Trainer:
    """Trains ``run.name`` as ``run`` says, writing everything to ``run_dir``."""

    def __init__(
        self,
        run: RunConfig,
        run_dir: Path,
        *,
        resume: bool = False,
        progress: bool = True,
        model: GenerativeModel | None = None,
        data: dict[str, Split] | None = None,
    ) -> None:
        self.run, self.dir, self.resume = run, RunDir(Path(run_dir)), resume
        self.world = distributed.world(run.train.device)
        self.show_progress = progress and self.world.main
        self.device = resolve_device(run.train.device)
        if self.world.active and self.device.type == "cuda" and self.device.index is None:
            self.device = torch.device("cuda", self.world.local_rank)  # one GPU per process
        self.dtype = resolve_precision(run.train.precision, self.device)
        self._model, self._data = model, data
        self._stop_signal: int | None = None
        self.skipped_steps, self._bad_in_a_row = 0, 0
        self._sums: dict[str, Tensor] = {}  # loss terms summed since the last metrics line, over ``_window`` steps
        self._window = 0

    # -- set-up ---------------------------------------------------------------------------------------------------

    def load_data(self, progress: Progress | None = None) -> dict[str, Split]:
        """The source data set and, for translators (``data.to``), the target one."""
        size = self.run.model.image_size
        data = {"x": load_data(self.run.data, size, progress=progress)}
        if self.run.data.to is not None:
            data["y"] = load_data(self.run.data, size, domain=self.run.data.to, progress=progress)
        return data

    def total_steps(self, stream: BatchStream) -> int:
        t = self.run.train
        if t.steps is not None:
            return t.steps
        return max(1, math.ceil((t.epochs or 1.0) * stream.batches_per_epoch))

    def _data_info(self, data: dict[str, Split]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "domains": [data["x"].train.domain] + ([data["y"].train.domain] if "y" in data else []),
            "data": self.run.data.model_dump(mode="json"),
        }
        if data["x"].train.schema:
            info["attributes"] = {k: list(v) for k, v in data["x"].train.schema.items()}
        return info

    # -- the run ----------------------------------------------------------------------------------------------------

    def fit(self) -> TrainResult:
        try:
            result = self._fit()
            distributed.barrier(self.world)  # the others wait for rank 0's final artefacts, then all leave together
            return result
        finally:
            distributed.shutdown()

    def _fit(self) -> TrainResult:
        from genzoo.api import create
        from genzoo.report.progress import TrainProgress

        t, w, main = self.run.train, self.world, self.world.main
        seed_everything(t.seed)
        with TrainProgress(enabled=self.show_progress, notes=main) as ui:
            data = self._load_data_once(ui)
            info = self._data_info(data)
            for split in data.values():
                for note in split.train.skipped:
                    ui.note(f"{split.train.domain}: {note} (use --strict to stop at the first one)")
            self.run = self.run.model_copy(update={"model": self.run.model.adapt_to_data(info)})
            model = self._model or create(self.run.name, self.run.model)
            model.data_info = info
            model.to(self.device).train()
            distributed.broadcast_tensors([*model.parameters(), *model.buffers()], w)
            if w.active:
                seed_everything(t.seed + 1_000_003 * w.rank)  # each process its own noise (latents, dropout, pools)
            streams = {
                k: BatchStream(split.train, t.batch_size, t.seed + i, self.device, w.rank, w.size)
                for i, (k, split) in enumerate(sorted(data.items()))
            }
            total = self.total_steps(streams["x"])
            optimizers = model.configure_optimizers()
            schedulers = model.configure_schedulers(optimizers, total)
            ctx = StepContext(optimizers, self.device, self.dtype, total, w, skip_nonfinite=t.on_nan == "skip")
            session = Session(model, ctx, schedulers, streams)
            start = self._start(session, ui)
            distributed.barrier(w)  # every process has checked the run folder before rank 0 writes to it
            if start > total or (start == total and self.dir.finished):
                raise GenzooError(
                    f"{self.dir.path} is already at step {start}; to train on, resume with more steps "
                    f"(e.g. `genzoo train --resume {self.dir.path} --steps {start + total}`)."
                )
            fixed = self._preview_batch(model, data)
            if main:
                self._write_config()
            log_file = self.dir.metrics_file.open("a") if main else None
            board = self._board(start) if main else None
            last = self._last_logged(start)  # what the summary reports when no step is left (final files only)
            began = time.perf_counter() - self._seconds_before(start)  # "seconds" in metrics counts the whole run
            session_began = time.perf_counter()
            ui.start(total, start)
            with log_file or nullcontext(), self._signals(), closing(board) if board else nullcontext():
                for step in range(start, total):
                    ctx.begin(step)
                    batch = self._batch(model, streams)
                    kept = [b.detach().clone() for b in model.buffers()] if ctx.skip_nonfinite else None
                    logs = model.train_step(batch, ctx)
                    if ctx.scaler is not None:
                        ctx.scaler.update()
                    for s in schedulers.values():
                        s.step()
                    logs, stop = self._agree(logs)
                    if self._counts(logs, step, ctx):
                        for k, v in logs.items():
                            self._sums[k] = self._sums[k] + v if k in self._sums else v.float().clone()
                        self._window += 1
                    elif kept is not None:  # a skipped step leaves BatchNorm statistics as they were, too
                        for b, old in zip(model.buffers(), kept, strict=True):
                            b.copy_(old)
                    distributed.broadcast_tensors(model.buffers(), w)
                    done = step + 1
                    if done % t.log_every == 0 or done == total:
                        last = {k: float(v) / self._window for k, v in self._sums.items()}
                        line = {
                            "step": done,
                            "epoch": streams["x"].epoch,
                            **last,
                            "seconds": round(time.perf_counter() - began, 3),
                            "lr": {k: o.param_groups[0]["lr"] for k, o in optimizers.items()},
                        }
                        if ctx.skip_nonfinite:
                            line["skipped_steps"] = self.skipped_steps
                        if log_file:
                            log_file.write(json.dumps(line) + "\n")
                            log_file.flush()
                        if board:
                            board.scalars(line)
                        self._sums, self._window = {}, 0
                        ui.losses(done, last)
                    if main and (done % t.preview_every == 0 or done == total):
                        preview = self._save_preview(model, fixed, done)
                        if board and preview:
                            board.image("preview", preview, done)
                    if done % t.checkpoint_every == 0 or done == total or stop:
                        self.save_checkpoint(session, done)
                    ui.advance(done)
                    if stop:
                        how = signal.Signals(self._stop_signal).name if self._stop_signal else "a signal"
                        raise Interrupted(
                            f"Training stopped by {how} after step {done} of {total}; a checkpoint was saved. "
                            f"Continue with `genzoo train --resume {self.dir.path}`."
                        )
            seconds, this_session = time.perf_counter() - began, time.perf_counter() - session_began
            if self.skipped_steps:
                ui.note(
                    f"{self.skipped_steps} step(s) with a non-finite loss or gradient were skipped (train.on_nan=skip)"
                )
        model.eval()
        speed = (total - start) * t.batch_size * w.size / max(this_session, 1e-9)  # every process's images
        timing = {
            "seconds": round(seconds, 2),
            "seconds_this_session": round(this_session, 2),
            "steps_this_session": total - start,
            "images_per_second": round(speed, 1),
        }
        if main:
            self._finish(model, data, total, timing, last)
        return TrainResult(self.dir.path, total, seconds, speed, last, main)

    def _load_data_once(self, ui: TrainProgress) -> dict[str, Split]:
        """The data; under torchrun, rank 0 loads (and renders into the cache) first, then the others read it."""
        if self._data is not None:
            return self._data
        if not self.world.main:
            distributed.barrier(self.world)
            return self.load_data()
        data = self.load_data(ui.data_progress)
        distributed.barrier(self.world)
        return data

    def _agree(self, logs: dict[str, Tensor]) -> tuple[dict[str, Tensor], bool]:
        """The step's loss terms (averaged over the processes under torchrun) and whether to stop after it (a
        signal reached some process): the same on every process, so all take the same decisions."""
        if not self.world.active:
            return logs, self._stop_signal is not None
        flag = torch.tensor([float(self._stop_signal is not None)], device=self.device)
        flat = torch.cat([torch.stack([v.detach().float().reshape(()) for v in logs.values()]), flag])
        flat = distributed.sum_over_ranks(flat, self.world)
        return {k: flat[i] / self.world.size for i, k in enumerate(logs)}, bool(flat[-1] > 0)

    def _batch(self, model: GenerativeModel, streams: dict[str, BatchStream]) -> Batch:
        x, attrs = streams["x"].next()
        y = model.from_unit(streams["y"].next()[0]) if "y" in streams else None
        return Batch(model.from_unit(x), y, attrs)

    def _counts(self, logs: dict[str, Tensor], step: int, ctx: StepContext) -> bool:
        """Whether the step counts. A non-finite loss term stops training (``train.on_nan=stop``); with
        ``on_nan=skip`` the step's update is left out and counted, until ``skip_limit`` steps in a row were bad."""
        values = torch.stack([v.detach().float().reshape(()) for v in logs.values()])
        if bool(torch.isfinite(values).all()) and not ctx.skipped:
            self._bad_in_a_row = 0
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
        self.skipped_steps += 1
        self._bad_in_a_row += 1
        if self._bad_in_a_row >= t.skip_limit:
            raise TrainingError(
                f"Training diverged: {self._bad_in_a_row} steps in a row up to step {step + 1} were skipped because "
                f"{', '.join(bad)} was non-finite (train.skip_limit={t.skip_limit}); {where}. {advice}"
            )
        return False

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """On SIGINT/SIGTERM, finish the current step, save, and stop (main thread only)."""
        import threading

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

    # -- checkpoints -------------------------------------------------------------------------------------------------

    def _state(self, s: Session) -> dict[str, Any] | None:
        """Everything a resumed run needs, on rank 0 (None on the others). Under torchrun, the RNG and the model's
        extra state (e.g. an image pool) differ between the processes: ``ranks`` holds each process's."""
        own = {"rng": self._rng_state(), "model": s.model.extra_state()}
        ranks = distributed.gather(own, self.world)  # every process takes part
        if ranks is None:
            return None
        state = {
            "optimizers": {k: o.state_dict() for k, o in s.ctx.optimizers.items()},
            "schedulers": {k: sched.state_dict() for k, sched in s.schedulers.items()},
            "scaler": s.ctx.scaler.state_dict() if s.ctx.scaler is not None else None,
            "data": {k: [stream.epoch, stream.offset] for k, stream in s.streams.items()},
            "skipped": [self.skipped_steps, self._bad_in_a_row],
            "window": {"sums": dict(self._sums), "steps": self._window},
        }
        return {**state, "ranks": ranks} if self.world.active else {**state, **ranks[0]}

    def _rng_state(self) -> dict[str, Any]:
        cuda = [torch.cuda.get_rng_state(self.device)] if self.device.type == "cuda" else []
        return {"torch": torch.get_rng_state(), "cuda": cuda}

    def _set_rng_state(self, rng: dict[str, Any]) -> None:
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"][0], self.device)

    def save_checkpoint(self, session: Session, step: int) -> Path | None:
        """Write a resumable checkpoint (rank 0; every process must call it) and drop the oldest beyond
        ``keep_checkpoints``. The new file is complete before an old one is removed."""
        state = self._state(session)
        if state is None:
            return None
        path = self._write(self.dir.checkpoint_path(step), session.model, step, state)
        for old in self.dir.checkpoint_files()[: -self.run.train.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def _write(self, path: Path, model: GenerativeModel, step: int, state: dict[str, Any] | None = None) -> Path:
        """A self-describing checkpoint of ``model`` at ``step`` (resumable when ``state`` is given)."""
        return checkpoint.save(
            path,
            model_name=self.run.name,
            config=self.run.model.model_dump(mode="json"),
            weights=model.state_dict(),
            step=step,
            run=self.run.to_json(),
            extra=model.data_info,
            state=state,
        )

    def _start(self, session: Session, ui: TrainProgress) -> int:
        """0 for a new run; for a resumed one, restore the newest readable checkpoint and return its step. An
        unreadable newer checkpoint (cut short by a crash, corrupted on disk) is named, and the one before used."""
        if not self.resume:
            if self.dir.path.exists() and any(self.dir.path.iterdir()):
                raise GenzooError(
                    f"{self.dir.path} already holds files. Choose another --out, or continue that run with "
                    f"`genzoo train --resume {self.dir.path}`."
                )
            return 0
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
                self._truncate_metrics(info.step)
                for partial in self.dir.path.rglob(".*.tmp"):
                    partial.unlink(missing_ok=True)  # a write cut short by a crash (see checkpoint.atomic_write)
            return info.step
        why = f" ({'; '.join(problems)})" if problems else ""
        raise GenzooError(
            f"Cannot resume {self.dir.path}: it has no readable checkpoint{why}. Start a new run instead."
        )

    def _check_belongs(self, info: checkpoint.CheckpointInfo) -> None:
        """Refuse a checkpoint of another model or config (one copied over from another run, say) before loading it."""
        from genzoo.config import config_diff

        # a field the file lacks was added to genzoo after it was written: it has its default, not another value
        diff = [d for d in config_diff(info.config, self.run.model.model_dump(mode="json")) if d[1] is not None]
        if info.model != self.run.name:
            what = f"weights of {info.model}, not of {self.run.name}"
        elif diff:
            what = "a config other than the run's: " + "; ".join(f"{k} (file: {a!r}, run: {b!r})" for k, a, b in diff)
        else:
            return
        raise CheckpointError(
            f"Cannot resume {self.dir.path}: its checkpoint {info.path} holds {what}. It does not belong to this run: "
            f"move it out of {self.dir.checkpoints} and resume again."
        )

    def _restore(
        self, s: Session, weights: dict[str, Tensor], state: dict[str, Any], step: int, ui: TrainProgress
    ) -> None:
        s.model.load_state_dict(weights)
        for k, o in s.ctx.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, sched in s.schedulers.items():
            sched.load_state_dict(state["schedulers"][k])
        if s.ctx.scaler is not None and state["scaler"] is not None:
            s.ctx.scaler.load_state_dict(state["scaler"])
        for k, (epoch, offset) in state["data"].items():
            s.streams[k].seek(epoch, offset)
        self.skipped_steps, self._bad_in_a_row = state.get("skipped", [0, 0])
        window = state.get("window", {"sums": {}, "steps": 0})
        self._sums = {k: v.to(self.device) for k, v in window["sums"].items()}
        self._window = window["steps"]
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

    def _logged_before(self, step: int) -> dict[str, Any]:
        """The last metrics line at or before ``step`` of a resumed run ({} for a new one)."""
        lines = [m for m in self.dir.read_metrics() if m["step"] <= step] if step else []
        return lines[-1] if lines else {}

    def _last_logged(self, step: int) -> dict[str, float]:
        from genzoo.report.curves import NOT_CURVES

        return {k: v for k, v in self._logged_before(step).items() if k not in NOT_CURVES}

    def _seconds_before(self, step: int) -> float:
        """Training time already spent before ``step`` (0 for a new run), from the metrics of a resumed run."""
        return float(self._logged_before(step).get("seconds", 0.0))

    def _truncate_metrics(self, step: int) -> None:
        """Drop metric lines written after the checkpoint being resumed, so that the log has no duplicates."""
        lines = [m for m in self.dir.read_metrics() if m["step"] <= step]
        checkpoint.atomic_write(self.dir.metrics_file, "".join(json.dumps(m) + "\n" for m in lines).encode())

    def _write_config(self) -> None:
        from genzoo._version import __version__

        payload = {
            **self.run.to_json(),
            "genzoo_version": __version__,
            "torch_version": torch.__version__,
            "device": str(self.device),
            "precision": precision_name(self.dtype),
        }
        checkpoint.atomic_write(self.dir.config_file, json.dumps(payload, indent=2).encode())

    # -- previews and final artefacts -------------------------------------------------------------------------------

    def _preview_batch(self, model: GenerativeModel, data: dict[str, Split]) -> Batch:
        n = min(8, len(data["x"].heldout))
        x = to_model(model, data["x"].heldout.images[:n], self.device)
        y = to_model(model, data["y"].heldout.images[:n], self.device) if "y" in data else None
        attrs = data["x"].heldout.attributes
        return Batch(x, y, None if attrs is None else torch.from_numpy(attrs[:n]).to(self.device))

    def _save_preview(self, model: GenerativeModel, batch: Batch, step: int) -> Path | None:
        from genzoo.report.images import save_grid

        model.eval()
        rows = model.preview(batch, torch.Generator().manual_seed(self.run.train.seed))
        model.train()
        return save_grid(rows, self.dir.previews / f"step-{step:07d}.png") if rows else None

    def _board(self, start: int) -> TensorBoard | None:
        """The TensorBoard writer when ``train.log`` asks for one; a run resumed at ``start`` drops the events that
        an interrupted session logged after that step."""
        if "tensorboard" not in self.run.train.log:
            return None
        from genzoo.report.tensorboard import TensorBoard

        return TensorBoard(self.dir.path / "tensorboard", purge_step=start + 1 if start else None)

    def _finish(
        self,
        model: GenerativeModel,
        data: dict[str, Split],
        total: int,
        timing: dict[str, float],
        last: dict[str, float],
    ) -> None:
        from genzoo.report.artefacts import write_run_artefacts

        self._write(self.dir.weights, model, total)
        summary = {
            "steps": total,
            **timing,
            "processes": self.world.size,
            "device": str(self.device),
            "precision": precision_name(self.dtype),
            "final_losses": last,
        }
        if self.run.train.on_nan == "skip":
            summary["skipped_steps"] = self.skipped_steps
        summary.update(write_run_artefacts(model, data, self.dir, seed=self.run.train.seed))
        checkpoint.atomic_write(self.dir.summary_file, json.dumps(summary, indent=2).encode())
        self._write_report(model, data)

    def _write_report(self, model: GenerativeModel, data: dict[str, Split]) -> None:
        """``report.html``, last: the run is complete without it, so a failure here is a warning, not an error."""
        from genzoo.report.html import write_report

        try:
            write_report(self.dir.path, model=model, heldout=data["x"].heldout)
        except Exception as exc:
            from rich.console import Console
            from rich.markup import escape

            Console(stderr=True).print(
                "[yellow]warning:[/] "
                + escape(
                    f"the run finished and is saved, but its report.html could not be written "
                    f"({type(exc).__name__}: {exc}). Write it later with `genzoo report {self.dir.path}`."
                ),
                highlight=False,
            )

"""The one Trainer, for every family.

The model owns its training step (``GenerativeModel.train_step``); the Trainer owns everything around it: device and
precision, seeding, the data stream, LR schedules, the NaN guard, logging to ``metrics.jsonl``, preview grids,
checkpoints, exact resume, the progress bar and the final artefacts. Read ``fit`` from top to bottom to see a whole
run.

Exact resume: the data order of epoch *e* is a permutation drawn from ``seed`` and *e* alone, so the data position
is just (epoch, offset); the RNG state, optimizers, schedulers, gradient scaler and the model's extra state are
saved in every checkpoint. Checkpoints are written at multiples of ``checkpoint_every``, which is also where logging
windows restart when ``log_every`` divides it, so a resumed run writes the same metrics as an uninterrupted one.
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

from genzoo import checkpoint
from genzoo.config import RunConfig
from genzoo.data.core import ImageSet, Progress, Split, load_data
from genzoo.errors import GenzooError
from genzoo.models.base import Batch, GenerativeModel, image_tensor
from genzoo.runs import RunDir

if TYPE_CHECKING:
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
    """What a model's ``train_step`` uses to run its step under the Trainer's precision and optimizers."""

    def __init__(
        self,
        optimizers: dict[str, torch.optim.Optimizer],
        device: torch.device,
        dtype: torch.dtype | None,
        total_steps: int,
    ) -> None:
        self.optimizers = optimizers
        self.device = device
        self.dtype = dtype
        self.total_steps = total_steps
        self.global_step = 0
        self.scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None

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
        if self.scaler is not None:
            self.scaler.step(opt)
        else:
            opt.step()
        opt.zero_grad(set_to_none=True)

    def zero_grad(self, name: str) -> None:
        """Drop gradients that another network's loss left on ``name``'s parameters."""
        self.optimizers[name].zero_grad(set_to_none=True)


# ---- the data stream -------------------------------------------------------------------------------------------------


class BatchStream:
    """Batches of one image set, on the device: epoch *e*'s order depends on (seed, e) only; the last partial
    batch of an epoch is dropped. ``position`` is (epoch, offset) and can be set to resume exactly."""

    def __init__(self, images: ImageSet, batch_size: int, seed: int, device: torch.device) -> None:
        if len(images) < batch_size:
            raise GenzooError(
                f"The data set {images.domain!r} has {len(images)} training images, fewer than the batch size "
                f"{batch_size}. Lower it with `--set batch_size={max(1, len(images))}` or add images."
            )
        # uint8, contiguous NCHW: a channels-last batch would make CPU convolutions several times slower
        self.images = torch.from_numpy(images.images).to(device).permute(0, 3, 1, 2).contiguous()
        self.attrs = None if images.attributes is None else torch.from_numpy(images.attributes).to(device)
        self.batch_size, self.seed, self.device = batch_size, seed, device
        self.epoch, self.offset = 0, 0
        self._order = self._permutation(0)

    @property
    def batches_per_epoch(self) -> int:
        return len(self.images) // self.batch_size

    def _permutation(self, epoch: int) -> Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.images), generator=g).to(self.device)

    def seek(self, epoch: int, offset: int) -> None:
        self.epoch, self.offset = epoch, offset
        self._order = self._permutation(epoch)

    def next(self) -> tuple[Tensor, Tensor | None]:
        """Indices' images as float in [0, 1] (NCHW), and their attribute codes."""
        if self.offset + self.batch_size > len(self.images):
            self.seek(self.epoch + 1, 0)
        idx = self._order[self.offset : self.offset + self.batch_size]
        self.offset += self.batch_size
        x = self.images[idx].float().div_(255)
        return x, (None if self.attrs is None else self.attrs[idx])


def to_model(model: GenerativeModel, images: np.ndarray, device: torch.device) -> Tensor:
    """uint8 ``(N, H, W, 3)`` images as float NCHW in the model's pixel range, on ``device``."""
    return model.from_unit(image_tensor(images, device))


# ---- the trainer -----------------------------------------------------------------------------------------------------


@dataclass
class TrainResult:
    run_dir: Path
    steps: int
    seconds: float
    images_per_second: float
    last_metrics: dict[str, float]


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
        self.run, self.dir, self.resume, self.show_progress = run, RunDir(Path(run_dir)), resume, progress
        self.device = resolve_device(run.train.device)
        self.dtype = resolve_precision(run.train.precision, self.device)
        self._model, self._data = model, data
        self._stop_signal: int | None = None

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
        from genzoo.api import create
        from genzoo.report.progress import TrainProgress

        t = self.run.train
        seed_everything(t.seed)
        with TrainProgress(enabled=self.show_progress) as ui:
            data = self._data or self.load_data(ui.data_progress)
            info = self._data_info(data)
            for split in data.values():
                for note in split.train.skipped:
                    ui.note(f"{split.train.domain}: {note} (use --strict to stop at the first one)")
            self.run = self.run.model_copy(update={"model": self.run.model.adapt_to_data(info)})
            model = self._model or create(self.run.name, self.run.model)
            model.data_info = info
            model.to(self.device).train()
            streams = {
                k: BatchStream(split.train, t.batch_size, t.seed + i, self.device)
                for i, (k, split) in enumerate(sorted(data.items()))
            }
            total = self.total_steps(streams["x"])
            optimizers = model.configure_optimizers()
            schedulers = model.configure_schedulers(optimizers, total)
            ctx = StepContext(optimizers, self.device, self.dtype, total)
            start = self._start(model, ctx, schedulers, streams)
            if start >= total:
                raise GenzooError(
                    f"{self.dir.path} is already at step {start}; to train on, resume with more steps "
                    f"(e.g. `genzoo train --resume {self.dir.path} --steps {start + total}`)."
                )
            fixed = self._preview_batch(model, data)
            self._write_config()
            metrics = self.dir.metrics_file.open("a")
            board = self._board(start)
            sums: dict[str, Tensor] = {}
            window, last = 0, {}
            began = time.perf_counter() - self._seconds_before(start)  # "seconds" in metrics counts the whole run
            ui.start(total, start)
            with metrics, self._signals(), closing(board) if board else nullcontext():
                for step in range(start, total):
                    ctx.global_step = step
                    batch = self._batch(model, streams)
                    logs = model.train_step(batch, ctx)
                    if ctx.scaler is not None:
                        ctx.scaler.update()
                    for s in schedulers.values():
                        s.step()
                    self._guard(logs, step, model, ctx, schedulers, streams)
                    for k, v in logs.items():
                        sums[k] = sums[k] + v if k in sums else v.float().clone()
                    window += 1
                    done = step + 1
                    if done % t.log_every == 0 or done == total:
                        last = {k: float(v) / window for k, v in sums.items()}
                        line = {
                            "step": done,
                            "epoch": streams["x"].epoch,
                            **last,
                            "seconds": round(time.perf_counter() - began, 3),
                            "lr": {k: o.param_groups[0]["lr"] for k, o in optimizers.items()},
                        }
                        metrics.write(json.dumps(line) + "\n")
                        metrics.flush()
                        if board:
                            board.scalars(line)
                        sums, window = {}, 0
                        ui.losses(done, last)
                    if done % t.preview_every == 0 or done == total:
                        preview = self._save_preview(model, fixed, done)
                        if board and preview:
                            board.image("preview", preview, done)
                    if done % t.checkpoint_every == 0 or done == total:
                        self.save_checkpoint(model, ctx, schedulers, streams, done)
                    ui.advance(done)
                    if self._stop_signal is not None:
                        self.save_checkpoint(model, ctx, schedulers, streams, done)
                        raise Interrupted(
                            f"Training stopped by {signal.Signals(self._stop_signal).name} after step {done} of "
                            f"{total}; a checkpoint was saved. Continue with `genzoo train --resume {self.dir.path}`."
                        )
            seconds = time.perf_counter() - began
        model.eval()
        self._finish(model, data, total, seconds, total - start, last)
        return TrainResult(self.dir.path, total, seconds, (total - start) * t.batch_size / max(seconds, 1e-9), last)

    def _batch(self, model: GenerativeModel, streams: dict[str, BatchStream]) -> Batch:
        x, attrs = streams["x"].next()
        y = model.from_unit(streams["y"].next()[0]) if "y" in streams else None
        return Batch(model.from_unit(x), y, attrs)

    def _guard(
        self,
        logs: dict[str, Tensor],
        step: int,
        model: GenerativeModel,
        ctx: StepContext,
        schedulers: dict[str, Any],
        streams: dict[str, BatchStream],
    ) -> None:
        values = torch.stack([v.detach().float().reshape(()) for v in logs.values()])
        if bool(torch.isfinite(values).all()):
            return
        bad = [k for k, v in zip(logs, values.tolist(), strict=True) if not math.isfinite(v)]
        kept = self.dir.checkpoint_files()
        where = f"the last good checkpoint is {kept[-1]}" if kept else "no checkpoint had been saved yet"
        raise TrainingError(
            f"Training diverged at step {step + 1}: the loss term(s) {', '.join(bad)} became non-finite (NaN or inf); "
            f"{where}. Lower the learning rate (e.g. `--set lr=…`) or try `--set train.precision=fp32`."
        )

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

    def _state(
        self, model: GenerativeModel, ctx: StepContext, schedulers: dict[str, Any], streams: dict[str, BatchStream]
    ) -> dict[str, Any]:
        return {
            "optimizers": {k: o.state_dict() for k, o in ctx.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
            "scaler": ctx.scaler.state_dict() if ctx.scaler is not None else None,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
            },
            "data": {k: [s.epoch, s.offset] for k, s in streams.items()},
            "model": model.extra_state(),
        }

    def save_checkpoint(
        self,
        model: GenerativeModel,
        ctx: StepContext,
        schedulers: dict[str, Any],
        streams: dict[str, BatchStream],
        step: int,
    ) -> Path:
        path = self._write(self.dir.checkpoint_path(step), model, step, self._state(model, ctx, schedulers, streams))
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

    def _start(
        self, model: GenerativeModel, ctx: StepContext, schedulers: dict[str, Any], streams: dict[str, BatchStream]
    ) -> int:
        """0 for a new run; for a resumed one, restore the newest readable checkpoint and return its step."""
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
                weights = checkpoint.load_tensors(path)
                state = checkpoint.load_state(path)
            except GenzooError as exc:
                problems.append(str(exc))
                continue
            model.load_state_dict(weights)
            for k, o in ctx.optimizers.items():
                o.load_state_dict(state["optimizers"][k])
            for k, s in schedulers.items():
                s.load_state_dict(state["schedulers"][k])
            if ctx.scaler is not None and state["scaler"] is not None:
                ctx.scaler.load_state_dict(state["scaler"])
            torch.set_rng_state(state["rng"]["torch"])
            if state["rng"]["cuda"]:
                torch.cuda.set_rng_state_all(state["rng"]["cuda"])
            for k, (epoch, offset) in state["data"].items():
                streams[k].seek(epoch, offset)
            model.load_extra_state(state["model"])
            self._truncate_metrics(info.step)
            return info.step
        why = f" ({'; '.join(problems)})" if problems else ""
        raise GenzooError(
            f"Cannot resume {self.dir.path}: it has no readable checkpoint{why}. Start a new run instead."
        )

    def _seconds_before(self, step: int) -> float:
        """Training time already spent before ``step`` (0 for a new run), from the metrics of a resumed run."""
        lines = [m for m in self.dir.read_metrics() if m["step"] <= step] if step else []
        return float(lines[-1].get("seconds", 0.0)) if lines else 0.0

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
        seconds: float,
        steps_run: int,
        last: dict[str, float],
    ) -> None:
        from genzoo.report.artefacts import write_run_artefacts

        self._write(self.dir.weights, model, total)
        summary = {
            "steps": total,
            "seconds": round(seconds, 2),
            "steps_this_session": steps_run,
            "images_per_second": round(steps_run * self.run.train.batch_size / max(seconds, 1e-9), 1),
            "device": str(self.device),
            "precision": precision_name(self.dtype),
            "final_losses": last,
        }
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

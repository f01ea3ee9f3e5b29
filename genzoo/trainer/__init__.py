"""The one Trainer, for every family (``genzoo.trainer.trainer``), with its data stream (``stream``), its running
tally and ``metrics.jsonl`` (``log``), its checkpoints and exact resume (``checkpoints``) and TensorBoard
(``tensorboard``)."""

from genzoo.models.base import StepContext
from genzoo.trainer.checkpoints import Session
from genzoo.trainer.stream import BatchStream, Streams
from genzoo.trainer.trainer import Interrupted, Trainer, TrainingError, TrainResult

__all__ = [
    "BatchStream",
    "Interrupted",
    "Session",
    "StepContext",
    "Streams",
    "TrainResult",
    "Trainer",
    "TrainingError",
]

"""TensorBoard logging, an optional extra beside the always-on ``metrics.jsonl`` (``--log tensorboard``).

Every metric line becomes scalars (``lr`` as ``lr/<optimizer>``) and every preview grid an image, in
``RUN/tensorboard/``. A resumed run purges the events after its checkpoint's step (``purge_step``), so that steps
an interrupted session logged past its last checkpoint are not drawn twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from genzoo.errors import ConfigError

INSTALL_HINT = "pip install 'genzoo[tensorboard]'"


class TensorBoard:
    """A ``SummaryWriter`` in ``log_dir`` that takes genzoo's metric lines and preview files."""

    def __init__(self, log_dir: Path, purge_step: int | None = None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise ConfigError(
                f"--log tensorboard needs the tensorboard package, which is not installed ({exc}). Install it with "
                f"`{INSTALL_HINT}`, or train without --log tensorboard (metrics.jsonl is always written)."
            ) from None
        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)

    def scalars(self, line: dict[str, Any]) -> None:
        """One ``metrics.jsonl`` line: every number but ``step`` as a scalar at that step."""
        step = int(line["step"])
        for key, value in line.items():
            if key == "step":
                continue
            if isinstance(value, dict):
                for name, inner in value.items():
                    self.writer.add_scalar(f"{key}/{name}", float(inner), step)
            elif isinstance(value, int | float):
                self.writer.add_scalar(key, float(value), step)

    def image(self, tag: str, png: Path, step: int) -> None:
        picture = np.asarray(Image.open(png).convert("RGB"))
        self.writer.add_image(tag, picture, step, dataformats="HWC")

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()

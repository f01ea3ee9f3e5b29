"""Run under torchrun by tests/test_distributed.py: train a model, then let every process write its own weights, so
that the test can check that all ranks hold the same ones (the Trainer itself writes from rank 0 only)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from safetensors.torch import save_file

from genzoo.api import create, run_config
from genzoo.trainer import Trainer


def main(name: str, out: str, steps: int, *overrides: str) -> None:
    config = run_config(name, data="cartoon", overrides=overrides, steps=steps)
    model = create(name, config.model)
    trainer = Trainer(config, Path(out), progress=False, model=model)
    rank = trainer.world.rank
    trainer.fit()
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(Path(out).parent / f"{Path(out).name}-rank{rank}.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *sys.argv[4:])
    sys.stdout.flush()
    os._exit(0)  # as genzoo.cli.main under torchrun: no interpreter teardown, where gloo's threads can abort

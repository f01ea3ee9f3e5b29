"""genzoo: a pluggable zoo of generative image models with one trainer, built-in toon faces and numeric evaluation.

>>> import genzoo
>>> [m.name for m in genzoo.list_models("vae-*")]
['vae-conv', 'vae-mlp']

The registries themselves are ``genzoo.registry.models``, ``.losses`` and ``.datasets``; the rest of the API
(``report``, ``load_inputs``, …) is in ``genzoo.api``. ``import genzoo`` does not
import torch: the sampling functions (``sample``, ``interpolate``, ``attribute_pairs``) and ``translate`` are
imported from their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from genzoo._version import __version__
from genzoo.api import (
    compare,
    create,
    evaluate,
    info,
    latent_map,
    list_models,
    load,
    load_weights,
    run_config,
    train,
)
from genzoo.errors import GenzooError
from genzoo.registry import register_dataset, register_loss, register_model

if TYPE_CHECKING:
    from genzoo.models.sampling import attribute_pairs, interpolate, sample
    from genzoo.sharing import push
    from genzoo.translation import translate

_LAZY = {
    "push": "genzoo.sharing",
    "attribute_pairs": "genzoo.models.sampling",
    "interpolate": "genzoo.models.sampling",
    "sample": "genzoo.models.sampling",
    "translate": "genzoo.translation",
}
"""Public names imported when first asked for: their modules import torch, or (``push``) sit above the API."""

__all__ = [
    "GenzooError",
    "__version__",
    "attribute_pairs",
    "compare",
    "create",
    "evaluate",
    "info",
    "interpolate",
    "latent_map",
    "list_models",
    "load",
    "load_weights",
    "push",
    "register_dataset",
    "register_loss",
    "register_model",
    "run_config",
    "sample",
    "train",
    "translate",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'genzoo' has no attribute {name!r}")

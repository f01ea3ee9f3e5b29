"""genzoo: a pluggable zoo of generative image models with one trainer, built-in toon faces and numeric evaluation.

>>> import genzoo
>>> [m.name for m in genzoo.list_models("vae-*")]
['vae-conv', 'vae-mlp']

The registries themselves are ``genzoo.registry.models``, ``.losses`` and ``.datasets``.
"""

from genzoo._version import __version__
from genzoo.api import (
    attribute_pairs,
    create,
    evaluate,
    info,
    interpolate,
    list_models,
    load,
    load_weights,
    run_config,
    sample,
    train,
)
from genzoo.errors import GenzooError
from genzoo.registry import register_dataset, register_loss, register_model

__all__ = [
    "GenzooError",
    "__version__",
    "attribute_pairs",
    "create",
    "evaluate",
    "info",
    "interpolate",
    "list_models",
    "load",
    "load_weights",
    "register_dataset",
    "register_loss",
    "register_model",
    "run_config",
    "sample",
    "train",
]

"""Sampling with any model that samples: images from a seed, with or without attribute values, latent walks, and
attribute pairs. These work through the sampling protocol (``sample``, ``latent_dim``, ``decode``,
``condition_values``), never through a model's class.

>>> images = sample(model, n=16, seed=0)                                   # (16, 3, H, W) in [0, 1]
>>> images = sample(acgan, 16, conditions={"hair_color": "blue"})          # other attributes at random
>>> rows = interpolate(model, n=4, steps=8)                                # (4, 8, 3, H, W)
>>> rows, values = attribute_pairs(acgan, "hair_color", n=4)               # (4, V, 3, H, W)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from genzoo.errors import GenzooError
from genzoo.models.base import GenerativeModel
from genzoo.registry import models

Conditions = dict[str, "int | str | Sequence[int | str]"]
"""Attribute → one value for every image, or one value per image; a value is its name or its index."""

DECODE_CHUNK = 256


def _conditional_models() -> str:
    return ", ".join(e.name for e in models.entries() if "conditional" in e.capabilities) or "none installed"


def _value_index(attribute: str, names: Sequence[str], value: int | str) -> int:
    if isinstance(value, str) and value in names:
        return list(names).index(value)
    is_index = isinstance(value, int) or (isinstance(value, str) and value.isdigit())
    if is_index and 0 <= int(value) < len(names):
        return int(value)
    raise GenzooError(f"{attribute} has no value {value!r}. Valid values: {', '.join(names)}.")


def attribute_values(model: GenerativeModel, attribute: str) -> list[str]:
    """The value names of one of a conditional model's attributes; a wrong model or name says what is valid."""
    known = model.condition_values
    name = model.model_name or type(model).__name__
    if not known:
        raise GenzooError(
            f"{name} is not conditional, so it takes no attribute values (--attr, --pairs). "
            f"Conditional models: {_conditional_models()}."
        )
    if attribute not in known:
        valid = "; ".join(f"{a} ({', '.join(v)})" for a, v in known.items())
        raise GenzooError(f"{name} has no attribute {attribute!r}. Its attributes: {valid}.")
    return known[attribute]


def condition_indices(model: GenerativeModel, conditions: Conditions | None) -> dict[str, list[int]]:
    """``conditions`` as value indices, checked against the model's attributes; unknown names list the valid ones."""
    out: dict[str, list[int]] = {}
    for attribute, value in (conditions or {}).items():
        names = attribute_values(model, attribute)
        values = [value] if isinstance(value, int | str) else list(value)
        out[attribute] = [_value_index(attribute, names, v) for v in values]
    return out


def random_conditions(
    values: Mapping[str, Sequence[str]],
    n: int,
    generator: torch.Generator,
    given: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, list[int]]:
    """One value index per image for every attribute of ``values``: the ``given`` ones (one index for all images,
    or one per image), the others drawn uniformly from ``generator``, attribute by attribute in order."""
    out: dict[str, list[int]] = {}
    for attribute, names in values.items():
        if given is not None and attribute in given:
            chosen = list(given[attribute])
            out[attribute] = chosen * n if len(chosen) == 1 else chosen
        else:
            out[attribute] = torch.randint(len(names), (n,), generator=generator).tolist()
    return out


@torch.no_grad()
def sample(model: GenerativeModel, n: int = 64, seed: int = 0, conditions: Conditions | None = None) -> Tensor:
    """``n`` images in ``[0, 1]`` drawn from a model that samples.

    A conditional model takes ``conditions``: attribute → a value (its name or index) for every image, or one value
    per image (``{"hair_color": "blue"}``); attributes not given are drawn at random from ``seed``.
    """
    indices = condition_indices(model, conditions)
    given = {a: v * n if len(v) == 1 else v for a, v in indices.items()}
    return model.sample(n, torch.Generator().manual_seed(seed), given)


def _decode_rows(model: GenerativeModel, z: Tensor, conditions: dict[str, list[int]]) -> Tensor:
    """``z`` ``(rows, columns, latent_dim)`` and per-image conditions (row-major) → ``(rows, columns, 3, H, W)``."""
    rows, columns = z.shape[:2]
    flat = z.reshape(rows * columns, -1)
    with torch.no_grad():
        parts = [
            model.decode(
                flat[i : i + DECODE_CHUNK], {a: v[i : i + DECODE_CHUNK] for a, v in conditions.items()} or None
            )
            for i in range(0, len(flat), DECODE_CHUNK)
        ]
    images = torch.cat(parts)
    return images.reshape(rows, columns, *images.shape[1:])


def _latent_dim(model: GenerativeModel, what: str) -> int:
    if model.latent_dim is None:
        raise model.cannot(what)
    return model.latent_dim


def slerp(a: Tensor, b: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation from rows of ``a`` to rows of ``b`` ``(N, D)`` at ``t`` ``(K,)`` → ``(N, K, D)``;
    linear where the two vectors are (nearly) parallel."""
    cos = torch.nn.functional.cosine_similarity(a, b, dim=1).clamp(-1, 1)[:, None, None]
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    t = t[None, :, None]
    linear = (1 - t) * a[:, None] + t * b[:, None]
    spherical = (torch.sin((1 - t) * omega) * a[:, None] + torch.sin(t * omega) * b[:, None]) / sin.clamp_min(1e-6)
    return torch.where(sin > 1e-4, spherical, linear)


def _per_image(per_row: dict[str, list[int]], columns: int) -> dict[str, list[int]]:
    """Row conditions repeated for each of the row's ``columns`` images (row-major)."""
    return {a: [c for c in v for _ in range(columns)] for a, v in per_row.items()}


def interpolate(
    model: GenerativeModel,
    n: int = 8,
    steps: int = 8,
    seed: int = 0,
    conditions: Conditions | None = None,
    spherical: bool = True,
) -> Tensor:
    """``(n, steps, 3, H, W)`` images in ``[0, 1]``: row *i* walks in ``steps`` steps from one random latent vector to
    another (along the great circle with ``spherical``, else a straight line), at fixed attribute values (given in
    ``conditions`` or drawn at random) for a conditional model. Any model with ``latent_dim`` and ``decode`` works."""
    if steps < 2:
        raise GenzooError(f"Interpolation needs at least 2 steps (both ends); got {steps}.")
    dim = _latent_dim(model, "interpolate between latent vectors")
    given = condition_indices(model, conditions)
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g)
    t = torch.linspace(0, 1, steps)
    z = slerp(a, b, t) if spherical else (1 - t[None, :, None]) * a[:, None] + t[None, :, None] * b[:, None]
    per_row = random_conditions(model.condition_values, n, g, given)
    return _decode_rows(model, z, _per_image(per_row, steps))


def attribute_pairs(
    model: GenerativeModel, attribute: str, n: int = 8, seed: int = 0, conditions: Conditions | None = None
) -> tuple[Tensor, list[str]]:
    """``(n, V, 3, H, W)`` images and the ``V`` value names of ``attribute``: row *i* renders one random latent
    vector with every value of ``attribute`` in turn, the other attributes fixed (given or drawn at random)."""
    dim = _latent_dim(model, "render attribute pairs")
    names = attribute_values(model, attribute)
    given = condition_indices(model, conditions)
    if attribute in given:
        raise GenzooError(f"{attribute} is the attribute being varied (--pairs); do not also fix it with --attr.")
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, dim, generator=g)[:, None].expand(n, len(names), dim)
    per_image = _per_image(random_conditions(model.condition_values, n, g, given), len(names))
    per_image[attribute] = list(range(len(names))) * n
    return _decode_rows(model, z, per_image), list(names)

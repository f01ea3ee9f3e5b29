"""Metrics of a model that samples: Fréchet distance, diversity, valid faces, coverage, and conditional accuracy.

All of them compare ``n`` samples (drawn from ``seed``) with the first ``n`` held-out real images of the training
data, read by the same judge; every ``X_real`` is ``X`` measured on those real images in place of the samples.
"""

from __future__ import annotations

import numpy as np
import torch

from genzoo.data.core import ImageSet
from genzoo.data.toon import ATTRIBUTES
from genzoo.metrics.attributes import DEFAULT_COVERAGE, coverage, possible_combinations, valid
from genzoo.metrics.common import NOT_TOON, JudgeLike, put_fd
from genzoo.metrics.images import generate, is_toon
from genzoo.metrics.result import Section
from genzoo.models.base import GenerativeModel
from genzoo.models.sampling import random_conditions

ATTRIBUTE_KEYS = (
    "valid_share",
    "valid_share_real",
    "coverage",
    "coverage_real",
    "coverage_attributes",
    "coverage_combinations",
)
CONDITIONAL_KEYS = ("conditional_accuracy", "conditional_accuracy_real")
DIVERSITY_KEYS = ("diversity", "diversity_real")


def diversity(features: np.ndarray, groups: np.ndarray | None = None) -> float | None:
    """The mean distance in judge features between two images of the same group: how different two faces drawn
    under the same condition are (every image is one group when ``groups`` is None). ``groups`` holds one row of
    condition codes per image. None when no group has two images.

    A model that ignores its noise within a condition (conditional mode collapse) scores far below real images, even
    when it covers every condition; the Fréchet distance sees that only mixed with everything else.
    """
    x = np.asarray(features, dtype=np.float64)
    keys = np.zeros(len(x), dtype=np.int64)
    if groups is not None:
        keys = np.unique(np.asarray(groups).reshape(len(x), -1), axis=0, return_inverse=True)[1].reshape(-1)
    total, pairs = 0.0, 0
    for key in np.unique(keys):
        f = x[keys == key]
        if len(f) < 2:
            continue
        squares = (f * f).sum(axis=1)
        distances = np.sqrt(np.clip(squares[:, None] + squares[None, :] - 2 * f @ f.T, 0, None))
        total += float(np.triu(distances, k=1).sum())
        pairs += len(f) * (len(f) - 1) // 2
    return total / pairs if pairs else None


def coverage_attributes(model: GenerativeModel) -> tuple[str, ...]:
    """A conditional model's own attributes when the judge knows them all, else ``DEFAULT_COVERAGE``."""
    own = tuple(model.condition_values)
    return own if own and all(a in ATTRIBUTES for a in own) else DEFAULT_COVERAGE


def judge_codes(values: dict[str, list[str]]) -> dict[str, np.ndarray] | None:
    """For each conditioned attribute, the judge's index of each of the model's value indices (None if unknown)."""
    out = {}
    for attribute, names in values.items():
        known = ATTRIBUTES.get(attribute, ())
        if not set(names) <= set(known):
            return None
        out[attribute] = np.array([known.index(v) for v in names])
    return out


def evaluate_sampler(
    model: GenerativeModel, real_set: ImageSet, judge: JudgeLike, n: int, seed: int, out: Section
) -> None:
    """Put the sampler metrics of ``model`` (``n`` samples from ``seed``) against ``real_set`` into ``out``."""
    values = model.condition_values
    conditions = None
    if values:  # one value per sample, drawn from the seed
        drawn = random_conditions(values, n, torch.Generator().manual_seed(seed))
        conditions = {a: np.asarray(v) for a, v in drawn.items()}
    fake = judge.read(generate(model, n, seed, conditions))
    real = judge.read(real_set.images[:n])
    put_fd(out, judge, fake, real, real_set)
    _put_diversity(out, model, fake.features, real.features, real_set, conditions)
    if not is_toon(real_set):
        out.skip(NOT_TOON.format(domain=real_set.domain), *ATTRIBUTE_KEYS)
        if values:
            out.skip(NOT_TOON.format(domain=real_set.domain), *CONDITIONAL_KEYS)
        return
    out.put("valid_share", float(valid(fake, real_set.domain).mean()))
    out.put("valid_share_real", float(valid(real, real_set.domain).mean()))
    attributes = coverage_attributes(model)
    out.put("coverage", coverage(fake.codes, attributes))
    out.put("coverage_real", coverage(real.codes, attributes))
    out.put("coverage_attributes", list(attributes))
    out.put("coverage_combinations", possible_combinations(attributes))
    if not values:
        return
    mapping = judge_codes(values)
    if mapping is None or conditions is None:
        out.skip("the model conditions on attributes or values the judge does not read", *CONDITIONAL_KEYS)
        return
    truth = real_set.attributes
    assert truth is not None  # is_toon
    columns = list(real_set.schema)
    out.put(
        "conditional_accuracy",
        {a: float(np.mean(fake.codes[a] == mapping[a][conditions[a]])) for a in values},
    )
    out.put(
        "conditional_accuracy_real",
        {a: float(np.mean(real.codes[a] == truth[:n, columns.index(a)])) for a in values},
    )


def _put_diversity(
    out: Section,
    model: GenerativeModel,
    fake: np.ndarray,
    real: np.ndarray,
    real_set: ImageSet,
    conditions: dict[str, np.ndarray] | None,
) -> None:
    """``diversity`` of the samples, grouped by their requested values, and ``diversity_real`` of the held-out
    images, grouped by their true values of the same attributes."""
    fake_groups = real_groups = None
    if conditions is not None:
        columns = list(real_set.schema)
        if real_set.attributes is None or not set(conditions) <= set(columns):
            out.skip("the held-out images do not carry the conditioned attributes", *DIVERSITY_KEYS)
            return
        fake_groups = np.stack([conditions[a] for a in model.condition_values], axis=1)
        real_groups = real_set.attributes[: len(real), [columns.index(a) for a in model.condition_values]]
    values = diversity(fake, fake_groups), diversity(real, real_groups)
    if None in values:
        out.skip("too few images to pair within a condition", *DIVERSITY_KEYS)
        return
    out.put("diversity", values[0])
    out.put("diversity_real", values[1])

"""Attribute metrics on what the judge read: agreement with known values, valid faces, attribute combinations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from genzoo.data.toon import ATTRIBUTES, STYLES
from genzoo.judge import Reading

VALID_CONFIDENCE = 0.7
"""A face is *valid* when the judge gives its reading of every attribute and of the style at least this softmax
probability, and the style it reads is the expected one."""

DEFAULT_COVERAGE = ("hair_color", "glasses", "skin_tone")
"""Attributes whose value combinations measure coverage when the model does not condition on its own
(6 × 2 × 4 = 48 combinations)."""


def agreement(codes: Mapping[str, np.ndarray], truth: np.ndarray, schema: Sequence[str]) -> dict[str, float]:
    """Per attribute of ``schema`` known to the judge: the share of rows where ``codes`` equals ``truth``'s column.

    ``truth`` is ``(N, len(schema))`` value indices, columns in ``schema`` order (a data set's attribute codes).
    """
    return {
        name: float(np.mean(np.asarray(codes[name]) == truth[:, k])) for k, name in enumerate(schema) if name in codes
    }


def valid(reading: Reading, style: str, threshold: float = VALID_CONFIDENCE) -> np.ndarray:
    """Which faces are valid (see ``VALID_CONFIDENCE``) ``style`` faces: a boolean ``(N,)`` array."""
    ok = reading.codes["style"] == STYLES.index(style)
    for confidence in reading.confidence.values():
        ok &= confidence >= threshold
    return ok


def combinations(codes: Mapping[str, np.ndarray], attributes: Sequence[str]) -> int:
    """How many distinct value combinations of ``attributes`` occur among the rows of ``codes``."""
    if not attributes:
        return 0
    rows = np.stack([np.asarray(codes[a]) for a in attributes], axis=1)
    return len(np.unique(rows, axis=0)) if len(rows) else 0


def possible_combinations(attributes: Sequence[str]) -> int:
    """How many value combinations of ``attributes`` exist."""
    return int(np.prod([len(ATTRIBUTES[a]) for a in attributes]))


def coverage(codes: Mapping[str, np.ndarray], attributes: Sequence[str]) -> float:
    """Share of all value combinations of ``attributes`` that occur among the rows of ``codes`` (in ``[0, 1]``)."""
    return combinations(codes, attributes) / possible_combinations(attributes)

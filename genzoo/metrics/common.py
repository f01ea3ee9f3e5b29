"""What the sampler and translator metrics share: the judge's interface and the Fréchet distance with its scale."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from torch import Tensor

from genzoo.data.core import ImageSet
from genzoo.judge import Reading
from genzoo.metrics.frechet import feature_distance
from genzoo.metrics.images import fresh_render
from genzoo.metrics.result import Section


class JudgeLike(Protocol):
    """What the metrics need from a judge (``genzoo.judge.network.Judge``, or a stand-in in tests)."""

    def read(self, images: Tensor | np.ndarray, batch_size: int = ...) -> Reading: ...

    def describe(self) -> dict[str, Any]: ...


FD_KEYS = ("fd", "fd_real", "fd_reference")
NOT_TOON = "the judge reads only the built-in cartoon and anime faces, and {domain} is not one of them"


def put_fd(out: Section, judge: JudgeLike, fake: Reading, real: Reading, real_set: ImageSet) -> None:
    """``fd`` (model vs ``real``), and for scale ``fd_real``: ``real`` against a fresh render of as many faces of the
    same built-in style (``fd_reference`` = ``fresh render``), or one half of ``real`` against the other for images
    the renderer cannot draw (``halves``; each half has ``n / 2`` images, which makes the value larger)."""
    n = len(real)
    out.put("fd", feature_distance(fake.features, real.features))
    fresh = fresh_render(real_set, n)
    if fresh is not None:
        out.put("fd_real", feature_distance(real.features, judge.read(fresh).features))
        out.put("fd_reference", "fresh render")
    elif n >= 4:
        half = n // 2
        out.put("fd_real", feature_distance(real.features[:half], real.features[half : 2 * half]))
        out.put("fd_reference", "halves")
    else:
        out.skip("fewer than 4 held-out images: too few to split into two halves", "fd_real", "fd_reference")

"""What the sampler and translator metrics share: the judge's interface and the Fréchet distance with its scale."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from torch import Tensor

from genzoo.data.core import ImageSet
from genzoo.judge import Reading
from genzoo.metrics.frechet import feature_distance
from genzoo.metrics.images import fresh_render
from genzoo.metrics.kernel import kernel_distance
from genzoo.metrics.result import Section


class JudgeLike(Protocol):
    """What the metrics need from a judge (``genzoo.judge.network.Judge``, or a stand-in in tests)."""

    def read(self, images: Tensor | np.ndarray, batch_size: int = ...) -> Reading: ...

    def describe(self) -> dict[str, Any]: ...


FD_KEYS = ("fd", "fd_real", "fd_reference", "kid", "kid_std", "kid_real", "kid_real_std")
KID_UNIT = 1e3
"""KID is reported ×10³ (as the literature reports it), on the judge's features in its unit (``Reading.scaled``)."""
NOT_TOON = "the judge reads only the built-in cartoon and anime faces, and {domain} is not one of them"
SMALL_N = 1000
"""Below this many images a set, the Fréchet distance's upward bias is large enough to mislead: a note says so."""


def put_fd(out: Section, judge: JudgeLike, fake: Reading, real: Reading, real_set: ImageSet) -> None:
    """``fd`` and ``kid`` (model vs ``real``; KID ×10³ of the scaled features, with ``kid_std`` its spread over
    subsets), and for scale ``fd_real`` and ``kid_real``: ``real`` against a fresh
    render of as many faces of the same built-in style (``fd_reference`` = ``fresh render``), or one half of ``real``
    against the other for images the renderer cannot draw (``halves``; each half has ``n / 2`` images, which makes
    the Fréchet distance larger). With fewer than ``SMALL_N`` images a note says to read KID rather than FD."""
    n = len(real)
    out.put("fd", feature_distance(fake.features, real.features))
    if n >= 4:
        kid, spread = _kid(fake.scaled(), real.scaled())
        out.put("kid", kid)
        out.put("kid_std", spread)
    else:
        out.skip("fewer than 4 images: too few for the kernel distance", "kid", "kid_std")
    fresh = fresh_render(real_set, n)
    kid_real = None
    if fresh is not None:
        reference = judge.read(fresh)
        out.put("fd_real", feature_distance(real.features, reference.features))
        out.put("fd_reference", "fresh render")
        kid_real = _kid(real.scaled(), reference.scaled())
    elif n >= 4:
        half = n // 2
        first, second = slice(0, half), slice(half, 2 * half)
        out.put("fd_real", feature_distance(real.features[first], real.features[second]))
        out.put("fd_reference", "halves")
        if half >= 4:
            kid_real = _kid(real.scaled()[first], real.scaled()[second])
        else:
            out.skip("fewer than 8 held-out images: halves too small for the kernel distance", *FD_KEYS[5:])
    else:
        out.skip("fewer than 4 held-out images: too few to split into two halves", *FD_KEYS[1:3], *FD_KEYS[5:])
    if kid_real is not None:
        out.put("kid_real", kid_real[0])
        out.put("kid_real_std", kid_real[1])
    if n < SMALL_N:
        halves = " (and fd_real compares halves of half that size)" if fresh is None else ""
        out.note(
            f"{n} images a set{halves}: the Fréchet distance is biased upwards at this size, by more the fewer the "
            "images, and can rank models (or a model and real images) wrongly; compare kid, which is unbiased, with "
            "its kid_std"
        )


def _kid(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """KID of ``a`` and ``b`` and its spread over subsets, in ``KID_UNIT``."""
    kid, spread = kernel_distance(a, b)
    return kid * KID_UNIT, spread * KID_UNIT

"""The kernel distance of two sets of feature vectors (KID; Bińkowski et al., 2018), with its spread.

``KID`` is the squared maximum mean discrepancy under the cubic polynomial kernel ``k(x, y) = (x·y / d + 1)³``,
estimated without bias on random subsets of both sets and averaged over the subsets; its standard deviation over the
subsets says how far to trust a difference. Unlike the Fréchet distance, whose estimate from N images is biased
upwards by an amount that shrinks with N (so that a small sample can rank two models wrongly, or a model above real
images), KID's expected value does not depend on N: it is the measure to read on small image sets.
"""

from __future__ import annotations

import numpy as np

SUBSETS = 50
MAX_SUBSET = 1000


def _mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased estimate of MMD² between ``x`` and ``y`` (``(m, d)`` each) under the cubic polynomial kernel."""
    m, d = len(x), x.shape[1]
    kxx = (x @ x.T / d + 1) ** 3
    kyy = (y @ y.T / d + 1) ** 3
    kxy = (x @ y.T / d + 1) ** 3
    within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within - 2 * kxy.mean())


def kernel_distance(a: np.ndarray, b: np.ndarray, subsets: int = SUBSETS, seed: int = 0) -> tuple[float, float]:
    """KID of feature sets ``a`` and ``b`` (``(N, D)`` each): the mean and standard deviation of the estimate over
    ``subsets`` random subsets of half the smaller set's size (at most ``MAX_SUBSET``), drawn from ``seed``. Needs at
    least 4 vectors in each set; may be slightly negative for sets of one distribution."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if min(len(a), len(b)) < 4:
        raise ValueError(f"need at least 4 feature vectors in each set; got {len(a)} and {len(b)}")
    m = min(MAX_SUBSET, min(len(a), len(b)) // 2)
    rng = np.random.default_rng(seed)
    values = [
        _mmd2(a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]) for _ in range(subsets)
    ]
    return float(np.mean(values)), float(np.std(values))

"""The Fréchet distance between two sets of feature vectors, each summarised by a Gaussian (mean and covariance).

``FD = |mu1 - mu2|² + tr(C1) + tr(C2) - 2 tr((C1 C2)^½)``. The trace of the matrix square root is computed from
symmetric eigen-decompositions, in float64, never from a general (non-symmetric) square root: with ``S = C1^½``,
``C1 C2`` is similar to the symmetric positive semi-definite ``S C2 S``, so ``tr((C1 C2)^½)`` is the sum of the
square roots of that matrix's eigenvalues. Rounding can make tiny eigenvalues slightly negative; they are clipped
to zero, which keeps the result real and makes identical sets give (almost exactly) zero.
"""

from __future__ import annotations

import numpy as np


def gaussian(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` of ``features`` ``(N, D)``, in float64; needs ``N >= 2``."""
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"need at least 2 feature vectors (N, D); got shape {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    """The symmetric square root of a symmetric positive semi-definite matrix."""
    w, v = np.linalg.eigh((m + m.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """The Fréchet distance between N(mu1, cov1) and N(mu2, cov2) (squared feature units; 0 for equal Gaussians)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    cov1, cov2 = np.asarray(cov1, np.float64), np.asarray(cov2, np.float64)
    root = _sqrt_psd(cov1)
    inner = root @ cov2 @ root
    trace_root = float(np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum())
    value = float(np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_root)
    return max(value, 0.0)


def feature_distance(a: np.ndarray, b: np.ndarray) -> float:
    """The Fréchet distance between the Gaussians fitted to feature sets ``a`` and ``b`` (``(N, D)`` each)."""
    return frechet_distance(*gaussian(a), *gaussian(b))

"""Evaluation by capability: what a model can do decides what is measured. ``docs/metrics.md`` lists every key.

- every model: ``heldout_images``; models that reconstruct: ``heldout_mse``;
- models that sample: the Fréchet distance of judge features of ``n`` samples to ``n`` held-out real images
  (``fd``, with ``fd_real`` for scale), the share of valid faces, attribute-combination coverage, and for
  conditional models the share of samples the judge reads with the requested value (``conditional_accuracy``);
- translators, for each direction under ``translation``: the Fréchet distance to the target domain, the share read
  in the target style, attribute preservation, paired L1 and SSIM against the ground truth, combinations out vs in.

Metrics that need the judge (``genzoo.judge``) are computed only when one is given; without one, ``judge`` is
``None`` and they are left out. Metrics that do not apply (the images are not built-in faces, the held-out sets are
not paired) are ``None``, and ``not_applicable`` maps their dotted key (and ``judge``) to the reason.
"""

from __future__ import annotations

from typing import Any

from genzoo.data.core import Split
from genzoo.data.loading import Domains
from genzoo.errors import GenzooError
from genzoo.metrics.common import FD_KEYS, JudgeLike
from genzoo.metrics.reconstruction import heldout_mse
from genzoo.metrics.result import Section
from genzoo.metrics.sampling import evaluate_sampler
from genzoo.metrics.translation import evaluate_translator
from genzoo.models.base import GenerativeModel
from genzoo.registry import models

__all__ = ["DEFAULT_N", "JUDGED", "JudgeLike", "capabilities", "evaluate", "heldout_mse"]

DEFAULT_N = 1000
JUDGED = frozenset({"sample", "translate"})
"""Capabilities whose metrics need the judge."""
NO_JUDGE = "no judge was given"


def capabilities(model: GenerativeModel) -> frozenset[str]:
    return models.get(model.model_name).capabilities


def evaluate(
    model: GenerativeModel,
    data: Split | Domains,
    *,
    judge: JudgeLike | None = None,
    n: int = DEFAULT_N,
    seed: int = 0,
    no_judge: str = NO_JUDGE,
) -> dict[str, Any]:
    """Every metric that applies to ``model`` on the held-out images of ``data``.

    ``data`` is the training data's ``Split``, or its ``Domains`` (with the target domain for a translator). ``n``
    images are generated (or translated, per direction) from ``seed`` and compared with as many held-out ones
    (fewer when there are fewer held-out images). Without ``judge``, the judge-based metrics are left
    out and ``not_applicable["judge"]`` says ``no_judge``.
    """
    if n < 2:
        raise GenzooError(f"Evaluation needs at least 2 images per set (-n); got {n}.")
    domains = Domains(data) if isinstance(data, Split) else data
    heldout = domains.source.heldout
    can = capabilities(model)
    out = Section()
    out.put("heldout_images", len(heldout))
    was_training = model.training
    model.eval()
    try:
        if "reconstruct" in can:
            out.put("heldout_mse", heldout_mse(model, heldout))
        if can & JUDGED:
            _judged(model, can, domains, judge, n, seed, no_judge, out)
    finally:
        model.train(was_training)
    return out.result()


def _judged(
    model: GenerativeModel,
    can: frozenset[str],
    domains: Domains,
    judge: JudgeLike | None,
    n: int,
    seed: int,
    no_judge: str,
    out: Section,
) -> None:
    heldout, target = domains.source.heldout, domains.target.heldout if domains.target is not None else None
    count = min(n, len(heldout), *([len(target)] if target is not None else []))
    out.put("n", count)
    out.put("seed", seed)
    if judge is None:
        out.skip(no_judge, "judge")
        return
    out.put("judge", judge.describe())
    keys = [*(FD_KEYS if "sample" in can else ()), *(["translation"] if "translate" in can else ())]
    if count < 2:
        out.skip("fewer than 2 held-out images: too few for a distribution", *keys)
        return
    if "sample" in can:
        evaluate_sampler(model, heldout, judge, count, seed, out)
    if "translate" in can:
        if target is None:
            out.skip("the target domain's held-out images were not given", "translation")
        else:
            evaluate_translator(model, heldout, target, judge, count, out.section("translation"))

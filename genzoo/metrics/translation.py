"""Metrics of a translator, for each direction ``source->target``.

``n`` held-out images of the source domain are translated and compared with the first ``n`` held-out real images of
the target domain. On the built-in data the two held-out sets are the same records in two styles, which gives the
judge something to check (did the face keep its attributes? did the style change?) and each translation a
ground-truth image to be compared with pixel by pixel.
"""

from __future__ import annotations

import numpy as np

from genzoo.data.core import ImageSet
from genzoo.data.tensors import image_tensor
from genzoo.data.toon import STYLES
from genzoo.metrics.attributes import DEFAULT_COVERAGE, agreement, combinations, possible_combinations
from genzoo.metrics.common import NOT_TOON, JudgeLike, put_fd
from genzoo.metrics.images import is_toon, translate
from genzoo.metrics.paired import l1, ssim
from genzoo.metrics.result import Section
from genzoo.metrics.speckle import speckle
from genzoo.models.base import GenerativeModel

STYLE_KEYS = ("style_share", "style_share_real")
PRESERVATION_KEYS = ("preservation", "preservation_real")
PAIRED_KEYS = ("paired_l1", "paired_l1_source", "paired_ssim", "paired_ssim_source")
COMBINATION_KEYS = ("combinations_out", "combinations_in", "coverage_attributes", "coverage_combinations")


def same_records(a: ImageSet, b: ImageSet, n: int) -> bool:
    """Whether the first ``n`` images of ``a`` and ``b`` draw the same records (the built-in held-out sets do)."""
    x, y = a.attributes, b.attributes
    return (
        x is not None
        and y is not None
        and len(x) >= n
        and len(y) >= n
        and bool((x[:n] == y[:n]).all())
        and a.images.shape[1:] == b.images.shape[1:]
    )


def evaluate_direction(
    model: GenerativeModel, source: ImageSet, target: ImageSet, to: str, judge: JudgeLike, n: int, out: Section
) -> None:
    """Put the metrics of translating ``n`` ``source`` images into ``to`` (whose real images are ``target``)."""
    sources = source.images[:n]
    fake_images = translate(model, sources, to)
    fake = judge.read(fake_images)
    real = judge.read(target.images[:n])
    put_fd(out, judge, fake, real, target)
    real_images = image_tensor(target.images[:n])
    out.put("speckle", speckle(fake_images))
    out.put("speckle_real", speckle(real_images))

    if is_toon(target):
        style = STYLES.index(target.domain)
        out.put("style_share", float(np.mean(fake.codes["style"] == style)))
        out.put("style_share_real", float(np.mean(real.codes["style"] == style)))
    else:
        out.skip(NOT_TOON.format(domain=target.domain), *STYLE_KEYS)

    if is_toon(source) and is_toon(target):
        assert source.attributes is not None and target.attributes is not None
        out.put("preservation", agreement(fake.codes, source.attributes[:n], list(source.schema)))
        out.put("preservation_real", agreement(real.codes, target.attributes[:n], list(target.schema)))
        read_in = judge.read(sources)
        out.put("combinations_out", combinations(fake.codes, DEFAULT_COVERAGE))
        out.put("combinations_in", combinations(read_in.codes, DEFAULT_COVERAGE))
        out.put("coverage_attributes", list(DEFAULT_COVERAGE))
        out.put("coverage_combinations", possible_combinations(DEFAULT_COVERAGE))
    else:
        why = NOT_TOON.format(domain=target.domain if is_toon(source) else source.domain)
        out.skip(why, *PRESERVATION_KEYS, *COMBINATION_KEYS)

    if same_records(source, target, n):
        original = image_tensor(sources)
        out.put("paired_l1", l1(fake_images, real_images))
        out.put("paired_l1_source", l1(original, real_images))
        out.put("paired_ssim", ssim(fake_images, real_images))
        out.put("paired_ssim_source", ssim(original, real_images))
    else:
        out.skip(f"the held-out images of {source.domain} and {target.domain} are not the same records", *PAIRED_KEYS)


def evaluate_translator(
    model: GenerativeModel, a: ImageSet, b: ImageSet, judge: JudgeLike, n: int, out: Section
) -> None:
    """Both directions between held-out sets ``a`` and ``b`` (of the model's domains A and B), under ``out``."""
    name_a, name_b = model.domains
    for source, target, from_name, to_name in ((a, b, name_a, name_b), (b, a, name_b, name_a)):
        count = min(n, len(source), len(target))
        evaluate_direction(model, source, target, to_name, judge, count, out.section(f"{from_name}->{to_name}"))

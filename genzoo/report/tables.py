"""An evaluation result as tables: each metric beside its value on real data (``X`` beside ``X_real``), one table
for the model and one per translation direction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

HIDDEN = frozenset({"model", "checkpoint", "not_applicable", "notes"})
UNITS = {"kid": "×10³"}
"""Units shown beside a metric's name in tables and lines (docs/metrics.md): KID is reported ×10³."""

Row = tuple[str, Any, Any]
"""(dotted key, value, value on real images or None)."""


@dataclass(frozen=True)
class Spread:
    """A value with its standard deviation (KID over subsets), shown as ``mean ± std``."""

    mean: float
    std: float

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.std:.2g}"


def _folded(values: Mapping[str, Any], key: str) -> bool:
    """Whether ``key`` is shown in another key's row: ``X_real`` beside ``X``, ``X_std`` after ``X``."""
    return any(key.endswith(suffix) and key.removesuffix(suffix) in values for suffix in ("_real", "_std"))


def _with_spread(values: Mapping[str, Any], key: str) -> Any:
    value, std = values.get(key), values.get(f"{key}_std")
    return Spread(value, std) if isinstance(value, float) and isinstance(std, float) else value


def rows(result: Mapping[str, Any]) -> list[Row]:
    """Every metric as a row; ``X_real`` keys fold into ``X``'s row, ``X_std`` into ``X`` as ``mean ± std``, and
    nested dicts (directions, per-attribute values) unfold into dotted keys."""
    out: list[Row] = []

    def walk(values: Mapping[str, Any], reference: Mapping[str, Any] | None, prefix: str) -> None:
        for key in values:
            if (not prefix and key in HIDDEN) or _folded(values, key):
                continue
            value = _with_spread(values, key)
            ref = reference.get(key) if reference is not None else _with_spread(values, f"{key}_real")
            if isinstance(value, Mapping):
                walk(value, ref if isinstance(ref, Mapping) else None, f"{prefix}{key}.")
            else:
                out.append((prefix + key + UNITS.get(key, ""), value, ref))

    walk(result, None, "")
    return out


def tables(result: Mapping[str, Any]) -> list[tuple[str, list[Row]]]:
    """``(title, rows)`` of the model's metrics, then of each translation direction."""
    main = {k: v for k, v in result.items() if k != "translation"}
    judge = main.get("judge")
    if isinstance(judge, Mapping):  # one line; the path is in the JSON
        lowest = judge.get("min_accuracy")
        main["judge"] = f"{judge.get('size')} px" + (f", lowest accuracy {lowest:.1%}" if lowest is not None else "")
    out = [(f"{result.get('model')} — {result.get('checkpoint')}", rows(main))]
    for direction, metrics in (result.get("translation") or {}).items():
        out.append((f"translation {direction}", rows(metrics or {})))
    return out


def format_value(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return " × ".join(map(str, value))
    return str(value)


LINE_KEYS = ("heldout_mse", "fd", "kid", "valid_share", "coverage", "diversity")
"""A sampler's or an autoencoder's held-out metrics the one-line summary shows, in this order."""
LINE_KEYS_PER_DIRECTION = ("fd", "kid", "paired_l1", "style_share")
"""A translator's held-out metrics the one-line summary shows for each direction (``genzoo eval`` shows them all)."""
REFERENCES = (("_real", "real"), ("_source", "do nothing"), ("_in", "in the sources"))
"""Where a metric's reference value is found (key suffix) and how the line names it."""


def _figure(key: str, value: float) -> str:
    """A figure as a line shows it: shares in per cent, large numbers whole with thousands separated, small ones to
    three significant digits."""
    if key.endswith("share") or key == "coverage":
        return f"{value:.0%}".replace("%", " %")
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2g}"


def figure_with_reference(values: Mapping[str, Any], key: str) -> str | None:
    """``fd 387 (real 33)``, ``valid_share 36 % (real 99 %)``, ``paired_l1 0.065 (do nothing 0.083)``: a metric with
    its reference value beside it, or None when ``values`` does not have it."""
    value = values.get(key)
    if not isinstance(value, float | int) or isinstance(value, bool):
        return None
    name = key + UNITS.get(key, "")
    text = f"{name} {_figure(key, float(value))}"
    for suffix, label in REFERENCES:
        reference = values.get(key.removesuffix("_out") + suffix if key.endswith("_out") else key + suffix)
        if isinstance(reference, float | int) and not isinstance(reference, bool):
            return f"{text} ({label} {_figure(key, float(reference))})"
    return text


def summary_line(heldout: Mapping[str, Any]) -> str:
    """The held-out metrics of a run's ``summary.json`` in one line, each beside its reference: the main ones of a
    sampler or an autoencoder, and of each direction of a translator."""
    parts = [shown for key in LINE_KEYS if (shown := figure_with_reference(heldout, key))]
    for direction, values in (heldout.get("translation") or {}).items():
        shown_here = [shown for key in LINE_KEYS_PER_DIRECTION if (shown := figure_with_reference(values or {}, key))]
        if shown_here:
            parts.append(f"{direction}: {', '.join(shown_here)}")
    return "; ".join(parts)

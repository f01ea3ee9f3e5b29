"""How metric results are collected: values by key, and for every metric that does not apply, ``null`` and why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    """One level of the result. ``skipped`` is shared by all sections and keyed by dotted path from the top."""

    values: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    prefix: str = ""
    notes: list[str] = field(default_factory=list)

    def put(self, key: str, value: Any) -> None:
        self.values[key] = value

    def skip(self, reason: str, *keys: str) -> None:
        """Mark ``keys`` not applicable: their value is None and ``not_applicable`` says ``reason``."""
        for key in keys:
            self.values[key] = None
            self.skipped[self.prefix + key] = reason

    def note(self, text: str) -> None:
        """A caution about how to read the values (shared by all sections; each text once)."""
        if text not in self.notes:
            self.notes.append(text)

    def section(self, key: str) -> Section:
        """A nested section under ``key``."""
        sub = Section({}, self.skipped, f"{self.prefix}{key}.", self.notes)
        self.values[key] = sub.values
        return sub

    def result(self) -> dict[str, Any]:
        """The values, ``not_applicable`` (dotted key → why that value is None; empty when all applied) and
        ``notes`` (cautions about reading them)."""
        return {**self.values, "not_applicable": dict(self.skipped), "notes": list(self.notes)}

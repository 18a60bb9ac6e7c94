"""One row of the table: a value, its baseline measured in the same run, the ratio and the target."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Target:
    op: str
    limit: float
    of_baseline: bool = False
    """The limit applies to the ratio (value / baseline) instead of the value."""

    def describe(self, unit: str, baseline_label: str) -> str:
        op = {">=": "≥", "<=": "≤"}[self.op]
        return (
            f"{op} {self.limit:g}× {baseline_label}" if self.of_baseline else f"{op} {self.limit:,g} {unit}"
        )

    def met(self, value: float, ratio: float | None) -> bool | None:
        subject = ratio if self.of_baseline else value
        if subject is None or math.isnan(subject):
            return None
        return subject >= self.limit if self.op == ">=" else subject <= self.limit


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    value: float
    baseline: float | None = None
    baseline_label: str = ""
    target: Target | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.baseline or math.isnan(self.baseline):
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        return self.target.met(self.value, self.ratio) if self.target else None

    @property
    def target_text(self) -> str:
        return self.target.describe(self.unit, self.baseline_label) if self.target else ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "unit": self.unit,
            "value": self.value,
            "baseline": self.baseline,
            "baseline_label": self.baseline_label,
            "ratio": self.ratio,
            "target": self.target_text,
            "met": self.met,
        }


Check = tuple[str, bool]
"""A sanity check printed under the table: what it says, and whether it held."""


@dataclass
class Outcome:
    """What one of the figures measured on their own servers (bench/scenarios/…) gives the table:
    its rows, its checks, and its raw results for the JSON file."""

    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def failed(cls, letters: str, error: BaseException) -> Outcome:
        """A scenario that raised: no rows, one failing check that says why."""
        return cls(checks=[(f"({letters[0]}) {letters} did not finish: {type(error).__name__}: {error}", False)])

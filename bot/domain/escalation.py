"""Escalation policies as copied onto a card at intake, and when each step falls due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.hours import BusinessCalendar
from bot.domain.org import PriorityPolicy


@dataclass(frozen=True)
class Step:
    after: timedelta
    notify: str
    via: tuple[str, ...] | None = None
    """The channels the step's people are reached on (None: every chat channel they are on)."""


@dataclass(frozen=True)
class EscalationPolicy:
    """A card's own copy of its priority's policy, so config edits do not surprise cards in flight."""

    claim_within: timedelta
    business_hours_only: bool
    steps: tuple[Step, ...]

    @classmethod
    def from_config(cls, policy: PriorityPolicy) -> EscalationPolicy:
        steps = tuple(
            Step(s.after, s.notify, tuple(s.via) if s.via is not None else None) for s in policy.escalation
        )
        return cls(policy.claim_within, policy.business_hours_only, steps)

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> EscalationPolicy:
        steps = tuple(
            Step(timedelta(seconds=s["after"]), str(s["notify"]), _via(s.get("via")))
            for s in data.get("steps", [])
        )
        return cls(
            timedelta(seconds=data.get("claim_within", 0)), bool(data.get("business_hours_only")), steps
        )

    def snapshot(self) -> dict[str, Any]:
        return {
            "claim_within": self.claim_within.total_seconds(),
            "business_hours_only": self.business_hours_only,
            "steps": [
                {"after": s.after.total_seconds(), "notify": s.notify}
                | ({"via": list(s.via)} if s.via is not None else {})
                for s in self.steps
            ],
        }

    def elapse(self, start: datetime, delta: timedelta, calendar: BusinessCalendar) -> datetime:
        """``start + delta``, counting only office time when the policy says so."""
        if self.business_hours_only:
            return calendar.add_business_time(start, delta)
        return start + delta

    def claim_deadline(self, start: datetime, calendar: BusinessCalendar) -> datetime:
        return self.elapse(start, self.claim_within, calendar)

    def due_at(self, level: int, start: datetime, calendar: BusinessCalendar) -> datetime | None:
        """When step ``level`` (0-based) falls due, or None when the ladder is exhausted."""
        if level >= len(self.steps):
            return None
        return self.elapse(start, self.steps[level].after, calendar)


def _via(value: object) -> tuple[str, ...] | None:
    """A snapshot's ``via`` (absent in snapshots written before it existed: every channel)."""
    return tuple(str(v) for v in value) if isinstance(value, list) else None

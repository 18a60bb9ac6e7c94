"""Escalation policies as copied onto a card at intake, and when each step falls due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.hours import BusinessCalendar
from bot.domain.org import PHONE_CHANNELS, PriorityPolicy


@dataclass(frozen=True)
class Step:
    after: timedelta
    notify: str
    phones: tuple[str, ...] = ()
    """The phone channels (``whatsapp``, ``sms``) of the step's ``via``: its people get a message
    there too, besides their chat channels."""


@dataclass(frozen=True)
class EscalationPolicy:
    """A card's own copy of its priority's policy, so config edits do not surprise cards in flight."""

    claim_within: timedelta
    business_hours_only: bool
    steps: tuple[Step, ...]

    @classmethod
    def from_config(cls, policy: PriorityPolicy) -> EscalationPolicy:
        steps = tuple(
            Step(s.after, s.notify, tuple(v for v in s.via if v in PHONE_CHANNELS)) for s in policy.escalation
        )
        return cls(policy.claim_within, policy.business_hours_only, steps)

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> EscalationPolicy:
        steps = tuple(
            Step(timedelta(seconds=s["after"]), str(s["notify"]), tuple(s.get("phones", ())))
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
                {"after": s.after.total_seconds(), "notify": s.notify, "phones": list(s.phones)}
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

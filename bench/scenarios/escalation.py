"""(e) Escalation lateness: ``open_cards`` open cards, ``due_cards`` of them due at the same moment.

The cards are written straight into a fresh database; a real server (real clock, default sweep
interval) escalates them. Lateness is read two ways:

- audit: ``fired_at - due_at`` from the "escalated" audit events (what the figure asks for);
- visible: from the due moment to the first Slack call about the card at the stand-in (the
  re-rendered card, its thread line or the on-call DM), which also counts the time spent after
  ``fired_at`` was taken: the rest of the sweep batch, the commit and the delivery.

The baseline is the same measure for a card that falls due alone (``lone_cards`` of them, one at a
time), on the same server with the same table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.databases import Databases, DbSlot
from bench.plan import Plan
from bench.process import ServerProcess
from bench.seed import Seeded, Seeder
from bench.standin import StandIn
from bench.stats import Summary, samples_ms
from bot.settings import Settings
from bot.store.migrate import upgrade_async

SWEEP_SECONDS: float = Settings.model_fields["sweep_seconds"].default  # the servers run with it
LONE_DUE_IN = 1.0
LONE_TIMEOUT = 15.0
CROWD_TIMEOUT = 180.0
FAR_AWAY = timedelta(days=1)


@dataclass
class Lateness:
    audit: list[float] = field(default_factory=list)
    visible: list[float] = field(default_factory=list)
    missing: int = 0

    def add(self, other: Lateness) -> None:
        self.audit += other.audit
        self.visible += other.visible
        self.missing += other.missing

    def as_dict(self) -> dict[str, Any]:
        return {
            "audit_ms": Summary.of_seconds(self.audit).as_dict(),
            "visible_ms": Summary.of_seconds(self.visible).as_dict(),
            "audit_samples_ms": samples_ms(self.audit),
            "visible_samples_ms": samples_ms(self.visible),
            "missing": self.missing,
        }


@dataclass
class EscalationRun:
    open_cards: int
    due_cards: int
    crowd: Lateness = field(default_factory=Lateness)
    lone: Lateness = field(default_factory=Lateness)
    seeded_before_due: bool = True
    rss_after_mb: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "open_cards": self.open_cards,
            "sweep_seconds": SWEEP_SECONDS,
            "due_cards": self.due_cards,
            "crowd": self.crowd.as_dict(),
            "lone": self.lone.as_dict(),
            "seeded_before_due": self.seeded_before_due,
            "rss_after_mb": round(self.rss_after_mb, 1),
        }


async def escalation(
    databases: Databases, kind: str, standin: StandIn, plan: Plan, log_dir: Path
) -> EscalationRun:
    run = EscalationRun(plan.open_cards, plan.due_cards)
    async with databases.fresh(kind, "escalation") as slot:
        await upgrade_async(slot.url, connect_args=slot.connect_args)
        seeder = Seeder(slot)
        try:
            far = plan.open_cards - plan.due_cards - plan.lone_cards
            await seeder.insert(far, datetime.now(UTC) + FAR_AWAY)
            server = ServerProcess("centralita", slot, log_dir=log_dir, slack_url=standin.url, clock="real")
            async with server:
                await _measure(run, seeder, slot, standin, plan)
                run.rss_after_mb = server.rss_mb()
        finally:
            await seeder.close()
    return run


async def _measure(run: EscalationRun, seeder: Seeder, slot: DbSlot, standin: StandIn, plan: Plan) -> None:
    for index in range(plan.lone_cards):
        phase = SWEEP_SECONDS * index / plan.lone_cards  # due moments spread over one sweep interval
        due = datetime.now(UTC) + timedelta(seconds=LONE_DUE_IN + phase)
        run.lone.add(await _lateness(seeder, slot, standin, 1, due, LONE_TIMEOUT))
    due = datetime.now(UTC) + timedelta(seconds=plan.due_in_seconds)
    run.crowd = await _lateness(seeder, slot, standin, plan.due_cards, due, CROWD_TIMEOUT)
    run.seeded_before_due = seeder.last_insert_ended < due.timestamp()


async def _lateness(
    seeder: Seeder, slot: DbSlot, standin: StandIn, count: int, due: datetime, timeout: float
) -> Lateness:
    """Seed ``count`` cards due at ``due`` and wait until Slack has heard about each of them."""
    since = standin.mark()
    seeded = await seeder.insert(count, due)
    watch = standin.touches(since, {s.ts for s in seeded})
    await standin.until(lambda: len(watch.update()) >= count, timeout)
    touched = watch.update()
    visible = [standin.wall(at) - due.timestamp() for at in touched.values()]
    audit = await _audit_lateness(slot, seeded)
    return Lateness(audit, visible, count - len(audit))


async def _audit_lateness(slot: DbSlot, seeded: list[Seeded]) -> list[float]:
    ids = {s.card_id for s in seeded}
    events = [e for e in await slot.database().audit("escalated") if e.card_id in ids]
    return [_seconds_late(e.data) for e in events if e.data.get("level") == 1]


def _seconds_late(data: dict[str, Any]) -> float:
    due, fired = datetime.fromisoformat(data["due_at"]), datetime.fromisoformat(data["fired_at"])
    return (fired - due).total_seconds()

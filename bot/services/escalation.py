"""Escalation: cards nobody claimed climb their policy's ladder, one step at a time, exactly once.

The due time lives on the card row (``escalate_at``). A sweep takes due cards in batches with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has one writer at a time) and moves each one a
step up in the same transaction, so a restart or a second worker never fires a step twice, and a
claim that commits first takes the card out of the sweep (it is no longer open).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.escalation import EscalationPolicy
from bot.domain.org import PHONE_CHANNELS, StaffMember
from bot.services.directory import Org
from bot.services.outbox import enqueue_rows, pending_renders, posts_by_card, render_rows, thread_rows
from bot.services.runtime import Runtime
from bot.services.served import Served
from bot.services.telling import direct_rows
from bot.store.models import AuditEvent, Card
from bot.store.types import UTCDateTime
from cards.actions import ActionId, CardStatus
from cards.notice import Notice

log = logging.getLogger("centralita.escalation")
# The new escalation state of many cards, by primary key, in one executemany. The cards are locked
# by the sweep's SELECT, so no compare-and-set is needed; the loaded rows are left as they were.
_STEP_UP = update(Card).execution_options(synchronize_session=False)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PENDING = (col(Card.status) == CardStatus.OPEN.value, col(Card.escalate_at).is_not(None))


@dataclass
class _Step:
    """What one due card becomes: its new escalation state, and whom this step reaches."""

    card: Card
    org: Org
    values: dict[str, Any]
    level: int = 0
    notify: str = ""
    people: list[StaffMember] = field(default_factory=list)
    via: tuple[str, ...] | None = None

    @property
    def fires(self) -> bool:
        return self.level > 0


class Escalation:
    def __init__(self, rt: Runtime, *, batch: int = 500) -> None:
        self.rt = rt
        self.batch = batch
        self._served = Served(
            rt,
            col(Card.org_id),
            "%d open card(s) of organisation %r, no longer configured, will not escalate",
        )

    async def sweep(self, now: datetime | None = None) -> int:
        """Fire every due step; returns how many due cards were looked at."""
        await self._served.warn_once(*_PENDING)
        looked = 0
        while True:
            count = await self._sweep_batch(now or self.rt.clock.now())
            looked += count
            if count < self.batch:
                return looked
            await asyncio.sleep(0)  # webhooks and clicks get their turn between batches

    async def seconds_to_next_step(self) -> float | None:
        """How long until the earliest open card's next step falls due (None: no step is pending).
        The heartbeat wakes up then instead of waiting for its next beat."""
        async with self.rt.sessions() as session:
            next_due = select(func.min(Card.escalate_at)).where(*_PENDING, self._served.filter)
            due = (await session.exec(next_due)).first()
        if due is None:
            return None
        return max(0.0, (due - self.rt.clock.now()).total_seconds())

    async def _sweep_batch(self, now: datetime) -> int:
        """One transaction for up to ``batch`` due cards, in a handful of statements whatever their
        number. The cards are locked while it runs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
        write lock on SQLite), so each step is written once, and a click on one of them waits for
        this transaction and then sees the card as it leaves it."""
        async with self.rt.unit_of_work() as session:
            cards = await self._due(session, now)
            if not cards:
                return 0
            steps = [self._next_step(card) for card in cards]
            fired_at = self.rt.clock.now()
            await session.exec(_STEP_UP, params=[step.values for step in steps])
            firing = [step for step in steps if step.fires]
            await self._audit(session, firing, fired_at)
            await self._announce(session, [step for step in firing if step.people], fired_at)
        return len(cards)

    async def _due(self, session: AsyncSession, now: datetime) -> list[Card]:
        return list((await session.exec(self._due_statement(), params={"now": now})).all())

    def _due_statement(self) -> Any:
        query = (
            select(Card)
            .where(
                col(Card.escalate_at) <= bindparam("now", type_=UTCDateTime),
                col(Card.status) == CardStatus.OPEN.value,
                self._served.filter,
            )
            .order_by(col(Card.escalate_at))
            .limit(self.batch)
        )
        return query.with_for_update(skip_locked=True) if self.rt.postgres else query

    def _next_step(self, card: Card) -> _Step:
        org = self.rt.directory.get(card.org_id)
        policy = EscalationPolicy.from_snapshot(card.escalation_policy)
        level = card.escalation_level
        values: dict[str, Any] = {
            "id": card.id,
            "version": card.version + 1,
            "escalation_level": level,
            "escalate_at": None,
            "escalated_to": card.escalated_to,
        }
        if level >= len(policy.steps):  # the ladder is exhausted: stop looking at this card
            return _Step(card, org, values)
        step = policy.steps[level]
        people = notify_targets(org, card, step.notify)
        started = card.escalation_started_at or card.created_at
        values |= {
            "escalation_level": level + 1,
            "escalate_at": policy.due_at(level + 1, started, org.calendar),
            "escalated_to": list(dict.fromkeys([*card.escalated_to, *(p.name for p in people)])),
        }
        if not people:
            log.warning(
                "card %s: escalation step %s (%s) reaches nobody; check the config",
                card.id,
                level + 1,
                step.notify,
            )
        return _Step(card, org, values, level + 1, step.notify, people, step.via)

    async def _audit(self, session: AsyncSession, steps: list[_Step], fired_at: datetime) -> None:
        if not steps:
            return
        rows = [
            {
                "org_id": step.org.id,
                "card_id": step.card.id,
                "at": fired_at,
                "actor": "system",
                "kind": "escalated",
                "data": {
                    "level": step.level,
                    "notify": step.notify,
                    "to": [p.id for p in step.people],
                    # The loaded card still has the due time this step fired for (see _STEP_UP).
                    "due_at": step.card.escalate_at.isoformat() if step.card.escalate_at else None,
                    "fired_at": fired_at.isoformat(),
                },
            }
            for step in steps
        ]
        await session.exec(insert(AuditEvent.__table__), params=rows)  # type: ignore[attr-defined]

    async def _announce(self, session: AsyncSession, steps: list[_Step], now: datetime) -> None:
        """The card re-rendered with its new state, a line in its thread and, for steps that reach
        people one by one, a DM each: all in one statement, in that order per card."""
        if not steps:
            return
        ids = [step.card.id or 0 for step in steps]
        posts = await posts_by_card(session, ids)
        waiting = await pending_renders(session, ids)
        rows: list[dict[str, Any]] = []
        for step in steps:
            card_posts = posts.get(step.card.id or 0, [])
            rows += render_rows(step.card, card_posts, waiting, now)
            rows += thread_rows(step.card, card_posts, self._thread_text(step), now)
            rows += self._direct_rows(step, now)
        await enqueue_rows(session, rows)

    @staticmethod
    def _thread_text(step: _Step) -> Notice:
        """The line under the card: a team step mentions its people (each channel writes the
        mention its own way); any other step names them."""
        people, level = tuple(p.id for p in step.people), {"level": str(step.level)}
        if step.notify == "team":
            return Notice("thread.escalated_team", text=level, mentions={"mentions": people})
        return Notice("thread.escalated", text=level, names={"names": people})

    def _direct_rows(self, step: _Step, now: datetime) -> list[dict[str, Any]]:
        """A DM to each person the step reaches, at most once per card, escalation round (a release
        starts a new one), level and person, and once per phone number. A ``team`` step reaches its
        people in the thread; only the phone channels its ``via`` names reach them one by one."""
        card, org = step.card, step.org
        key = f"esc:{card.id}:{escalation_round(card)}:{step.level}"
        notice, claim = Notice("dm.escalated"), (ActionId.CLAIM,)
        phones = [v for v in step.via or () if v in PHONE_CHANNELS]
        if step.notify == "team" and not phones:
            return []
        rows: list[dict[str, Any]] = []
        for person in step.people:
            dedupe = f"{key}:{person.id}"
            rows += direct_rows(
                self.rt,
                org,
                person.id,
                notice,
                card.id,
                now,
                actions=claim,
                dedupe=dedupe,
                via=step.via,
                phones=phones,
                only_phones=step.notify == "team",
            )
        return _once_per_place(rows)


def _once_per_place(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The first DM to each channel and target: two people who share a phone get one text."""
    seen: set[tuple[str, str]] = set()
    kept: list[dict[str, Any]] = []
    for row in rows:
        place = (row["channel"], row["target"])
        if place not in seen:
            seen.add(place)
            kept.append(row)
    return kept


def escalation_round(card: Card) -> int:
    """When the card's current escalation round started (intake, or its last release), in
    microseconds since the epoch: part of its DMs' dedupe keys, so a new round sends new DMs."""
    started = card.escalation_started_at or card.created_at
    return (started - _EPOCH) // timedelta(microseconds=1)


def notify_targets(org: Org, card: Card, notify: str) -> list[StaffMember]:
    """The people a step reaches: ``team``, ``oncall``, ``managers``, ``owner`` or a staff id."""
    config = org.config
    team = config.team(card.team_id) or config.default_team()
    if notify == "team":
        ids = team.members if team else []
    elif notify == "oncall":
        ids = (team.oncall or team.members) if team else []
    elif notify == "managers":
        ids = [m.id for m in config.managers()]
    elif notify == "owner":
        ids = [card.addressee_id] if card.addressee_id else []
    else:
        ids = [notify]
    return [m for m in (config.staff_member(i) for i in dict.fromkeys(ids)) if m is not None]

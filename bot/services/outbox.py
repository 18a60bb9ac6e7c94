"""Writing deliveries into the outbox, inside the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import execute
from bot.store.models import Card, CardPost, OutboxMessage, row_values
from bot.store.upsert import dialect_of, insert_ignore_statement
from cards.model import CardFacts
from cards.notice import Notice

CARD = "card"
THREAD = "thread"
DIRECT = "direct"
PRIVATE = "private"
"""A notice only one person sees (``ChannelPublisher.tell_privately``)."""
ERASE = "erase"
"""A message sent before (``payload["ref"]``) replaced with a notice, the data it showed gone
(``MessageEditor``): an erasure or a closed card purged."""
EPHEMERAL = "ephemeral"
"""What ``PRIVATE`` rows were called before; rows written so are still sent the same way."""
REPORT = "report"
"""A report to one person (the daily digest): ``payload`` is a ``DigestMessage``'s."""
MAIL = "mail"
"""An email written for one address (a card by email): ``payload`` is a ``Mail``'s fields."""
# Statements built once (building one costs more than running it), card ids bound at execution.
_POSTS_OF_CARDS = (
    select(CardPost)
    .where(col(CardPost.card_id).in_(bindparam("ids", expanding=True)))
    .order_by(col(CardPost.id))
)
_PENDING_RENDERS = (
    select(OutboxMessage.card_id, OutboxMessage.target)
    .where(
        col(OutboxMessage.card_id).in_(bindparam("ids", expanding=True)),
        OutboxMessage.kind == CARD,
        OutboxMessage.status == "pending",
        col(OutboxMessage.locked_until).is_(None),
    )
    .with_for_update()
)
ENQUEUED = "centralita.outbox_enqueued"
"""``session.info`` flag: this transaction wrote outbox rows (the delivery worker is woken for them)."""
HANDED = "centralita.outbox_handed"
"""``session.info`` list: rows this transaction wrote leased, for the worker once it commits."""
LEASE = timedelta(seconds=60)
"""How long a leased row belongs to the worker that leased it; after that any worker may send it."""


@dataclass
class Sending:
    """An outbox row on its way out: what sending reads, and the result it writes back. A plain
    object, not an ``OutboxMessage``: building a table model costs several times more."""

    id: int
    org_id: str
    card_id: int | None
    channel: str
    kind: str
    target: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    locked_until: datetime | None
    last_error: str | None
    sent_at: datetime | None
    external_ref: str | None = None
    """The platform's reference of what was sent, once sent."""

    @classmethod
    def of(cls, values: Mapping[Any, Any]) -> Sending:
        return cls(**{name: values[name] for name in SENDING_COLUMNS})


SENDING_COLUMNS = tuple(Sending.__dataclass_fields__)


@dataclass(frozen=True)
class HandedOver:
    """A new card's first post, written leased to this process: the row, the facts of the card it
    renders and the post's values, as they were written."""

    row: Sending
    facts: CardFacts
    post: dict[str, Any]


def wall_now() -> datetime:
    """Delivery timing (due times, leases, retries) runs on the wall clock, not the domain ``Clock``:
    it is about the platforms' time, and a test that moves the domain clock must not expire leases."""
    return datetime.now(UTC)


def outbox_row(
    *,
    org_id: str,
    channel: str,
    kind: str,
    target: str,
    now: datetime,
    card_id: int | None = None,
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """The values of one delivery, due at once."""
    return {
        "org_id": org_id,
        "card_id": card_id,
        "channel": channel,
        "kind": kind,
        "target": target,
        "payload": payload or {},
        "dedupe_key": dedupe_key,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": wall_now(),
        "created_at": now,
    }


def enqueue(session: AsyncSession, **values: Any) -> None:
    """One delivery (the keywords of ``outbox_row``), written with the caller's transaction."""
    add_row(session, outbox_row(**values))


def add_row(session: AsyncSession, row: dict[str, Any]) -> None:
    session.info[ENQUEUED] = True
    session.add(OutboxMessage(**row))


async def enqueue_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Many deliveries (``outbox_row`` values) in one statement; they keep their order. They are
    written at once, before rows added with ``add_row`` in the same transaction are flushed. A row
    whose ``dedupe_key`` was written already is skipped (``ON CONFLICT DO NOTHING``): it was sent or
    is on its way, and a repeat must not fail the whole transaction."""
    if rows:
        session.info[ENQUEUED] = True
        # The table's own INSERT, not the ORM's bulk insert: the ORM splits the rows into a new
        # statement wherever the set of non-empty values changes (a DM has a dedupe key, a render has
        # none), which made one statement per row when they alternate. Built once per dialect.
        await execute(session, insert_ignore_statement(dialect_of(session), OutboxMessage), rows)


def leased(row: dict[str, Any]) -> dict[str, Any]:
    """``outbox_row`` values written already leased to this process (see ``hand_over``)."""
    return {**row, "locked_until": wall_now() + LEASE}


def hand_over(
    session: AsyncSession, row_id: int, values: dict[str, Any], facts: CardFacts, post: dict[str, Any]
) -> None:
    """Give a new card's first post, written ``leased``, to this process's delivery worker once the
    transaction commits (``Runtime.unit_of_work``): it is sent without a lease round trip. Nothing
    else of the card can be waiting before it, so the card's order holds; should the process stop
    first, the lease runs out and any worker sends it."""
    sending = Sending.of(row_values(OutboxMessage, id=row_id, **values))
    session.info.setdefault(HANDED, []).append(HandedOver(sending, facts, post))


async def announce_change(session: AsyncSession, card: Card, line: Notice | None, now: datetime) -> None:
    """A changed card: re-rendered on every channel it was posted to (a pending render is reused),
    then ``line`` in its thread there (None: no line). The escalation sweep does the same for many
    cards at once."""
    assert card.id is not None
    posts = (await posts_by_card(session, [card.id])).get(card.id, [])
    waiting = await pending_renders(session, [card.id])
    lines = thread_rows(card, posts, line, now) if line is not None else []
    for row in render_rows(card, posts, waiting, now) + lines:
        add_row(session, row)


async def posts_by_card(session: AsyncSession, card_ids: Iterable[int]) -> dict[int, list[CardPost]]:
    """The posts of many cards, in the order they were made."""
    found: dict[int, list[CardPost]] = defaultdict(list)
    for post in (await session.exec(_POSTS_OF_CARDS, params={"ids": list(card_ids)})).all():
        found[post.card_id].append(post)
    return found


async def pending_renders(session: AsyncSession, card_ids: Iterable[int]) -> set[tuple[int, str]]:
    """(card id, post id) of the renders still waiting to be sent: they will show the card as it is
    when they are sent, so a change needs no new one. They are locked (PostgreSQL): a render the
    worker is leasing at this moment, with the card as it was, must not be taken for one that will
    show this change."""
    waiting = await session.exec(_PENDING_RENDERS, params={"ids": list(card_ids)})
    return {(card_id or 0, target) for card_id, target in waiting.all()}


def render_rows(
    card: Card, posts: list[CardPost], waiting: set[tuple[int, str]], now: datetime
) -> list[dict[str, Any]]:
    """A render on each of the card's posts that has none waiting."""
    return [
        _for_post(card, post, CARD, now, {}) for post in posts if (card.id or 0, str(post.id)) not in waiting
    ]


def thread_rows(card: Card, posts: list[CardPost], line: Notice, now: datetime) -> list[dict[str, Any]]:
    """``line`` under the card on each of its posts: stored as what happened, written in each
    channel's form when sent."""
    payload = {"notice": line.to_payload()}
    return [_for_post(card, post, THREAD, now, payload) for post in posts]


def _for_post(
    card: Card, post: CardPost, kind: str, now: datetime, payload: dict[str, Any]
) -> dict[str, Any]:
    return outbox_row(
        org_id=card.org_id,
        card_id=card.id,
        channel=post.channel,
        kind=kind,
        target=str(post.id),
        now=now,
        payload=payload,
    )

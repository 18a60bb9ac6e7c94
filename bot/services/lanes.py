"""The outbox's order: rows go out in lanes, one per post (one card on one channel).

A row about a card belongs to the lane ``(card_id, channel)``: a card's post on that channel, its
re-renders and thread lines there, and the DMs about the card sent on that channel (which link to
that post, so they go after its first message). A lane's rows go out one at a time in the order they
were written (``id``); a row waiting on a retry, or leased by a worker, holds back the rows behind it
in its lane only. Other lanes, the same card on another channel included, go on. Rows not about a
card (ephemeral notes) are a lane of their own each.

The two statements here are built once, with ``now`` and ``until`` bound at execution: building one
costs more than running it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, tuple_, update
from sqlalchemy.orm import aliased
from sqlmodel import col, or_, select

from bot.services.outbox import SENDING_COLUMNS, Sending
from bot.store.models import OutboxMessage
from bot.store.types import UTCDateTime

_OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


def lane(row: Sending) -> tuple[object, ...]:
    """The lane a row goes out in: its post's, or its own when it is not about a card."""
    return (row.card_id, row.channel) if row.card_id is not None else ("row", row.id)


def lease_statement(batch: int, *, postgres: bool) -> Any:
    """Lease up to ``batch`` due rows, skipping (on PostgreSQL) rows another worker holds, and
    keeping back a row while an earlier unsent row of its lane is not leased with it (waiting on a
    retry, or leased elsewhere): so each lane's rows go out in order.

    The candidates already leave out rows of lanes with a pending row that cannot be leased now (not
    due, or leased): else one lane with a row waiting on a retry and a hundred rows after it fills
    the batch with rows the UPDATE then keeps back, and nothing is sent for anyone. The UPDATE
    repeats the check against the candidates for what the first cannot see: an earlier row left out
    of them by the LIMIT, or skipped as locked (PostgreSQL)."""
    now = bindparam("now", type_=UTCDateTime)
    # Lanes with a pending row that cannot be leased now: their rows wait. One hashed set, not a
    # correlated EXISTS per row (see ``next_due_statement``). A lane's rows go out in order, so its
    # rows before such a row were sent already.
    blocker = aliased(OutboxMessage)
    blocked_lanes = select(blocker.card_id, blocker.channel).where(
        col(blocker.status) == "pending",
        col(blocker.card_id).is_not(None),
        or_(col(blocker.next_attempt_at) > now, col(blocker.locked_until) >= now),
    )
    free = or_(
        col(OutboxMessage.card_id).is_(None),
        tuple_(col(OutboxMessage.card_id), col(OutboxMessage.channel)).not_in(blocked_lanes),
    )
    due = (
        select(OutboxMessage.id, OutboxMessage.card_id, OutboxMessage.channel)
        .where(
            col(OutboxMessage.status) == "pending",
            col(OutboxMessage.next_attempt_at) <= now,
            or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now),
            free,
        )
        .order_by(col(OutboxMessage.id))
        .limit(batch)
    )
    if postgres:
        due = due.with_for_update(skip_locked=True)
    candidates = due.cte("candidates")
    earlier = aliased(OutboxMessage)
    held_back = (
        select(earlier.id)
        .where(
            col(earlier.card_id) == candidates.c.card_id,
            col(earlier.channel) == candidates.c.channel,
            col(earlier.status) == "pending",
            col(earlier.id) < candidates.c.id,
            col(earlier.id).not_in(select(candidates.c.id)),
        )
        .exists()
    )
    return (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == candidates.c.id, ~held_back)
        .values(locked_until=bindparam("until", type_=UTCDateTime))
        .returning(*(_OUTBOX.c[name] for name in SENDING_COLUMNS))
    )


def next_due_statement() -> Any:
    """The earliest due time among the rows a lease could take: pending, not leased, and the first
    pending row of their lane (a later one waits for it: that row's own time, or its lease, decides).

    Set-based (the first pending row per lane in one grouped subquery), not a correlated EXISTS per
    row: PostgreSQL planned the correlated form as a nested scan when the table's statistics were
    stale, which cost seconds per call with thousands of pending rows."""
    now = bindparam("now", type_=UTCDateTime)
    firsts = (
        select(func.min(OutboxMessage.id))
        .where(col(OutboxMessage.status) == "pending", col(OutboxMessage.card_id).is_not(None))
        .group_by(col(OutboxMessage.card_id), col(OutboxMessage.channel))
    )
    return select(func.min(OutboxMessage.next_attempt_at)).where(
        col(OutboxMessage.status) == "pending",
        or_(col(OutboxMessage.locked_until).is_(None), col(OutboxMessage.locked_until) < now),
        or_(col(OutboxMessage.card_id).is_(None), col(OutboxMessage.id).in_(firsts)),
    )

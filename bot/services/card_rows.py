"""Writing a new card's rows: the card, its ``created`` audit event, its post and the post's first
outbox row.

On PostgreSQL they go in one statement, INSERTs chained through data-modifying CTEs (each takes the
ids the one before it returned), instead of four: each statement is a round trip and SQLAlchemy's
work around it, on the path of every call. SQLite has no data-modifying CTEs; there the four
statements cost no round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, insert, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import execute
from bot.store.models import AuditEvent, Card, CardPost, OutboxMessage

_CARD, _AUDIT = Card.__table__, AuditEvent.__table__  # type: ignore[attr-defined]
_POST, _OUTBOX = CardPost.__table__, OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT_CARD = insert(_CARD).returning(_CARD.c.id)
_INSERT_AUDIT = insert(_AUDIT)
_INSERT_POST = insert(_POST).returning(_POST.c.id)
_INSERT_OUTBOX = insert(_OUTBOX).returning(_OUTBOX.c.id)
# The chained statement, per set of value names (they do not change from call to call).
_CHAINED: dict[tuple[tuple[str, ...], ...], Any] = {}


@dataclass(frozen=True)
class NewCardRows:
    """The values of each row; ``card_id`` (and the outbox row's ``target``, the post id) are filled
    in from the ids the database gives."""

    card: dict[str, Any]
    audit: dict[str, Any]
    post: dict[str, Any]
    outbox: dict[str, Any]


@dataclass(frozen=True)
class NewCardIds:
    card: int
    post: int
    outbox: int


async def write_new_card(session: AsyncSession, rows: NewCardRows, *, postgres: bool) -> NewCardIds:
    if postgres:
        return await _chained(session, rows)
    card_id = (await execute(session, _INSERT_CARD, rows.card)).scalar_one()
    await execute(session, _INSERT_AUDIT, {**rows.audit, "card_id": card_id})
    post_id = (await execute(session, _INSERT_POST, {**rows.post, "card_id": card_id})).scalar_one()
    outbox = {**rows.outbox, "card_id": card_id, "target": str(post_id)}
    outbox_id = (await execute(session, _INSERT_OUTBOX, outbox)).scalar_one()
    return NewCardIds(card_id, post_id, outbox_id)


async def _chained(session: AsyncSession, rows: NewCardRows) -> NewCardIds:
    tables = (
        ("c_", _own(rows.card, "id")),
        ("a_", _own(rows.audit, "id", "card_id")),
        ("p_", _own(rows.post, "id", "card_id")),
        ("o_", _own(rows.outbox, "id", "card_id", "target")),
    )
    names = tuple(tuple(sorted(values)) for _, values in tables)
    statement = _CHAINED.get(names)
    if statement is None:
        statement = _CHAINED[names] = _chained_statement(*names)
    params = {f"{prefix}{name}": value for prefix, values in tables for name, value in values.items()}
    found = (await execute(session, statement, params)).one()
    return NewCardIds(found.card_id, found.post_id, found.outbox_id)


def _own(values: dict[str, Any], *taken: str) -> dict[str, Any]:
    """The values the statement binds: not those it takes from the rows written before."""
    return {name: value for name, value in values.items() if name not in taken}


def _chained_statement(
    card: tuple[str, ...], audit: tuple[str, ...], post: tuple[str, ...], outbox: tuple[str, ...]
) -> Any:
    def bound(table: Any, prefix: str, names: tuple[str, ...]) -> list[Any]:
        return [bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in names]

    new_card = (
        insert(_CARD)
        .values(dict(zip(card, bound(_CARD, "c_", card), strict=True)))
        .returning(_CARD.c.id)
        .cte("new_card")
    )
    new_audit = (
        insert(_AUDIT)
        .from_select([*audit, "card_id"], select(*bound(_AUDIT, "a_", audit), new_card.c.id))
        .cte("new_audit")
    )
    new_post = (
        insert(_POST)
        .from_select([*post, "card_id"], select(*bound(_POST, "p_", post), new_card.c.id))
        .returning(_POST.c.id, _POST.c.card_id)
        .cte("new_post")
    )
    first_render = select(*bound(_OUTBOX, "o_", outbox), new_post.c.card_id, cast(new_post.c.id, String))
    new_outbox = (
        insert(_OUTBOX)
        .from_select([*outbox, "card_id", "target"], first_render)
        .returning(_OUTBOX.c.id, _OUTBOX.c.card_id)
        .cte("new_outbox")
    )
    return (
        select(
            new_card.c.id.label("card_id"), new_post.c.id.label("post_id"), new_outbox.c.id.label("outbox_id")
        )
        .select_from(
            new_card.join(new_post, new_post.c.card_id == new_card.c.id).join(
                new_outbox, new_outbox.c.card_id == new_card.c.id
            )
        )
        .add_cte(new_audit)
    )

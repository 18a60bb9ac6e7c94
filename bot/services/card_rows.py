"""Writing a new card's rows: the card, its ``created`` audit event, its posts (one per channel)
and each post's first outbox row.

On PostgreSQL they go in one statement, INSERTs chained through data-modifying CTEs (each takes the
ids the one before it returned), instead of four or more: each statement is a round trip and
SQLAlchemy's work around it, on the path of every call. SQLite has no data-modifying CTEs; there the
posts go in one multi-row INSERT and their outbox rows in another, however many channels a card is
posted to (SQLite's statements cost no round trip, but each costs SQLAlchemy's work in the server's
own process: with a card in Slack and Teams, two fewer statements per call in the (d) burst).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, cast, insert, select, union_all
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.store.db import execute
from bot.store.models import AuditEvent, Card, CardPost, OutboxMessage

_CARD, _AUDIT = Card.__table__, AuditEvent.__table__  # type: ignore[attr-defined]
_POST, _OUTBOX = CardPost.__table__, OutboxMessage.__table__  # type: ignore[attr-defined]
_INSERT_CARD = insert(_CARD).returning(_CARD.c.id)
_INSERT_AUDIT = insert(_AUDIT)
_INSERT_POSTS = insert(_POST).returning(_POST.c.id, _POST.c.channel, _POST.c.target)
_INSERT_OUTBOXES = insert(_OUTBOX).returning(_OUTBOX.c.id, _OUTBOX.c.target)
# The chained statement, per set of value names and number of posts (they seldom change).
_CHAINED: dict[tuple[Any, ...], Any] = {}


@dataclass(frozen=True)
class NewCardRows:
    """The values of each row; ``card_id`` (and the outbox rows' ``target``, their post's id) are
    filled in from the ids the database gives. ``outbox`` is the first render of each post (its
    ``channel`` is the post's)."""

    card: dict[str, Any]
    audit: dict[str, Any]
    posts: list[dict[str, Any]]
    outbox: dict[str, Any]


@dataclass(frozen=True)
class NewCardIds:
    card: int
    posts: list[tuple[int, int]]
    """(post id, the id of its first render's outbox row), in the order of ``NewCardRows.posts``."""


async def write_new_card(session: AsyncSession, rows: NewCardRows, *, postgres: bool) -> NewCardIds:
    if postgres:
        return await _chained(session, rows)
    card_id = (await execute(session, _INSERT_CARD, rows.card)).scalar_one()
    await execute(session, _INSERT_AUDIT, {**rows.audit, "card_id": card_id})
    posts = [{**post, "card_id": card_id} for post in rows.posts]
    # One multi-row INSERT per table, however many posts; SQLite does not promise the order of the
    # rows RETURNING gives, so each id is matched to its row by the values that tell them apart.
    written = (await execute(session, _INSERT_POSTS, posts)).all()
    by_place = {(row.channel, row.target): row.id for row in written}
    post_ids = [by_place[(post["channel"], post["target"])] for post in posts]
    outbox = [
        {**rows.outbox, "card_id": card_id, "target": str(post_id), "channel": post["channel"]}
        for post_id, post in zip(post_ids, posts, strict=True)
    ]
    queued = {row.target: row.id for row in (await execute(session, _INSERT_OUTBOXES, outbox)).all()}
    return NewCardIds(card_id, [(post_id, queued[str(post_id)]) for post_id in post_ids])


async def _chained(session: AsyncSession, rows: NewCardRows) -> NewCardIds:
    posts = [_own(post, "id", "card_id") for post in rows.posts]
    tables = (
        ("c_", _own(rows.card, "id")),
        ("a_", _own(rows.audit, "id", "card_id")),
        ("o_", _own(rows.outbox, "id", "card_id", "target", "channel")),
        *((f"p{i}_", post) for i, post in enumerate(posts)),
    )
    card, audit, outbox, post = (tuple(sorted(values)) for _, values in tables[:4])
    key = (card, audit, post, outbox, len(posts))
    statement = _CHAINED.get(key)
    if statement is None:
        statement = _CHAINED[key] = _chained_statement(card, audit, post, outbox, len(posts))
    params = {f"{prefix}{name}": value for prefix, values in tables for name, value in values.items()}
    found = {row.post_id: row for row in (await execute(session, statement, params)).all()}
    # The posts come back in the order they were inserted, which is the order of their ids.
    ordered = sorted(found)
    card_id = found[ordered[0]].card_id
    return NewCardIds(card_id, [(post_id, found[post_id].outbox_id) for post_id in ordered])


def _own(values: dict[str, Any], *taken: str) -> dict[str, Any]:
    """The values the statement binds: not those it takes from the rows written before."""
    return {name: value for name, value in values.items() if name not in taken}


def _chained_statement(
    card: tuple[str, ...], audit: tuple[str, ...], post: tuple[str, ...], outbox: tuple[str, ...], posts: int
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
    each_post = [select(*bound(_POST, f"p{i}_", post), new_card.c.id) for i in range(posts)]
    new_post = (
        insert(_POST)
        .from_select([*post, "card_id"], each_post[0] if posts == 1 else union_all(*each_post))
        .returning(_POST.c.id, _POST.c.card_id, _POST.c.channel)
        .cte("new_post")
    )
    first_render = select(
        *bound(_OUTBOX, "o_", outbox), new_post.c.card_id, new_post.c.channel, cast(new_post.c.id, String)
    )
    new_outbox = (
        insert(_OUTBOX)
        .from_select([*outbox, "card_id", "channel", "target"], first_render)
        .returning(_OUTBOX.c.id, _OUTBOX.c.card_id, _OUTBOX.c.target)
        .cte("new_outbox")
    )
    return (
        select(
            new_card.c.id.label("card_id"), new_post.c.id.label("post_id"), new_outbox.c.id.label("outbox_id")
        )
        .select_from(
            new_card.join(new_post, new_post.c.card_id == new_card.c.id).join(
                new_outbox, new_outbox.c.target == cast(new_post.c.id, String)
            )
        )
        .add_cte(new_audit)
    )

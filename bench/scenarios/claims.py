"""(b) *Claim* clicks, one per card, one after another: signed ``block_actions`` → HTTP 200."""

from __future__ import annotations

import asyncio
import time

from sqlmodel import col, select

from bench.databases import DbSlot
from bench.load import LoadResult, sequential
from bench.process import ServerProcess
from bench.signed import claim_click
from bot.store.models import Card

CLAIMED_TIMEOUT = 30.0


async def claim_acks(server: ServerProcess, card_ids: list[int], warmup_ids: list[int]) -> LoadResult:
    """Warm up on ``warmup_ids`` (Bolt's first request calls auth.test), then one click per card."""
    await sequential(server.url, [claim_click(card_id) for card_id in warmup_ids])
    return await sequential(server.url, [claim_click(card_id) for card_id in card_ids])


async def bare_acks(server: ServerProcess, count: int) -> LoadResult:
    """The same clicks (same body size) to an endpoint that only answers 200."""
    clicks = [claim_click(100_000 + i) for i in range(count)]
    await sequential(server.url, clicks[: max(1, count // 10)])
    return await sequential(server.url, clicks)


async def open_cards(slot: DbSlot, prefix: str, limit: int) -> list[int]:
    """Ids of the open cards whose caller said ``(ref <prefix>-…``, oldest first."""
    query = (
        select(Card.id)
        .where(col(Card.summary).contains(f"(ref {prefix}-"), col(Card.status) == "open")
        .order_by(col(Card.id))
        .limit(limit)
    )
    return [int(card_id) for card_id in await slot.database().query(query)]


async def claimed(slot: DbSlot, card_ids: list[int]) -> int:
    """How many of the cards ended up claimed (waits for the work done after the acks)."""
    deadline, count = time.monotonic() + CLAIMED_TIMEOUT, 0
    query = select(Card.id).where(col(Card.id).in_(card_ids), col(Card.status) == "claimed")
    while True:
        count = len(await slot.database().query(query))
        if count == len(card_ids) or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.2)

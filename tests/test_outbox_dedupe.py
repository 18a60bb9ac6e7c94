"""A delivery whose dedupe key was written already is skipped, and the rest of its statement and
its transaction go on: a repeated key must never fail the use case that wrote it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import Services
from bot.services.outbox import DIRECT, enqueue_rows, outbox_row
from tests.support import Database, FakeClock, services_only


@pytest.fixture
async def services(db: Database, clock: FakeClock) -> AsyncIterator[Services]:
    async with services_only(db, clock, None) as found:
        yield found


def _dm(services: Services, text: str, dedupe: str | None) -> dict[str, object]:
    now = services.runtime.clock.now()
    payload = {"text": text}
    return outbox_row(
        org_id="default",
        channel="console",
        kind=DIRECT,
        target="ana",
        now=now,
        payload=payload,
        dedupe_key=dedupe,
    )


async def test_rows_whose_dedupe_key_exists_are_skipped_and_the_others_keep_their_order(
    services: Services, db: Database
) -> None:
    async with services.runtime.unit_of_work() as session:
        await enqueue_rows(session, [_dm(services, "first", "k:1"), _dm(services, "plain", None)])
    async with services.runtime.unit_of_work() as session:
        again = [_dm(services, "repeat", "k:1"), _dm(services, "second", "k:2"), _dm(services, "last", None)]
        await enqueue_rows(session, again)
        await enqueue_rows(session, [_dm(services, "same statement", "k:3"), _dm(services, "twice", "k:3")])
    rows = await db.outbox()
    assert [(r.payload["text"], r.dedupe_key) for r in rows] == [
        ("first", "k:1"),
        ("plain", None),
        ("second", "k:2"),
        ("last", None),
        ("same statement", "k:3"),
    ]

"""The delivery worker's use case: send what the outbox holds, in order per post, with retries.

Rows are leased (``locked_until``) in a short transaction, sent outside any transaction, and their
results written in further ones, as each post's rows finish. A crash mid-send lets the lease expire
and the row is sent again, so delivery is at least once. Each lane (a card's post on one channel,
see ``bot.services.lanes``) sends its rows in the order they were written, and a row waiting on a
retry holds back the rows of its lane that come after it, never another lane's.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from sqlalchemy import bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ports import (
    ChannelPublisher,
    DeliveryError,
    EventPublisher,
    Mail,
    MailSender,
    MessageEditor,
    PerWorkspace,
    PostRef,
    Publisher,
)
from bot.services import messages
from bot.services.digest_message import DigestMessage
from bot.services.directory import Org
from bot.services.facts import card_facts
from bot.services.lanes import lane, lease_statement, next_due_statement
from bot.services.outbox import (
    CARD,
    DIRECT,
    EPHEMERAL,
    ERASE,
    LEASE,
    MAIL,
    PRIVATE,
    REPORT,
    THREAD,
    HandedOver,
    Sending,
    wall_now,
)
from bot.services.replies import CUSTOMER, ReplySending
from bot.services.report_links import report_links
from bot.services.retry import retry_wait
from bot.services.runtime import Runtime
from bot.services.webhooks import WEBHOOK
from bot.store.db import execute
from bot.store.models import Card, CardPost, OutboxMessage
from bot.telemetry import DELIVERY_SECONDS
from cards.build import build_card
from cards.model import CardFacts

log = logging.getLogger("centralita.delivery")
# Results are written through the tables (executemany; the SET columns are the params' keys).
_OUTBOX, _POSTS = OutboxMessage.__table__, CardPost.__table__  # type: ignore[attr-defined]
_SAVE_RESULTS = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id"))
_SAVE_REFS = update(_POSTS).where(_POSTS.c.id == bindparam("post_id"))
_CARDS_WITH_POSTS = (
    select(Card, CardPost)
    .outerjoin(CardPost, col(CardPost.card_id) == col(Card.id))
    .where(col(Card.id).in_(bindparam("ids", expanding=True)))
)
MAX_ATTEMPTS = 10
"""Attempts after which a row is given up when the platform refuses it for a reason not known to be
temporary (``DeliveryError.capped``); two to four minutes of backoff. Outages, 5xx and 429 are
retried for as long as they last."""
SAVE_ATTEMPTS = 4
"""Tries at writing a round's results (0.1, 0.2, 0.4 s apart): results that are lost mean the round's
rows are sent again when their lease runs out."""
SAVE_EVERY_SECONDS = 0.2
"""While some lanes of a round are still sending (a slow platform, a slow channel), the results of
the lanes that have finished are written this often: their next rows, and the rows they hold back,
need not wait for the slowest call of the round. A round that finishes sooner is written once."""

_NEXT_DUE = next_due_statement()
Saved = Callable[[Sequence[Sending]], None]
"""Told the rows whose results were just written (a part of a round)."""


@dataclass(frozen=True)
class Handed:
    """What became of the rows handed over: how many were attempted, and whether any was not sent
    (it then waits in the outbox for its retry, like any other row)."""

    sent: int
    failed: bool


@dataclass(frozen=True)
class _Post:
    """What sending needs of a card's post, loaded (``CardPost``) or as written (handed over)."""

    id: int
    card_id: int
    channel: str
    target: str
    external_ref: str | None

    @classmethod
    def of(cls, post: CardPost | dict[str, Any]) -> _Post:
        get: Any = post.__getitem__ if isinstance(post, dict) else partial(getattr, post)
        return cls(get("id") or 0, get("card_id"), get("channel"), get("target"), get("external_ref"))


@dataclass
class _Batch:
    rows: list[Sending]
    cards: dict[int, Card] = field(default_factory=dict)
    facts: dict[int, CardFacts] = field(default_factory=dict)
    """New cards' facts, handed over with their first post (their ``Card`` is never loaded)."""
    posts: dict[int, _Post] = field(default_factory=dict)
    new_refs: dict[int, str] = field(default_factory=dict)
    saved_refs: set[int] = field(default_factory=set)
    """Posts whose new reference is written already (by an earlier part of the round)."""
    skipped: set[int] = field(default_factory=set)
    """Rows not sent because their lease ran low; not written either, so the next lease takes them."""


class Delivery:
    def __init__(
        self,
        rt: Runtime,
        publishers: dict[str, Publisher],
        *,
        batch: int = 100,
        lease: timedelta = LEASE,
        replies: ReplySending | None = None,
    ) -> None:
        self.rt = rt
        self.publishers = publishers
        self.replies = replies
        """Sends messages to customers (kind ``customer``), when Twilio Messaging is wired."""
        self.batch = batch
        self.lease = lease
        # A row is sent only while a third of its lease is left (20 s of 60): one platform call can take
        # 2 × 10 s (its timeout, and one retry on a connection error), and a lane's results are
        # written only after its last send. Past that, another worker may lease the row and send it too.
        self.lease_margin = lease / 3
        self._lease_sql = lease_statement(batch, postgres=rt.postgres)

    async def deliver_due(self, saved: Saved | None = None) -> int:
        """Send one batch of due rows; returns how many were attempted."""
        return await self.send(await self.lease_due(), saved)

    async def deliver_handed(self, handed: Sequence[object], saved: Saved | None = None) -> Handed:
        """Send the rows a unit of work committed already leased to this process (new cards' first
        posts), with the facts and posts it wrote: no lease, no loading."""
        batch = _Batch([])
        for item in handed:
            assert isinstance(item, HandedOver)
            batch.rows.append(item.row)
            batch.facts[item.facts.card_id] = item.facts
            post = _Post.of(item.post)
            batch.posts[post.id] = post
        batch.rows.sort(key=lambda row: row.id)
        sent = await self.send(batch, saved)
        return Handed(sent, failed=any(row.status != "sent" for row in batch.rows))

    async def send(self, batch: _Batch, saved: Saved | None = None) -> int:
        """Send a leased batch, each lane in order and the lanes side by side, and write each lane's
        results soon after it finishes (``SAVE_EVERY_SECONDS``); ``saved`` is told each part written.
        Returns how many rows were attempted."""
        if not batch.rows:
            return 0
        lanes: dict[object, list[Sending]] = defaultdict(list)
        for row in batch.rows:
            lanes[lane(row)].append(row)
        sending = {asyncio.create_task(self._send_in_order(batch, rows)) for rows in lanes.values()}
        try:
            while sending:
                done, sending = await asyncio.wait(sending, timeout=SAVE_EVERY_SECONDS)
                if done:
                    await self._save(batch, [row for task in done for row in task.result()], saved)
        finally:
            for task in sending:  # cancelled (a worker stopping), or a lane failed unexpectedly
                task.cancel()
        return len(batch.rows) - len(batch.skipped)

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest row a lease could take is due (None when there is none). Rows
        leased (in flight, or handed over) and rows kept back behind an earlier row of their lane do
        not count: they cannot be leased when their own time comes, and a worker that looked at their
        times would run a lease round every few milliseconds for nothing."""
        now = wall_now()
        async with self.rt.sessions() as session:
            due: datetime | None = (await session.exec(_NEXT_DUE, params={"now": now})).first()
        if due is None:
            return None
        return max(0.0, (due - now).total_seconds())

    async def lease_due(self) -> _Batch:
        """Lease a batch of due rows (and load what sending them needs), for ``send``."""
        now = wall_now()
        async with self.rt.sessions() as session, session.begin():
            leased = await execute(session, self._lease_sql, {"now": now, "until": now + self.lease})
            rows = sorted((Sending.of(row._mapping) for row in leased), key=lambda row: row.id)
            batch = _Batch(rows)
            if rows:
                await self._load(session, batch)
        return batch

    async def _load(self, session: AsyncSession, batch: _Batch) -> None:
        """The cards the rows are about, with their posts, in one query."""
        card_ids = {r.card_id for r in batch.rows if r.card_id is not None}
        if not card_ids:
            return
        for card, post in (await session.exec(_CARDS_WITH_POSTS, params={"ids": list(card_ids)})).all():
            batch.cards[card.id or 0] = card
            if post is not None:
                batch.posts[post.id or 0] = _Post.of(post)

    async def _send_in_order(self, batch: _Batch, rows: list[Sending]) -> list[Sending]:
        """Send one lane's rows in order; the rows whose results are to be written (all but those
        left for the next lease)."""
        for index, row in enumerate(rows):
            if row.locked_until is None or wall_now() > row.locked_until - self.lease_margin:
                # The lease runs out soon (a slow round, or rows handed over long ago): another
                # worker may lease these rows then. Left as they are for the next lease.
                batch.skipped.update(later.id for later in rows[index:])
                log.warning("delivery %s left for the next lease: its lease is running out", row.id)
                return rows[:index]
            if not await self._send(batch, row):
                for later in rows[index + 1 :]:
                    later.locked_until = None
                    later.status = "pending"
                return rows
        return rows

    async def _send(self, batch: _Batch, row: Sending) -> bool:
        """Send one row; True when its lane's next row may go (this one was sent or given up)."""
        now = wall_now()
        row.attempts += 1
        try:
            await self._dispatch(batch, row)
        except DeliveryError as error:
            give_up = error.permanent or (error.capped and row.attempts >= MAX_ATTEMPTS)
            self._failed(row, str(error), error, give_up, wall_now())  # a Retry-After counts from the answer
            return give_up
        except Exception as error:  # a channel bug must not stop the worker; the row is retried
            log.exception("delivery %s failed", row.id)
            self._failed(row, repr(error), None, False, wall_now())
            return False
        row.status, row.sent_at, row.locked_until, row.last_error = "sent", now, None, None
        DELIVERY_SECONDS.labels(row.channel).observe(
            max(0.0, (wall_now() - row.next_attempt_at).total_seconds())
        )
        return True

    def _failed(
        self, row: Sending, reason: str, error: DeliveryError | None, permanent: bool, now: datetime
    ) -> None:
        row.last_error, row.locked_until = reason[:500], None
        if permanent:
            row.status = "dead"
            log.error("delivery %s gave up after %s attempts: %s", row.id, row.attempts, reason)
            return
        wait = retry_wait(row.attempts, error)
        row.next_attempt_at = now + timedelta(seconds=wait)
        log.warning("delivery %s retried in %.1fs: %s", row.id, wait, reason)

    async def _dispatch(self, batch: _Batch, row: Sending) -> None:
        if row.kind == CUSTOMER:
            if self.replies is None:
                raise DeliveryError("no messaging to customers in this process", permanent=True)
            row.external_ref = await self.replies.send(row.payload)
            return
        publisher = await self._publisher(row)
        if row.kind in (CARD, THREAD):
            row.external_ref = await self._card_message(batch, row, publisher)
            return
        if row.kind == REPORT:
            message = DigestMessage.from_payload(row.payload)
            links = await report_links(self.rt, publisher, row.channel, message.view.card_ids())
            row.external_ref = await publisher.send_report(row.target, await message.report(links))
            return
        if row.kind == MAIL:
            if not isinstance(publisher, MailSender):
                raise DeliveryError(f"{row.channel} does not send emails", permanent=True)
            row.external_ref = await publisher.send_mail(row.target, Mail(**row.payload))
            return
        if row.kind == WEBHOOK:
            await cast(EventPublisher, publisher).post_event(row.target, row.payload)
            return
        org, now = self._org(row.org_id), self.rt.clock.now()
        facts = self._facts(batch, row.card_id) if row.card_id is not None else None
        if row.kind == DIRECT:
            link = self._first_post_ref(batch, row.card_id, row.channel)
            view = messages.direct_view(org, row.channel, row.payload, facts, now)
            row.external_ref = await publisher.send_direct(row.target, view, link)
        elif row.kind == ERASE:
            await self._replace(publisher, org, row)
        elif row.kind in (PRIVATE, EPHEMERAL):
            text = messages.text_of(org, row.channel, row.payload, facts, now)
            to = messages.private_to(row.target, row.payload)
            row.external_ref = await publisher.tell_privately(to, text)
        else:
            raise DeliveryError(f"unknown delivery kind {row.kind}", permanent=True)

    async def _publisher(self, row: Sending) -> ChannelPublisher:
        """The row's channel, as the account of its organisation's own workspace there when the
        channel has one per workspace."""
        publisher = self.publishers.get(row.channel)
        if publisher is None:
            raise DeliveryError(f"no publisher for channel {row.channel}", permanent=True)
        if isinstance(publisher, PerWorkspace):
            workspace = self._org(row.org_id).config.organization.workspace_on(row.channel)
            return await publisher.in_workspace(workspace)
        return publisher

    async def _replace(self, publisher: ChannelPublisher, org: Org, row: Sending) -> None:
        """A message sent before, replaced with the row's notice (the card it was about may be gone)."""
        if not isinstance(publisher, MessageEditor):
            raise DeliveryError(f"{row.channel} cannot edit the messages it sent", permanent=True)
        text = messages.text_of(org, row.channel, row.payload, None, self.rt.clock.now())
        await publisher.replace_message(str(row.payload["ref"]), text)

    async def _card_message(self, batch: _Batch, row: Sending, publisher: ChannelPublisher) -> str | None:
        """Post, update or write under a card; the reference of a new message (None: an update)."""
        post = batch.posts.get(int(row.target))
        facts = self._facts(batch, row.card_id or 0)
        if post is None or facts is None:
            raise DeliveryError("card or post no longer exists", permanent=True)
        ref = PostRef(post.target, batch.new_refs.get(post.id, post.external_ref))
        if row.kind == THREAD:
            if ref.external_ref is None:
                # A card's rows go out in order, so its post (and any render after it, which would
                # post it too) was sent or given up before this line: with no reference, the card
                # was never posted and this line never can be. Retrying would hold the card's later
                # rows (the DMs of an escalation, a reminder, a reassignment) back for ever.
                raise DeliveryError("card was never posted (its post was given up)", permanent=True)
            org = self._org(row.org_id)
            text = messages.text_of(org, row.channel, row.payload, facts, self.rt.clock.now())
            return await publisher.post_in_thread(ref, text)
        view = build_card(facts, self.rt.clock.now())
        if ref.external_ref is None:
            batch.new_refs[post.id] = await publisher.post_card(post.target, view)
            return batch.new_refs[post.id]
        await publisher.update_card(ref, view)
        return None

    def _facts(self, batch: _Batch, card_id: int) -> CardFacts | None:
        handed = batch.facts.get(card_id)
        if handed is not None:
            return handed
        card = batch.cards.get(card_id)
        if card is None:
            return None
        return card_facts(card, self._org(card.org_id))

    def _org(self, org_id: str) -> Org:
        try:
            return self.rt.directory.get(org_id)
        except KeyError:  # removed from the configuration: its messages cannot be written any more
            reason = f"organisation {org_id!r} is no longer configured"
            raise DeliveryError(reason, permanent=True) from None

    def _first_post_ref(self, batch: _Batch, card_id: int | None, channel: str) -> PostRef | None:
        """The card's first post on ``channel``, to link a direct message to it."""
        mine = (p for p in batch.posts.values() if p.card_id == card_id and p.channel == channel)
        posts = sorted(mine, key=lambda p: p.id)
        if not posts:
            return None
        post = posts[0]
        return PostRef(post.target, batch.new_refs.get(post.id, post.external_ref))

    async def _save(self, batch: _Batch, rows: list[Sending], saved: Saved | None) -> None:
        """The results of ``rows`` and every message reference not written yet, each in one
        executemany; tried again shortly if the database fails (a blip, SQLite's lock timeout)."""
        results = [
            {
                "row_id": row.id,
                "status": row.status,
                "attempts": row.attempts,
                "next_attempt_at": row.next_attempt_at,
                "locked_until": row.locked_until,
                "last_error": row.last_error,
                "sent_at": row.sent_at,
                "external_ref": row.external_ref,
            }
            for row in rows
        ]
        if not results:
            return
        new = {post_id: ref for post_id, ref in batch.new_refs.items() if post_id not in batch.saved_refs}
        refs = [{"post_id": post_id, "external_ref": ref} for post_id, ref in new.items()]
        if await self._write(results, refs):
            batch.saved_refs.update(new)
            if saved is not None:
                saved(rows)

    async def _write(self, results: list[dict[str, Any]], refs: list[dict[str, Any]]) -> bool:
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                async with self.rt.sessions() as session, session.begin():
                    await execute(session, _SAVE_RESULTS, results)
                    if refs:
                        await execute(session, _SAVE_REFS, refs)
                return True
            except Exception:
                if attempt == SAVE_ATTEMPTS:
                    log.exception(
                        "saving the results of %d deliveries failed %d times: they are sent again when"
                        " their lease runs out",
                        len(results),
                        attempt,
                    )
                    return False
                log.warning("saving delivery results failed (try %d), trying again", attempt, exc_info=True)
                await asyncio.sleep(0.1 * 2 ** (attempt - 1))
        return False

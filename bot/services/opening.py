"""Opening a card: the row, its escalation clock, where it is posted, and who is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.escalation import EscalationPolicy
from bot.domain.triage import TriageDecision
from bot.services.card_rows import NewCardRows, write_new_card
from bot.services.directory import Org
from bot.services.email_cards import email_card_rows
from bot.services.facts import row_facts
from bot.services.outbox import CARD, add_row, hand_over, leased, outbox_row
from bot.services.replies import window_closing
from bot.services.runtime import Runtime
from bot.services.telling import direct_rows
from bot.services.webhooks import add_events
from bot.store.models import Card, CardPost, row_values
from cards.notice import Notice


@dataclass(frozen=True)
class NewCard:
    source: str
    decision: TriageDecision
    summary: str
    caller_name: str | None = None
    call_sid: str | None = None
    recording_url: str | None = None
    created_by: str | None = None
    last_inbound_at: datetime | None = None
    """When the customer wrote, for a card opened by an SMS or WhatsApp message."""
    media: tuple[str, ...] = ()
    opted_out: bool = False
    transfer_until: datetime | None = None
    """Set when the caller waits on hold for a live transfer, until then."""


async def open_card(session: AsyncSession, rt: Runtime, org: Org, new: NewCard, now: datetime) -> int:
    """Insert the card, post it to each of its team's channels and tell the person it is addressed to; the
    card's id. The rows are written from their values (``row_values``), with no model objects: on
    the path of every call, building them cost more than writing them."""
    decision = new.decision
    policy = EscalationPolicy.from_config(org.config.priority(decision.priority))
    contact = decision.contact
    card = row_values(
        Card,
        org_id=org.id,
        source=new.source,
        call_sid=new.call_sid,
        category=decision.category,
        priority=decision.priority,
        team_id=decision.team_id,
        addressee_id=decision.route_id if decision.route_kind == "person" else None,
        caller_name=new.caller_name or (contact.name if contact else None),
        caller_number=decision.caller_number,
        company=contact.company if contact else None,
        summary=new.summary,
        recording_url=new.recording_url,
        last_inbound_at=new.last_inbound_at,
        window_closes_at=window_closing(new.source, new.last_inbound_at),
        media=list(new.media),
        opted_out=new.opted_out,
        transfer_allowed=decision.transfer_allowed,
        matched_rule=decision.rule_index,
        created_by=new.created_by,
        created_at=now,
        claim_deadline=policy.claim_deadline(now, org.calendar),
        escalation_policy=policy.snapshot(),
        escalation_started_at=now,
        escalate_at=policy.due_at(0, now, org.calendar),
        transfer_state="waiting" if new.transfer_until else None,
        transfer_until=new.transfer_until,
        last_call_at=now,
    )
    posts = _posts_for(rt, org, card, now)
    row = leased(outbox_row(org_id=org.id, channel="", kind=CARD, target="", now=now))
    ids = await write_new_card(
        session, NewCardRows(card, _audit_created(card, new), posts, row), postgres=rt.postgres
    )
    card["id"] = ids.card
    facts = row_facts(card, org)
    for post, (post_id, outbox_id) in zip(posts, ids.posts, strict=True):
        post |= {"id": post_id, "card_id": ids.card}
        first = {**row, "card_id": ids.card, "channel": post["channel"], "target": str(post_id)}
        hand_over(session, outbox_id, first, facts, post)
    _tell_addressee(session, rt, org, card, now)
    add_events(session, org, card, "created", {}, card["created_by"] or "caller", now)
    for email in email_card_rows(rt, org, card, facts, now):
        add_row(session, email)
    return ids.card


def _audit_created(card: dict[str, Any], new: NewCard) -> dict[str, Any]:
    data = {
        "source": new.source,
        "category": card["category"],
        "priority": card["priority"],
        "rule": new.decision.rule_index,
    }
    return {
        "org_id": card["org_id"],
        "card_id": None,  # the card's, once written
        "at": card["created_at"],
        "actor": new.created_by or "caller",
        "kind": "created",
        "data": data,
    }


def _posts_for(rt: Runtime, org: Org, card: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    """One post per channel the card's team is on (see ``Channels.card_posts``)."""
    return [
        row_values(CardPost, org_id=org.id, card_id=0, channel=d.channel, target=d.target, created_at=now)
        for d in rt.channels.card_posts(org.config.team(card["team_id"]))
    ]


def _tell_addressee(
    session: AsyncSession, rt: Runtime, org: Org, card: dict[str, Any], now: datetime
) -> None:
    member = org.config.staff_member(card["addressee_id"])
    if member is None:
        return
    dedupe = f"addressed:{card['id']}:{member.id}"
    for row in direct_rows(rt, org, member.id, Notice("dm.addressed"), card["id"], now, dedupe=dedupe):
        add_row(session, row)

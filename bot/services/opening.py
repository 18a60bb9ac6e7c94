"""Opening a card: the row, its escalation clock, where it is posted, and who is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.escalation import EscalationPolicy
from bot.domain.triage import TriageDecision
from bot.i18n import t
from bot.services.directory import Org
from bot.services.facts import card_facts
from bot.services.outbox import CARD, DIRECT, add_row, enqueue_leased, outbox_row
from bot.services.runtime import Runtime
from bot.store.db import execute
from bot.store.models import AuditEvent, Card, CardPost
from cards.build import card_title

# The table's own INSERTs (see ``_insert``), built once.
_INSERT_CARD = insert(Card.__table__).returning(Card.__table__.c.id)  # type: ignore[attr-defined]
_INSERT_POST = insert(CardPost.__table__).returning(CardPost.__table__.c.id)  # type: ignore[attr-defined]
_INSERT_AUDIT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class NewCard:
    source: str
    decision: TriageDecision
    summary: str
    caller_name: str | None = None
    call_sid: str | None = None
    recording_url: str | None = None
    created_by: str | None = None


async def open_card(session: AsyncSession, rt: Runtime, org: Org, new: NewCard, now: datetime) -> Card:
    """Insert the card, post it to its team's channel and tell the person it is addressed to."""
    decision = new.decision
    policy = EscalationPolicy.from_config(org.config.priority(decision.priority))
    contact = decision.contact
    card = Card(
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
        transfer_allowed=decision.transfer_allowed,
        matched_rule=decision.rule_index,
        created_by=new.created_by,
        created_at=now,
        claim_deadline=policy.claim_deadline(now, org.calendar),
        escalation_policy=policy.snapshot(),
        escalation_started_at=now,
        escalate_at=policy.due_at(0, now, org.calendar),
    )
    card.id = await _insert(session, _INSERT_CARD, card)
    await execute(session, _INSERT_AUDIT, _audit_created(card, new))
    post = _post_for(rt, org, card, now)
    post.id = await _insert(session, _INSERT_POST, post)
    row = outbox_row(
        org_id=org.id, card_id=card.id, channel=post.channel, kind=CARD, target=str(post.id), now=now
    )
    await enqueue_leased(session, row, card, post)
    _tell_addressee(session, rt, org, card, now)
    return card


async def _insert(session: AsyncSession, statement: Any, row: SQLModel) -> int:
    """Write ``row`` with the table's own INSERT … RETURNING id. The objects are built as models (for
    their defaults, and for the caller and the renderers) but not added to the session: the ORM's
    unit of work cost more than everything else in opening a card."""
    table = type(row).__table__  # type: ignore[attr-defined]
    values = {column.name: getattr(row, column.name) for column in table.columns if column.name != "id"}
    return int((await execute(session, statement, values)).scalar_one())


def _audit_created(card: Card, new: NewCard) -> dict[str, Any]:
    decision = new.decision
    data = {
        "source": new.source,
        "category": card.category,
        "priority": card.priority,
        "rule": decision.rule_index,
    }
    return {
        "org_id": card.org_id,
        "card_id": card.id,
        "at": card.created_at,
        "actor": new.created_by or "caller",
        "kind": "created",
        "data": data,
    }


def _post_for(rt: Runtime, org: Org, card: Card, now: datetime) -> CardPost:
    team = org.config.team(card.team_id)
    if rt.card_channel == "slack" and team is not None and team.slack_channel:
        return CardPost(
            org_id=org.id, card_id=card.id or 0, channel="slack", target=team.slack_channel, created_at=now
        )
    target = team.id if team else "reception"
    return CardPost(org_id=org.id, card_id=card.id or 0, channel="console", target=target, created_at=now)


def _tell_addressee(session: AsyncSession, rt: Runtime, org: Org, card: Card, now: datetime) -> None:
    member = org.config.staff_member(card.addressee_id)
    if member is None:
        return
    facts = card_facts(card, org)
    text = t(
        org.locale,
        "dm.addressed",
        title=card_title(facts),
        caller=card.caller_name or card.caller_number or "",
        summary=card.summary,
    )
    dedupe = f"addressed:{card.id}:{member.id}"
    add_row(session, direct_row(rt, org, member.id, text, card, now, dedupe=dedupe))


def direct_row(
    rt: Runtime,
    org: Org,
    staff_id: str,
    text: str,
    card: Card | None,
    now: datetime,
    *,
    dedupe: str | None = None,
) -> dict[str, Any]:
    """A DM to a staff member on the channel they can be reached on (Slack, else the console): its
    outbox values, for ``add_row`` (one) or ``enqueue_rows`` (many)."""
    member = org.config.staff_member(staff_id)
    on_slack = rt.card_channel == "slack" and member is not None and member.slack_user
    channel, target = ("slack", member.slack_user) if on_slack and member else ("console", staff_id)
    return outbox_row(
        org_id=org.id,
        card_id=card.id if card else None,
        channel=channel,
        kind=DIRECT,
        target=target or staff_id,
        now=now,
        payload={"text": text},
        dedupe_key=dedupe,
    )

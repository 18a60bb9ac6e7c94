"""Opening a card: the row, its escalation clock, where it is posted, and who is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.escalation import EscalationPolicy
from bot.domain.triage import TriageDecision
from bot.i18n import t
from bot.services.card_rows import NewCardRows, write_new_card
from bot.services.directory import Org
from bot.services.facts import card_facts
from bot.services.outbox import CARD, DIRECT, add_row, hand_over, leased, outbox_row
from bot.services.runtime import Runtime
from bot.store.models import Card, CardPost
from cards.build import card_title


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
    post = _post_for(rt, org, card, now)
    row = leased(outbox_row(org_id=org.id, channel=post.channel, kind=CARD, target="", now=now))
    rows = NewCardRows(_values(card), _audit_created(card, new), _values(post), row)
    ids = await write_new_card(session, rows, postgres=rt.postgres)
    card.id, post.id, post.card_id = ids.card, ids.post, ids.card
    hand_over(session, ids.outbox, {**row, "card_id": ids.card, "target": str(ids.post)}, card, post)
    _tell_addressee(session, rt, org, card, now)
    return card


def _values(row: SQLModel) -> dict[str, Any]:
    """A model's column values. The objects are built as models (for their defaults, and for the
    caller, the renderers and the delivery worker) but written with the tables' own INSERTs, not
    added to the session: the ORM's unit of work cost more than everything else in opening a card."""
    table = type(row).__table__  # type: ignore[attr-defined]
    return {column.name: getattr(row, column.name) for column in table.columns if column.name != "id"}


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

"""CRM webhooks: a signed JSON event for each card change, to every URL of the organisation's
``webhooks``, written into the outbox with the change (one transaction), so they are retried and
go out in order per card. The payload follows the Standard Webhooks convention (``type``,
``timestamp``, ``data``) and is described by ``docs/webhook-event.schema.json``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.directory import Org
from bot.services.outbox import add_row, outbox_row
from bot.store.models import Card

WEBHOOK = "webhook"
"""The outbox channel and kind of a CRM event."""
CARD_FIELDS = (
    "id",
    "status",
    "source",
    "category",
    "priority",
    "team_id",
    "addressee_id",
    "caller_name",
    "caller_number",
    "company",
    "summary",
    "claimed_by",
    "outcome",
    "version",
)
TIME_FIELDS = ("created_at", "claimed_at", "resolved_at", "callback_at")


def events_of(kind: str, data: dict[str, Any]) -> list[str]:
    """The event types an audit event of ``kind`` makes (``resolved`` may make three)."""
    if kind == "created":
        return ["card.opened"]
    if kind == "claimed":
        return ["card.claimed"]
    if kind == "callback_done":
        return ["callback.done"]
    if kind != "resolved":
        return []
    found = ["card.resolved"]
    if data.get("outcome") == "qualified_lead":
        found.append("lead.qualified")
    if data.get("outcome") == "called_back":
        found.append("callback.done")
    return found


def card_snapshot(card: Card | dict[str, Any]) -> dict[str, Any]:
    """The card as the event carries it: plain JSON values, times in ISO 8601 UTC."""
    get = card.get if isinstance(card, dict) else lambda name: getattr(card, name, None)
    values = {name: get(name) for name in CARD_FIELDS}
    for name in TIME_FIELDS:
        moment = get(name)
        values[name] = moment.isoformat() if isinstance(moment, datetime) else None
    return values


def add_events(
    session: AsyncSession,
    org: Org,
    card: Card | dict[str, Any],
    kind: str,
    data: dict[str, Any],
    actor: str,
    now: datetime,
) -> None:
    """The events this change makes, one outbox row per event and subscribed URL."""
    snapshot = card_snapshot(card)
    for event_type in events_of(kind, data):
        for index, hook in enumerate(org.config.webhooks):
            if event_type not in hook.events:
                continue
            event_id = f"evt_{org.id}_{snapshot['id']}_{snapshot['version']}_{event_type}_{index}"
            event = {
                "type": event_type,
                "timestamp": now.isoformat(),
                "data": {"organization": org.id, "actor": actor, "card": snapshot, "change": data},
            }
            row = outbox_row(
                org_id=org.id,
                card_id=snapshot["id"],
                channel=WEBHOOK,
                kind=WEBHOOK,
                target=hook.url,
                now=now,
                payload={"id": event_id, "org": org.id, "hook": index, "event": event},
                dedupe_key=event_id[:191],
            )
            add_row(session, row)

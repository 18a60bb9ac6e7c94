"""From a card row to the plain facts its renderers need."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

from bot.services.directory import Org
from bot.services.replies import WHATSAPP, WINDOW
from bot.store.models import Card
from cards.actions import CardStatus, Outcome
from cards.model import CardFacts, TransferFacts


def card_facts(card: Card, org: Org) -> CardFacts:
    return _facts(partial(getattr, card), org)


def row_facts(values: Mapping[str, Any], org: Org) -> CardFacts:
    """The facts of a new card from the column values it was written with (no ``Card`` object)."""
    return _facts(values.__getitem__, org)


def _facts(card: Callable[[str], Any], org: Org) -> CardFacts:
    assert card("id") is not None
    team = org.config.team(card("team_id"))
    addressee, created_by = card("addressee_id"), card("created_by")
    return CardFacts(
        card_id=card("id"),
        version=card("version"),
        status=CardStatus(card("status")),
        source=card("source"),
        category=card("category"),
        priority=card("priority"),
        caller_name=card("caller_name"),
        caller_number=card("caller_number"),
        company=card("company"),
        summary=card("summary"),
        created_at=card("created_at"),
        claim_deadline=card("claim_deadline"),
        team_name=team.name if team else None,
        addressee_name=org.name_of(addressee) if addressee else None,
        claimed_by_name=org.name_of(card("claimed_by")),
        resolved_by_name=org.name_of(card("resolved_by") or card("claimed_by")),
        outcome=Outcome(card("outcome")) if card("outcome") else None,
        callback_at=card("callback_at"),
        escalated_to_names=tuple(card("escalated_to")),
        recording_url=card("recording_url"),
        created_by_name=org.name_of(created_by) if created_by else None,
        timezone=org.timezone,
        locale=org.locale,
        staff=org.staff_choices,
        reply_window_closes=_window(card),
        opted_out=bool(card("opted_out")),
        reply_status=card("reply_status"),
        reply_error=card("reply_error"),
        media=tuple(card("media") or ()),
        transfer=_transfer(card, org),
        call_count=card("call_count") or 1,
        last_call_at=card("last_call_at"),
    )


def _transfer(card: Callable[[str], Any], org: Org) -> TransferFacts | None:
    state = card("transfer_state")
    if state is None:
        return None
    return TransferFacts(
        state=state,
        hold_until=card("transfer_until"),
        staff_name=org.name_of(card("transfer_staff_id")),
        connected_at=card("transfer_connected_at"),
        notice=card("transfer_notice"),
    )


def _window(card: Callable[[str], Any]) -> datetime | None:
    last = card("last_inbound_at")
    return last + WINDOW if card("source") == WHATSAPP and last is not None else None

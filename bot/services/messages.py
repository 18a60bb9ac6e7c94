"""Writing a stored message for the person or channel that will read it, when it is sent: the
notice in the reader's language, the people in it resolved for the channel it goes to, a DM's
actions as the card's current state allows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.i18n import t
from bot.ports import DeliveryError, PrivateTo
from bot.services.directory import Org
from cards.actions import ActionId
from cards.build import card_title, direct_actions
from cards.model import CardFacts, DirectView, Person, Text
from cards.notice import Notice, Reader, render_notice


def text_of(
    org: Org, channel: str, payload: Mapping[str, Any], facts: CardFacts | None, now: datetime
) -> Text:
    """The text of a stored thread line, DM or notice, for its reader (``payload["staff"]``, else
    the organisation). Rows written before notices were stored carry their finished ``text``.

    Raises: DeliveryError (permanent) when the notice cannot be written: retrying cannot help."""
    if "notice" not in payload:
        return Text.of(str(payload.get("text", "")))
    reader = reader_for(org, channel, payload.get("staff"), facts, now)
    try:
        return render_notice(Notice.from_payload(payload["notice"]), reader)
    except (KeyError, ValueError) as error:  # a value it needs is gone (its card), or never was
        raise DeliveryError(f"the message cannot be written: {error!r}", permanent=True) from error


def direct_view(
    org: Org, channel: str, payload: Mapping[str, Any], facts: CardFacts | None, now: datetime
) -> DirectView:
    """A DM as a small card view: its text, and those of its actions the card still offers."""
    locale = locale_of(org, payload.get("staff"))
    text = text_of(org, channel, payload, facts, now)
    if facts is None:
        return DirectView(text, timezone=org.timezone)
    wanted = [ActionId(a) for a in payload.get("actions", ())]
    actions = direct_actions(replace(facts, locale=locale), wanted)
    return DirectView(
        text, facts.card_id, actions, t(locale, "dm.link"), t(locale, "dm.answer"), org.timezone
    )


def private_to(target: str, payload: Mapping[str, Any]) -> PrivateTo:
    return PrivateTo(str(payload["user"]), target or None, payload.get("reply_url"))


def reader_for(
    org: Org, channel: str, staff_id: str | None, facts: CardFacts | None, now: datetime
) -> Reader:
    locale = locale_of(org, staff_id)
    values: dict[str, str] = {}
    if facts is not None:
        values = {
            "title": card_title(replace(facts, locale=locale)),
            "caller": facts.caller_name or facts.caller_number or "",
            "summary": facts.summary,
        }
    return Reader(locale, org.timezone, now, person_on(org, channel), values)


def locale_of(org: Org, staff_id: str | None) -> str:
    """A staff member's own language, else the organisation's."""
    member = org.config.staff_member(staff_id)
    return (member.locale if member else None) or org.locale


def person_on(org: Org, channel: str) -> Callable[[str], Person]:
    """How a staff id reads on ``channel``: their name, and their user id there if they have one."""

    def person(staff_id: str) -> Person:
        member = org.config.staff_member(staff_id)
        if member is None:
            return Person(staff_id, staff_id)
        return Person(
            staff_id, member.name, member.identities().get(channel) if channel != "console" else None
        )

    return person

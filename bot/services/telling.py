"""Writing messages to people into the outbox: direct messages (a small card view) and private
notices. What is stored is what happened (a ``Notice``) and whom it is for (a staff id, a user on a
channel); the words, the language and the mentions are chosen when it is sent
(``bot.services.messages``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.domain.org import StaffMember
from bot.services.channels import CONSOLE, Destination
from bot.services.directory import Org
from bot.services.outbox import DIRECT, PRIVATE, outbox_row
from cards.actions import ActionId
from cards.notice import Notice

if TYPE_CHECKING:
    from bot.services.handling import Requester
    from bot.services.runtime import Runtime


def direct_rows(
    rt: Runtime,
    org: Org,
    staff_id: str,
    notice: Notice,
    card_id: int | None,
    now: datetime,
    *,
    actions: Iterable[ActionId] = (),
    dedupe: str | None = None,
    via: Iterable[str] | None = None,
    phones: Iterable[str] = (),
    only_phones: bool = False,
) -> list[dict[str, Any]]:
    """A DM to a staff member on every channel they can be reached on (``Channels.reach``; the
    console when none), with the card's ``actions`` they may take from it: its outbox values, for
    ``add_row`` or ``enqueue_rows``. Each copy has its own dedupe key (``dedupe`` + its channel).
    ``phones``: the phone channels (``whatsapp``, ``sms``) they are reached on too, where they have a
    number (``Channels.phone_reach``); ``only_phones``: those alone (someone with no number for them
    gets nothing, not even the console copy)."""
    member = org.config.staff_member(staff_id)
    payload = {"notice": notice.to_payload(), "staff": staff_id, "actions": [a.value for a in actions]}
    return [
        outbox_row(
            org_id=org.id,
            card_id=card_id,
            channel=place.channel,
            kind=DIRECT,
            target=place.target,
            now=now,
            payload=payload,
            dedupe_key=f"{dedupe}:{place.channel}" if dedupe else None,
        )
        for place in (
            rt.channels.phone_reach(org.id, member, phones)
            if only_phones
            else _places(rt, org, member, staff_id, via, phones)
        )
    ]


def _places(
    rt: Runtime,
    org: Org,
    member: StaffMember | None,
    staff_id: str,
    via: Iterable[str] | None,
    phones: Iterable[str],
) -> list[Destination]:
    """Their chat channels (``Channels.reach``) and phones; the console only when neither has them."""
    places = rt.channels.reach(member, staff_id, via)
    on_phone = rt.channels.phone_reach(org.id, member, phones)
    if on_phone:
        places = [p for p in places if p.channel != CONSOLE]
    return [*places, *on_phone]


def private_row(org: Org, who: Requester, notice: Notice, now: datetime) -> dict[str, Any]:
    """A notice only ``who`` sees, on the channel they acted on, where they were (see
    ``bot.ports.PrivateTo``)."""
    staff = org.staff_on(who.channel, who.user_ref)
    payload: dict[str, Any] = {"notice": notice.to_payload(), "user": who.user_ref}
    if staff is not None:
        payload["staff"] = staff.id
    if who.reply_url:
        payload["reply_url"] = who.reply_url
    return outbox_row(
        org_id=org.id,
        channel=who.channel,
        kind=PRIVATE,
        target=who.reply_to or "",
        now=now,
        payload=payload,
    )

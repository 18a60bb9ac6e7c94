"""Cards by email: the email each recipient gets when a card opens, with their own signed links
(``bot.services.card_links`` says what the links do)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.services.channels import CONSOLE
from bot.services.directory import Org
from bot.services.outbox import MAIL, outbox_row
from bot.services.runtime import Runtime
from cards.build import build_card
from cards.email_card import email_html, email_subject, email_text
from cards.model import CardFacts

EMAIL = "email"


@dataclass(frozen=True)
class Mailbox:
    """Where one card email goes: a staff member's address (their own links), or a team's mailbox
    (links naming the team: the page asks which of its staff is acting)."""

    key: str
    address: str
    staff_id: str = ""
    team_id: str | None = None


def email_recipients(rt: Runtime, org: Org, card: dict[str, Any]) -> list[str]:
    """Staff ids who get the card by email: the addressee, else the card's team, among the people
    with an ``email`` and no chat channel this deployment reaches them on."""
    config = org.config
    team = config.team(card["team_id"])
    wanted = [card["addressee_id"]] if card["addressee_id"] else (team.members if team else [])
    members = [config.staff_member(staff_id) for staff_id in wanted]
    return [
        m.id
        for m in members
        if m is not None and m.email and all(d.channel == CONSOLE for d in rt.channels.reach(m, m.id))
    ]


def mailboxes(rt: Runtime, org: Org, card: dict[str, Any]) -> list[Mailbox]:
    """The staff recipients, and the team's mailbox when the card is the team's (not one person's)."""
    boxes = []
    for staff_id in email_recipients(rt, org, card):
        member = org.config.staff_member(staff_id)
        assert member is not None and member.email is not None
        boxes.append(Mailbox(staff_id, member.email, staff_id=staff_id))
    team = org.config.team(card["team_id"])
    if team is not None and team.email is not None and not card["addressee_id"]:
        boxes.append(Mailbox(f"team:{team.id}", team.email, team_id=team.id))
    return boxes


def email_card_rows(
    rt: Runtime, org: Org, card: dict[str, Any], facts: CardFacts, now: datetime
) -> list[dict[str, Any]]:
    """One email per recipient, with their own links; nothing when email cards are off."""
    if rt.links is None:
        return []
    rows = []
    view = build_card(facts, now)
    for box in mailboxes(rt, org, card):
        links = rt.links.links(card["id"], card["version"], box.staff_id, now, box.team_id)
        message = {
            "subject": email_subject(view),
            "plain": email_text(view, links, facts.locale),
            "html": email_html(view, links, facts.locale),
        }
        rows.append(
            outbox_row(
                org_id=org.id,
                channel=EMAIL,
                kind=MAIL,
                target=box.address,
                now=now,
                payload=message,
                dedupe_key=f"email-card:{card['id']}:{box.key}",
            )
        )
    return rows

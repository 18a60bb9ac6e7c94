"""What the signed links of a card sent by email do (the email itself: ``bot.services.email_cards``).

A link opens a confirmation page (``preview``); confirming (``act``) makes the change through
``CardHandling`` like a click in Slack would. A link works once (the change raises the card's
version, which the link names), expires, and is refused when the card moved on; the page then says
who has the card. A team mailbox's link names the team, not a person: its page asks which of the
team's staff is acting (a shared mailbox is read by several people), and the change is theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from bot.domain.links import VIEW, LinkClaims, LinkError, LinkSigner, read_link
from bot.i18n import t
from bot.services.channels import CONSOLE
from bot.services.directory import Org
from bot.services.facts import card_facts
from bot.services.handling import CardHandling, Requester
from bot.services.runtime import Runtime
from bot.store.models import Card
from cards.actions import Outcome
from cards.build import build_card, card_title

CALLBACK_IN = timedelta(hours=1)
""""I'll call back" schedules the callback this long after the click, assigned to whoever clicked."""


@dataclass(frozen=True)
class LinkPage:
    """What the browser shows: a question with a confirm button (``token`` set), or an answer."""

    locale: str
    title: str
    message: str
    token: str | None = None
    status: int = 200
    choices: tuple[tuple[str, str], ...] = ()
    """(staff id, name) to choose from before confirming: a team mailbox's link."""
    who: str = ""
    """The question over the choices."""


class CardLinks:
    def __init__(self, rt: Runtime, handling: CardHandling, signer: LinkSigner) -> None:
        self.rt = rt
        self.handling = handling
        self.signer = signer

    async def preview(self, token: str) -> LinkPage:
        """The question the link asks, or why it cannot be used."""
        found = await self._usable(token)
        if isinstance(found, LinkPage):
            return found
        if found[0].action == VIEW:
            return self._shown(found[1], found[2])
        return self._question(*found, token)

    async def act(self, token: str, chosen: str | None = None) -> LinkPage:
        """Make the change the link names, once; ``chosen`` is who a team mailbox's reader says they are."""
        found = await self._usable(token)
        if isinstance(found, LinkPage):
            return found
        claims, card, org = found
        if claims.action == VIEW:
            return self._shown(card, org)
        staff_id = _actor(claims, org, chosen)
        if staff_id is None:
            asked = self._question(claims, card, org, token)
            return replace(asked, message=f"{t(org.locale, 'link.choose')} {asked.message}", status=400)
        # The staff id is the person's identity on the console channel; nothing is told privately
        # (the page is the answer).
        who = Requester(CONSOLE, staff_id)
        if claims.action == "claim":
            result = await self.handling.claim(card.id or 0, who)
        elif claims.action == "resolve":
            result = await self.handling.resolve(card.id or 0, who, Outcome.RESOLVED)
        else:
            due = self.rt.clock.now() + CALLBACK_IN
            result = await self.handling.schedule_callback(card.id or 0, who, due, staff_id)
        if not result.ok:
            return await self._moved_on(card.id or 0, org)
        message = t(org.locale, f"link.done.{claims.action}", title=self._title(card, org))
        return LinkPage(org.locale, t(org.locale, "link.title", card=card.id), message)

    def _shown(self, card: Card, org: Org) -> LinkPage:
        """The card as it is now, with nothing to confirm."""
        view = build_card(card_facts(card, org), self.rt.clock.now())
        message = t(org.locale, "link.view", title=view.title, caller=_caller(card), status=view.status_line)
        return LinkPage(org.locale, t(org.locale, "link.title", card=card.id), message)

    def _question(self, claims: LinkClaims, card: Card, org: Org, token: str) -> LinkPage:
        question = t(
            org.locale, f"link.ask.{claims.action}", title=self._title(card, org), caller=_caller(card)
        )
        page = LinkPage(org.locale, t(org.locale, "link.title", card=card.id), question, token)
        if claims.team_id is None:
            return page
        choices = _team_staff(org, claims.team_id)
        return replace(page, choices=choices, who=t(org.locale, "link.who"))

    async def _usable(self, token: str) -> tuple[LinkClaims, Card, Org] | LinkPage:
        now = self.rt.clock.now()
        locale = self.rt.directory.default.locale
        try:
            claims = read_link(self.signer.secret, token, now)
        except LinkError as error:
            return LinkPage(locale, t(locale, "link.refused"), t(locale, error.key), status=403)
        async with self.rt.sessions() as session:
            card = await session.get(Card, claims.card_id)
        if card is None:
            return LinkPage(locale, t(locale, "link.refused"), t(locale, "link.forged"), status=404)
        org = self.rt.directory.get(card.org_id)
        if card.version != claims.version and claims.action != VIEW:
            return await self._moved_on(card.id or 0, org)
        return claims, card, org

    async def _moved_on(self, card_id: int, org: Org) -> LinkPage:
        async with self.rt.sessions() as session:
            card = await session.get(Card, card_id)
        holder = org.name_of(card.claimed_by) if card is not None else None
        key = "link.moved_on.holder" if holder else "link.moved_on"
        return LinkPage(
            org.locale,
            t(org.locale, "link.title", card=card_id),
            t(org.locale, key, name=holder or ""),
            status=409,
        )

    @staticmethod
    def _title(card: Card, org: Org) -> str:
        return card_title(card_facts(card, org))


def _actor(claims: LinkClaims, org: Org, chosen: str | None) -> str | None:
    """Who acts: the staff member the link names, or the one of the team a mailbox's reader chose
    (None when the choice is missing or not one of the team's staff)."""
    if claims.team_id is None:
        return claims.staff_id
    return chosen if chosen is not None and chosen in dict(_team_staff(org, claims.team_id)) else None


def _team_staff(org: Org, team_id: str) -> tuple[tuple[str, str], ...]:
    """The team's staff as the configuration lists them now (someone who left is no longer offered)."""
    team = org.config.team(team_id)
    members = [org.config.staff_member(s) for s in (team.staff_ids() if team else [])]
    return tuple((m.id, m.name) for m in members if m is not None)


def _caller(card: Card) -> str:
    return card.caller_name or card.caller_number or "—"

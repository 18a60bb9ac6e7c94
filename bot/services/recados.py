"""Receptionists' messages (``/recado``): the same kind of card as a call, routed as they say."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from bot.domain.org import StaffMember
from bot.domain.recado import RecadoDraft
from bot.domain.triage import TriageDecision, triage
from bot.i18n import t
from bot.services.directory import Org
from bot.services.handling import Requester
from bot.services.opening import NewCard, open_card
from bot.services.outbox import add_row
from bot.services.runtime import Runtime
from bot.services.telling import private_row
from cards.notice import Notice

URGENT = "urgent"


@dataclass(frozen=True)
class RecadoResult:
    ok: bool
    message: str
    card_id: int | None = None


class Recados:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def author(self, who: Requester) -> tuple[Org, StaffMember] | RecadoResult:
        """The staff member posting, or the reason they may not."""
        found = self.rt.directory.by_staff(who.channel, who.user_ref, who.workspace)
        if found is None:
            org = self.rt.directory.of_workspace(who.channel, who.workspace)
            return RecadoResult(False, t(org.locale, "ephemeral.not_staff", org=org.config.organization.name))
        org, member = found
        reception = org.config.reception
        if reception.allow == "receptionists" and "receptionist" not in member.roles:
            return RecadoResult(False, t(org.locale, "ephemeral.recado_forbidden", command=reception.command))
        return org, member

    def refusal(self, org: Org, draft: RecadoDraft) -> RecadoResult | None:
        """Why ``draft`` cannot be posted (it says nothing), checked before anything is written."""
        if not draft.reason.strip() and not draft.caller_number and not draft.caller_name:
            return RecadoResult(False, t(org.locale, "ephemeral.recado_empty"))
        return None

    async def post(self, who: Requester, draft: RecadoDraft) -> RecadoResult:
        """Open the card for a receptionist's message, and confirm to them where it went (privately,
        where their channel can answer them)."""
        author = self.author(who)
        if isinstance(author, RecadoResult):
            return author
        org, member = author
        refused = self.refusal(org, draft)
        if refused is not None:
            return refused
        now = self.rt.clock.now()
        decision = self._route(org, draft, now)
        new = NewCard(
            source="recado",
            decision=decision,
            summary=draft.reason.strip(),
            caller_name=draft.caller_name,
            created_by=member.id,
        )
        async with self.rt.unit_of_work() as session:
            card_id = await open_card(session, self.rt, org, new, now)
            to = self._addressee_name(org, decision)
            if who.reply_to or who.reply_url:
                posted = Notice("ephemeral.recado_posted", text={"to": to})
                add_row(session, private_row(org, who, posted, now))
        return RecadoResult(True, t(org.locale, "ephemeral.recado_posted", to=to), card_id)

    def _route(self, org: Org, draft: RecadoDraft, now: datetime) -> TriageDecision:
        decision = triage(
            org.config, org.calendar, caller_number=draft.caller_number, text=draft.reason, at=now
        )
        if decision.action == "reject":
            decision = replace(decision, action="card")
        if draft.urgent:
            decision = replace(decision, priority=URGENT)
        if draft.addressee_kind == "team" and draft.addressee_id:
            decision = replace(
                decision, route_kind="team", route_id=draft.addressee_id, team_id=draft.addressee_id
            )
        elif draft.addressee_kind == "person" and draft.addressee_id:
            teams = org.config.teams_of(draft.addressee_id)
            team = teams[0].id if teams else decision.team_id
            decision = replace(decision, route_kind="person", route_id=draft.addressee_id, team_id=team)
        return decision

    def _addressee_name(self, org: Org, decision: TriageDecision) -> str:
        if decision.route_kind == "person":
            return org.name_of(decision.route_id) or "?"
        team = org.config.team(decision.team_id)
        return team.name if team else "?"

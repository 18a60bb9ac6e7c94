"""Which channels a card is posted to and a person is reached on: the one place that decides.

A team may have a Slack channel, a Teams channel, or both (``TeamConfig.chat_channels``); a staff
member a Slack user, a Teams user, or both (``StaffMember.identities``). A chat channel counts only
when this deployment has a publisher for it (its credentials are set). The console is where cards
and messages go when nothing else can take them, so a fresh machine still shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.org import CHAT_CHANNELS, PHONE_CHANNELS, StaffMember, TeamConfig

CONSOLE = "console"
RECEPTION = "reception"
"""The console target of cards of an organisation with no team."""


@dataclass(frozen=True)
class Destination:
    """One place to send to: a channel and the platform's id there (a channel, a user)."""

    channel: str
    target: str


@dataclass(frozen=True)
class Channels:
    """The chat channels this deployment delivers to (those with a publisher), in ``CHAT_CHANNELS``
    order."""

    enabled: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    """The phone channels (``whatsapp``, ``sms``) this deployment can send to (Twilio REST is set)."""

    @classmethod
    def of(cls, names: Iterable[str]) -> Channels:
        wanted = set(names)
        return cls(
            tuple(c for c in CHAT_CHANNELS if c in wanted), tuple(c for c in PHONE_CHANNELS if c in wanted)
        )

    def describe(self) -> str:
        """For logs and /healthz: ``slack+teams``, ``slack``, ``console``."""
        return "+".join(self.enabled) or CONSOLE

    def card_posts(self, team: TeamConfig | None) -> list[Destination]:
        """One post per chat channel the team has and this deployment delivers to; the console
        when there is none."""
        chat = team.chat_channels() if team is not None else {}
        found = [Destination(c, chat[c]) for c in self.enabled if c in chat]
        return found or [Destination(CONSOLE, team.id if team is not None else RECEPTION)]

    def reach(
        self, member: StaffMember | None, staff_id: str, via: Iterable[str] | None = None
    ) -> list[Destination]:
        """Where a person is reached: each chat channel they have an identity on (only those in
        ``via``, when it is given) and this deployment delivers to; the console (their staff id)
        when there is none."""
        known = member.identities() if member is not None else {}
        allowed = set(via) if via is not None else None
        found = [
            Destination(c, known[c]) for c in self.enabled if c in known and (allowed is None or c in allowed)
        ]
        return found or [Destination(CONSOLE, staff_id)]

    def phone_reach(
        self, org_id: str, member: StaffMember | None, wanted: Iterable[str]
    ) -> list[Destination]:
        """The person's phone on each of the ``wanted`` phone channels this deployment sends to and
        they have a number for. The target is ``<org id>:<number>``: the sender is the organisation's."""
        known = member.identities() if member is not None else {}
        asked = set(wanted)
        return [Destination(c, f"{org_id}:{known[c]}") for c in self.phones if c in asked and c in known]

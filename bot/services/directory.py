"""The organisations this deployment serves, from their configuration, looked up by number or id."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.domain.hours import BusinessCalendar
from bot.domain.org import OrgConfig, StaffMember
from bot.domain.phones import normalize_phone
from cards.model import OptionView


@dataclass(frozen=True)
class Org:
    config: OrgConfig
    calendar: BusinessCalendar
    _by_identity: dict[tuple[str, str], StaffMember] = field(init=False, repr=False, compare=False)
    staff_choices: tuple[OptionView, ...] = field(init=False, repr=False, compare=False)
    """The staff, as a form offers them (label the name, value the staff id)."""

    def __post_init__(self) -> None:
        found = {(c, ref): s for s in reversed(self.config.staff) for c, ref in s.identities().items()}
        object.__setattr__(self, "_by_identity", found)
        object.__setattr__(self, "staff_choices", tuple(OptionView(s.name, s.id) for s in self.config.staff))

    @property
    def id(self) -> str:
        return self.config.org_id

    @property
    def locale(self) -> str:
        return self.config.locale

    @property
    def timezone(self) -> str:
        return self.config.organization.timezone

    def staff_on(self, channel: str, user_ref: str) -> StaffMember | None:
        """The staff member known as ``user_ref`` on ``channel`` (a Slack or Teams user id; on the
        console, a staff id): found by any of their identities."""
        return self._by_identity.get((channel, user_ref))

    def admits(self, channel: str, workspace: str | None) -> bool:
        """Whether a request on ``channel`` from ``workspace`` (Slack's team id, a Teams tenant id)
        may see or act on this organisation's cards: an organisation with its own workspace on that
        channel admits only that one; one without, any (a single shared workspace). Requests that
        name no workspace (the console) are admitted; each chat adapter always names one."""
        own = self.config.organization.workspace_on(channel)
        return own is None or workspace is None or workspace == own

    def name_of(self, staff_id: str | None) -> str | None:
        member = self.config.staff_member(staff_id)
        return member.name if member else staff_id


class Directory:
    def __init__(self, configs: list[OrgConfig]) -> None:
        self.replace(configs)

    def replace(self, configs: list[OrgConfig]) -> None:
        """Serve ``configs`` from now on (a configuration reload). Cards already made keep the
        escalation policy copied onto them at intake; only new calls and clicks see the change."""
        if not configs:
            raise ValueError("at least one organisation is needed")
        self._orgs = {c.org_id: Org(c, BusinessCalendar.from_config(c.organization)) for c in configs}
        self._by_number = {
            n: org for org in self._orgs.values() for n in org.config.organization.phone_numbers
        }
        self._default = next(iter(self._orgs.values()))

    def __iter__(self) -> Iterator[Org]:
        return iter(self._orgs.values())

    @property
    def ids(self) -> list[str]:
        """The ids of the organisations served: sweeps look only at their rows, so the rows of an
        organisation removed from the configuration stay where they are and block nothing."""
        return list(self._orgs)

    def get(self, org_id: str) -> Org:
        """Raises: KeyError for an organisation this deployment does not serve."""
        return self._orgs[org_id]

    def by_number(self, number: str | None) -> Org | None:
        """The organisation a Twilio number belongs to (any organisation when only one has no numbers)."""
        org = self._by_number.get(normalize_phone(number) or "")
        if org is None and len(self._orgs) == 1 and not self._default.config.organization.phone_numbers:
            return self._default
        return org

    def by_staff(
        self, channel: str, user_ref: str, workspace: str | None = None
    ) -> tuple[Org, StaffMember] | None:
        """The organisation and staff member a user is; ``workspace`` (the chat platform's team the
        request came from) narrows it to the organisations of that workspace."""
        for org in self._orgs.values():
            if not org.admits(channel, workspace):
                continue
            member = org.staff_on(channel, user_ref)
            if member is not None:
                return org, member
        return None

    def of_workspace(self, channel: str, workspace: str | None) -> Org:
        """The organisation a request from ``workspace`` on ``channel`` speaks to when it is not
        someone's (a stranger is answered in its words, naming it, not another organisation): the
        first that admits that workspace, else the default one."""
        return next((org for org in self._orgs.values() if org.admits(channel, workspace)), self._default)

    @property
    def default(self) -> Org:
        return self._default

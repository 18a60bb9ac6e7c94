"""Access and erasure requests from a chat (Slack's ``/centralita privacidad …``, a message to the
Teams bot): only a manager of the organisation may ask, and only about that organisation; an
erasure is shown (counts) and confirmed before it runs; both run the same use case as the CLI
(``bot.services.privacy``), whose audit events say who asked (never the data).

Each answer is neutral (a text, an erasure to confirm, a file to hand over privately); the channel's
adapter decides how to show it."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from bot.domain.phones import normalize_phone, org_region
from bot.domain.privacy_request import parse_privacy_request
from bot.i18n import t
from bot.services.directory import Directory, Org
from bot.services.export_links import ExportLinks
from bot.services.handling import Requester
from bot.services.privacy import Erasure, Privacy, PrivacyError

log = logging.getLogger("centralita.privacy")


@dataclass(frozen=True)
class EraseQuestion:
    """An erasure to confirm: the number, and the texts of the question in the manager's language."""

    number: str
    title: str
    text: str
    confirm: str
    cancel: str


@dataclass(frozen=True)
class ExportFile:
    """What is stored about a number, as a JSON file for the manager alone."""

    number: str
    filename: str
    data: bytes
    title: str


@dataclass(frozen=True)
class DeskAnswer:
    """What the manager is told; ``question`` asks them to confirm an erasure, ``export`` is the file
    to hand over privately (``text`` then says where it went)."""

    text: str
    locale: str
    question: EraseQuestion | None = None
    export: ExportFile | None = None
    link: str | None = None
    """A one-time download link of the export (``text`` says so), where the channel takes no file."""
    link_label: str = ""


@dataclass(frozen=True)
class _Manager:
    org: Org
    staff_id: str

    @property
    def locale(self) -> str:
        return self.org.locale

    def actor(self, channel: str) -> str:
        return f"{channel}:{self.staff_id}"


class PrivacyDesk:
    """``command`` is how the channel's people type a request (for the help text); with ``links``
    an export is a one-time download link, else a file the channel hands over."""

    def __init__(
        self, privacy: Privacy, directory: Directory, command: str, links: ExportLinks | None = None
    ) -> None:
        self.privacy, self.directory, self.command, self.links = privacy, directory, command, links

    async def request(self, who: Requester, text: str) -> DeskAnswer:
        """``[privacidad] exportar|borrar NUMBER``: the export, or the erasure's plan to confirm."""
        manager = self._manager(who)
        if isinstance(manager, DeskAnswer):
            return manager
        asked = parse_privacy_request(text)
        if asked.action == "help":
            return self._say(manager, "privacy.desk.help", command=self.command)
        number = self._number(manager, asked.number)
        if isinstance(number, DeskAnswer):
            return number
        if asked.action == "export":
            return await self._export(manager, number, who.channel)
        return await self._plan(manager, number)

    async def erase(self, who: Requester, raw_number: str) -> DeskAnswer:
        """The confirmed erasure of ``raw_number`` in the manager's organisation."""
        manager = self._manager(who)
        if isinstance(manager, DeskAnswer):
            return manager
        number = self._number(manager, raw_number)
        if isinstance(number, DeskAnswer):
            return number
        try:
            done = await self.privacy.erase(number, manager.actor(who.channel), orgs=[manager.org.id])
        except PrivacyError as error:
            log.warning("erasure asked by %s not done: %s", manager.actor(who.channel), error)
            return self._say(manager, "privacy.desk.failed")
        if done.empty:
            return self._say(manager, "privacy.desk.nothing", number=number)
        return DeskAnswer(_with_warnings(manager, done, "privacy.desk.erased", number), manager.locale)

    def _manager(self, who: Requester) -> _Manager | DeskAnswer:
        found = self.directory.by_staff(who.channel, who.user_ref, who.workspace)
        if found is None or "manager" not in found[1].roles:
            org = found[0] if found else self.directory.default
            return DeskAnswer(
                t(org.locale, "privacy.desk.not_manager", org=org.config.organization.name), org.locale
            )
        return _Manager(found[0], found[1].id)

    def _number(self, manager: _Manager, raw: str) -> str | DeskAnswer:
        number = normalize_phone(raw, org_region(manager.org.config.organization))
        return number if number is not None else self._say(manager, "privacy.desk.bad_number", raw=raw)

    async def _plan(self, manager: _Manager, number: str) -> DeskAnswer:
        plan = await self.privacy.erase(number, "", dry_run=True, orgs=[manager.org.id])
        if plan.empty:
            return self._say(manager, "privacy.desk.nothing", number=number)
        locale = manager.locale
        question = EraseQuestion(
            number=number,
            title=t(locale, "privacy.desk.confirm_title"),
            text=t(locale, "privacy.desk.confirm_text", number=number),
            confirm=t(locale, "privacy.desk.confirm"),
            cancel=t(locale, "privacy.desk.cancel"),
        )
        return DeskAnswer(_with_warnings(manager, plan, "privacy.desk.plan", number), locale, question)

    async def _export(self, manager: _Manager, number: str, channel: str) -> DeskAnswer:
        if self.links is not None:
            return await self._export_link(self.links, manager, number, channel)
        data = await self.privacy.export(number, orgs=[manager.org.id], actor=manager.actor(channel))
        if data is None:
            return self._say(manager, "privacy.desk.nothing", number=number)
        file = ExportFile(
            number=number,
            filename=f"centralita-{number.lstrip('+')}.json",
            data=json.dumps(data, ensure_ascii=False, indent=2).encode(),
            title=t(manager.locale, "privacy.desk.export_title", number=number),
        )
        return DeskAnswer(
            t(manager.locale, "privacy.desk.exported", number=number), manager.locale, export=file
        )

    async def _export_link(
        self, links: ExportLinks, manager: _Manager, number: str, channel: str
    ) -> DeskAnswer:
        """A link to the export, made only when something is stored (the download audits it)."""
        if (await self.privacy.erase(number, "", dry_run=True, orgs=[manager.org.id])).empty:
            return self._say(manager, "privacy.desk.nothing", number=number)
        url = await links.make(manager.org.id, number, manager.actor(channel))
        text = t(manager.locale, "privacy.desk.export_link", number=number, minutes=links.minutes)
        return DeskAnswer(
            text, manager.locale, link=url, link_label=t(manager.locale, "privacy.desk.download")
        )

    @staticmethod
    def _say(manager: _Manager, key: str, **values: object) -> DeskAnswer:
        return DeskAnswer(t(manager.locale, key, **values), manager.locale)


def _with_warnings(manager: _Manager, erasure: Erasure, key: str, number: str) -> str:
    text = t(manager.locale, key, number=number, **erasure.counts())
    for warning in erasure.warnings:
        log.warning("privacy request about a number of %s: %s", manager.org.id, warning)
    if erasure.warnings:
        text += "\n" + t(manager.locale, "privacy.desk.warnings", count=len(erasure.warnings))
    return text

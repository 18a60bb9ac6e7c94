"""Which bot token speaks in which Slack workspace.

With the OAuth install (``SLACK_CLIENT_ID``/``SLACK_CLIENT_SECRET``) each organisation's workspace
has the bot token its installation stored (slack_sdk's installation store, ``slack_bots``). Those
are read once per workspace and kept in memory (``InstalledBots``): a delivery or a click does not
read the database, and nothing asks Slack's ``auth.test`` (the installation has the bot's ids). A
reinstall in this process forgets the workspace's entry at once; one in another process is noticed
when Slack refuses the token this process still holds (it is read again, and used if it changed).

``SLACK_BOT_TOKEN`` is the one workspace shared by every organisation without a ``slack_team_id``
(and, without the OAuth install, by every organisation, as before).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.auth import SlackAuth
from adapters.slack.publisher import SlackPublisher
from bot.ports import DeliveryError

log = logging.getLogger("centralita.slack")
NOT_INSTALLED_RETRY_SECONDS = 60.0
"""How often a delivery to a workspace the app is not installed in is tried again (until it is)."""


@dataclass(frozen=True)
class InstalledBot:
    team_id: str
    token: str
    bot_id: str | None
    bot_user_id: str | None


class InstalledBots:
    """The bot installed in each workspace, read from the installation store once and cached."""

    def __init__(self, store: AsyncInstallationStore) -> None:
        self.store = store
        self._bots: dict[str, InstalledBot] = {}

    async def find(self, team_id: str) -> InstalledBot | None:
        """The workspace's bot (None: the app is not installed there). Only a found bot is cached,
        so an install is seen by the next delivery."""
        cached = self._bots.get(team_id)
        if cached is not None:
            return cached
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is None:
            return None
        found = InstalledBot(team_id, bot.bot_token, bot.bot_id, bot.bot_user_id)
        self._bots[team_id] = found
        return found

    def forget(self, team_id: str | None) -> None:
        """The workspace was (re)installed, or Slack refused its token: read it again next time."""
        if team_id is not None:
            self._bots.pop(team_id, None)


class SlackWorkspaces:
    """The Slack channel of the outbox (``PerWorkspace``), and Bolt's ``authorize``: a publisher and
    an answer per workspace, from its installed bot, else from ``SLACK_BOT_TOKEN``."""

    name = "slack"

    def __init__(self, client: AsyncWebClient, shared: SlackAuth | None, bots: InstalledBots | None) -> None:
        self.client = client
        """The pooled client (``SLACK_BOT_TOKEN``'s when set): every workspace's client shares its session."""
        self.shared = shared
        self.bots = bots
        self._publishers: dict[str, SlackPublisher] = {}

    async def in_workspace(self, workspace: str | None) -> SlackPublisher:
        """Raises: DeliveryError (retried every minute) when the app is not installed there."""
        bot = await self._bot(workspace)
        if bot is not None:
            return self._publisher(bot)
        if self._shared_serves(workspace):
            return self._publisher(None)
        raise DeliveryError(
            f"the Slack app is not installed in workspace {workspace or '(none named)'}: install it"
            " from that workspace through /slack/install",
            retry_after=NOT_INSTALLED_RETRY_SECONDS,
        )

    def authorizer(self) -> Callable[..., Awaitable[AuthorizeResult | None]]:
        """Bolt's ``authorize=``: the workspace's installed bot, from memory after its first
        request; else the shared token's cached ``auth.test``. Never calls Slack. (A plain
        function: Bolt passes arguments by the names it finds.)"""
        shared = self.shared.authorizer() if self.shared is not None else None

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult | None:
            bot = await self._bot(team_id)
            if bot is not None:
                return AuthorizeResult(
                    enterprise_id=enterprise_id,
                    team_id=bot.team_id,
                    bot_id=bot.bot_id,
                    bot_user_id=bot.bot_user_id,
                    bot_token=bot.token,
                    user_id=user_id,
                )
            if shared is not None and self._shared_serves(team_id):
                return await shared(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
            log.warning("a request from Slack workspace %s, where the app is not installed", team_id)
            return None

        return authorize

    async def _bot(self, workspace: str | None) -> InstalledBot | None:
        if self.bots is None or workspace is None:
            return None
        try:
            return await self.bots.find(workspace)
        except Exception as error:  # the store's database: an outage, retried like Slack's
            raise DeliveryError(f"Slack installations unreadable: {error!r}") from error

    def _shared_serves(self, workspace: str | None) -> bool:
        """``SLACK_BOT_TOKEN`` speaks for every organisation without the OAuth install, and with it
        for those that name no workspace, or name the token's own."""
        if self.shared is None:
            return False
        if self.bots is None or workspace is None:
            return True
        return self.shared.team_id == workspace

    def _publisher(self, bot: InstalledBot | None) -> SlackPublisher:
        token = bot.token if bot is not None else str(self.client.token)
        publisher = self._publishers.get(token)
        if publisher is None:
            publisher = SlackPublisher(self._client(token), self._refused(bot))
            self._publishers[token] = publisher
        return publisher

    def _client(self, token: str) -> AsyncWebClient:
        if token == self.client.token:
            return self.client
        client = AsyncWebClient(
            token=token,
            base_url=self.client.base_url,
            timeout=self.client.timeout,
            session=self.client.session,
        )
        client.retry_handlers = self.client.retry_handlers
        return client

    def _refused(self, bot: InstalledBot | None) -> Callable[[], Awaitable[bool]] | None:
        """What a workspace's publisher does when Slack refuses its token: forget it, and say
        whether the store now has another one (a reinstall elsewhere), to be tried at once."""
        if bot is None or self.bots is None:
            return None
        bots = self.bots

        async def refused() -> bool:
            bots.forget(bot.team_id)
            self._publishers.pop(bot.token, None)
            fresh = await self._bot(bot.team_id)
            return fresh is not None and fresh.token != bot.token

        return refused

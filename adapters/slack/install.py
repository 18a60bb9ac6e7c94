"""Installing the app in a workspace through Slack's OAuth flow (several organisations, each with
its own workspace): ``GET /slack/install`` starts it, ``GET /slack/oauth_redirect`` finishes it.

Bolt's ``AsyncOAuthFlow`` does the protocol: the ``state`` it issues is kept in the database
(``slack_oauth_states``, single use, 10 minutes) and also set as a cookie; a callback whose state
is not one it issued, or came back in another browser, is refused (400) before any code is
exchanged. The installation (bot token, team id) goes to slack_sdk's SQLAlchemy installation store
(``slack_installations``, ``slack_bots``) in Centralita's own database. The tables are slack_sdk's
own, created by it when the server starts (``prepare``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.workspaces import InstalledBots

SCOPES = ("chat:write", "commands", "im:write")
"""The bot scopes of manifest/slack/manifest.yaml."""
STATE_SECONDS = 600


class _Installations(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's store; a workspace installed (again) is forgotten by the cache of its bot."""

    cache: InstalledBots | None = None

    async def async_save(self, installation: Installation) -> None:
        await super().async_save(installation)
        if self.cache is not None:
            self.cache.forget(installation.team_id)


class SlackInstall:
    def __init__(
        self, engine: AsyncEngine, client_id: str, client_secret: str, api_base: str, public_url: str
    ) -> None:
        self.installations = _Installations(client_id=client_id, engine=engine)
        self.bots = InstalledBots(self.installations)
        """Each workspace's bot token, for deliveries and Bolt's ``authorize``."""
        self.installations.cache = self.bots
        self.states = AsyncSQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine)
        settings = AsyncOAuthSettings(
            client_id=client_id,
            client_secret=client_secret,
            scopes=list(SCOPES),
            redirect_uri=public_url.rstrip("/") + "/slack/oauth_redirect",
            installation_store=self.installations,
            state_store=self.states,
            installation_store_bot_only=True,
        )
        self.flow = AsyncOAuthFlow(client=AsyncWebClient(base_url=api_base), settings=settings)

    async def prepare(self) -> None:
        """The store's tables, if they are not there yet."""
        await self.installations.create_tables()  # type: ignore[no-untyped-call]
        await self.states.create_tables()  # type: ignore[no-untyped-call]


def install_router(install: SlackInstall) -> APIRouter:
    router = APIRouter()

    @router.get("/slack/install")
    async def slack_install(request: Request) -> Response:
        bolt = to_async_bolt_request(request, b"")
        return to_starlette_response(await install.flow.handle_installation(bolt))

    @router.get("/slack/oauth_redirect")
    async def slack_oauth_redirect(request: Request) -> Response:
        bolt = to_async_bolt_request(request, b"")
        return to_starlette_response(await install.flow.handle_callback(bolt))

    return router

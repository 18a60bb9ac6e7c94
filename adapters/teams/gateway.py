"""The Bot Framework adapter (``CloudAdapter``) and what it needs, built once per process."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConstants,
    ClaimsIdentity,
    ConnectorFactory,
    UserTokenClient,
)

from adapters.teams.auth import BOT_FRAMEWORK, CredentialFactory, TokenVerifier
from adapters.teams.identity import TeamsAuth, Unauthorized

log = logging.getLogger("centralita.teams")
Turn = Callable[[TurnContext], Awaitable[Any]]


class _SdkConfiguration:
    """The attribute names ``ConfigurationBotFrameworkAuthentication`` reads. Setting the endpoints
    selects the SDK's parameterized authentication, so no Microsoft host is built in anywhere."""

    def __init__(self, auth: TeamsAuth) -> None:
        self.APP_ID = auth.app_id or ""
        self.APP_PASSWORD = auth.password or ""
        self.APP_TYPE = auth.app_type
        self.APP_TENANTID = auth.tenant_id or ""
        self.VALIDATE_AUTHORITY = False
        self.TO_CHANNEL_FROM_BOT_LOGIN_URL = auth.authority
        self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = BOT_FRAMEWORK
        self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = BOT_FRAMEWORK
        self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = auth.openid_metadata_url
        self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = auth.openid_metadata_url


class _ReusedConnectors(ConnectorFactory):  # type: ignore[misc]
    """One connector client per service URL and audience, for every turn. The SDK builds a new one
    for each (its msrest configuration, retry policy and HTTP session): a quarter of the server's
    CPU when every card also goes to Teams, and a new connection for every message."""

    def __init__(self, inner: ConnectorFactory) -> None:
        self.inner = inner
        self.clients: dict[tuple[str, str | None], ConnectorClient] = {}

    async def create(self, service_url: str, audience: str | None = None) -> ConnectorClient:
        key = (service_url, audience)
        if key not in self.clients:
            self.clients[key] = await self.inner.create(service_url, audience)
        return self.clients[key]


class _ReusingAuthentication(ConfigurationBotFrameworkAuthentication):  # type: ignore[misc]
    """The SDK's authentication, with its connector factories and user token clients kept per app
    id (the bot's own, or none with authentication off) instead of built again for each turn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._factories: dict[str | None, _ReusedConnectors] = {}
        self._token_clients: dict[str | None, UserTokenClient] = {}

    def create_connector_factory(self, claims_identity: ClaimsIdentity) -> ConnectorFactory:
        app_id = _app_id(claims_identity)
        if app_id not in self._factories:
            self._factories[app_id] = _ReusedConnectors(super().create_connector_factory(claims_identity))
        return self._factories[app_id]

    async def create_user_token_client(self, claims_identity: ClaimsIdentity) -> UserTokenClient:
        app_id = _app_id(claims_identity)
        if app_id not in self._token_clients:
            self._token_clients[app_id] = await super().create_user_token_client(claims_identity)
        return self._token_clients[app_id]


def _app_id(identity: ClaimsIdentity) -> str | None:
    """The app id the SDK builds its clients for (as ``_BuiltinBotFrameworkAuthentication.get_app_id``)."""
    found = identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
    if found is None:
        found = identity.get_claim_value(AuthenticationConstants.APP_ID_CLAIM)
    return None if found is None else str(found)


class TeamsGateway:
    """Inbound: check the token, then run the turn (its replies go through the SDK too). Outbound
    cards and messages go through ``connector.BotConnector``, with these ``credentials``."""

    def __init__(self, auth: TeamsAuth) -> None:
        self.auth = auth
        self.verifier = TokenVerifier(auth)
        self.credentials = CredentialFactory(auth)
        """Outbound credentials, for the SDK's turns and for the publisher's own Bot Connector client."""
        self.sdk_auth = _ReusingAuthentication(_SdkConfiguration(auth), credentials_factory=self.credentials)
        self.adapter = CloudAdapter(self.sdk_auth)

    @property
    def bot_app_id(self) -> str:
        return self.auth.app_id or ""

    async def authenticate(
        self, header: str | None, service_url: str | None, channel_id: str | None
    ) -> AuthenticateRequestResult:
        """Raises: Unauthorized (auth on and the token does not check out)."""
        if self.auth.enabled:
            claims = await self.verifier.verify(header, service_url, channel_id)
            identity = ClaimsIdentity(claims, True)
        else:
            identity = ClaimsIdentity({}, True, "anonymous")
        result = AuthenticateRequestResult()
        result.claims_identity = identity
        result.audience = BOT_FRAMEWORK
        result.connector_factory = self.sdk_auth.create_connector_factory(identity)
        return result

    async def process(
        self, result: AuthenticateRequestResult, activity: Activity, turn: Turn
    ) -> InvokeResponse | None:
        response: InvokeResponse | None = await self.adapter.process_activity(result, activity, turn)
        return response


__all__ = ["TeamsGateway", "Unauthorized"]

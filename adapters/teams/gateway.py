"""The Bot Framework adapter (``CloudAdapter``) and what it needs, built once per process."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity
from botframework.connector.auth import AuthenticateRequestResult, ClaimsIdentity

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


class TeamsGateway:
    """Inbound: check the token, then run the turn. Outbound: the adapter the publisher sends with."""

    def __init__(self, auth: TeamsAuth) -> None:
        self.auth = auth
        self.verifier = TokenVerifier(auth)
        self.sdk_auth = ConfigurationBotFrameworkAuthentication(
            _SdkConfiguration(auth), credentials_factory=CredentialFactory(auth)
        )
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

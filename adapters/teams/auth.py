"""Bot Framework authentication: inbound tokens checked here, outbound tokens from MSAL.

Inbound, every bearer token is checked for its issuer, audience (our app id), signature (keys from the
configured OpenID metadata), lifetime and ``serviceurl`` claim. The SDK's own validator fetches the
keys with a blocking ``requests.get`` without a timeout and turns unknown key ids into an
``IndexError``; this one fetches them asynchronously with a timeout and answers every failure with
``Unauthorized``. Outbound, MSAL asks the configured login authority (https only, its certificate
checked against the system's or ``SSL_CERT_FILE``'s authorities) without instance discovery, which
would call Microsoft's public cloud whatever the configuration says.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
from typing import Any

import httpx
import jwt
import requests
from botframework.connector.auth import (
    AppCredentials,
    MicrosoftAppCredentials,
    ServiceClientCredentialsFactory,
)
from jwt.algorithms import RSAAlgorithm
from msal import ConfidentialClientApplication, TokenCache

from adapters.teams.connector import AccessToken
from adapters.teams.identity import TeamsAuth, Unauthorized

log = logging.getLogger("centralita.teams")
BOT_FRAMEWORK = "https://api.botframework.com"
"""The issuer of the tokens the Bot Connector sends us, and the scope of the tokens we send it."""
KEY_LIFETIME = 24 * 3600.0
UNKNOWN_KEY_REFRESH = 300.0
FETCH_TIMEOUT = 5.0
CLOCK_SKEW = 300


def ca_bundle() -> str | bool:
    """The authorities to trust: ``SSL_CERT_FILE`` when set, else the system's bundle."""
    configured = os.environ.get("SSL_CERT_FILE")
    if configured:
        return configured
    system = ssl.get_default_verify_paths().cafile
    return system if system and os.path.exists(system) else True


class SigningKeys:
    """The channel's signing keys, from the OpenID metadata document and its JWKS, kept a day."""

    def __init__(self, metadata_url: str) -> None:
        self.metadata_url = metadata_url
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at = -KEY_LIFETIME
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> dict[str, Any]:
        """Raises: Unauthorized when the key is unknown or the keys cannot be fetched."""
        if kid not in self._keys or self._age() > KEY_LIFETIME:
            async with self._lock:
                if self._age() > KEY_LIFETIME or (
                    kid not in self._keys and self._age() > UNKNOWN_KEY_REFRESH
                ):
                    await self._refresh()
        found = self._keys.get(kid)
        if found is None:
            raise Unauthorized(f"unknown signing key {kid!r}")
        return found

    def _stale(self, kid: str) -> bool:
        """Refresh a day-old set, or one without the key, at most every few minutes (a forged key id
        must not make us fetch on every request)."""
        age = self._age()
        return age > KEY_LIFETIME or (kid not in self._keys and age > UNKNOWN_KEY_REFRESH)

    def _age(self) -> float:
        return time.monotonic() - self._fetched_at

    async def _refresh(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, verify=ssl.create_default_context()) as http:
                metadata = (await http.get(self.metadata_url)).raise_for_status().json()
                jwks = (await http.get(metadata["jwks_uri"])).raise_for_status().json()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise Unauthorized(f"signing keys unavailable: {error!r}") from error
        self._keys = {k["kid"]: k for k in jwks.get("keys", []) if isinstance(k, dict) and "kid" in k}
        self._fetched_at = time.monotonic()


class TokenVerifier:
    def __init__(self, auth: TeamsAuth) -> None:
        self.auth = auth
        self.keys = SigningKeys(auth.openid_metadata_url)

    async def verify(
        self, header: str | None, service_url: str | None, channel_id: str | None
    ) -> dict[str, Any]:
        """The token's claims. Raises: Unauthorized for anything but a valid token meant for us."""
        scheme, _, token = (header or "").partition(" ")
        if scheme != "Bearer" or not token:
            raise Unauthorized("no bearer token")
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as error:
            raise Unauthorized(f"not a token: {error}") from error
        key = await self.keys.key(str(kid))
        claims = self._decode(token, key)
        _check_endorsement(key, channel_id)
        if not service_url or claims.get("serviceurl") != service_url:
            raise Unauthorized("the serviceurl claim does not match the activity's serviceUrl")
        return claims

    def _decode(self, token: str, key: dict[str, Any]) -> dict[str, Any]:
        try:
            public = RSAAlgorithm.from_jwk(json.dumps(key))
            return jwt.decode(
                token,
                public,  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=self.auth.app_id,
                issuer=BOT_FRAMEWORK,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iss", "aud"]},
            )
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise Unauthorized(f"token refused: {error}") from error


def _check_endorsement(key: dict[str, Any], channel_id: str | None) -> None:
    endorsements = key.get("endorsements")
    if endorsements and channel_id not in endorsements:
        raise Unauthorized(f"the signing key is not endorsed for channel {channel_id!r}")


class _VerifiedSession(requests.Session):
    """MSAL's HTTP session, checking certificates against ``bundle`` on every request: a plain
    session's ``verify`` loses to ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` from the environment."""

    def __init__(self, bundle: str | bool, timeout: float) -> None:
        super().__init__()
        self._bundle, self._timeout = bundle, timeout

    def request(self, method: Any, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", self._bundle)
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class MsalCredentials(AppCredentials):  # type: ignore[misc]
    """Client-credential tokens from the configured authority, cached by MSAL until they expire."""

    def __init__(self, auth: TeamsAuth, scope: str) -> None:
        super().__init__(app_id=auth.app_id, channel_auth_tenant=auth.tenant_id, oauth_scope=scope)
        self._auth = auth
        self._app: ConfidentialClientApplication | None = None

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self.access_token(force_refresh).value

    def access_token(self, force_refresh: bool = False) -> AccessToken:
        """A token and how long it is still valid for, from MSAL's cache unless ``force_refresh``
        (the Bot Connector refused the cached one). Blocking. Raises: PermissionError (refused)."""
        app = self._msal()
        if force_refresh:
            _forget_tokens(app)
        scope = self.oauth_scope if self.oauth_scope.endswith("/.default") else self.oauth_scope + "/.default"
        answer = app.acquire_token_for_client(scopes=[scope])
        if "access_token" not in answer:
            raise PermissionError(f"no token from {self._auth.authority}: {answer.get('error', 'unknown')}")
        return AccessToken(str(answer["access_token"]), float(answer.get("expires_in") or 0))

    def _msal(self) -> ConfidentialClientApplication:
        if self._app is None:
            self._app = ConfidentialClientApplication(
                client_id=self._auth.app_id,
                client_credential=self._auth.password,
                authority=self._auth.authority,
                instance_discovery=False,
                http_client=_VerifiedSession(ca_bundle(), FETCH_TIMEOUT * 2),
            )
        return self._app


def _forget_tokens(app: ConfidentialClientApplication) -> None:
    cache = app.token_cache
    for token in list(cache.search(TokenCache.CredentialType.ACCESS_TOKEN)):
        cache.remove_at(token)


class CredentialFactory(ServiceClientCredentialsFactory):  # type: ignore[misc]
    """What the SDK asks for outbound credentials: ours for our app id, none when auth is off."""

    def __init__(self, auth: TeamsAuth) -> None:
        self.auth = auth
        self._credentials: dict[str, MsalCredentials] = {}

    async def is_valid_app_id(self, app_id: str) -> bool:
        return bool(app_id) and app_id == self.auth.app_id

    async def is_authentication_disabled(self) -> bool:
        return not self.auth.enabled

    async def create_credentials(
        self, app_id: str, oauth_scope: str, login_endpoint: str, validate_authority: bool
    ) -> AppCredentials:
        if not self.auth.enabled:
            return MicrosoftAppCredentials.empty()
        if app_id != self.auth.app_id:
            raise PermissionError(f"credentials asked for another app id: {app_id!r}")
        return self.for_scope(oauth_scope or BOT_FRAMEWORK)

    def for_scope(self, scope: str) -> MsalCredentials:
        """Our app's credentials for ``scope``: one MSAL application per scope keeps its token cache,
        shared by the SDK's turns and our own Bot Connector client (``connector.py``)."""
        if scope not in self._credentials:
            self._credentials[scope] = MsalCredentials(self.auth, scope)
        return self._credentials[scope]

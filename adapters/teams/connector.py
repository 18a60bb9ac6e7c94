"""Our own client of the Bot Connector REST API (v3), for what the outbox sends to Teams.

It makes the four calls the publisher needs, with plain JSON dicts over one pooled aiohttp session:
create a conversation (a new channel thread, or a 1:1 chat), send an activity into a conversation,
and update an activity in place. botbuilder's connector client serialises every activity through
msrest's model classes and sends it with ``requests`` in the default thread pool, which cost several
times the CPU of the Slack sender for the same cards. Inbound turns, their replies and the channel
listing at installation stay on botbuilder (``gateway.py``, ``bot.py``).

Paths are relative to the conversation's ``serviceUrl`` and each id in them is quoted as msrest does
(``quote(id, safe="")``: a thread id ``19:…@thread.tacv2;messageid=…`` goes as ``19%3A…%40…%3B…``).
With Teams authentication on, each request carries the app's bearer token, kept until a few minutes
before it expires; with it off, none (as the SDK's empty credentials).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

import aiohttp
from yarl import URL

from bot.ports import DeliveryError

TIMEOUT_SECONDS = 30.0
"""How long one request to the Bot Connector may take, connecting included."""
EARLY_REFRESH_SECONDS = 300.0
"""A token is replaced this long before it expires (MSAL, too, treats one with less left as expired)."""
SUCCESS = frozenset({200, 201, 202})
"""What the Bot Connector answers a write that went through (msrest accepted these alone)."""
# Teams' rate-limit guidance: retry 429, 412, 502 and 504 (with the Retry-After it gives).
RETRIED = frozenset({408, 412, 429, 500, 502, 503, 504})
BLOCKED = "MessageWritesBlocked"
_HEADERS = {"Accept": "application/json", "Content-Type": "application/json; charset=utf-8"}


class AccessToken(NamedTuple):
    value: str
    expires_in: float
    """Seconds it is still valid for, as the token endpoint (or MSAL's cache) said."""


class TokenSource(Protocol):
    """Where bearer tokens come from (``adapters.teams.auth.MsalCredentials``). Blocking."""

    def access_token(self, force_refresh: bool = False) -> AccessToken: ...


class BearerTokens:
    """The app's token for the Bot Connector, fetched in a thread (MSAL blocks) by one request at a
    time and kept until ``EARLY_REFRESH_SECONDS`` before it expires."""

    def __init__(self, source: TokenSource) -> None:
        self.source = source
        self._value: str | None = None
        self._good_until = 0.0
        self._refused = False
        self._lock = asyncio.Lock()

    async def header(self) -> str:
        """The Authorization header. Raises: DeliveryError (retried) when no token can be had."""
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await self._fetch()
        return f"Bearer {self._value}"

    def refused(self, header: str) -> None:
        """The Bot Connector answered 401 to ``header``: the next request asks the token endpoint for
        a new token rather than MSAL's cache for the same one."""
        if header == f"Bearer {self._value}":
            self._value, self._refused = None, True

    def _fresh(self) -> bool:
        return self._value is not None and time.monotonic() < self._good_until

    async def _fetch(self) -> None:
        try:
            token = await asyncio.to_thread(self.source.access_token, self._refused)
        except Exception as error:  # MSAL and requests raise many kinds; each is worth a retry
            raise DeliveryError(f"Teams: no token for the Bot Connector: {error!r}") from error
        self._value, self._refused = token.value, False
        self._good_until = time.monotonic() + max(0.0, token.expires_in - EARLY_REFRESH_SECONDS)


class BotConnector:
    """The Bot Connector calls of the outbox, on one aiohttp session per process (opened at the
    first call, inside the running loop; ``close`` at shutdown). ``tokens`` None: authentication is
    off and requests carry no Authorization header. Every call raises ``DeliveryError`` when the
    connector refuses (``refusal``) or cannot be reached."""

    def __init__(self, tokens: BearerTokens | None = None) -> None:
        self.tokens = tokens
        self._session: aiohttp.ClientSession | None = None

    async def create_conversation(self, service_url: str, parameters: dict[str, Any]) -> dict[str, Any]:
        """``POST /v3/conversations``: its ``id`` (and ``activityId`` when it carried an activity)."""
        return await self._request("POST", _url(service_url), parameters)

    async def send_to_conversation(
        self, service_url: str, conversation_id: str, activity: dict[str, Any]
    ) -> dict[str, Any]:
        """``POST /v3/conversations/{id}/activities``: a new message, its id as ``id``."""
        return await self._request("POST", _url(service_url, conversation_id, "activities"), activity)

    async def update_activity(
        self, service_url: str, conversation_id: str, activity_id: str, activity: dict[str, Any]
    ) -> dict[str, Any]:
        """``PUT /v3/conversations/{id}/activities/{activity id}``: the message replaced in place."""
        url = _url(service_url, conversation_id, "activities", activity_id)
        return await self._request("PUT", url, activity)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _request(self, method: str, url: URL, body: dict[str, Any]) -> dict[str, Any]:
        headers = dict(_HEADERS)
        if self.tokens is not None:
            headers["Authorization"] = await self.tokens.header()
        try:
            async with self._http().request(
                method, url, data=json.dumps(body).encode(), headers=headers, allow_redirects=False
            ) as response:
                status, raw = response.status, await response.read()
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, OSError, TimeoutError) as error:  # TimeoutError is asyncio.TimeoutError
            raise DeliveryError(f"Teams unreachable: {error!r}") from error
        answer = _json(raw)
        if status in SUCCESS:
            return answer
        if status == 401 and self.tokens is not None:
            self.tokens.refused(headers["Authorization"])
        raise refusal(status, answer, raw, retry_after)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
                connector=aiohttp.TCPConnector(limit=32, keepalive_timeout=30),
            )
        return self._session


def refusal(status: int, answer: dict[str, Any], raw: bytes, retry_after: str | None) -> DeliveryError:
    """What the Bot Connector's refusal means for the outbox: retried (with its Retry-After) for
    429, 412 and 5xx; given up for a bot that is blocked or removed, and for a bad request or an
    unknown conversation; a few tries for the rest (a 401 among them: with a new token)."""
    code = _error_code(answer)
    reason = f"Teams error {status} {code}".strip()
    if status in RETRIED:
        return DeliveryError(reason, retry_after=_seconds(retry_after))
    if status == 403 and (BLOCKED in code or BLOCKED.encode() in raw):  # also Teams' own ``subCode``
        return DeliveryError(reason + " (the bot was blocked or removed)", permanent=True)
    if status in (400, 404):
        return DeliveryError(reason, permanent=True)
    return DeliveryError(reason, capped=True)


def _url(service_url: str, *path: str) -> URL:
    """``{serviceUrl}/v3/conversations[/…]``, each part of ``path`` quoted whole; ``encoded`` keeps
    yarl from decoding the quoted ``:``, ``@``, ``;`` and ``=`` again."""
    tail = "".join("/" + quote(part, safe="") for part in path)
    return URL(f"{service_url.rstrip('/')}/v3/conversations{tail}", encoded=True)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:  # an error page from a proxy, say
        return {}
    return value if isinstance(value, dict) else {}


def _error_code(answer: dict[str, Any]) -> str:
    error = answer.get("error")
    return str(error.get("code") or "") if isinstance(error, dict) else ""


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None

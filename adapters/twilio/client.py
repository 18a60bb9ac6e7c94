"""The one Twilio REST client setup of the process: credentials, base URL (``TWILIO_API_BASE_URL``),
timeout (``TWILIO_TIMEOUT_SECONDS``) and the official client's aiohttp HTTP client. Calls
(``rest``), messages (``messaging``), deletions (``records``) and ``doctor`` (``account``) all build
their client here.

The client never retries by itself (``max_retries`` stays unset): a request that may have reached
Twilio (a call placed, a message sent) is not sent a second time behind our back; each adapter says
what a failure means for what it sends."""

from __future__ import annotations

from dataclasses import dataclass

from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TwilioRestSetup:
    account_sid: str
    auth_token: str
    base_url: str | None = None
    """Where Twilio REST is (a stand-in in tests); None: Twilio's own."""
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    """Seconds a request may take, connection included."""

    def client(self) -> Client:
        """A client on a new aiohttp session: make it inside the running loop (the session binds to
        it) and close it with ``close_client``."""
        http = _TimedHttpClient(timeout=self.timeout)
        client = Client(self.account_sid, self.auth_token, http_client=http)
        if self.base_url:
            client.api.base_url = self.base_url.rstrip("/")
        return client


class _TimedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's aiohttp client with its timeout applied: twilio 9's ``AsyncTwilioHttpClient`` keeps
    the ``timeout`` it is given but passes aiohttp only each request's own, which the REST client
    never sets, so a Twilio that does not answer would hold a request (and a call's fate) forever."""

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the SDK's own signature)
        allow_redirects: bool = False,
    ) -> Response:
        timeout = self.timeout if timeout is None else timeout
        return await super().request(method, url, params, data, headers, auth, timeout, allow_redirects)


async def close_client(client: Client) -> None:
    await client.http_client.close()


class TwilioRestClient:
    """What an adapter that keeps one client for the process shares: ``open`` it inside the running
    loop (the lifespan), ``close`` it after. ``_client`` is None while closed."""

    def __init__(self, setup: TwilioRestSetup) -> None:
        self.setup = setup
        self._client: Client | None = None

    async def open(self) -> None:
        self._client = self.setup.client()

    async def close(self) -> None:
        if self._client is not None:
            await close_client(self._client)
            self._client = None

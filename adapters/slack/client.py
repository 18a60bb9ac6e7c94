"""The Slack Web API client, with one keep-alive HTTP session for the life of the server.

Without a session of its own, slack_sdk opens a new aiohttp session (and a new TCP and TLS
connection) for every call; the worker posting a burst of cards would spend more time connecting
than posting.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

TIMEOUT_SECONDS = 10


def web_client(token: str | None, base_url: str) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS)
    client.retry_handlers = [AsyncConnectionErrorRetryHandler(max_retry_count=1)]
    return client


async def open_session(client: AsyncWebClient) -> None:
    """Give ``client`` (and Bolt, which shares it) a pooled session; call inside the event loop."""
    client.session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
        connector=aiohttp.TCPConnector(limit=32, keepalive_timeout=30),
    )


async def close_session(client: AsyncWebClient) -> None:
    if client.session is not None and not client.session.closed:
        await client.session.close()
    client.session = None

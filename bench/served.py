"""What the channel figures (g–l) share: a Centralita server in its own process (``python -m
bench.serve``, as (a)–(d) run it), the stand-ins of ``tests/fakes`` served in the bench process, and
``tests.support.PlatformClient`` to talk to the server the way Twilio and Slack do (signed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from bench.constants import SLACK_SECRET, TWILIO_TOKEN
from bench.context import Context
from bench.databases import DbSlot
from bench.process import ServerProcess
from tests.fakes.server import LoopbackServer
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support import FIXTURES, PlatformClient

TIMEOUT = 120.0


class ServedCentralita(PlatformClient):
    """A signed client to a Centralita server in its own process (``process``)."""

    def __init__(self, process: ServerProcess, slot: DbSlot, slack_url: str, twilio_token: str) -> None:
        super().__init__(
            process.url, slot.database(), slack_url, twilio_token=twilio_token, slack_secret=SLACK_SECRET
        )
        self.process = process


@asynccontextmanager
async def centralita(
    context: Context,
    slot: DbSlot,
    slack_url: str,
    *,
    config: str = "clinic.yaml",
    clock: str = "office",
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[ServedCentralita]:
    """A Centralita server in its own process on ``slot`` (on the office clock, or the ``real`` one;
    the default sweep and outbox intervals), with the organisation file ``config`` of tests/fixtures, ``settings`` over the
    bench's defaults and ``env`` over this process's environment; a signed client to it."""
    server = ServerProcess(
        "centralita",
        slot,
        log_dir=context.log_dir,
        slack_url=slack_url,
        clock=clock,
        config=FIXTURES / config,
        settings=settings,
        env=env,
    )
    async with server:
        client = ServedCentralita(
            server, slot, slack_url, (settings or {}).get("TWILIO_AUTH_TOKEN", TWILIO_TOKEN)
        )
        try:
            yield client
        finally:
            await client.aclose()


@asynccontextmanager
async def twilio_standin() -> AsyncIterator[FakeTwilio]:
    """The Twilio REST stand-in; ``twilio_settings`` points a server at it."""
    twilio = FakeTwilio()
    async with LoopbackServer(twilio.app) as url:
        twilio.url = url
        yield twilio


def twilio_settings(twilio: FakeTwilio) -> dict[str, str]:
    """The stand-in's account: its REST calls and our webhooks are both signed with its token."""
    return {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio.url,
    }


@asynccontextmanager
async def twilio_client(twilio: FakeTwilio) -> AsyncIterator[Any]:
    """The twilio SDK's async client, straight at the stand-in (the baselines of (i) and (l))."""
    from twilio.http.async_http_client import AsyncTwilioHttpClient
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient(timeout=10))
    client.api.base_url = twilio.url
    try:
        yield client
    finally:
        await client.http_client.close()  # type: ignore[attr-defined]


async def until(probe: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen in {timeout:g} s")
        await asyncio.sleep(0.001)

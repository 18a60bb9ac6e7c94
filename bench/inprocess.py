"""What the in-process figures (g–l) share: the tests' loopback server (``tests.support.Centralita``:
the real app, the real twilio and slack_sdk clients) in the bench process, with the stand-ins of
``tests/fakes``. The load generator shares that process's CPU, so these figures are read against
baselines measured the same way."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from bench.databases import DbSlot
from bot.settings import Settings
from tests.conftest import TUESDAY_10
from tests.fakes.server import LoopbackServer
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support import Centralita, FakeClock

TIMEOUT = 120.0
INTERVALS = {
    "CENTRALITA_SWEEP_SECONDS": Settings.model_fields["sweep_seconds"].default,
    "CENTRALITA_OUTBOX_POLL_SECONDS": Settings.model_fields["outbox_poll_seconds"].default,
}
"""As a server runs, whatever the environment says."""


def office_clock() -> FakeClock:
    """A Tuesday at 10:00 in Madrid that does not move: office hours, and nothing falls due."""
    return FakeClock(TUESDAY_10)


def centralita(slot: DbSlot, clock: Any, slack_url: str, **settings: Any) -> Centralita:
    return Centralita(slot.database(), clock, slack_url, **INTERVALS, **settings)


@asynccontextmanager
async def twilio_standin() -> AsyncIterator[FakeTwilio]:
    """The Twilio REST stand-in; ``twilio_settings`` points a server at it."""
    twilio = FakeTwilio()
    async with LoopbackServer(twilio.app) as url:
        twilio.url = url
        yield twilio


def twilio_settings(twilio: FakeTwilio) -> dict[str, str]:
    return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_API_BASE_URL": twilio.url}


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

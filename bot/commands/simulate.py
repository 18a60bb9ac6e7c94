"""``centralita simulate call``: Twilio's side of one call, signed, against a running server, or with
``--at`` against a throwaway one whose clock says that time. It says which path the call took and
whether a card was made."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import col, select
from twilio.request_validator import RequestValidator

from bot.errors import UserError
from bot.i18n import t
from bot.settings import Settings
from bot.store.db import create_engine, session_factory
from bot.store.models import Card, OutboxMessage

SIMULATED_URL = "http://simulated.invalid"
SIMULATED_TOKEN = "simulated-twilio-token"
SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class Played:
    sid: str
    path: str
    """``open``, ``open_silent``, ``closed``, ``rejected`` or ``unconfigured`` (from the TwiML)."""


def call_path(twiml: str, said: bool) -> str:
    """Which way the server sent the call, read from its first TwiML answer."""
    if "<Reject" in twiml:
        return "rejected"
    if "<Gather" in twiml:
        return "open" if said else "open_silent"
    if "<Record" in twiml:
        return "closed"
    return "unconfigured"


class TwilioCaller:
    """Plays Twilio's side of one call: the incoming webhook, the speech result or voicemail, the
    status callback."""

    def __init__(
        self, url: str, public_url: str, token: str, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url, self.public_url = url.rstrip("/"), public_url.rstrip("/")
        self.validator = RequestValidator(token)
        self.transport = transport

    async def play(self, caller: str, to: str, say: str) -> Played:
        """Raises: UserError when the server is not there or does not take a request."""
        sid = "CA" + uuid.uuid4().hex
        base = {
            "CallSid": sid,
            "AccountSid": "AC" + "0" * 32,
            "From": caller,
            "To": to,
            "Direction": "inbound",
        }
        async with httpx.AsyncClient(timeout=15, transport=self.transport) as client:
            answer = await self._post(client, "/twilio/voice", {**base, "CallStatus": "ringing"})
            path = call_path(answer, bool(say))
            if path == "open":
                speech = {"CallStatus": "in-progress", "SpeechResult": say, "Confidence": "0.9"}
                await self._post(client, "/twilio/voice/gather", {**base, **speech})
            elif path == "closed":
                await self._post(client, "/twilio/voice/voicemail", {**base, **_fake_recording(sid)})
            ended = {"CallStatus": "completed", "CallDuration": "20"}
            await self._post(client, "/twilio/voice/status", {**base, **ended})
        return Played(sid, path)

    async def _post(self, client: httpx.AsyncClient, path: str, params: dict[str, str]) -> str:
        signature = self.validator.compute_signature(self.public_url + path, params)
        try:
            response = await client.post(
                self.url + path, data=params, headers={"X-Twilio-Signature": signature}
            )
        except httpx.TransportError as error:
            raise UserError(
                f"cannot reach the server at {self.url} ({type(error).__name__}): is `centralita serve`"
                " running there? (--url)"
            ) from None
        print(f"POST {path} → {response.status_code}\n{response.text}")
        if response.status_code == 403:
            raise UserError(
                "the server refused the Twilio signature (403): export the server's TWILIO_AUTH_TOKEN and"
                f" CENTRALITA_PUBLIC_URL (signed for {self.public_url})"
            )
        if response.is_error:
            raise UserError(f"the server answered {response.status_code} to POST {path}")
        return response.text


def _fake_recording(sid: str) -> dict[str, str]:
    """What Twilio reports when a caller leaves a voicemail (the simulation has no audio)."""
    recording = "RE" + sid[2:]
    url = f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{recording}"
    return {
        "CallStatus": "in-progress",
        "RecordingUrl": url,
        "RecordingSid": recording,
        "RecordingDuration": "12",
    }


async def against_server(settings: Settings, url: str, caller: str, to: str, say: str, locale: str) -> None:
    """Play the call against the server at ``url``; the card is looked up in ``DATABASE_URL``."""
    if settings.twilio_auth_token is None:
        raise UserError("Set TWILIO_AUTH_TOKEN to the server's token (make run uses local-dev-token).")
    token = settings.twilio_auth_token.get_secret_value()
    played = await TwilioCaller(url, settings.public_url, token).play(caller, to, say)
    await _report(played, settings.async_database_url, to, locale, channel=None)


async def at_time(settings: Settings, at: datetime, caller: str, to: str, say: str, locale: str) -> None:
    """Play the call on a throwaway server (temporary SQLite, console channel) whose clock starts at
    ``at``: what a call at that moment would do, whatever the time is now."""
    from bot.app import create_app

    print(t(locale, "simulate.at", at=at.strftime("%Y-%m-%d %H:%M"), zone=at.tzinfo))
    with tempfile.TemporaryDirectory(prefix="centralita-simulate-") as folder:
        local = Settings(
            DATABASE_URL=f"sqlite:///{Path(folder) / 'simulate.db'}",
            CENTRALITA_SPOOL_DIR=str(Path(folder) / "spool"),
            CENTRALITA_CONFIG=settings.config_path,
            CENTRALITA_PUBLIC_URL=SIMULATED_URL,
            TWILIO_AUTH_TOKEN=SIMULATED_TOKEN,
            SLACK_BOT_TOKEN="",
            SLACK_SIGNING_SECRET="",
        )
        app = create_app(local, clock=ShiftedClock(at))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            caller_ = TwilioCaller(SIMULATED_URL, SIMULATED_URL, SIMULATED_TOKEN, transport)
            played = await caller_.play(caller, to, say)
            await _delivered(local.async_database_url)
            await _report(played, local.async_database_url, to, locale, channel="console")


class ShiftedClock:
    """The wall clock moved so that it reads ``start`` now; seconds still pass."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def _report(played: Played, database_url: str, to: str, locale: str, channel: str | None) -> None:
    print(t(locale, f"simulate.path.{played.path}", to=to))
    try:
        card = await _card_of(database_url, played.sid)
    except Exception as error:  # the server's database may be elsewhere; the path was said already
        print(t(locale, "simulate.card.unknown", reason=f"{type(error).__name__}: {error}"[:200]))
        return
    if card is None:
        print(t(locale, "simulate.card.none"))
        return
    where = channel or "Slack / console"
    print(t(locale, "simulate.card.made", id=card.id, category=card.category, priority=card.priority,
            team=card.team_id or "—", channel=where))  # fmt: skip


def _sqlite_file_is_here(database_url: str) -> None:
    """Raises: FileNotFoundError for a SQLite URL whose file does not exist."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        raise FileNotFoundError(url.database)


async def _card_of(database_url: str, sid: str) -> Card | None:
    """The call's card in the server's database (``DATABASE_URL``), which may be another one.

    Raises:
        FileNotFoundError: a SQLite file that is not here (it is not created to look inside it).
    """
    _sqlite_file_is_here(database_url)
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            found = await session.exec(select(Card).where(Card.call_sid == sid))
            return found.first()
    finally:
        await engine.dispose()


async def _delivered(database_url: str) -> None:
    """Wait (at most ``SETTLE_SECONDS``) until the worker has sent what the call queued."""
    engine = create_engine(database_url)
    pending = select(func.count()).where(col(OutboxMessage.status) == "pending")
    try:
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            async with session_factory(engine)() as session:
                if not (await session.exec(pending)).one():
                    return
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()

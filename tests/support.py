"""Driving Centralita the way Twilio and Slack do: signed requests over loopback HTTP."""

from __future__ import annotations

import json
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from sqlmodel import select
from twilio.request_validator import RequestValidator

from bot.app import Services, create_app
from bot.config import load_config
from bot.config_set import load_configs
from bot.services.sync import sync_config
from bot.settings import Settings
from bot.store.db import create_engine, session_factory
from bot.store.migrate import upgrade_async
from bot.store.models import AuditEvent, Card, OutboxMessage
from tests.fakes.server import LoopbackServer, free_port

FIXTURES = Path(__file__).parent / "fixtures"
TWILIO_TOKEN = "twilio-test-token"
SLACK_SECRET = "slack-signing-secret-for-tests"
CLINIC_NUMBER = "+34910000000"


class FakeClock:
    """The Clock port, moved by hand."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


@dataclass
class Database:
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)
    name: str = "sqlite"

    async def query(self, statement: Any) -> list[Any]:
        engine = create_engine(self.url, connect_args=self.connect_args)
        try:
            async with session_factory(engine)() as session:
                return list((await session.exec(statement)).all())
        finally:
            await engine.dispose()

    async def cards(self) -> list[Card]:
        return await self.query(select(Card).order_by(Card.id))

    async def audit(self, kind: str | None = None) -> list[AuditEvent]:
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if kind:
            statement = statement.where(AuditEvent.kind == kind)
        return await self.query(statement)

    async def outbox(self) -> list[OutboxMessage]:
        return await self.query(select(OutboxMessage).order_by(OutboxMessage.id))

    async def query_text(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a plain SQL query, as tuples."""
        return [tuple(row) for row in await self.query(text(sql))]

    async def count(self, table: str) -> int:
        rows = await self.query(text(f"SELECT count(*) FROM {table}"))
        return int(rows[0][0])

    async def add(self, *rows: Any) -> None:
        """Model objects written straight into the database, as another process would."""
        engine = create_engine(self.url, connect_args=self.connect_args)
        try:
            async with session_factory(engine)() as session, session.begin():
                session.add_all(rows)
        finally:
            await engine.dispose()

    async def run(self, sql: str) -> None:
        """A statement that returns nothing (DDL, to break the database under a running server)."""
        engine = create_engine(self.url, connect_args=self.connect_args)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(sql))
        finally:
            await engine.dispose()


def settings_for(db: Database, public_url: str, slack_url: str | None, **extra: Any) -> Settings:
    env: dict[str, Any] = {
        "DATABASE_URL": db.url,
        "CENTRALITA_PUBLIC_URL": public_url,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "CENTRALITA_SWEEP_SECONDS": 0.1,
        "CENTRALITA_OUTBOX_POLL_SECONDS": 0.2,
        "CENTRALITA_SPOOL_DIR": tempfile.mkdtemp(prefix="centralita-spool-"),
    }
    if slack_url:
        env |= {
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_API_URL": slack_url,
        }
    env |= extra
    return Settings(**env)


@asynccontextmanager
async def services_only(db: Database, clock: FakeClock, slack_url: str | None) -> AsyncIterator[Services]:
    """The app's use cases on a migrated, synced database, with no server and no worker running:
    every delivery round is the test's own."""
    app = create_app(
        settings_for(db, "http://127.0.0.1:9", slack_url),
        configs=[load_config(FIXTURES / "clinic.yaml")],
        clock=clock,
        connect_args=db.connect_args,
    )
    await upgrade_async(db.url, connect_args=db.connect_args)
    found: Services = app.state.services
    await sync_config(found.runtime)
    yield found
    await found.runtime.sessions.kw["bind"].dispose()  # no lifespan ran, so nobody else closes it


class PlatformClient:
    """Talks to a running Centralita server the way Twilio and Slack do (signed requests), wherever
    the server runs: in this process (``Centralita``) or in its own (the bench's served figures)."""

    def __init__(
        self,
        url: str,
        db: Database,
        slack_url: str | None,
        *,
        twilio_token: str = TWILIO_TOKEN,
        slack_secret: str = SLACK_SECRET,
    ) -> None:
        self.url, self.db = url, db
        self.hooks = (slack_url or "http://127.0.0.1:9/api/").replace("/api/", "/hooks/")
        """Where the response URLs of this server's slash commands point (the Slack stand-in)."""
        self.http = httpx.AsyncClient(base_url=self.url, timeout=15)
        self.twilio = RequestValidator(twilio_token)
        self.slack = SignatureVerifier(slack_secret)
        self._commands = 0

    async def aclose(self) -> None:
        await self.http.aclose()

    # Twilio -----------------------------------------------------------------------------------
    async def twilio_post(
        self, path: str, params: dict[str, str], *, sign: bool = True, signature: str | None = None
    ) -> httpx.Response:
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = signature or self.twilio.compute_signature(
                self.url + path, params
            )
        return await self.http.post(path, data=params, headers=headers)

    async def call(self, caller: str, say: str | None, *, sid: str | None = None) -> str:
        """A whole call: incoming, what the caller said, hang-up. Returns the CallSid."""
        sid = sid or new_call_sid()
        base = {"CallSid": sid, "From": caller, "To": CLINIC_NUMBER, "AccountSid": "AC" + "0" * 32}
        answer = await self.twilio_post("/twilio/voice", {**base, "CallStatus": "ringing"})
        assert answer.status_code == 200, answer.text
        if say is not None:
            gathered = await self.twilio_post("/twilio/voice/gather", {**base, "SpeechResult": say})
            assert gathered.status_code == 200, gathered.text
        ended = await self.twilio_post("/twilio/voice/status", {**base, "CallStatus": "completed"})
        assert ended.status_code == 204, ended.text
        return sid

    # Slack ------------------------------------------------------------------------------------
    async def slack_post(
        self,
        body: str,
        *,
        timestamp: int | None = None,
        secret_ok: bool = True,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> httpx.Response:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = self.slack.generate_signature(timestamp=ts, body=body)
        if not secret_ok:
            signature = SignatureVerifier("wrong-secret").generate_signature(timestamp=ts, body=body)
        headers = {
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
            "Content-Type": content_type,
        }
        return await self.http.post("/slack/events", content=body, headers=headers)

    async def click(self, action: dict[str, Any], user: str, channel: str = "C0RECEP") -> httpx.Response:
        payload = block_actions(action, user, channel)
        return await self.slack_post(urlencode({"payload": json.dumps(payload)}))

    async def claim(self, card_id: int, user: str) -> httpx.Response:
        return await self.click(button("claim", card_id), user)

    async def command(self, text: str, user: str, channel: str = "C0RECEP") -> httpx.Response:
        """A slash command whose response URL is the Slack stand-in's ``/hooks/cmd-<n>``."""
        self._commands += 1
        return await self.slack_post(command_body(text, user, channel, f"{self.hooks}cmd-{self._commands}"))

    async def submit(
        self, callback_id: str, user: str, values: dict[str, Any], metadata: str
    ) -> httpx.Response:
        return await self.slack_post(submission_body(callback_id, user, values, metadata))


class Centralita(PlatformClient):
    """One server running in this process, with the helpers a test needs to talk to it like the
    platforms do."""

    def __init__(
        self,
        db: Database,
        clock: FakeClock,
        slack_url: str | None,
        config: str = "clinic.yaml",
        port: int | None = None,
        publishers: dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        self.clock = clock
        self.port = port or free_port()
        super().__init__(f"http://127.0.0.1:{self.port}", db, slack_url)
        self.settings = settings_for(db, self.url, slack_url, **settings)
        self.app: FastAPI = create_app(
            self.settings,
            configs=load_configs(FIXTURES / config),
            clock=clock,
            connect_args=db.connect_args,
            publishers=publishers,
        )
        self.server = LoopbackServer(self.app, self.port)

    async def __aenter__(self) -> Centralita:
        await self.server.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
        await self.server.__aexit__(*exc)


def command_body(
    text: str, user: str, channel: str = "C0RECEP", response_url: str = "https://hooks.slack.invalid/cmd"
) -> str:
    """A ``/recado`` slash command as Slack sends it (form-encoded)."""
    form = {
        "token": "x",
        "team_id": "T0CLINICA",
        "team_domain": "clinica",
        "channel_id": channel,
        "channel_name": "recepcion",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/recado",
        "text": text,
        "api_app_id": "A0APP",
        "response_url": response_url,
        "trigger_id": "trigger-" + uuid.uuid4().hex,
    }
    return urlencode(form)


def submission_body(callback_id: str, user: str, values: dict[str, Any], metadata: str) -> str:
    """A modal's ``view_submission`` as Slack sends it."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T0CLINICA", "domain": "clinica"},
        "user": {"id": user, "team_id": "T0CLINICA"},
        "api_app_id": "A0APP",
        "token": "x",
        "trigger_id": "trigger-" + uuid.uuid4().hex,
        "view": {
            "id": "V0VIEW",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "state": {"values": values},
        },
    }
    return urlencode({"payload": json.dumps(payload)})


def new_call_sid() -> str:
    return "CA" + uuid.uuid4().hex


def button(action_id: str, card_id: int) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "block_id": f"card-{card_id}-r1-actions",
        "value": str(card_id),
        "action_ts": str(time.time()),
    }


def block_actions(action: dict[str, Any], user: str, channel: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0CLINICA"},
        "api_app_id": "A0APP",
        "token": "x",
        "team": {"id": "T0CLINICA", "domain": "clinica"},
        "container": {"type": "message", "message_ts": "1700000001.000100", "channel_id": channel},
        "trigger_id": "trigger-" + uuid.uuid4().hex,
        "channel": {"id": channel, "name": "recepcion"},
        "message": {"ts": "1700000001.000100", "text": "card"},
        "response_url": "https://hooks.slack.invalid/actions",
        "actions": [action],
    }


# Small helpers for the action, recado, refusal and delivery tests -------------------------------
async def eventually(probe: Any, timeout: float = 15.0, interval: float = 0.05) -> Any:
    """Poll the async ``probe`` until it returns something truthy, and return that."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        found = await probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{getattr(probe, '__name__', 'probe')} never became true in {timeout}s")
        await asyncio.sleep(interval)


async def outbox_settled(db: Database, timeout: float = 15.0) -> list[OutboxMessage]:
    """Wait until no outbox row is pending (everything was sent or given up); the rows."""

    async def settled() -> list[OutboxMessage] | None:
        rows = await db.outbox()
        return rows if rows and all(r.status != "pending" for r in rows) else None

    result: list[OutboxMessage] = await eventually(settled, timeout)
    return result


async def click_with_trigger(
    app: Centralita, action: dict[str, Any], user: str, channel: str = "C0RECEP"
) -> tuple[httpx.Response, str]:
    """A click whose trigger id the test knows (to find the ``views.open`` it leads to)."""
    payload = block_actions(action, user, channel)
    response = await app.slack_post(urlencode({"payload": json.dumps(payload)}))
    return response, payload["trigger_id"]

"""The daily digest reaches each manager once: at digest.at on working days, holidays skipped, through
the outbox to Slack (the chart uploaded with files_upload_v2) and by email (loopback SMTP, STARTTLS)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlmodel import select

from bot.app import Services, create_app
from bot.config import load_config
from bot.services.digest_sending import due_day
from bot.services.directory import Directory
from bot.services.sync import sync_config
from bot.store.migrate import upgrade_async
from bot.store.models import OutboxMessage, ReportRun
from cards.digest_chart import PNG_SIGNATURE
from tests.fakes.server import free_port
from tests.fakes.slack_api import FakeSlack
from tests.support import FIXTURES, Database, FakeClock, settings_for
from tests.test_digest_figures import another_org, background_month, the_day

MADRID = ZoneInfo("Europe/Madrid")
BEFORE = datetime(2026, 12, 1, 8, 29, tzinfo=MADRID)  # Tuesday, a minute before digest.at
AFTER = datetime(2026, 12, 1, 8, 31, tzinfo=MADRID)
CONFIG = FIXTURES / "clinic_digest.yaml"


@asynccontextmanager
async def replica(
    db: Database, clock: FakeClock, slack_url: str | None, **settings: Any
) -> AsyncIterator[Services]:
    """One Centralita process's use cases (no server, no worker: each delivery round is the test's)."""
    app = create_app(
        settings_for(db, "http://127.0.0.1:9", slack_url, **settings),
        configs=[load_config(CONFIG)],
        clock=clock,
        connect_args=db.connect_args,
    )
    await upgrade_async(db.url, connect_args=db.connect_args)
    services: Services = app.state.services
    await sync_config(services.runtime)
    try:
        yield services
    finally:
        await services.runtime.sessions.kw["bind"].dispose()
        assert services.digests is not None
        await services.digests.reader.sessions.kw["bind"].dispose()


async def seeded(db: Database) -> None:
    await upgrade_async(db.url, connect_args=db.connect_args)
    await db.add(*background_month(), *the_day(), *another_org())


async def digest_rows(db: Database) -> list[OutboxMessage]:
    return [row for row in await db.outbox() if row.kind == "report"]


async def deliver_all(services: Services) -> None:
    while await services.delivery.deliver_due():
        pass


def test_the_digest_is_due_at_its_time_on_working_days_that_are_not_holidays() -> None:
    org = Directory([load_config(CONFIG)]).default
    assert due_day(org, BEFORE) is None
    assert str(due_day(org, AFTER)) == "2026-11-30"
    assert due_day(org, datetime(2026, 12, 6, 9, 0, tzinfo=MADRID)) is None  # Sunday
    assert due_day(org, datetime(2026, 12, 8, 9, 0, tzinfo=MADRID)) is None  # Inmaculada Concepción
    assert str(due_day(org, datetime(2026, 12, 9, 9, 0, tzinfo=MADRID))) == "2026-12-08"


async def test_two_replicas_at_digest_time_send_it_once_and_a_restart_does_not_again(
    db: Database, slack: FakeSlack
) -> None:
    await seeded(db)
    clock = FakeClock(BEFORE)
    async with replica(db, clock, slack.url) as one, replica(db, clock, slack.url) as two:  # type: ignore[attr-defined]
        assert one.digests is not None and two.digests is not None
        assert await one.digests.sweep() + await two.digests.sweep() == 0  # not yet
        clock.current = AFTER
        sent = await asyncio.gather(one.digests.sweep(), two.digests.sweep())
        assert sorted(sent) == [0, 1]
        await deliver_all(one)
    async with replica(db, clock, slack.url) as restarted:  # type: ignore[attr-defined]
        assert restarted.digests is not None
        assert await restarted.digests.sweep() == 0
        await deliver_all(restarted)

    runs = await db.query(select(ReportRun))
    assert [(r.org_id, r.report, r.day, r.staff_id) for r in runs] == [
        ("default", "daily", "2026-11-30", "marta")
    ]
    rows = await digest_rows(db)
    assert [(r.channel, r.target, r.status) for r in rows] == [("slack", "U0MARTA", "sent")]
    assert len(slack.of("files.completeUploadExternal")) == 1


async def test_the_slack_digest_uploads_its_chart_with_the_current_file_api(
    db: Database, slack: FakeSlack
) -> None:
    await seeded(db)
    clock = FakeClock(AFTER)
    slack.rate_limit("files.completeUploadExternal", 1, retry_after=0)  # the first try fails
    async with replica(db, clock, slack.url) as services:  # type: ignore[attr-defined]
        assert services.digests is not None
        assert await services.digests.sweep() == 1
        await deliver_all(services)

    assert [c.args["users"] for c in slack.of("conversations.open")] == ["U0MARTA", "U0MARTA"]
    asked = slack.of("files.getUploadURLExternal")
    assert [c.args["filename"] for c in asked] == ["digest.png", "digest.png"]  # once per try
    completed = slack.of("files.completeUploadExternal")
    assert len(completed) == 1, "retried, never shared twice"
    shared = completed[0].args
    assert shared["channel_id"] == "D0MARTA"
    assert shared["initial_comment"].startswith(
        "*Clínica Dental Sonrisa: así fue la recepción el lunes, 30 de"
    )
    assert "• Llamadas: 7 · Mensajes: 2" in shared["initial_comment"]
    file_id = json.loads(shared["files"])[0]["id"]
    png = slack.uploads[file_id]
    assert png.startswith(PNG_SIGNATURE) and len(png) == int(asked[-1].args["length"])
    assert slack.of("files.upload") == []  # the retired method
    assert [r.status for r in await digest_rows(db)] == ["sent"]


# Email: a loopback SMTP server with STARTTLS and AUTH ---------------------------------------------
@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: int = 0
    """How many deliveries to answer with a temporary failure (451) first."""

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"centralita", b"s3cret")
        if ok:
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)


@pytest.fixture
def certificate(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    yield cert, key


@pytest.fixture
def smtp(certificate: tuple[Path, Path]) -> Iterator[tuple[Mailbox, int]]:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=mailbox.authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


async def test_the_digest_by_email_has_html_and_text_with_the_chart_inline(
    db: Database, smtp: tuple[Mailbox, int], certificate: tuple[Path, Path]
) -> None:
    mailbox, port = smtp
    mailbox.refuse = 1  # a temporary failure first: retried, delivered once
    await seeded(db)
    settings = {
        "CENTRALITA_SMTP_URL": f"smtp://centralita:s3cret@127.0.0.1:{port}",
        "CENTRALITA_SMTP_FROM": "Centralita <recepcion@clinica.example>",
        "CENTRALITA_SMTP_CA_FILE": str(certificate[0]),
    }
    async with replica(db, FakeClock(AFTER), None, **settings) as services:
        assert services.digests is not None
        assert await services.digests.sweep() == 1
        first = await services.delivery.deliver_due()
        rows = await digest_rows(db)
        assert first == 1 and rows[0].status == "pending" and "451" in (rows[0].last_error or "")
        await db.run(f"UPDATE outboxmessage SET next_attempt_at = created_at WHERE id = {rows[0].id}")
        await deliver_all(services)

    assert [(r.channel, r.target, r.status) for r in await digest_rows(db)] == [
        ("email", "marta@clinica.example", "sent")
    ]
    assert mailbox.logins == ["centralita", "centralita"]  # the try answered 451, and the retry
    assert mailbox.envelopes == [("recepcion@clinica.example", ["marta@clinica.example"])]
    (message,) = mailbox.messages
    assert (
        message["Subject"]
        == "Clínica Dental Sonrisa · resumen de recepción del lunes, 30 de noviembre de 2026"
    )
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    assert "• Llamadas: 7 · Mensajes: 2" in text.get_content()
    assert '<img src="cid:digest-chart"' in html.get_content()
    related = message.get_body(("related",))
    assert related is not None
    (image,) = [part for part in related.iter_parts() if part.get_content_type() == "image/png"]
    assert image["Content-ID"] == "<digest-chart>"
    assert image.get_content().startswith(PNG_SIGNATURE)


async def test_on_monday_the_weekly_review_goes_with_the_digest_once(db: Database, slack: FakeSlack) -> None:
    await seeded(db)
    monday = FakeClock(datetime(2026, 11, 30, 8, 31, tzinfo=MADRID))
    async with replica(db, monday, slack.url) as services:  # type: ignore[attr-defined]
        assert services.digests is not None
        assert await services.digests.sweep() == 2
        assert await services.digests.sweep() == 0
        await deliver_all(services)

    runs = await db.query(select(ReportRun).order_by(ReportRun.report))
    assert [(r.report, r.day) for r in runs] == [("daily", "2026-11-29"), ("weekly", "2026-11-23")]
    texts = [c.args["text"] for c in slack.of("chat.postMessage", channel="U0MARTA")]
    assert len(texts) == 1 and texts[0].startswith("*Clínica Dental Sonrisa: la semana del 23 nov 2026")
    assert len(slack.of("files.completeUploadExternal")) == 1  # the digest's chart; the review has none

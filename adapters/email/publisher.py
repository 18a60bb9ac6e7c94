"""Email through an SMTP relay (``CENTRALITA_SMTP_URL``): reports as HTML and text with the chart
inline, and cards by email (ready-made ``Mail``). The standard library's ``smtplib``, on a worker
thread (it blocks)."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from bot.domain.links import LinkSigner
from bot.ports import DeliveryError, Mail, MessageRef, PostRef, PrivateTo, Report
from bot.telemetry import PLATFORM_ERRORS
from cards.digest import CHART_CID
from cards.digest_render import render_digest_html, render_digest_text
from cards.model import CardView, DirectView, Text

TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    ca_file: str | None = None

    @classmethod
    def from_url(cls, url: str, ca_file: str | None = None) -> SmtpServer:
        """``smtp://user:pass@host:587`` (STARTTLS, required) or ``smtps://user:pass@host:465``."""
        parts = urlsplit(url)
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            ca_file=ca_file,
        )

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


def report_email(sender: str, to: str, report: Report) -> EmailMessage:
    """Text and HTML alternatives; the chart is a related part of the HTML, ``cid:digest-chart``."""
    html = render_digest_html(report.view, report.links, chart=report.chart_png is not None)
    message = mail_message(
        sender, to, Mail(report.subject, render_digest_text(report.view, report.links), html)
    )
    if report.chart_png is not None:
        html_part = message.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        html_part.add_related(
            report.chart_png,
            maintype="image",
            subtype="png",
            cid=f"<{CHART_CID}>",
            filename=report.chart_name,
        )
    return message


def mail_message(sender: str, to: str, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = mail.subject, sender, to
    message["Date"], message["Message-ID"] = formatdate(localtime=False), make_msgid(domain="centralita")
    message.set_content(mail.plain)
    message.add_alternative(mail.html, subtype="html")
    return message


class EmailPublisher:
    name = "email"

    def __init__(self, server: SmtpServer, sender: str, links: LinkSigner | None = None) -> None:
        """``links``: signs the pages a report's lines link to (none without a link secret)."""
        self.server = server
        self.sender = sender
        self.links = links

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        return await self._deliver(report_email(self.sender, target, report))

    async def send_mail(self, to: str, mail: Mail) -> MessageRef | None:
        return await self._deliver(mail_message(self.sender, to, mail))

    async def card_link(self, card_id: int, post: PostRef | None, now: datetime) -> str | None:
        """A signed page that shows the card as it is (an email reader has no chat to open it in)."""
        return self.links.view_link(card_id, now) if self.links is not None else None

    async def _deliver(self, message: EmailMessage) -> MessageRef:
        await asyncio.to_thread(self._send, message)
        return str(message["Message-ID"])

    def _send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                if self.server.username:
                    smtp.login(self.server.username, self.server.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            PLATFORM_ERRORS.labels("email", "recipient_refused").inc()
            raise DeliveryError(f"SMTP refused the recipient: {error.recipients}", permanent=True) from error
        except smtplib.SMTPResponseException as error:
            PLATFORM_ERRORS.labels("email", str(error.smtp_code)).inc()
            reason = f"SMTP error {error.smtp_code}: {error.smtp_error!r}"
            raise DeliveryError(reason, capped=error.smtp_code >= 500) from error
        except (smtplib.SMTPException, OSError) as error:
            PLATFORM_ERRORS.labels("email", "unreachable").inc()
            raise DeliveryError(f"SMTP server unreachable: {error!r}") from error

    def _connect(self) -> smtplib.SMTP:
        server = self.server
        if server.implicit_tls:
            return smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS, context=server.tls())
        smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
        try:
            smtp.starttls(context=server.tls())  # never a password or a message in clear text
        except BaseException:
            smtp.close()
            raise
        return smtp

    # Email takes reports (the digest, a card's email); rows of other kinds on it are given up.
    async def post_card(self, target: str, view: CardView) -> MessageRef:
        raise DeliveryError("email takes reports only", permanent=True)

    async def update_card(self, post: PostRef, view: CardView) -> None:
        raise DeliveryError("email takes reports only", permanent=True)

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        raise DeliveryError("email takes reports only", permanent=True)

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        raise DeliveryError("email takes reports only", permanent=True)

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        raise DeliveryError("email takes reports only", permanent=True)

"""Cards by email: someone without Slack gets the card with signed one-click links; a link opens a
confirmation page, claims the card once, and is refused when the card moved on, forged or expired."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from bot.domain.links import LinkClaims, LinkError, read_link, sign_link
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually
from tests.test_digest_delivery import Mailbox, certificate, smtp  # noqa: F401  (fixtures)

SECRET = "a-long-random-link-secret-for-tests"


def link(text: str, label: str) -> str:
    found = re.search(rf"^{re.escape(label)}: (\S+)\r?$", text, re.MULTILINE)
    assert found, text
    return found.group(1)


async def test_a_card_by_email_is_claimed_once_from_its_link(
    db: Database,
    slack: FakeSlack,
    clock: FakeClock,
    smtp: tuple[Mailbox, int],  # noqa: F811
    certificate: tuple[Path, Path],  # noqa: F811
) -> None:
    mailbox, port = smtp
    settings = {
        "CENTRALITA_SMTP_URL": f"smtp://centralita:s3cret@127.0.0.1:{port}",
        "CENTRALITA_SMTP_FROM": "recepcion@clinica.example",
        "CENTRALITA_SMTP_CA_FILE": str(certificate[0]),
        "CENTRALITA_LINK_SECRET": SECRET,
    }
    async with Centralita(db, clock, slack.url, config="clinic_email.yaml", **settings) as app:  # type: ignore[attr-defined]
        await app.call("+34655000111", "Hola, llamo por una factura de octubre")

        async def mailed() -> bool:
            return bool(mailbox.messages)

        await eventually(mailed)
        (message,) = mailbox.messages
        assert mailbox.envelopes[0][1] == ["pepa@clinica.example"]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        claim, resolve = link(text, "Reclamar"), link(text, "Resuelta")
        assert claim in html.replace("&amp;", "&")
        assert "Ha dicho: Hola, llamo por una factura de octubre" in text
        assert "[Reclamar]" not in text, "no buttons in an email's text: its links"

        asked = await app.http.get(claim)
        assert asked.status_code == 200 and "¿Reclamar" in asked.text and 'method="post"' in asked.text
        assert [c.status for c in await db.cards()] == ["open"], "opening the link changes nothing"
        token = claim.split("t=", 1)[1]

        done = await app.http.post("/cards/act", data={"t": token})
        assert done.status_code == 200 and "Has reclamado" in done.text
        [card] = await db.cards()
        assert (card.status, card.claimed_by) == ("claimed", "pepa")
        [event] = await db.audit("claimed")
        assert event.actor == "pepa"

        again = await app.http.post("/cards/act", data={"t": token})
        assert again.status_code == 409 and "ahora la tiene Pepa Ruiz" in again.text
        moved_on = await app.http.get(resolve)
        assert moved_on.status_code == 409 and "ha cambiado" in moved_on.text

        forged = await app.http.post(
            "/cards/act", data={"t": token[:-2] + ("AA" if token[-2:] != "AA" else "BB")}
        )
        assert forged.status_code == 403 and "no es válido" in forged.text

        clock.advance(timedelta(hours=25))
        expired = await app.http.get(link(text, "Le llamo yo (en una hora)"))
        assert expired.status_code == 403 and "caducado" in expired.text
        [card] = await db.cards()
        assert (card.status, card.version) == ("claimed", 2)


def test_a_link_is_refused_when_forged_or_expired() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, 10, tzinfo=UTC)
    claims = LinkClaims(7, 3, "claim", "ana", int(now.timestamp()) + 60)
    token = sign_link(b"secret", claims)
    assert read_link(b"secret", token, now) == claims
    for secret, at, key in (
        (b"other", now, "link.forged"),
        (b"secret", now + timedelta(seconds=61), "link.expired"),
    ):
        try:
            read_link(secret, token, at)
        except LinkError as error:
            assert error.key == key
        else:
            raise AssertionError(key)
    for broken in ("", "x", token + "x", "e30." + token.split(".")[1]):
        try:
            read_link(b"secret", broken, now)
        except LinkError as error:
            assert error.key == "link.forged"
        else:
            raise AssertionError(broken)


async def test_hostile_link_tokens_are_refused_and_change_nothing(
    db: Database,
    clock: FakeClock,
    smtp: tuple[Mailbox, int],  # noqa: F811
    certificate: tuple[Path, Path],  # noqa: F811
) -> None:
    settings = {
        "CENTRALITA_SMTP_URL": f"smtp://centralita:s3cret@127.0.0.1:{smtp[1]}",
        "CENTRALITA_SMTP_FROM": "recepcion@clinica.example",
        "CENTRALITA_SMTP_CA_FILE": str(certificate[0]),
        "CENTRALITA_LINK_SECRET": SECRET,
    }
    forged_claims = sign_link(b"not-the-secret", LinkClaims(1, 1, "claim", "pepa", 2_000_000_000))
    tokens = ["", "x", "." * 5000, "é\u0000", "eyJ9.AAAA", forged_claims, "A" * 100_000]
    async with Centralita(db, clock, None, config="clinic_email.yaml", **settings) as app:
        for token in tokens:
            asked = await app.http.get("/cards/act", params={"t": token[:8000]})
            done = await app.http.post("/cards/act", data={"t": token})
            assert asked.status_code == 403 and done.status_code == 403, token[:20]
        missing = await app.http.post(
            "/cards/act", content=b"\xff\xfe", headers={"content-type": "text/plain"}
        )
        assert missing.status_code == 403
    assert await db.cards() == [] and await db.audit() == []

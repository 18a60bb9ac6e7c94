"""A card by email, acted on from a real headless browser (Chromium): the link opens a confirmation
page (the GET changes nothing), confirming claims the card once, and opening the link again says who
has it."""

from __future__ import annotations

from pathlib import Path

from tests.browser import headless_browser
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually
from tests.test_digest_delivery import Mailbox, certificate, smtp  # noqa: F401  (fixtures)
from tests.test_email_cards import SECRET, link


def email_settings(port: int, cert: tuple[Path, Path]) -> dict[str, str]:
    return {
        "CENTRALITA_SMTP_URL": f"smtp://centralita:s3cret@127.0.0.1:{port}",
        "CENTRALITA_SMTP_FROM": "recepcion@clinica.example",
        "CENTRALITA_SMTP_CA_FILE": str(cert[0]),
        "CENTRALITA_LINK_SECRET": SECRET,
    }


async def test_a_card_email_link_claims_once_in_a_real_browser(
    db: Database,
    slack: FakeSlack,
    clock: FakeClock,
    tmp_path: Path,
    smtp: tuple[Mailbox, int],  # noqa: F811
    certificate: tuple[Path, Path],  # noqa: F811
) -> None:
    mailbox, port = smtp
    settings = email_settings(port, certificate)
    async with (
        Centralita(db, clock, slack.url, config="clinic_email.yaml", **settings) as app,  # type: ignore[attr-defined]
        headless_browser(tmp_path) as browser,
    ):
        await app.call("+34655000111", "Hola, llamo por una factura de octubre")

        async def mailed() -> bool:
            return bool(mailbox.messages)

        await eventually(mailed)
        text = mailbox.messages[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
        claim, resolve = link(text, "Reclamar"), link(text, "Resuelta")

        asked = await browser.open(claim)
        assert asked.has_confirm and asked.status_text.startswith("¿Reclamar"), asked
        assert [c.status for c in await db.cards()] == ["open"], "opening the link changes nothing"

        done = await browser.confirm()
        assert done.status_text.startswith("Has reclamado"), done
        assert not done.has_confirm
        [card] = await db.cards()
        assert (card.status, card.claimed_by) == ("claimed", "pepa")
        assert [e.actor for e in await db.audit("claimed")] == ["pepa"]

        again = await browser.open(claim)
        assert not again.has_confirm and "ahora la tiene Pepa Ruiz" in again.status_text, again
        other = await browser.open(resolve)
        assert not other.has_confirm and "ahora la tiene Pepa Ruiz" in other.status_text, other
        [card] = await db.cards()
        assert (card.status, card.version) == ("claimed", 2)
        assert len(await db.audit("claimed")) == 1


async def test_a_team_mailbox_link_asks_who_is_acting_and_claims_for_them(
    db: Database,
    slack: FakeSlack,
    clock: FakeClock,
    tmp_path: Path,
    smtp: tuple[Mailbox, int],  # noqa: F811
    certificate: tuple[Path, Path],  # noqa: F811
) -> None:
    mailbox, port = smtp
    settings = email_settings(port, certificate)
    async with (
        Centralita(db, clock, slack.url, config="clinic_team_email.yaml", **settings) as app,  # type: ignore[attr-defined]
        headless_browser(tmp_path) as browser,
    ):
        await app.call("+34655000111", "Hola, quería pedir cita para una limpieza")

        async def mailed() -> bool:
            return bool(mailbox.messages)

        await eventually(mailed)
        (message,) = mailbox.messages
        assert mailbox.envelopes[0][1] == ["recepcion@clinica.example"]
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        claim, resolve = link(text, "Reclamar"), link(text, "Resuelta")
        assert claim in html.replace("&amp;", "&")

        asked = await browser.open(claim)
        assert asked.has_confirm and asked.choices == ("Ana García", "Luis Martín"), asked
        token = claim.split("t=", 1)[1]
        nobody = await app.http.post("/cards/act", data={"t": token})
        stranger = await app.http.post("/cards/act", data={"t": token, "staff": "marta"})
        for refused in (nobody, stranger):
            assert refused.status_code == 400 and "Elija quién es" in refused.text
        assert [c.status for c in await db.cards()] == ["open"], "nothing changes before someone is chosen"

        done = await browser.confirm(as_name="Luis Martín")
        assert done.status_text.startswith("Has reclamado"), done
        [card] = await db.cards()
        assert (card.status, card.claimed_by) == ("claimed", "luis")
        assert [e.actor for e in await db.audit("claimed")] == ["luis"]

        again = await browser.open(resolve)
        assert not again.has_confirm and "ahora la tiene Luis Martín" in again.status_text, again
        assert len(await db.audit("claimed")) == 1

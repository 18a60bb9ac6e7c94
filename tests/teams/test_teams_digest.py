"""The digest where the manager reads it: a Teams 1:1 Adaptive Card with the chart inline, a Slack DM
and an email, each linking a missed deadline to the card where that reader opens it (the Teams deep
link of the card's thread, the Slack permalink of its message, a signed card page)."""

from __future__ import annotations

import base64
import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cards.digest_chart import PNG_SIGNATURE
from tests.browser import headless_browser
from tests.fakes.bot_connector import ConnectorCall, FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually
from tests.teams.cardschema import assert_valid_card
from tests.teams.support import OTHER_CHANNEL, TEAM_ID, post_activity, team_installed
from tests.test_digest_delivery import Mailbox, certificate, smtp  # noqa: F401  (fixtures)
from tests.test_email_cards import SECRET

MADRID = ZoneInfo("Europe/Madrid")
MARTA_AAD = "aad-0000-marta"
TUESDAY = "martes, 24 de noviembre de 2026"


def _digest_cards(connector: FakeConnector) -> list[dict[str, Any]]:
    chats = {c.conversation for c in connector.of("create") if c.body.get("members") == [{"id": MARTA_AAD}]}
    sent: list[ConnectorCall] = [c for c in connector.of("send") if c.conversation in chats]
    return [c.card for c in sent if c.card is not None and TUESDAY in c.card["body"][0]["text"]]


async def test_the_digest_links_a_missed_deadline_to_the_card_on_each_channel(
    db: Database,
    clock: FakeClock,
    identity: FakeIdentity,
    connector: FakeConnector,
    slack: FakeSlack,
    tmp_path: Path,
    smtp: tuple[Mailbox, int],  # noqa: F811
    certificate: tuple[Path, Path],  # noqa: F811
) -> None:
    mailbox, port = smtp
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    settings = {
        **auth_env(identity),
        "CENTRALITA_SMTP_URL": f"smtp://centralita:s3cret@127.0.0.1:{port}",
        "CENTRALITA_SMTP_FROM": "recepcion@clinica.example",
        "CENTRALITA_SMTP_CA_FILE": str(certificate[0]),
        "CENTRALITA_LINK_SECRET": SECRET,
    }
    app = Centralita(db, clock, slack.url, config="clinic_teams_digest.yaml", **settings)  # type: ignore[attr-defined]
    async with app, headless_browser(tmp_path) as browser:
        installed = team_installed(connector.url)
        answer = await post_activity(app.http, installed, identity.channel_token(installed["serviceUrl"]))
        assert answer.status_code == 201, answer.text
        await app.call("+34655000111", "Hola, quería pedir cita para una revisión")
        [card] = await eventually(db.cards)

        async def posted() -> list[tuple[str, str]]:
            rows = await db.query_text("SELECT channel, external_ref FROM cardpost ORDER BY channel")
            return rows if len(rows) == 2 and all(ref for _, ref in rows) else []

        refs = dict(await eventually(posted))
        clock.current = datetime(2026, 11, 25, 8, 31, tzinfo=MADRID)  # Wednesday: Tuesday's digest

        # Teams: an Adaptive Card in Marta's 1:1 chat, the chart inline, the breach a deep link.
        async def teams_digest() -> list[dict[str, Any]]:
            return _digest_cards(connector)

        [teams_card] = await eventually(teams_digest, timeout=20)
        assert_valid_card(teams_card)
        [image] = [block for block in teams_card["body"] if block["type"] == "Image"]
        assert image["url"].startswith("data:image/png;base64,")
        assert base64.b64decode(image["url"].split(",", 1)[1]).startswith(PNG_SIGNATURE)
        conversation, activity_id = refs["teams"].rsplit("|", 1)
        assert conversation == f"{OTHER_CHANNEL};messageid={activity_id}"
        deep_link = f"https://teams.microsoft.com/l/message/{OTHER_CHANNEL}/{activity_id}?parentMessageId={activity_id}"
        breach = f"#{card.id} General · +34655000111: sin reclamar"
        [linked] = [text for b in teams_card["body"] if deep_link in (text := b.get("text", ""))]
        assert linked.startswith(f"• [{breach}") and linked.endswith(")"), linked

        # Slack: the DM's text (the chart's comment) links the breach to the card's message.
        channel, ts = refs["slack"].split(":")
        permalink = f"https://clinica.slack.com/archives/{channel}/p{ts.replace('.', '')}"

        async def slack_digest() -> list[str]:
            comments = [c.args["initial_comment"] for c in slack.of("files.completeUploadExternal")]
            return [text for text in comments if TUESDAY in text]

        [comment] = await eventually(slack_digest, timeout=20)
        assert f"• <{permalink}|{breach}" in comment, comment

        # Email: the breach links to a signed page that shows the card, opened in the browser.
        async def mailed() -> list[str]:
            bodies = [m.get_body(("html",)).get_content() for m in mailbox.messages]  # type: ignore[union-attr]
            return [html for html in bodies if TUESDAY in html]

        [html] = await eventually(mailed, timeout=20)
        found = re.search(rf'<a href="([^"]+)">{re.escape(breach)}', html)
        assert found, html
        page = await browser.open(found.group(1).replace("&amp;", "&"))
        assert not page.has_confirm
        assert page.status_text == "🔵 Normal · General de +34655000111. Pendiente: nadie la ha reclamado", (
            page
        )
        assert page.title == f"Tarjeta #{card.id}"
        [card] = await db.cards()
        assert card.status == "open", "a card's page changes nothing"

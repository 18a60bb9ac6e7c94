"""Managers export and erase one person's data from Teams (a message ``privacidad …`` to the bot),
with Teams authentication on, against the loopback Bot Connector, identity and Slack stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.fakes.bot_connector import ConnectorCall, FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually, outbox_settled
from tests.teams.cardschema import assert_valid_card
from tests.teams.support import (
    OTHER_CHANNEL,
    TEAM_ID,
    card_invoke,
    personal_message,
    post_activity,
    team_installed,
)

CALLER = "+34600111222"
MARTA_AAD = "aad-0000-marta"


@pytest.fixture
async def app(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector, slack: FakeSlack
) -> AsyncIterator[Centralita]:
    """The clinic on Slack and Teams, a card of the caller posted in both."""
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    server = Centralita(db, clock, slack.url, config="clinic_teams_manager.yaml", **auth_env(identity))  # type: ignore[attr-defined]
    async with server:
        installed = await _send(server, identity, team_installed(connector.url))
        assert installed.status_code == 201, installed.text
        await server.call(CALLER, "Hola, soy Pedro Gómez, es urgente, me duele una muela")
        await eventually(lambda: _channel_posts(connector))
        await outbox_settled(db)
        yield server


async def _channel_posts(connector: FakeConnector) -> list[ConnectorCall]:
    return [c for c in connector.of("create") if ((c.body.get("channelData") or {}).get("channel") or {})]


async def _send(app: Centralita, identity: FakeIdentity, activity: dict[str, Any]) -> Any:
    return await post_activity(app.http, activity, identity.channel_token(activity["serviceUrl"]))


async def _ask(
    app: Centralita, identity: FakeIdentity, connector: FakeConnector, text: str, aad: str
) -> ConnectorCall:
    before = len(connector.of("reply"))
    answer = await _send(app, identity, personal_message(connector.url, text, aad=aad, name="Marta López"))
    assert answer.status_code == 201, answer.text
    replies = await connector.wait_for("reply", count=before + 1)
    return replies[-1]


async def _confirm(
    app: Centralita, identity: FakeIdentity, connector: FakeConnector, number: str, aad: str
) -> Any:
    invoke = card_invoke(connector.url, "privacy_erase", 0, aad=aad, conversation=f"a:personal-{aad}")
    invoke["value"]["action"]["data"] = {"number": number}
    answer = await _send(app, identity, invoke)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _text(card: dict[str, Any]) -> str:
    return " ".join(b.get("text", "") for b in card["body"])


async def test_a_manager_erases_from_teams_after_confirming_on_the_card(
    app: Centralita, db: Database, connector: FakeConnector, identity: FakeIdentity
) -> None:
    reply = await _ask(app, identity, connector, "privacidad borrar 600 11 12 22", MARTA_AAD)
    assert reply.card is not None
    assert_valid_card(reply.card)
    assert "1 tarjetas, 1 llamadas" in _text(reply.card)
    [button] = reply.card["actions"]
    assert button["type"] == "Action.Execute" and button["verb"] == "privacy_erase"
    assert button["data"] == {"number": CALLER} and button["title"] == "Borrar"
    assert len(await db.cards()) == 1  # asked, not done

    answer = await _confirm(app, identity, connector, CALLER, MARTA_AAD)
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert_valid_card(answer["value"])
    assert (
        _text(answer["value"]).startswith(f"{CALLER} borrado: 1 tarjetas")
        and "actions" not in answer["value"]
    )
    assert await db.cards() == []
    [audit] = await db.audit("privacy_erase")
    assert audit.actor == "teams:marta" and audit.data["cards"] == 1


async def test_in_teams_only_managers_may_ask(
    app: Centralita, db: Database, connector: FakeConnector, identity: FakeIdentity
) -> None:
    for aad in ("aad-0000-ana", "aad-9999-stranger"):
        reply = await _ask(app, identity, connector, f"privacidad borrar {CALLER}", aad)
        assert reply.card is None and reply.body["text"].startswith("Solo los responsables")
        answer = await _confirm(app, identity, connector, CALLER, aad)
        assert _text(answer["value"]).startswith("Solo los responsables")
        reply = await _ask(app, identity, connector, f"privacidad exportar {CALLER}", aad)
        assert reply.body["text"].startswith("Solo los responsables")
    assert len(await db.cards()) == 1 and await db.audit("privacy_erase") == []
    assert await db.count("exportlink") == 0


async def test_a_bad_or_unknown_number_in_teams_changes_nothing(
    app: Centralita, db: Database, connector: FakeConnector, identity: FakeIdentity
) -> None:
    bad = await _ask(app, identity, connector, "privacidad borrar 12ab", MARTA_AAD)
    assert bad.body["text"].startswith("«12ab» no es un número de teléfono")
    unknown = await _ask(app, identity, connector, "privacidad exportar +34699000000", MARTA_AAD)
    assert unknown.body["text"].startswith("No hay nada guardado sobre +34699000000")
    assert len(await db.cards()) == 1 and await db.count("exportlink") == 0


async def test_a_teams_export_is_a_link_that_works_once_and_expires(
    app: Centralita, db: Database, clock: FakeClock, connector: FakeConnector, identity: FakeIdentity
) -> None:
    reply = await _ask(app, identity, connector, f"privacidad exportar {CALLER}", MARTA_AAD)
    assert reply.card is not None
    assert_valid_card(reply.card)
    [button] = reply.card["actions"]
    assert button["type"] == "Action.OpenUrl" and button["url"].startswith(f"{app.url}/privacy/export/")
    assert await db.audit("privacy_export") == []  # audited when downloaded

    downloaded = await app.http.get(button["url"])
    assert downloaded.status_code == 200 and downloaded.headers["cache-control"] == "no-store"
    assert downloaded.json()["number"] == CALLER
    assert "attachment" in downloaded.headers["content-disposition"]
    [audit] = await db.audit("privacy_export")
    assert audit.actor == "teams:marta" and CALLER not in str(audit.data)
    again = await app.http.get(button["url"])
    assert again.status_code == 404 and "ya se ha usado" in again.text

    later = await _ask(app, identity, connector, f"privacidad exportar {CALLER}", MARTA_AAD)
    assert later.card is not None
    clock.advance(timedelta(minutes=16))
    expired = await app.http.get(later.card["actions"][0]["url"])
    assert expired.status_code == 404 and len(await db.audit("privacy_export")) == 1
    forged = await app.http.get("/privacy/export/not-a-token")
    assert forged.status_code == 404


async def test_an_erasure_replaces_every_teams_message_that_showed_the_caller(
    app: Centralita, db: Database, clock: FakeClock, connector: FakeConnector, identity: FakeIdentity
) -> None:
    [card_post] = await _channel_posts(connector)
    clock.advance(timedelta(minutes=3))  # unclaimed: escalated to Luis by a 1:1 message in Teams

    async def dm() -> list[ConnectorCall]:
        return [c for c in connector.of("create") if c.body.get("members") == [{"id": "aad-0000-luis"}]]

    [chat] = await eventually(dm)
    [escalation] = await connector.wait_for("send", conversation=chat.conversation)
    await outbox_settled(db)

    await _confirm(app, identity, connector, CALLER, MARTA_AAD)

    card_message = (card_post.conversation, (card_post.conversation or "").rpartition("=")[2])
    shown = {card_message, (escalation.conversation, escalation.activity_id)}

    async def replaced() -> set[tuple[str | None, str | None]]:
        erased = [c for c in connector.of("update") if c.body.get("text") == "Datos eliminados."]
        found = {(c.conversation, c.activity_id) for c in erased}
        return found if shown <= found else set()

    await eventually(replaced)  # the card, its thread lines and the escalation's 1:1 message
    for call in connector.of("update"):
        if call.body.get("text") == "Datos eliminados.":
            assert not call.body.get("attachments")
    erased = await outbox_settled(db)
    assert all(row.status == "sent" for row in erased if row.kind == "erase")


async def test_the_retention_purge_rerenders_the_teams_card_without_the_transcript(
    app: Centralita, db: Database, clock: FakeClock, connector: FakeConnector
) -> None:
    [card_post] = await _channel_posts(connector)
    assert card_post.card is not None and "me duele una muela" in str(card_post.card)
    clock.advance(timedelta(days=91))
    await app.app.state.services.retention.sweep()

    async def rerendered() -> list[ConnectorCall]:
        return [
            c
            for c in connector.of("update")
            if c.conversation == card_post.conversation and "me duele" not in str(c.card)
        ]

    [update] = (await eventually(rerendered))[-1:]
    assert update.card is not None
    assert_valid_card(update.card)

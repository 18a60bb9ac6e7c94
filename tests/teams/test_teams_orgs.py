"""Two organisations on one Teams bot, each in its own Microsoft 365 tenant (issue 14, item 4):
each organisation's cards go to its own Teams channels through conversations stored from its own
tenant, and an invoke from the other tenant on its card is refused and changes nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlmodel import select

from bot.i18n import t
from bot.store.models import Card, OutboxMessage
from tests.fakes.bot_connector import ConnectorCall, FakeConnector
from tests.fakes.identity import TENANT_ID, FakeIdentity, auth_env
from tests.support import CLINIC_NUMBER, Centralita, Database, FakeClock, eventually
from tests.teams.support import (
    OTHER_CHANNEL,
    STRANGER_AAD,
    TEAM_ID,
    card_invoke,
    personal_message,
    post_activity,
    team_installed,
)
from tests.test_multiorg import answered_call

FIRM_TENANT = "99999999-8888-7777-6666-555555555555"
FIRM_TEAM = "19:team-firma@thread.tacv2"
FIRM_NUMBER = "+34930000000"
PEPE_AAD = "aad-9999-pepe"


def in_tenant(activity: dict[str, Any], tenant: str) -> dict[str, Any]:
    """The same activity as Teams sends it from another tenant."""
    data = {**activity["channelData"], "tenant": {"id": tenant}}
    return {**activity, "conversation": {**activity["conversation"], "tenantId": tenant}, "channelData": data}


@pytest.fixture
async def app(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector
) -> AsyncIterator[Centralita]:
    """The clinic and the firm on one bot, installed in the clinic's team (its tenant) and in the
    firm's team (the firm's tenant)."""
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    connector.team_channels[FIRM_TEAM] = [{"id": FIRM_TEAM}]
    server = Centralita(db, clock, None, config="orgs_teams", **auth_env(identity))
    async with server:
        clinic = team_installed(connector.url)
        firm = in_tenant(team_installed(connector.url, team_id=FIRM_TEAM, team_name="Oficina"), FIRM_TENANT)
        for activity in (clinic, firm):
            installed = await _send(server, identity, activity)
            assert installed.status_code == 201, installed.text
        yield server


async def _send(app: Centralita, identity: FakeIdentity, activity: dict[str, Any]) -> Any:
    return await post_activity(app.http, activity, identity.channel_token(activity["serviceUrl"]))


async def _call(app: Centralita, to: str, say: str, caller: str = "+34612000111") -> Card:
    sid = await answered_call(app, to, say, caller)
    [card] = [c for c in await app.db.cards() if c.call_sid == sid]
    return card


async def _threads(connector: FakeConnector, count: int = 1) -> list[ConnectorCall]:
    """The cards posted as new threads (once there are ``count``), each with its channel."""

    async def posted() -> list[ConnectorCall]:
        found = [c for c in connector.of("create") if (c.body.get("channelData") or {}).get("channel")]
        return found if len(found) >= count else []

    return list(await eventually(posted))


def _channel(call: ConnectorCall) -> str:
    return str(call.body["channelData"]["channel"]["id"])


async def test_a_teams_invoke_from_another_tenant_on_an_organisations_card_is_refused(
    app: Centralita, connector: FakeConnector, identity: FakeIdentity, db: Database
) -> None:
    card = await _call(app, CLINIC_NUMBER, "Quería pedir cita")
    [posted] = await _threads(connector)
    assert _channel(posted) == OTHER_CHANNEL
    thread = posted.conversation or ""

    # The firm's Pepe, from the firm's tenant, clicks "claim" with the clinic's card id: he is
    # told there is no such card, in his organisation's language, and sees nothing of it.
    invoke = card_invoke(connector.url, "claim", card.id or 0, aad=PEPE_AAD, conversation=thread)
    answer = await _send(app, identity, in_tenant(invoke, FIRM_TENANT))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body == {"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                    "value": t("en", "ephemeral.card_missing")}  # fmt: skip
    # The clinic's own Ana, as if from the firm's tenant (a forged or guest identity): refused too.
    invoke = card_invoke(connector.url, "claim", card.id or 0, conversation=thread)
    refused = await _send(app, identity, in_tenant(invoke, FIRM_TENANT))
    assert refused.json()["value"] == t("en", "ephemeral.card_missing")  # the firm's words, not the clinic's
    assert "Sonrisa" not in refused.text and "Ana" not in refused.text
    [after] = await db.query(select(Card).where(Card.id == card.id))
    assert (after.status, after.claimed_by, after.version) == ("open", None, card.version)
    assert await db.audit("claimed") == [] and connector.of("update") == []

    # From the clinic's tenant, Ana claims it.
    claimed = await _send(
        app, identity, card_invoke(connector.url, "claim", card.id or 0, conversation=thread)
    )
    assert "Reclamada por Ana García" in claimed.text
    [after] = await db.query(select(Card).where(Card.id == card.id))
    assert after.claimed_by == "ana"


async def test_each_organisations_cards_go_through_its_own_tenants_conversations_only(
    app: Centralita, connector: FakeConnector, db: Database
) -> None:
    await _call(app, FIRM_NUMBER, "Llamo por la renta")
    [posted] = await _threads(connector)
    assert _channel(posted) == FIRM_TEAM

    # A team of the firm that names a channel of the clinic's tenant: the conversation stored
    # from the clinic's tenant is not used for the firm; the delivery is given up and says why.
    wrong = await _call(app, FIRM_NUMBER, "Esto es una prueba", caller="+34612000222")

    async def given_up() -> list[OutboxMessage]:
        rows = await db.query(select(OutboxMessage).where(OutboxMessage.card_id == wrong.id))
        return [r for r in rows if r.status == "dead"]

    [row] = await eventually(given_up)
    assert f"is in tenant {TENANT_ID}, not in the organisation's ({FIRM_TENANT})" in (row.last_error or "")
    assert [_channel(c) for c in connector.of("create") if c.body.get("channelData")] == [FIRM_TEAM]


async def test_a_stranger_in_an_organisations_tenant_is_told_about_that_organisation_only(
    app: Centralita, connector: FakeConnector, db: Database, identity: FakeIdentity
) -> None:
    message = personal_message(connector.url, "recado alguien llamó", aad=STRANGER_AAD, name="Nadie")
    assert (await _send(app, identity, in_tenant(message, FIRM_TENANT))).status_code == 201
    [reply] = await connector.wait_for("reply")
    assert "Asesoría Ruiz" in reply.body["text"] and "Sonrisa" not in reply.body["text"]
    assert await db.count("card") == 0

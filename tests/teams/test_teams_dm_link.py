"""A 1:1 message about a card in Teams (an escalation, a callback reminder) links to the card's
message in its channel, as the Slack DM links to the Slack message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.fakes.bot_connector import ConnectorCall, FakeConnector
from tests.fakes.identity import TENANT_ID, FakeIdentity, auth_env
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually
from tests.teams.cardschema import assert_valid_card
from tests.teams.support import OTHER_CHANNEL, TEAM_ID, post_activity, team_installed

LUIS_AAD = "aad-0000-luis"


@pytest.fixture
async def app(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector, slack: FakeSlack
) -> AsyncIterator[Centralita]:
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    server = Centralita(db, clock, slack.url, config="clinic_teams.yaml", **auth_env(identity))  # type: ignore[attr-defined]
    async with server:
        activity = team_installed(connector.url)
        installed = await post_activity(server.http, activity, identity.channel_token(activity["serviceUrl"]))
        assert installed.status_code == 201, installed.text
        yield server


async def test_an_escalation_dm_in_teams_links_to_the_cards_channel_message(
    app: Centralita, connector: FakeConnector, clock: FakeClock
) -> None:
    await app.call("+34911222333", "Es urgente, me duele mucho")

    async def posted() -> list[ConnectorCall]:
        return [c for c in connector.of("create") if (c.body.get("channelData") or {}).get("channel")]

    [card] = await eventually(posted)
    clock.advance(timedelta(minutes=3))

    async def escalated() -> list[ConnectorCall]:
        return [c for c in connector.of("create") if c.body.get("members") == [{"id": LUIS_AAD}]]

    [chat] = await eventually(escalated)
    [dm] = await connector.wait_for("send", conversation=chat.conversation)
    assert dm.card is not None
    assert_valid_card(dm.card)
    [opening] = [a for a in dm.card["actions"] if a["type"] == "Action.OpenUrl"]
    assert opening["title"] == "Ver la tarjeta"
    link = urlsplit(opening["url"])
    channel_id, message_id = (unquote(part) for part in link.path.removeprefix("/l/message/").split("/"))
    assert link.netloc == "teams.microsoft.com"
    assert (card.conversation or "").startswith(f"{channel_id};messageid=")
    assert channel_id == OTHER_CHANNEL and message_id == (card.conversation or "").rpartition("=")[2]
    query = parse_qs(link.query)
    assert query["tenantId"] == [TENANT_ID] and query["parentMessageId"] == [message_id]
    assert query["channelName"] == ["Urgencias"]

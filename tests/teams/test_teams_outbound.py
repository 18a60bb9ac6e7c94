"""What the outbox sends to Teams goes through our own Bot Connector client: one token for many
calls, a new one when the connector refuses it, quoted conversation ids, and the connector's
refusals and outages turned into retries or give-ups, against the loopback stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.teams.connector import BotConnector
from tests.fakes.bot_connector import ConnectorCall, FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env
from tests.fakes.slack_api import FakeSlack
from tests.fakes.tcp_proxy import TcpProxy
from tests.support import Centralita, Database, FakeClock, eventually, outbox_settled
from tests.teams.support import OTHER_CHANNEL, TEAM_ID, post_activity, team_installed

WRITES = ("create", "send", "update")


@asynccontextmanager
async def _clinic(
    db: Database, clock: FakeClock, identity: FakeIdentity, slack: FakeSlack, service_url: str
) -> AsyncIterator[Centralita]:
    """The clinic on Slack and Teams, installed in the reception team from ``service_url``."""
    async with Centralita(db, clock, slack.url, config="clinic_teams.yaml", **auth_env(identity)) as app:  # type: ignore[attr-defined]
        activity = team_installed(service_url)
        installed = await post_activity(app.http, activity, identity.channel_token(service_url))
        assert installed.status_code == 201, installed.text
        yield app


@pytest.fixture
async def app(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector, slack: FakeSlack
) -> AsyncIterator[Centralita]:
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    async with _clinic(db, clock, identity, slack, connector.url) as server:
        yield server


async def _thread(connector: FakeConnector) -> ConnectorCall:
    """The card's post: a new thread in the channel."""

    async def posted() -> list[ConnectorCall]:
        return [c for c in connector.of("create") if (c.body.get("channelData") or {}).get("channel")]

    [created] = await eventually(posted)
    return created


async def _card_id(db: Database) -> int:
    cards = await eventually(db.cards)
    return int(cards[0].id)


def _writes(connector: FakeConnector) -> list[ConnectorCall]:
    return [c for c in connector.calls if c.method in WRITES]


async def _teams_rows(db: Database) -> list[tuple[Any, ...]]:
    return await db.query_text("SELECT status, last_error FROM outboxmessage WHERE channel = 'teams'")


async def test_one_token_serves_every_call_and_conversation_ids_are_quoted_as_msrest_did(
    app: Centralita, connector: FakeConnector, identity: FakeIdentity, db: Database
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    created = await _thread(connector)
    thread = created.conversation or ""
    assert created.path == "/v3/conversations"
    assert (await app.claim(await _card_id(db), "U0LUIS")).status_code == 200
    [updated] = await connector.wait_for("update")
    [line] = await connector.wait_for("send", conversation=thread)
    quoted = thread.replace(":", "%3A").replace("@", "%40").replace(";", "%3B").replace("=", "%3D")
    assert updated.path == f"/v3/conversations/{quoted}/activities/{updated.activity_id}"
    assert line.path == f"/v3/conversations/{quoted}/activities"
    tokens = {c.authorization for c in _writes(connector)}
    assert len(tokens) == 1 and identity.accepts(tokens.pop())
    assert len(identity.grants) == 1  # the installation's listing fetched it; MSAL's cache and ours keep it


async def test_a_token_the_connector_refuses_is_replaced_and_the_update_goes_through(
    app: Centralita, connector: FakeConnector, identity: FakeIdentity, db: Database
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    created = await _thread(connector)
    await outbox_settled(db)
    identity.issued.clear()  # as after a key rotation: the tokens handed out so far are refused
    assert (await app.claim(await _card_id(db), "U0LUIS")).status_code == 200
    [updated] = await connector.wait_for("update")
    [refused] = [c for c in connector.refused if c.method == "update"]
    assert refused.authorization == created.authorization
    assert updated.authorization != created.authorization and identity.accepts(updated.authorization)
    assert len(identity.grants) == 2  # past MSAL's cache, which still held the refused token
    rows = await outbox_settled(db)
    assert {r.status for r in rows} == {"sent"}


async def test_a_retry_after_is_waited_out_before_the_next_try(
    app: Centralita, connector: FakeConnector, db: Database
) -> None:
    connector.fail(429, retry_after=1)
    await app.call("+34911222333", "Quiero pedir cita")
    created = await _thread(connector)
    [refused] = connector.refused
    assert created.at - refused.at >= 1.0


@pytest.mark.parametrize(
    ("status", "code", "given_up"),
    [(400, "BadArgument", True), (404, "ConversationNotFound", True), (403, "Forbidden", False)],
)
async def test_a_bad_request_or_an_unknown_conversation_is_given_up_and_other_refusals_retried(
    app: Centralita, connector: FakeConnector, db: Database, status: int, code: str, given_up: bool
) -> None:
    connector.fail(status, code=code)
    await app.call("+34911222333", "Quiero pedir cita")
    if given_up:

        async def dead() -> list[tuple[Any, ...]]:
            return [r for r in await _teams_rows(db) if r[0] == "dead"]

        [(_, error)] = await eventually(dead)
        assert f"Teams error {status} {code}" in (error or "")
        assert connector.of("create") == []
    else:
        await _thread(connector)
    assert len(connector.refused) == 1


async def test_a_connector_that_cannot_be_reached_is_retried_until_it_answers(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector, slack: FakeSlack
) -> None:
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    port = int(connector.url.rstrip("/").rsplit(":", 1)[1])
    async with TcpProxy(port) as proxy:
        service_url = f"http://127.0.0.1:{proxy.port}/"
        async with _clinic(db, clock, identity, slack, service_url) as app:
            proxy.cut()
            await app.call("+34911222333", "Quiero pedir cita")

            async def unreachable() -> list[tuple[Any, ...]]:
                rows = await _teams_rows(db)
                return [r for r in rows if r[0] == "pending" and (r[1] or "").startswith("Teams unreachable")]

            await eventually(unreachable)
            assert connector.of("create") == []
            proxy.restore()
            await _thread(connector)
            rows = await outbox_settled(db)
            assert {r.status for r in rows} == {"sent"}


async def test_with_authentication_off_the_client_sends_no_authorization(connector: FakeConnector) -> None:
    connector.check_token = None
    client = BotConnector()
    try:
        answer = await client.send_to_conversation(
            connector.url, "a:1on1-x", {"type": "message", "text": "hola"}
        )
    finally:
        await client.close()
    [sent] = connector.of("send")
    assert sent.authorization is None and answer == {"id": sent.activity_id}
    assert sent.path == "/v3/conversations/a%3A1on1-x/activities"

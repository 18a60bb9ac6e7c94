"""One card in Slack and in Teams, kept in the same state whichever channel acts on it, with Teams
authentication on, against the loopback Bot Connector, identity and Slack stand-ins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import t
from tests.fakes.bot_connector import ConnectorCall, FakeConnector
from tests.fakes.identity import FakeIdentity, auth_env
from tests.fakes.slack_api import FakeSlack
from tests.support import FIXTURES, Centralita, Database, FakeClock, eventually, outbox_settled
from tests.teams.cardschema import assert_valid_card
from tests.teams.support import (
    OTHER_CHANNEL,
    STRANGER_AAD,
    TEAM_ID,
    card_invoke,
    personal_message,
    post_activity,
    team_installed,
)

LUIS_AAD = "aad-0000-luis"


@pytest.fixture
async def app(
    db: Database, clock: FakeClock, identity: FakeIdentity, connector: FakeConnector, slack: FakeSlack
) -> AsyncIterator[Centralita]:
    """The clinic on Slack and Teams, with the app installed in the reception team."""
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    server = Centralita(db, clock, slack.url, config="clinic_teams.yaml", **auth_env(identity))  # type: ignore[attr-defined]
    async with server:
        installed = await _send(server, identity, team_installed(connector.url))
        assert installed.status_code == 201, installed.text
        yield server


async def _send(app: Centralita, identity: FakeIdentity, activity: dict[str, Any]) -> Any:
    return await post_activity(app.http, activity, identity.channel_token(activity["serviceUrl"]))


def _in_channel(call: ConnectorCall) -> bool:
    return bool(((call.body.get("channelData") or {}).get("channel") or {}).get("id"))


def _dms(connector: FakeConnector, aad: str) -> list[ConnectorCall]:
    return [c for c in connector.of("create") if c.body.get("members") == [{"id": aad}]]


async def _teams_card(connector: FakeConnector) -> ConnectorCall:
    """The card's one post in Teams: a new thread in the reception team's channel."""

    async def posted() -> list[ConnectorCall]:
        return [c for c in connector.of("create") if _in_channel(c)]

    [created] = await eventually(posted)
    assert created.body["channelData"]["channel"]["id"] == OTHER_CHANNEL
    assert created.card is not None
    assert_valid_card(created.card)
    return created


def _text_of(card: dict[str, Any]) -> str:
    return " ".join(b.get("text", "") for b in card["body"])


async def _card_id(db: Database) -> int:
    cards = await eventually(db.cards)
    return int(cards[0].id)


async def test_a_call_makes_one_card_in_slack_and_one_in_teams(
    app: Centralita, connector: FakeConnector, slack: FakeSlack, db: Database
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    created = await _teams_card(connector)
    assert "Juan Pérez" in _text_of(created.card or {})
    posts = await db.query_text("SELECT channel, target FROM cardpost ORDER BY channel")
    assert posts == [("slack", "C0RECEP"), ("teams", OTHER_CHANNEL)]


async def test_a_teams_claim_answers_the_new_card_and_updates_teams_and_slack(
    app: Centralita, connector: FakeConnector, slack: FakeSlack, db: Database, identity: FakeIdentity
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    created = await _teams_card(connector)
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    card_id = await _card_id(db)
    thread = created.conversation or ""
    answer = await _send(app, identity, card_invoke(connector.url, "claim", card_id, conversation=thread))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert_valid_card(body["value"])
    assert "Reclamada por Ana García" in _text_of(body["value"])
    [updated] = await connector.wait_for("update")
    assert updated.conversation == thread and updated.card is not None
    assert "Reclamada por Ana García" in _text_of(updated.card)
    assert_valid_card(updated.card)
    [slack_update] = await slack.wait_for("chat.update")
    assert "Ana García" in str(slack_update.args["blocks"])


async def test_a_slack_claim_updates_the_teams_card(
    app: Centralita, connector: FakeConnector, slack: FakeSlack, db: Database
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    await _teams_card(connector)
    card_id = await _card_id(db)
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    assert (await app.claim(card_id, "U0LUIS")).status_code == 200
    [updated] = await connector.wait_for("update")
    assert "Reclamada por Luis Martín" in _text_of(updated.card or {})


async def test_concurrent_claims_from_slack_and_teams_have_one_winner(
    app: Centralita, connector: FakeConnector, slack: FakeSlack, db: Database, identity: FakeIdentity
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    created = await _teams_card(connector)
    card_id = await _card_id(db)
    invoke = card_invoke(connector.url, "claim", card_id, conversation=created.conversation or "")
    teams_answer, slack_answer = await asyncio.gather(
        _send(app, identity, invoke), app.claim(card_id, "U0LUIS")
    )
    assert teams_answer.status_code == 200 and slack_answer.status_code == 200
    claimed = await eventually(lambda: _claimed_by(db, card_id))
    assert len(await db.audit("claimed")) == 1
    shown = _text_of(teams_answer.json()["value"])
    if claimed == "ana":
        assert "Reclamada por Ana García" in shown
        await slack.wait_for("chat.postEphemeral", user="U0LUIS")
    else:
        assert teams_answer.json()["value"]["body"][0]["text"] == t(
            "es", "ephemeral.already_claimed", name="Luis Martín"
        )


async def _claimed_by(db: Database, card_id: int) -> str | None:
    rows = await db.query_text(f"SELECT claimed_by FROM card WHERE id = {card_id}")
    return rows[0][0] if rows and rows[0][0] else None


async def test_teams_down_never_holds_slack_back_and_catches_up_in_order(
    app: Centralita, connector: FakeConnector, slack: FakeSlack, db: Database
) -> None:
    connector.down = True
    await app.call("+34911222333", "Quiero pedir cita")
    await slack.wait_for("chat.postMessage", channel="C0RECEP")
    card_id = await _card_id(db)
    assert (await app.claim(card_id, "U0LUIS")).status_code == 200
    await slack.wait_for("chat.update")
    await eventually(lambda: _refused(connector))
    assert connector.of("create") == connector.of("update") == []
    connector.down = False
    await app.db.run(
        "UPDATE outboxmessage SET next_attempt_at = '2000-01-01 00:00:00' WHERE status = 'pending'"
    )
    created = await _teams_card(connector)
    # The card's first post was still waiting, so it goes out showing the claim (no update needed),
    # and the claim's thread line follows it in the new thread.
    assert "Reclamada por Luis Martín" in _text_of(created.card or {})
    [line] = await connector.wait_for("send", conversation=created.conversation)
    assert created.at < line.at


async def _refused(connector: FakeConnector) -> bool:
    return len(connector.refused) > 0


@pytest.mark.parametrize("status", [429, 412, 502, 504])
async def test_a_refusal_teams_calls_temporary_is_retried_after_its_retry_after(
    app: Centralita, connector: FakeConnector, db: Database, status: int
) -> None:
    connector.fail(status, retry_after=0)
    await app.call("+34911222333", "Quiero pedir cita")
    await _teams_card(connector)
    assert [(c.method, c.at < connector.of("create")[0].at) for c in connector.refused] == [("create", True)]
    rows = await outbox_settled(db)
    assert {r.status for r in rows} == {"sent"}


async def test_a_blocked_bot_is_given_up_at_once_and_slack_is_not(
    app: Centralita, connector: FakeConnector, slack: FakeSlack, db: Database
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    await _teams_card(connector)
    card_id = await _card_id(db)
    await outbox_settled(db)
    connector.fail(403, code="MessageWritesBlocked")
    assert (await app.claim(card_id, "U0LUIS")).status_code == 200
    await slack.wait_for("chat.update")
    dead = await eventually(lambda: _given_up(db))
    assert [channel for channel, _ in dead] == ["teams"]
    assert "403" in dead[0][1]
    assert len(connector.refused) == 1  # given up at once, not retried


async def _given_up(db: Database) -> list[tuple[Any, ...]]:
    return await db.query_text("SELECT channel, last_error FROM outboxmessage WHERE status = 'dead'")


async def test_a_stranger_is_told_to_ask_an_administrator_and_nothing_changes(
    app: Centralita, connector: FakeConnector, db: Database, identity: FakeIdentity
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    created = await _teams_card(connector)
    card_id = await _card_id(db)
    invoke = card_invoke(
        connector.url, "claim", card_id, aad=STRANGER_AAD, conversation=created.conversation or ""
    )
    answer = await _send(app, identity, invoke)
    card = answer.json()["value"]
    assert card["body"][0]["text"].startswith("Tu usuario de Teams no está configurado")
    assert await _claimed_by(db, card_id) is None


async def test_a_verb_the_card_does_not_know_answers_the_current_card_and_why(
    app: Centralita, connector: FakeConnector, db: Database, identity: FakeIdentity
) -> None:
    await app.call("+34911222333", "Quiero pedir cita")
    await _teams_card(connector)
    card_id = await _card_id(db)
    answer = await _send(app, identity, card_invoke(connector.url, "explode", card_id))
    card = answer.json()["value"]
    assert card["body"][0]["text"].startswith("Esa acción ya no está en esta tarjeta")
    assert_valid_card(card)


async def test_an_escalation_reaches_a_teams_user_with_a_working_claim_button(
    app: Centralita,
    connector: FakeConnector,
    db: Database,
    identity: FakeIdentity,
    clock: FakeClock,
    slack: FakeSlack,
) -> None:
    await app.call("+34911222333", "Es urgente, me duele mucho")
    await _teams_card(connector)
    card_id = await _card_id(db)
    clock.advance(timedelta(minutes=3))

    async def escalated() -> list[ConnectorCall]:
        return _dms(connector, LUIS_AAD)

    [chat] = await eventually(escalated)
    [dm] = await connector.wait_for("send", conversation=chat.conversation)
    assert dm.card is not None
    assert_valid_card(dm.card)
    verbs = [a.get("verb") for a in dm.card.get("actions", [])]
    assert "claim" in verbs
    invoke = card_invoke(connector.url, "claim", card_id, aad=LUIS_AAD, conversation=dm.conversation or "")
    answer = await _send(app, identity, invoke)
    assert "Reclamada por Luis Martín" in _text_of(answer.json()["value"])
    assert await _claimed_by(db, card_id) == "luis"
    await slack.wait_for("chat.postMessage", channel="U0LUIS")  # no `via`: every channel he is on


async def test_an_escalation_step_via_teams_reaches_people_on_teams_only(
    db: Database,
    clock: FakeClock,
    identity: FakeIdentity,
    connector: FakeConnector,
    slack: FakeSlack,
    tmp_path: Path,
) -> None:
    config = (FIXTURES / "clinic_teams.yaml").read_text(encoding="utf-8")
    config = config.replace("{after: 2m, notify: oncall}", "{after: 2m, notify: oncall, via: [teams]}")
    (tmp_path / "via.yaml").write_text(config, encoding="utf-8")
    connector.team_channels[TEAM_ID] = [{"id": TEAM_ID}, {"id": OTHER_CHANNEL, "name": "Urgencias"}]
    async with Centralita(
        db, clock, slack.url, config=str(tmp_path / "via.yaml"), **auth_env(identity)
    ) as app:  # type: ignore[attr-defined]
        await _send(app, identity, team_installed(connector.url))
        await app.call("+34911222333", "Es urgente, me duele mucho")
        await _teams_card(connector)
        clock.advance(timedelta(minutes=3))

        async def escalated() -> list[ConnectorCall]:
            return _dms(connector, LUIS_AAD)

        await eventually(escalated)
        await outbox_settled(db)
    assert slack.of("chat.postMessage", channel="U0LUIS") == []


async def test_a_recado_message_opens_a_card_and_is_answered(
    app: Centralita, connector: FakeConnector, db: Database, identity: FakeIdentity
) -> None:
    message = personal_message(
        connector.url,
        "recado Juan Pérez +34 600 111 222 quiere presupuesto",
        aad="aad-0000-rocio",
        name="Rocío Díaz",
    )
    answer = await _send(app, identity, message)
    assert answer.status_code == 201, answer.text
    cards = await eventually(db.cards)
    assert cards[0].source == "recado" and cards[0].created_by == "rocio"
    replies = await connector.wait_for("reply")
    assert "Recado publicado" in str(replies[0].body.get("text")) or replies[0].body.get("text")


async def test_a_recado_from_someone_who_is_not_staff_says_to_ask_an_administrator(
    app: Centralita, connector: FakeConnector, db: Database, identity: FakeIdentity
) -> None:
    message = personal_message(connector.url, "recado alguien llamó", aad=STRANGER_AAD, name="Nadie")
    assert (await _send(app, identity, message)).status_code == 201
    [reply] = await connector.wait_for("reply")
    assert "administrador" in reply.body["text"]
    assert await db.count("card") == 0


async def test_recado_alone_answers_a_form_whose_answers_open_a_card(
    app: Centralita, connector: FakeConnector, db: Database, identity: FakeIdentity
) -> None:
    message = personal_message(
        connector.url, "<at>Centralita</at> recado", aad="aad-0000-rocio", name="Rocío Díaz"
    )
    assert (await _send(app, identity, message)).status_code == 201
    [reply] = await connector.wait_for("reply")
    assert reply.card is not None
    assert_valid_card(reply.card)
    ids = [b.get("id") for b in reply.card["body"] if b["type"].startswith("Input.")]
    assert ids == ["name", "phone", "to", "urgent", "reason"]
    form = card_invoke(
        connector.url,
        "recado",
        0,
        aad="aad-0000-rocio",
        conversation="a:personal-aad-0000-rocio",
        name="Juan Pérez",
        phone="600 111 222",
        to="team:recepcion",
        urgent="urgent",
        reason="Quiere presupuesto",
    )
    answer = await _send(app, identity, form)
    assert answer.json()["type"] == "application/vnd.microsoft.activity.message"
    cards = await eventually(db.cards)
    assert cards[0].caller_number == "+34600111222" and cards[0].priority == "urgent"
    assert cards[0].created_by == "rocio"


async def test_a_recado_form_without_a_reason_says_so_and_opens_nothing(
    app: Centralita, connector: FakeConnector, db: Database, identity: FakeIdentity
) -> None:
    form = card_invoke(connector.url, "recado", 0, aad="aad-0000-rocio", name="Juan", reason="  ")
    answer = await _send(app, identity, form)
    assert answer.json()["value"] == "Este campo es obligatorio."
    assert await db.count("card") == 0

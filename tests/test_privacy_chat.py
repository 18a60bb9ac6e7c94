"""Managers export and erase one person's data from Slack (``/centralita privacidad …``): only
managers, the number checked, an erasure confirmed before it runs, the export in the manager's DM."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fakes.slack_api import FakeSlack, SlackCall
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from tests.support import Centralita, Database, FakeClock, block_actions, outbox_settled

CALLER = "+34600111222"
SAID = "Hola, soy Pedro Gómez, me duele una muela"
MANAGER = "U0MARTA"


@pytest.fixture
async def app(
    db: Database, clock: FakeClock, slack: FakeSlack, twilio_rest: FakeTwilio
) -> AsyncIterator[Centralita]:
    server = Centralita(
        db,
        clock,
        slack.url,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_API_BASE_URL=twilio_rest.url,
    )
    async with server:
        await server.call(CALLER, SAID)
        await outbox_settled(db)
        yield server


class Asking:
    """The privacy command and the *Erase* button, as Slack sends them, each with its own
    response URL on the Slack stand-in."""

    def __init__(self, app: Centralita, slack: FakeSlack) -> None:
        self.app, self.slack = app, slack

    async def command(self, text: str, user: str = MANAGER) -> SlackCall:
        path = "privacy-" + uuid.uuid4().hex
        form = {
            "token": "x",
            "team_id": "T0CLINICA",
            "channel_id": "C0RECEP",
            "user_id": user,
            "command": "/centralita",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": f"{self.app.hooks}{path}",
            "trigger_id": "trigger-" + uuid.uuid4().hex,
        }
        answer = await self.app.slack_post(urlencode(form))
        assert answer.status_code == 200, answer.text
        [reply] = await self.slack.wait_for("response_url", path=path)
        return reply

    async def erase(self, number: str, user: str = MANAGER) -> SlackCall:
        path = "erase-" + uuid.uuid4().hex
        button = {
            "type": "button",
            "action_id": "privacy_erase",
            "value": number,
            "action_ts": str(time.time()),
        }
        payload = {**block_actions(button, user, "C0RECEP"), "response_url": f"{self.app.hooks}{path}"}
        answer = await self.app.slack_post(urlencode({"payload": json.dumps(payload)}))
        assert answer.status_code == 200, answer.text
        [reply] = await self.slack.wait_for("response_url", path=path)
        return reply


def _erase_button(reply: SlackCall) -> dict[str, Any]:
    [actions] = [b for b in reply.args["blocks"] if b["type"] == "actions"]
    [button] = actions["elements"]
    return dict(button)


async def test_a_manager_erases_a_number_after_confirming_it(
    app: Centralita, db: Database, slack: FakeSlack, twilio_rest: FakeTwilio
) -> None:
    asking = Asking(app, slack)
    reply = await asking.command("privacidad borrar +34 600 11 12 22")
    assert "1 tarjetas, 1 llamadas" in reply.args["text"] and reply.args["response_type"] == "ephemeral"
    button = _erase_button(reply)
    assert button["action_id"] == "privacy_erase" and button["value"] == CALLER
    assert (
        button["confirm"]["confirm"]["text"] == "Borrar" and button["confirm"]["deny"]["text"] == "Cancelar"
    )
    assert len(await db.cards()) == 1 and _deleted(twilio_rest) == []  # asked, not done

    done = await asking.erase(button["value"])
    assert done.args["replace_original"] is True and done.args["text"].startswith(
        f"{CALLER} borrado: 1 tarjetas"
    )
    assert await db.cards() == [] and len(twilio_rest.of("delete-call")) == 1
    await slack.wait_for("chat.update", text="Datos eliminados.")
    [audit] = await db.audit("privacy_erase")
    assert audit.actor == "slack:marta" and audit.data["by"] == "slack:marta" and audit.data["cards"] == 1
    assert CALLER not in json.dumps(audit.data)


async def test_only_managers_may_ask_and_nothing_changes_for_anyone_else(
    app: Centralita, db: Database, slack: FakeSlack, twilio_rest: FakeTwilio
) -> None:
    asking = Asking(app, slack)
    for user in ("U0ANA", "U0STRANGER"):
        reply = await asking.command(f"privacidad borrar {CALLER}", user)
        assert reply.args["text"].startswith("Solo los responsables (rol manager) de Clínica Dental Sonrisa")
        assert "blocks" not in reply.args or not reply.args["blocks"]
        refused = await asking.erase(CALLER, user)  # a button a non-manager made up
        assert refused.args["text"].startswith("Solo los responsables")
        exported = await asking.command(f"privacidad exportar {CALLER}", user)
        assert exported.args["text"].startswith("Solo los responsables")
    assert len(await db.cards()) == 1 and _deleted(twilio_rest) == [] and slack.uploads == {}
    assert await db.audit("privacy_erase") == [] and await db.audit("privacy_export") == []


async def test_a_malformed_number_is_refused_and_one_that_matches_nothing_says_so(
    app: Centralita, db: Database, slack: FakeSlack, twilio_rest: FakeTwilio
) -> None:
    asking = Asking(app, slack)
    bad = await asking.command("privacidad borrar 12ab")
    assert bad.args["text"].startswith("«12ab» no es un número de teléfono")
    unknown = await asking.command("privacidad borrar +34699000000")
    assert unknown.args["text"] == "No hay nada guardado sobre +34699000000; no se ha cambiado nada."
    confirmed = await asking.erase("+34699000000")
    assert confirmed.args["text"].startswith("No hay nada guardado")
    help_ = await asking.command("privacidad")
    assert "/centralita privacidad borrar +34600111222" in help_.args["text"]
    assert len(await db.cards()) == 1 and _deleted(twilio_rest) == [] and await db.audit("privacy_erase") == []


async def test_an_export_is_uploaded_into_the_managers_dm_and_audited(
    app: Centralita, db: Database, slack: FakeSlack
) -> None:
    reply = await Asking(app, slack).command(f"privacy export {CALLER}")
    assert reply.args["text"] == f"Le he enviado por mensaje directo todo lo guardado sobre {CALLER} (JSON)."
    [opened] = slack.of("conversations.open")
    assert opened.args["users"] == MANAGER
    [shared] = slack.of("files.completeUploadExternal")
    assert shared.args["channel_id"] == "D0MARTA"
    [uploaded] = slack.uploads.values()
    exported = json.loads(uploaded)
    assert exported["number"] == CALLER
    [org] = exported["organizations"]
    assert [c["caller_number"] for c in org["cards"]] == [CALLER]
    [audit] = await db.audit("privacy_export")
    assert audit.actor == "slack:marta" and audit.data == {
        "cards": 1,
        "calls": 1,
        "contacts": 0,
        "recordings": 0,
        "messages": 0,
        "by": "slack:marta",
    }


def _deleted(twilio_rest: FakeTwilio) -> list[str]:
    """What Centralita deleted at Twilio (recordings, call logs)."""
    return [r.kind for r in twilio_rest.requests if r.kind.startswith("delete-")]

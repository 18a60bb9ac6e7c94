"""CRM webhooks: each card change reaches a loopback receiver as a Standard Webhooks event, verified
with the ``standardwebhooks`` package; retried after a failure with the same id, in order, once."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.fakes.server import LoopbackServer
from tests.fakes.slack_api import FakeSlack
from tests.support import FIXTURES, Centralita, Database, FakeClock, click_with_trigger, eventually
from tests.test_slack_actions import _select_outcome

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Receiver:
    """A CRM's endpoint: verifies every request, refuses the first ``fail`` with 503."""

    fail: int = 0
    accepted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refused_ids: list[str] = field(default_factory=list)
    forged: int = 0

    async def handle(self, request: Request) -> PlainTextResponse:
        body = await request.body()
        try:
            event = Webhook(SECRET).verify(body, dict(request.headers))
        except Exception:
            self.forged += 1
            return PlainTextResponse("bad signature", status_code=400)
        if self.fail:
            self.fail -= 1
            self.refused_ids.append(request.headers["webhook-id"])
            return PlainTextResponse("busy", status_code=503)
        self.accepted.append((request.headers["webhook-id"], event))
        return PlainTextResponse("ok")


def config_for(tmp_path: Path, url: str) -> str:
    text = (FIXTURES / "clinic_webhooks.yaml").read_text(encoding="utf-8")
    path = tmp_path / "clinic.yaml"
    path.write_text(text.replace("http://127.0.0.1:9/set-by-the-test", url), encoding="utf-8")
    return str(path)


async def test_card_changes_reach_the_crm_signed_in_order_and_once(
    db: Database, slack: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    receiver = Receiver(fail=1)
    crm = Starlette(routes=[Route("/hooks", receiver.handle, methods=["POST"])])
    async with LoopbackServer(crm) as crm_url:
        config = config_for(tmp_path, crm_url + "/hooks")
        async with Centralita(db, clock, slack.url, config=config) as app:  # type: ignore[attr-defined]
            await app.call("+34655111222", "Hola, quería pedir presupuesto para una limpieza")
            await slack.wait_for("chat.postMessage", channel="C0VENTAS")
            [card] = await db.cards()
            assert (await app.claim(card.id or 0, "U0MARTA")).status_code == 200
            await eventually(lambda: _status(db, "claimed"))
            response, trigger = await click_with_trigger(
                app, _select_outcome(card.id or 0, "qualified_lead"), "U0MARTA"
            )
            assert response.status_code == 200
            [opened] = await slack.wait_for("views.open", trigger_id=trigger)
            values = {
                "outcome": {
                    "outcome": {"type": "static_select", "selected_option": {"value": "qualified_lead"}}
                },
                "note": {"note": {"type": "plain_text_input", "value": "Quiere presupuesto"}},
            }
            await app.submit("resolve_modal", "U0MARTA", values, opened.args["view"]["private_metadata"])

            async def four() -> bool:
                return len(receiver.accepted) >= 4

            await eventually(four, timeout=10)

    types = [event["type"] for _, event in receiver.accepted]
    assert types == ["card.opened", "card.claimed", "card.resolved", "lead.qualified"]
    ids = [event_id for event_id, _ in receiver.accepted]
    assert len(set(ids)) == 4, "never duplicated"
    assert receiver.refused_ids == [ids[0]], "the refused event was retried with the same id"
    assert receiver.forged == 0
    opened_event, resolved = receiver.accepted[0][1], receiver.accepted[2][1]
    assert opened_event["data"]["card"]["category"] == "lead" and opened_event["data"]["actor"] == "caller"
    assert resolved["data"]["card"]["outcome"] == "qualified_lead"
    assert resolved["data"]["actor"] == "marta"
    assert resolved["data"]["change"] == {"outcome": "qualified_lead", "note": "Quiere presupuesto"}


async def _status(db: Database, status: str) -> bool:
    return [c.status for c in await db.cards()] == [status]


def test_a_forged_or_stale_signature_does_not_verify() -> None:
    from adapters.webhook.publisher import sign

    body = json.dumps({"type": "card.opened"}).encode()
    now = int(time.time())
    headers = {
        "webhook-id": "evt_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(SECRET, "evt_1", now, body),
    }
    assert Webhook(SECRET).verify(body, headers) == {"type": "card.opened"}
    for changed in ({"webhook-id": "evt_2"}, {"webhook-timestamp": str(now - 3600)}):
        try:
            Webhook(SECRET).verify(body, headers | changed)
        except Exception:
            continue
        raise AssertionError(f"verified with {changed}")


def test_the_event_schema_describes_what_is_sent() -> None:
    schema = json.loads(
        (Path(__file__).parent.parent / "docs" / "webhook-event.schema.json").read_text("utf-8")
    )
    assert schema["properties"]["type"]["enum"] == [
        "card.opened",
        "card.claimed",
        "card.resolved",
        "lead.qualified",
        "callback.done",
    ]
    from bot.services.webhooks import CARD_FIELDS, TIME_FIELDS

    card = schema["properties"]["data"]["properties"]["card"]
    assert set(card["required"]) == set(CARD_FIELDS) | set(TIME_FIELDS)

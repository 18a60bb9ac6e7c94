"""Socket Mode (``SLACK_APP_TOKEN``): Slack's clicks come over a WebSocket Centralita opens, through
Bolt's own handler, against a loopback stand-in of Slack's Socket Mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from pydantic import ValidationError

from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, block_actions, button, eventually

SAY = "Hola, soy Pedro Gómez, quería una consulta"


async def test_a_claim_over_socket_mode_is_acknowledged_and_handled(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url, SLACK_APP_TOKEN="xapp-1-A0APP-test") as app:
        await eventually(_connected(slack))
        await app.call("+34600111222", SAY)
        [card] = await db.cards()
        assert card.id is not None

        envelope = await slack.push(
            "interactive", block_actions(button("claim", card.id), "U0ANA", "C0RECEP")
        )

        await eventually(_acknowledged(slack, envelope))
        [update] = await slack.wait_for("chat.update")
        no_http = await app.http.post("/slack/events", content=b"payload=%7B%7D")

    assert "Ana García" in str(update.args["blocks"])
    assert [c.status for c in await db.cards()] == ["claimed"]
    assert slack.of("apps.connections.open"), "the WebSocket URL comes from apps.connections.open"
    assert no_http.status_code == 404, "in Socket Mode there is no Request URL to forge"


def _connected(slack: FakeSlack) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return bool(slack.sockets)

    return probe


def _acknowledged(slack: FakeSlack, envelope: str) -> Callable[[], Awaitable[bool]]:
    async def probe() -> bool:
        return any(reply.get("envelope_id") == envelope for reply in slack.socket_replies)

    return probe


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "App-Level Tokens"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN is not set"),
    ],
)
def test_a_wrong_socket_mode_setup_is_an_error_that_says_what_to_set(env: dict[str, str], says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings(SLACK_SIGNING_SECRET="", **env)


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = Settings(SLACK_BOT_TOKEN="xoxb-1", SLACK_APP_TOKEN="xapp-1", SLACK_SIGNING_SECRET="")
    assert settings.slack_enabled

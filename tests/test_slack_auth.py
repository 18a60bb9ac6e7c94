"""Slack's token is checked once at start; no click waits for Slack or is dropped because of it;
``/healthz`` says when deliveries are not arriving."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.server import LoopbackServer, free_port
from tests.fakes.slack_api import FakeSlack
from tests.support import FIXTURES, Centralita, Database, FakeClock, eventually

ROOT = Path(__file__).parent.parent
SAY = "Hola, soy Pedro Gómez, quería una consulta"


class GatedSlack:
    """ASGI wrapper around FakeSlack: while the gate is closed, calls of ``method`` wait at the door."""

    def __init__(self, fake: FakeSlack, method: str) -> None:
        self.fake, self.method = fake, method
        self.opened = asyncio.Event()
        self.waiting = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/" + self.method):
            self.waiting += 1
            await self.opened.wait()
        await self.fake.app(scope, receive, send)


@pytest.fixture
async def gated_auth() -> AsyncIterator[GatedSlack]:
    fake = FakeSlack()
    gate = GatedSlack(fake, "auth.test")
    async with LoopbackServer(gate) as url:
        fake.url = url + "/api/"  # type: ignore[attr-defined]
        yield gate
        gate.opened.set()


async def _open_card(app: Centralita, db: Database) -> int:
    await app.call("+34600111222", SAY)
    [card] = await db.cards()
    assert card.id is not None
    return card.id


async def _slack_checked(app: Centralita) -> None:
    async def checked() -> bool:
        return bool((await app.http.get("/healthz")).json().get("slack") == "ok")

    await eventually(checked)


async def _status(db: Database, card_id: int) -> str:
    return next(c.status for c in await db.cards() if c.id == card_id)


async def test_a_click_is_handled_while_slack_has_not_answered_auth_test(
    db: Database, gated_auth: GatedSlack, clock: FakeClock
) -> None:
    slack = gated_auth.fake
    async with Centralita(db, clock, slack.url) as app:  # type: ignore[attr-defined]
        health = (await app.http.get("/healthz")).json()
        assert health["slack"] == "unreachable" and health["status"] == "degraded"
        card_id = await _open_card(app, db)

        response = await app.claim(card_id, "U0ANA")

        assert response.status_code == 200
        assert await eventually(lambda: _claimed(db, card_id))
        assert gated_auth.waiting == 1, "auth.test is asked once, at start, not on the click's path"
        gated_auth.opened.set()
        await slack.wait_for("chat.update")
        assert (await app.http.get("/healthz")).json()["slack"] == "ok"


async def _claimed(db: Database, card_id: int) -> bool:
    return await _status(db, card_id) == "claimed"


async def test_a_click_is_handled_when_slack_was_down_at_start(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.down = True
    async with Centralita(db, clock, slack.url) as app:
        card_id = await _open_card(app, db)

        response = await app.claim(card_id, "U0ANA")

        assert response.status_code == 200 and "error" not in response.text.lower()
        assert await eventually(lambda: _claimed(db, card_id))
        slack.down = False
        [card] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        assert "Ana García" in str(card.args["blocks"]), "the card as it is now: claimed by Ana"


async def test_a_refused_token_in_warn_mode_starts_degraded_and_still_answers_calls(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.refuse("auth.test", "invalid_auth")
    async with Centralita(db, clock, slack.url, CENTRALITA_SLACK_CHECK="warn") as app:
        health = await app.http.get("/healthz")
        card_id = await _open_card(app, db)

    body = health.json()
    assert health.status_code == 200 and body["status"] == "degraded" and body["slack"] == "refused"
    assert any("invalid_auth" in problem for problem in body["problems"])
    assert card_id


async def test_healthz_is_degraded_while_a_delivery_is_dead_and_says_why(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    slack.refuse("chat.postMessage", "channel_not_found")
    async with Centralita(db, clock, slack.url) as app:
        await _slack_checked(app)  # on a loaded machine the start may stop waiting for its auth.test
        before = (await app.http.get("/healthz")).json()
        await _open_card(app, db)
        await eventually(lambda: _dead_rows(db))
        after = await app.http.get("/healthz")

    assert before["status"] == "ok" and before["problems"] == []
    body = after.json()
    assert after.status_code == 200 and body["status"] == "degraded"
    [problem] = body["problems"]
    assert "given up" in problem and "channel_not_found" in problem


async def _dead_rows(db: Database) -> bool:
    return any(row.status == "dead" for row in await db.outbox())


async def test_healthz_is_degraded_while_the_oldest_pending_delivery_is_too_old(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url, CENTRALITA_HEALTH_PENDING_SECONDS=60) as app:
        await _slack_checked(app)  # Slack goes down after the start's auth.test, which is another check
        slack.down = True
        await _open_card(app, db)
        fresh = (await app.http.get("/healthz")).json()
        clock.advance(timedelta(minutes=2))
        stale = (await app.http.get("/healthz")).json()

    assert fresh["status"] == "ok"
    assert stale["status"] == "degraded" and "oldest pending delivery" in stale["problems"][0]


# The command line ------------------------------------------------------------------------------


def _env(db_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CENTRALITA_", "DATABASE"))}
    return env | {
        "DATABASE_URL": f"sqlite:///{db_path}",
        "CENTRALITA_CONFIG": str(FIXTURES / "clinic.yaml"),
        "TWILIO_AUTH_TOKEN": "t",
        **extra,
    }


async def _run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, err.decode()


@pytest.mark.parametrize(
    ("given", "missing"),
    [("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"), ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN")],
)
async def test_half_a_slack_configuration_is_an_error_naming_the_missing_variable(
    tmp_path: Path, given: str, missing: str
) -> None:
    code, err = await _run(
        "serve", "--port", str(free_port()), env=_env(tmp_path / "c.db", **{given: "xoxb-1"})
    )

    assert code == 2
    assert f"{missing} is not set" in err and "Traceback" not in err


async def test_serve_with_a_refused_token_exits_with_one_clear_message(
    tmp_path: Path, slack: FakeSlack
) -> None:
    slack.refuse("auth.test", "invalid_auth")
    env = _env(
        tmp_path / "c.db",
        SLACK_BOT_TOKEN="xoxb-wrong",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=slack.url,  # type: ignore[attr-defined]
    )

    code, err = await _run("serve", "--port", str(free_port()), env=env)

    assert code == 2
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in err and "OAuth & Permissions" in err
    assert "Traceback" not in err


async def test_serve_starts_without_bolt_warnings(tmp_path: Path, slack: FakeSlack) -> None:
    port = free_port()
    env = _env(
        tmp_path / "c.db",
        SLACK_BOT_TOKEN="xoxb-good",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=slack.url,  # type: ignore[attr-defined]
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "serve", "--port", str(port), cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        health = await eventually(lambda: _health(port), timeout=30)
    finally:
        process.terminate()
        _, err = await process.communicate()

    assert health["status"] == "ok" and health["slack"] == "ok"
    log = err.decode()
    ready = f"Centralita ready: listening on http://127.0.0.1:{port}, config {FIXTURES / 'clinic.yaml'}"
    assert ready in log and f"database sqlite:///{tmp_path}/c.db, cards go to slack" in log, log
    assert "WARNING" not in log and "slack_bolt" not in log, log


async def _health(port: int) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz")
    except httpx.HTTPError:
        return None
    return dict(response.json())

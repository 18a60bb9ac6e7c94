"""Slack App Home: "My cards" (claimed by me, my callbacks of today, the overdue first) and "Team
queue" (open cards of my teams), published when opened and after my clicks."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from bot.services.handling import Requester
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually


def _home_opened(user: str) -> str:
    return json.dumps(
        {
            "token": "x",
            "team_id": "T0CLINICA",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{time.monotonic_ns()}",
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D0ANA", "tab": "home"},
        }
    )


def _text(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_the_home_shows_my_cards_my_callbacks_and_my_teams_queue(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        await app.call("+34600111222", "Hola, soy Pedro Gómez, quería una consulta")
        await app.call("+34600333444", "Hola, soy Eva Gil, quería cambiar la cita")
        await app.call("+34600555666", "Hola, soy Rosa Díaz, tengo una duda")
        await slack.wait_for("chat.postMessage", 3, channel="C0RECEP")
        pedro, eva, rosa = await db.cards()
        handling = app.app.state.services.handling
        ana = Requester("slack", "U0ANA")
        assert (await handling.claim(pedro.id, ana)).ok
        # Eva's callback was due an hour ago (overdue); Rosa's is due this afternoon.
        assert (await handling.schedule_callback(eva.id, ana, clock.now() + timedelta(minutes=5), None)).ok
        assert (await handling.schedule_callback(rosa.id, ana, clock.now() + timedelta(hours=6), None)).ok
        clock.advance(timedelta(hours=1))

        response = await app.slack_post(_home_opened("U0ANA"), content_type="application/json")
        assert response.status_code == 200
        [published] = await slack.wait_for("views.publish", user_id="U0ANA")
        text = _text(published.args["view"])
        assert published.args["view"]["type"] == "home"
        assert "Mis tarjetas" in text and "Cola del equipo" in text
        assert "Pedro Gómez" in text
        assert text.index("Devolución atrasada: Eva Gil") < text.index("Devolver a Rosa Díaz")
        assert "No hay tarjetas pendientes en tus equipos" in text  # all three are taken

        # A click refreshes the clicker's home: Pedro's card released goes back to the queue.
        await app.click(
            {
                "type": "button",
                "action_id": "release",
                "block_id": f"card-{pedro.id}-r2-actions",
                "value": str(pedro.id),
                "action_ts": str(time.time()),
            },
            "U0ANA",
        )

        async def refreshed() -> str | None:
            views = [_text(c.args["view"]) for c in slack.of("views.publish", user_id="U0ANA")]
            return views[-1] if len(views) > 1 else None

        after = await eventually(refreshed)
        queue = after[after.index("Cola del equipo") :]
        assert "Pedro Gómez" in queue


async def test_someone_who_is_not_staff_gets_no_home(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url) as app:
        response = await app.slack_post(_home_opened("U0STRANGER"), content_type="application/json")
        assert response.status_code == 200
        await app.slack_post(_home_opened("U0ANA"), content_type="application/json")
        await slack.wait_for("views.publish", user_id="U0ANA")
        assert slack.of("views.publish", user_id="U0STRANGER") == []

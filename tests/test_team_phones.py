"""A ``team`` escalation step with ``via: [whatsapp]`` reaches each member of the team who has a
number for it, once, with the same quick replies as a staff step; the thread still mentions them all."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from tests.fakes.slack_api import FakeSlack
from tests.fakes.twilio_api import FakeTwilio
from tests.support import CLINIC_NUMBER, Database, FakeClock, eventually
from tests.test_messaging import _app, _only_card, _write

ANA, LUIS = "whatsapp:+34600000001", "whatsapp:+34600000002"


async def test_a_team_step_on_whatsapp_reaches_every_member_with_a_number_once(
    db: Database, slack: FakeSlack, clock: FakeClock, twilio_rest: FakeTwilio
) -> None:
    async with _app(db, clock, slack, twilio_rest, "clinic_team_phones.yaml") as app:
        await _write(app, "Hola, ¿abren el sábado?", sender="+34600111222")
        await slack.wait_for("chat.postMessage", channel="C0RECEP")

        clock.advance(timedelta(minutes=30, seconds=1))
        texts = await twilio_rest.wait_for("sms", 2)
        assert sorted(text.form["To"] for text in texts) == [ANA, LUIS]
        for text in texts:
            assert text.form["From"] == f"whatsapp:{CLINIC_NUMBER}"
            assert text.form["ContentSid"] == "HXfedcba9876543210fedcba9876543210"  # the quick replies
            assert "Tarjeta sin reclamar" in json.loads(text.form["ContentVariables"])["1"]
        line = "Escalada (nivel 1): <@U0ANA> <@U0LUIS> <@U0MARTA>, esta tarjeta sigue sin reclamar."
        await slack.wait_for("chat.postMessage", text=line)
        await asyncio.sleep(1.5)  # more beats: nothing is sent twice
        assert len(twilio_rest.of("sms")) == 2
        direct = [c for c in slack.of("chat.postMessage") if c.args["channel"].startswith("U0")]
        assert direct == [], "a team step reaches its people in the thread, not by Slack DM"

        await _write(app, "Reclamar", sender=LUIS, ButtonText="Reclamar", ButtonPayload="claim")
        await eventually(lambda: _claimed_by(db, "luis"))
        await _write(app, "1", sender="+34600000001")
        [*_, refused] = await twilio_rest.wait_for("sms", 4)
        assert (refused.form["To"], refused.form["Body"]) == (
            "+34600000001",
            "Ya la ha reclamado Luis Martín.",
        )


async def _claimed_by(db: Database, staff: str) -> bool:
    return (await _only_card(db)).claimed_by == staff

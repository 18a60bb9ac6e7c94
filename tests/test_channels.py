"""One card on every channel its team is on; people reached and recognised on any of theirs; what
is said under a card and to a person written for each channel and reader when it is sent."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import col, select

from bot.services.handling import Requester
from bot.store.models import CardPost
from cards.model import DirectView, Person, Text
from tests.fakes.channel import RecordingChannel
from tests.fakes.slack_api import FakeSlack
from tests.support import Centralita, Database, FakeClock, eventually, outbox_settled

ANA_TEAMS = "00000000-0000-0000-0000-00000000a0a0"
LUIS_TEAMS = "00000000-0000-0000-0000-00000000b0b0"
CALL = "Hola, soy Pedro Gómez, quería pedir cita"


def _two_channels(db: Database, clock: FakeClock, slack: FakeSlack, teams: RecordingChannel) -> Centralita:
    return Centralita(db, clock, slack.url, config="two_channels.yaml", publishers={"teams": teams})


async def _posts(db: Database) -> list[CardPost]:
    return await db.query(select(CardPost).order_by(col(CardPost.id)))


async def _slack_thread_lines(slack: FakeSlack) -> list[str]:
    async def lines() -> list[str]:
        return [c.args["text"] for c in slack.of("chat.postMessage") if c.args.get("thread_ts")]

    found: list[str] = await eventually(lines)
    return found


async def test_a_card_is_posted_once_on_each_channel_of_its_team(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    teams = RecordingChannel()
    async with _two_channels(db, clock, slack, teams) as app:
        await app.call("+34600111222", CALL)
        [slack_post] = await slack.wait_for("chat.postMessage", channel="C0RECEP")
        [teams_post] = await teams.wait_for("post_card")
        assert teams_post.target == "19:recepcion@thread.tacv2"
        assert "Pedro Gómez" in slack_post.args["text"] and teams_post.content.headline == "Pedro Gómez"
        rows = await outbox_settled(db)
        assert sorted((r.channel, r.status) for r in rows if r.kind == "card") == [
            ("slack", "sent"),
            ("teams", "sent"),
        ]
        posts = await _posts(db)
        assert [(p.channel, p.target) for p in posts] == [
            ("slack", "C0RECEP"),
            ("teams", "19:recepcion@thread.tacv2"),
        ]
        # A Teams conversation reference is long JSON: the post keeps all of it.
        reference = json.loads(posts[1].external_ref or "")
        assert (
            reference["conversation"]["id"] == "19:recepcion@thread.tacv2"
            and len(posts[1].external_ref or "") > 300
        )


async def test_a_team_on_slack_only_gets_one_post_and_a_team_on_none_the_console(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    teams = RecordingChannel()
    async with _two_channels(db, clock, slack, teams) as app:
        await app.call("+34600111222", "Quería un presupuesto")
        await app.call("+34600333444", "Es por un pedido")
        await slack.wait_for("chat.postMessage", channel="C0VENTAS")
        await outbox_settled(db)
        assert sorted((p.channel, p.target) for p in await _posts(db)) == [
            ("console", "almacen"),
            ("slack", "C0VENTAS"),
        ]
        assert teams.of("post_card") == []


async def test_a_teams_channel_is_not_posted_to_while_teams_is_off(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    async with Centralita(db, clock, slack.url, config="two_channels.yaml") as app:
        await app.call("+34600111222", CALL)
        await slack.wait_for("chat.postMessage", channel="C0RECEP")
        await outbox_settled(db)
        assert [(p.channel, p.target) for p in await _posts(db)] == [("slack", "C0RECEP")]


async def test_staff_are_recognised_by_either_identity_and_every_post_follows(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    teams = RecordingChannel()
    async with _two_channels(db, clock, slack, teams) as app:
        await app.call("+34600111222", CALL)
        await teams.wait_for("post_card")
        [card] = await db.cards()
        handling = app.app.state.services.handling
        result = await handling.claim(card.id, Requester("teams", ANA_TEAMS))
        assert result.ok
        [claimed] = await db.cards()
        assert claimed.claimed_by == "ana"
        slack_lines = await _slack_thread_lines(slack)
        assert slack_lines[0] == "Ana García ha reclamado la tarjeta."
        [teams_line] = await teams.wait_for("post_in_thread")
        assert teams_line.content.plain() == "Ana García ha reclamado la tarjeta."
        await slack.wait_for("chat.update")
        [update] = await teams.wait_for("update_card")
        assert update.content.status_line == "Reclamada por Ana García"

        # The same person on Slack: she is the holder, so she may release it there.
        assert (await handling.release(card.id, Requester("slack", "U0ANA"))).ok


async def test_a_team_escalation_mentions_each_person_in_each_channels_own_form(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    teams = RecordingChannel()
    async with _two_channels(db, clock, slack, teams) as app:
        await app.call("+34600111222", CALL)
        await teams.wait_for("post_card")
        clock.advance(timedelta(minutes=31))
        [line] = await teams.wait_for("post_in_thread")
        assert line.content.people() == (
            Person("ana", "Ana García", ANA_TEAMS),
            Person("luis", "Luis Martín", LUIS_TEAMS),
        )
        slack_lines = await _slack_thread_lines(slack)
        # Luis has no Slack user: Slack shows his name, and mentions Ana.
        assert slack_lines[0] == (
            "Escalada (nivel 1): <@U0ANA> Luis Martín, esta tarjeta sigue sin reclamar."
        )


async def test_a_dm_reaches_a_person_on_the_channel_they_are_on_in_their_language(
    db: Database, slack: FakeSlack, clock: FakeClock
) -> None:
    teams = RecordingChannel()
    async with _two_channels(db, clock, slack, teams) as app:
        await app.call("+34600111222", CALL)
        await teams.wait_for("post_card")
        [card] = await db.cards()
        handling = app.app.state.services.handling
        assert (await handling.reassign(card.id, Requester("slack", "U0ANA"), "luis")).ok
        [dm] = await teams.wait_for("send_direct")
        assert dm.target == LUIS_TEAMS
        view: DirectView = dm.content
        assert view.text.plain().startswith("Ana García assigned you a card:")
        assert slack.of("chat.postMessage", channel="U0LUIS") == []
        # The thread line is the channel's, in the organisation's language.
        [line] = await teams.wait_for("post_in_thread")
        assert line.content == Text(("Ana García la ha reasignado a Luis Martín.",))
        rows = await outbox_settled(db)
        sent = {(r.kind, r.channel): r.external_ref for r in rows}
        assert json.loads(sent["direct", "teams"] or "")["conversation"]["id"] == LUIS_TEAMS
        assert (sent["thread", "slack"] or "").startswith("C0RECEP:")

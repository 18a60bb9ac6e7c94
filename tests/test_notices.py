"""What happened is stored once and written for each reader: their language, each channel's
mention of a person; and who goes where is decided in one place."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.org import StaffMember, TeamConfig
from bot.services.channels import Channels, Destination
from cards.blockkit import mrkdwn_of
from cards.model import Person, Text
from cards.notice import Notice, Reader, render_notice

PEOPLE = {"ana": ("Ana García", "U0ANA"), "luis": ("Luis Martín", None)}
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _person(staff_id: str) -> Person:
    name, handle = PEOPLE[staff_id]
    return Person(staff_id, name, handle)


def _reader(locale: str) -> Reader:
    return Reader(locale, "Europe/Madrid", NOW, _person, {"title": "Urgente", "caller": "Pedro", "summary": "Muela"})


def test_a_notice_is_written_in_each_readers_language() -> None:
    notice = Notice(
        "thread.callback",
        names={"name": ("ana",), "assignee": ("luis",)},
        times={"when": datetime(2026, 11, 24, 16, 30, tzinfo=UTC).isoformat()},
    )
    assert render_notice(notice, _reader("es")).plain() == (
        "Ana García ha programado la devolución para hoy 17:30 (Luis Martín)."
    )
    assert render_notice(notice, _reader("en")).plain() == (
        "Ana García scheduled the callback for today 17:30 (Luis Martín)."
    )


def test_outcomes_are_labelled_and_card_values_filled_in() -> None:
    resolved = Notice("thread.resolved", names={"name": ("ana",)}, outcomes={"outcome": "no_answer"})
    assert render_notice(resolved, _reader("en")).plain() == "Ana García closed it: No answer."
    assert render_notice(Notice("dm.escalated"), _reader("en")).plain() == "Unclaimed card: Urgente, Pedro. Muela"


def test_mentions_stay_people_until_a_channel_writes_them() -> None:
    notice = Notice("thread.escalated_team", text={"level": "1"}, mentions={"mentions": ("ana", "luis")})
    text = render_notice(notice, _reader("en"))
    assert text.people() == (Person("ana", "Ana García", "U0ANA"), Person("luis", "Luis Martín"))
    assert mrkdwn_of(text) == "Escalated (level 1): <@U0ANA> Luis Martín, this card is still unclaimed."
    assert text.plain() == "Escalated (level 1): Ana García Luis Martín, this card is still unclaimed."


def test_a_value_cannot_forge_a_mention() -> None:
    notice = Notice("thread.note", names={"name": ("luis",)}, text={"note": "\x000\x00 hola"})
    assert render_notice(notice, _reader("es")) == Text(("Nota de Luis Martín: 0 hola",))


def test_a_notice_survives_its_outbox_payload() -> None:
    notice = Notice("thread.note", text={"note": "n"}, names={"name": ("ana",)}, mentions={"m": ("a", "b")})
    assert Notice.from_payload(notice.to_payload()) == notice


def test_cards_go_to_every_enabled_channel_of_their_team_else_the_console() -> None:
    both = TeamConfig(id="rec", name="R", slack_channel="C1", teams_channel="19:x@thread.tacv2")
    channels = Channels.of(["teams", "slack"])
    assert channels.card_posts(both) == [
        Destination("slack", "C1"),
        Destination("teams", "19:x@thread.tacv2"),
    ]
    assert Channels.of(["slack"]).card_posts(both) == [Destination("slack", "C1")]
    assert channels.card_posts(TeamConfig(id="none", name="N")) == [Destination("console", "none")]
    assert channels.card_posts(None) == [Destination("console", "reception")]


def test_people_are_reached_on_every_identity_they_have_or_the_console() -> None:
    ana = StaffMember(id="ana", name="Ana", slack_user="U0ANA", teams_user="aad-ana")
    channels = Channels.of(["slack", "teams"])
    assert channels.reach(ana, "ana") == [Destination("slack", "U0ANA"), Destination("teams", "aad-ana")]
    assert channels.reach(ana, "ana", via=["teams"]) == [Destination("teams", "aad-ana")]
    assert Channels.of([]).reach(ana, "ana") == [Destination("console", "ana")]
    assert channels.reach(None, "ghost") == [Destination("console", "ghost")]

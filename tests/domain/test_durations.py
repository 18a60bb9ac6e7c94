from datetime import timedelta

import pytest

from bot.domain.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("2m", timedelta(minutes=2)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 1H 30M ", timedelta(hours=1, minutes=30)),
        ("1d", timedelta(days=1)),
        ("90d", timedelta(days=90)),
        ("2y", timedelta(days=730)),
        ("1y30d", timedelta(days=395)),
        ("0.5h", timedelta(minutes=30)),
        (45, timedelta(seconds=45)),
        (1.5, timedelta(seconds=1.5)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_parses_what_people_write(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "10", "2 minutes", "1x", "m", "5m!", True, None, [1]])
def test_rejects_what_is_not_a_duration(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_rejects_negative_durations() -> None:
    with pytest.raises(ValueError, match="negative"):
        parse_duration(-5)

import pytest

from bot.domain.org import HolidaysConfig, OrganizationConfig
from bot.domain.phones import find_phone, format_phone, normalize_phone, org_region, region_of


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+34 600 111 222", "+34600111222"),
        ("600111222", "+34600111222"),
        ("600-11-12-22", "+34600111222"),
        ("whatsapp:+34600111222", "+34600111222"),
        ("WhatsApp:+34600111222", "+34600111222"),
        ("sms:+34 600 111 222", "+34600111222"),
        ("+1 415 555 2671", "+14155552671"),
        ("0034600111222", "+34600111222"),
    ],
)
def test_normalizes_to_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw", [None, "", "   ", "anonymous", "Anonymous", "+266696687", "hello", "12", "+349"]
)
def test_hidden_or_invalid_numbers_are_none(raw: str | None) -> None:
    assert normalize_phone(raw) is None


def test_national_numbers_use_the_region() -> None:
    assert normalize_phone("4155552671", region="US") == "+14155552671"
    assert normalize_phone("4155552671", region="ES") is None


def test_format_phone_for_people() -> None:
    assert format_phone("+34600111222") == "+34 600 11 12 22"
    assert format_phone("+14155552671") == "+1 415-555-2671"
    assert format_phone("not a number") == "not a number"
    assert format_phone(None) == ""


def test_find_phone_in_free_text() -> None:
    text = "Juan Pérez +34 600 111 222 para Ana"
    found = find_phone(text)
    assert found == ("+34600111222", 11, 26)
    assert found is not None and text[found[1] : found[2]] == "+34 600 111 222"


def test_find_phone_national_and_absent() -> None:
    found = find_phone("llamar al 600111222 mañana")
    assert found is not None and found[0] == "+34600111222"
    assert find_phone("a las 10:30 del día 12") is None
    assert find_phone("") is None


def test_region_of_and_org_region() -> None:
    assert region_of("+34910000000") == "ES"
    assert region_of("garbage") is None
    assert org_region(OrganizationConfig(name="x", phone_numbers=["+14155552671"])) == "US"
    assert org_region(OrganizationConfig(name="x", holidays=HolidaysConfig(country="PT"))) == "PT"
    assert org_region(OrganizationConfig(name="x")) == "ES"

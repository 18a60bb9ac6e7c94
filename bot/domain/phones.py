"""Phone numbers: E.164 for storage and comparison, international format for people."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import Leniency, NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberMatcher

from bot.domain.org import OrganizationConfig

DEFAULT_REGION = "ES"

_PREFIXES = ("whatsapp:", "sms:", "tel:")
_HIDDEN_WORDS = frozenset({"anonymous", "restricted", "unknown", "unavailable", "private", "blocked"})
# Placeholders Twilio sends as the caller when the real number is withheld.
_TWILIO_HIDDEN = frozenset({"+266696687", "+7378742833", "+86282452253", "+8656696", "+2562533"})


@lru_cache(maxsize=8192)
def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of ``raw`` (national numbers read in ``region``), or None when hidden or invalid.

    Memoised: every webhook of a call, and triage for every configured contact, asks again."""
    value = _strip_prefix((raw or "").strip())
    if not value or value.lower() in _HIDDEN_WORDS:
        return None
    number = _parse(value, region)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None if e164 in _TWILIO_HIDDEN else e164


@lru_cache(maxsize=8192)
def format_phone(e164: str | None) -> str:
    """``+34600111222`` → ``+34 600 11 12 22``; the value unchanged when it is not a number."""
    if e164 is None:
        return ""
    number = _parse(e164, None)
    if number is None or not phonenumbers.is_possible_number(number):
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def find_phone(text: str, region: str = DEFAULT_REGION) -> tuple[str, int, int] | None:
    """The first valid phone number in free text, as (E.164, start, end) offsets into ``text``."""
    for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
        e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
        if e164 not in _TWILIO_HIDDEN:
            return e164, match.start, match.end
    return None


@lru_cache(maxsize=1024)
def region_of(e164: str | None) -> str | None:
    """The region (ISO country code) a number belongs to, or None."""
    number = _parse(e164 or "", None)
    return phonenumbers.region_code_for_number(number) if number is not None else None


def _strip_prefix(value: str) -> str:
    lowered = value.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            return value[len(prefix) :].strip()
    return value


def _parse(value: str, region: str | None) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(value, region)
    except NumberParseException:
        return None


def org_region(org: OrganizationConfig) -> str:
    """The region national numbers are read in: the organisation's own number, else its holidays country."""
    for number in org.phone_numbers:
        region = region_of(number)
        if region and region != "ZZ":
            return region
    if org.holidays and len(org.holidays.country) == 2:
        return org.holidays.country.upper()
    return DEFAULT_REGION

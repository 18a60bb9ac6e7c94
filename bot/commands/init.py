"""``centralita init [DIR]``: a commented ``centralita.yaml`` and a ``.env`` for a new organisation,
from flags or asked for, that pass ``centralita config check``."""

from __future__ import annotations

import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.config import load_config
from bot.errors import UserError

SAMPLE_NAMES = {
    "es": {"receptionist": "Recepcionista", "manager": "Gerente", "team": "Recepción"},
    "en": {"receptionist": "Receptionist", "manager": "Manager", "team": "Reception"},
}
VOICES = {"es": ("es-ES", "Polly.Lucia"), "en": ("en-GB", "Polly.Amy")}
HOLIDAY_COUNTRIES = {"Europe/Madrid": "ES", "Atlantic/Canary": "ES", "Europe/London": "GB"}


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    timezone: str
    locale: str
    numbers: tuple[str, ...]


def slug(name: str) -> str:
    """``Clínica Dental Sonrisa`` → ``clinica-dental-sonrisa`` (an id the file accepts)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-") or "default"


def config_text(org: NewOrganisation) -> str:
    language, voice = VOICES[org.locale]
    country = HOLIDAY_COUNTRIES.get(org.timezone)
    holidays = (
        f"  holidays: {{country: {country}}}  # public holidays: closed (add subdivision: MD for a region)"
        if country
        else "  # holidays: {country: ES, subdivision: MD}  # public holidays: the business is closed"
    )
    return _CONFIG.format(
        name=json.dumps(org.name, ensure_ascii=False),
        id=slug(org.name),
        timezone=org.timezone,
        locale=org.locale,
        numbers=json.dumps(list(org.numbers)),
        holidays=holidays,
        language=language,
        voice=voice,
        **SAMPLE_NAMES[org.locale],
    )


def env_text(folder: Path) -> str:
    return _ENV.format(
        config=folder / "centralita.yaml", database=folder / "centralita.db", token=secrets.token_hex(4)
    )


def write(folder: Path, org: NewOrganisation, *, force: bool) -> list[Path]:
    """Write both files (checked before anything is written); the paths written.

    Raises:
        UserError: a file is there already (without ``force``).
        ConfigError: the values make a file that does not pass ``config check``.
    """
    files = {folder / "centralita.yaml": config_text(org), folder / ".env": env_text(folder.resolve())}
    existing = [str(path) for path in files if path.exists()]
    if existing and not force:
        raise UserError(f"{', '.join(existing)} exists already; use --force to overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    draft = folder / ".centralita.yaml.new"
    draft.write_text(files[folder / "centralita.yaml"], encoding="utf-8")
    try:
        load_config(draft)
    finally:
        draft.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)


def ask(values: dict[str, Any], prompt: Any = input) -> NewOrganisation:
    """The values given as flags, and the others asked for (Enter, or a ``prompt`` that answers
    "", keeps the default)."""
    name = values.get("name") or prompt("Organisation name: ").strip()
    if not name:
        raise UserError("the organisation needs a name (--name)")
    timezone = values.get("timezone") or prompt("Time zone [Europe/Madrid]: ").strip() or "Europe/Madrid"
    locale = values.get("locale") or prompt("Language of cards, es or en [es]: ").strip() or "es"
    if locale not in VOICES:
        raise UserError(f"--locale '{locale}' is not es or en")
    numbers = values.get("numbers")
    if numbers is None:
        typed = prompt("Twilio phone numbers, +34…, separated by commas (empty: later): ")
        numbers = [n.strip() for n in typed.split(",") if n.strip()]
    return NewOrganisation(name, timezone, locale, tuple(numbers))


_CONFIG = """\
# Centralita: configuration of one organisation, written by `centralita init`.
# Check it with `centralita config check` (every problem is named by its field), then fill in the
# Slack ids and the triage rules. Changes take effect on restart. Secrets go in .env, never here.
# Durations: 90s, 2m, 1h, 1h30m. Ids: lower-case letters, digits, '-', '_' or '.'.
# Phone numbers in international form: +34600000001.

organization:
  id: {id}
  name: {name}
  timezone: {timezone}                  # an IANA time zone; business hours are read in it
  locale: {locale}                                # es or en: the language of cards and messages
  phone_numbers: {numbers}      # the Twilio numbers that ring here
{holidays}
  # Opening hours by day (mon … sun, ranges like mon-fri); a day not listed is closed.
  business_hours:
    mon-fri: ["09:00-14:00", "16:00-19:00"]
  fallback_team: recepcion

# The people who answer. Roles: staff, manager (escalations reach them), receptionist (/recado).
# slack_user is the member id (U…): in Slack, the person's profile → ⋮ → Copy member ID.
staff:
  - {{id: recepcion1, name: {receptionist}, roles: [staff, receptionist]}}  # slack_user: U0123ABCD
  - {{id: manager1, name: {manager}, roles: [manager]}}  # slack_user: U0456EFGH

# Teams get their cards in their Slack channel (the channel id, C…: the channel's name at the top →
# About, at the bottom). Invite the bot there: /invite @centralita.
teams:
  # slack_channel: C0123ABCD
  - {{id: recepcion, name: {team}, members: [recepcion1], oncall: [recepcion1]}}

# Known callers, by number; tags are words rules can test; owner: the staff id who looks after them.
contacts: []

# Triage: rules tried in order; the first whose conditions all hold wins. A rule without "when"
# always matches. route: a team id, a staff id, or "owner"; without it, the fallback team.
triage:
  - {{category: urgent, priority: urgent, when: {{keywords: [urgente, urgencia, urgent]}}, route: recepcion}}
  - {{category: general, priority: normal, route: recepcion}}

# How soon a card must be claimed, and who is told when nobody does (team, oncall, managers, owner,
# or a staff id), in the order it happens.
priorities:
  urgent:
    claim_within: 5m
    escalation:
      - {{after: 5m, notify: oncall}}
      - {{after: 15m, notify: managers}}
  normal:
    claim_within: 30m
    business_hours_only: true
    escalation:
      - {{after: 30m, notify: team}}
      - {{after: 2h, notify: managers}}

# What callers hear; without greeting/prompt/after_hours the standard texts in {locale} are spoken.
voice:
  language: {language}
  voice: {voice}

reception:
  command: /recado
  allow: receptionists
"""

_ENV = """\
# Centralita's settings for this organisation, written by `centralita init` (keep it out of git).
# The environment wins over this file. `centralita doctor` checks every value.
CENTRALITA_CONFIG={config}
DATABASE_URL=sqlite:///{database}
# The external https:// base URL Twilio calls (the number's voice webhook is this + /twilio/voice).
CENTRALITA_PUBLIC_URL=https://centralita.example.com

# Slack (both or neither): Bot User OAuth Token (xoxb-…) on OAuth & Permissions; the Signing
# Secret on Basic Information → App Credentials. Without them, cards go to the console log.
SLACK_BOT_TOKEN=
SLACK_SIGNING_SECRET=
CENTRALITA_SLACK_CHECK=strict

# Twilio: Account SID and Auth Token on console.twilio.com → Account Info. Until you set the real
# one, this development token lets `centralita simulate call` sign what the server checks.
TWILIO_ACCOUNT_SID=
TWILIO_AUTH_TOKEN=dev-{token}
"""

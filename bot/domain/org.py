"""The organisation's configuration, as a clinic writes it in YAML, validated.

Pure pydantic models: every field a person writes, with the reason it is wrong when it is.
Loading the file and formatting errors for people lives in ``bot.config``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from bot.domain.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Locale = Literal["es", "en"]
Role = Literal["staff", "manager", "receptionist"]
NotifyVia = Literal["slack", "teams", "whatsapp", "sms"]
ChatChannel = Literal["slack", "teams"]
PhoneChannel = Literal["whatsapp", "sms"]
PHONE_CHANNELS: tuple[PhoneChannel, ...] = ("whatsapp", "sms")
"""Channels that reach a person's phone through Twilio Messaging (issue 13): only where a step's
``via`` (or ``messaging.reminder_via``) names them."""
CHAT_CHANNELS: tuple[ChatChannel, ...] = ("slack", "teams")
"""The chat channels a team can be posted to and a person reached on, in the order they are tried.
The console is no chat channel: it is where cards go when a team has none (a staff member's
identity there is their staff id)."""

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PathError(ValueError):
    """A validation error deeper than the field whose validator raised it: ``at`` is the rest of
    the path (``("sat", 0)`` under ``organization.business_hours``), so that the message names
    ``organization.business_hours.sat[0]``. ``bot.config`` appends it to the field's path."""

    def __init__(self, at: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.at = at


def at_path(at: tuple[str | int, ...], check: Callable[[str], object], value: str) -> None:
    """``check(value)``; a ValueError it raises is re-raised as a PathError located at ``at``."""
    try:
        check(value)
    except PathError as error:
        raise PathError((*at, *error.at), str(error)) from error
    except ValueError as error:
        raise PathError(at, str(error)) from error


def id_form(pattern: str, what: str, where: str) -> AfterValidator:
    """A validator for a platform's id written in the YAML: a readable name (``@ana``,
    ``#recepcion``) is refused with ``where`` to find the id."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise ValueError(f"'{value}' is not {what}; {where}")
        return value

    return AfterValidator(check)


SlackUserId = Annotated[
    str,
    id_form(
        r"^[UW][A-Z0-9]+$",
        "a Slack member id (U… or W…, not a name)",
        "in Slack open the person's profile → ⋮ (More) → Copy member ID",
    ),
]
SlackChannelId = Annotated[
    str,
    id_form(
        r"^[CG][A-Z0-9]+$",
        "a Slack channel id (C… or G…, not #name)",
        "in Slack open the channel → its name at the top → the Channel ID is at the bottom of About",
    ),
]


def _roles(*roles: Role) -> list[Role]:
    return list(roles)


def _vias(*vias: NotifyVia) -> list[NotifyVia]:
    return list(vias)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"'{value}' is not a valid id: use lower-case letters, digits, '-', '_' or '.'")
    return value


def _check_platform_ref(value: str | None) -> str | None:
    """A platform's id for a channel or a user, checked loosely (each channel's adapter knows its form)."""
    if value is None:
        return None
    stripped = value.strip()
    if not stripped or len(stripped) > 256 or any(c.isspace() for c in stripped):
        raise ValueError(f"'{value}' is not a channel or user id: one word of at most 256 characters")
    return stripped


def _check_email(value: str | None) -> str | None:
    """An address an SMTP relay takes (``local@domain.tld``), checked loosely: the relay has the last word."""
    if value is None:
        return None
    stripped = value.strip()
    if len(stripped) > 254 or not _EMAIL.match(stripped):
        raise ValueError(f"'{value}' is not an email address, like recepcion@clinica.example")
    return stripped


def _check_e164(value: str) -> str:
    compact = re.sub(r"[\s().-]", "", value)
    if not _E164.match(compact):
        raise ValueError(f"'{value}' is not a phone number in international form, like +34910000000")
    return compact


def parse_day_spec(spec: str) -> list[int]:
    """``"mon-fri"`` → [0..4]; ``"sat"`` → [5]; ``"mon,wed"`` → [0, 2].

    Raises:
        ValueError: when a day name is unknown.
    """
    days: list[int] = []
    for part in spec.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        start = _weekday(first)
        end = _weekday(last) if last else start
        days.extend(range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)])
    return sorted(set(days))


def _weekday(name: str) -> int:
    if name not in WEEKDAYS:
        raise ValueError(f"'{name}' is not a day; use {', '.join(WEEKDAYS)} or a range like mon-fri")
    return WEEKDAYS.index(name)


def parse_span(text: str) -> tuple[time, time]:
    """``"09:00-14:00"`` → (09:00, 14:00).

    Raises:
        ValueError: when the span is malformed or ends before it starts.
    """
    match = _SPAN.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a time span; write it like 09:00-14:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"'{text}' has an hour that does not exist")
    start, end = time(h1, m1), (time(23, 59, 59, 999999) if h2 == 24 else time(h2, m2))
    if end <= start:
        raise ValueError(f"'{text}' ends before it starts")
    return start, end


class HolidaysConfig(_Strict):
    country: str = Field(min_length=2, max_length=3)
    subdivision: str | None = None


class OrganizationConfig(_Strict):
    id: str = "default"
    name: str = Field(min_length=1)
    timezone: str = "Europe/Madrid"
    locale: Locale = "es"
    phone_numbers: list[str] = Field(default_factory=list)
    holidays: HolidaysConfig | None = None
    business_hours: dict[str, list[str]] = Field(default_factory=dict)
    fallback_team: str | None = None
    slack_team_id: str | None = None
    """The organisation's own Slack workspace (``T…``), installed through Slack's OAuth flow; unset:
    the one workspace of ``SLACK_BOT_TOKEN``, shared by every organisation that leaves it unset."""
    teams_tenant_id: str | None = None
    """The organisation's own Microsoft 365 tenant (its directory id): its Teams channels and people
    are reached only through conversations stored from that tenant, and only invokes from it act on
    its cards; unset: any tenant the bot is installed in (one organisation's Teams)."""
    messaging_service_sid: str | None = Field(default=None, pattern=r"^MG[0-9a-fA-F]{32}$")

    _id = field_validator("id")(_check_id)
    _team = field_validator("slack_team_id", "teams_tenant_id")(_check_platform_ref)

    def workspace_on(self, channel: str) -> str | None:
        """The organisation's own workspace on a chat channel (Slack: its team id; Teams: its
        tenant id), None when it has none there (shared, or not a chat channel)."""
        return {"slack": self.slack_team_id, "teams": self.teams_tenant_id}.get(channel)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"'{value}' is not a time zone; use a name like Europe/Madrid") from exc
        return value

    @field_validator("phone_numbers")
    @classmethod
    def _numbers(cls, values: list[str]) -> list[str]:
        for i, value in enumerate(values):
            at_path((i,), _check_e164, value)
        return [_check_e164(v) for v in values]

    @field_validator("business_hours")
    @classmethod
    def _hours(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for days, spans in value.items():
            at_path((days,), parse_day_spec, days)
            for i, span in enumerate(spans):
                at_path((days, i), parse_span, span)
        return value

    def weekly_hours(self) -> dict[int, list[tuple[time, time]]]:
        """Opening spans by weekday (0 = Monday), sorted."""
        week: dict[int, list[tuple[time, time]]] = {d: [] for d in range(7)}
        for days, spans in self.business_hours.items():
            for day in parse_day_spec(days):
                week[day].extend(parse_span(s) for s in spans)
        return {d: sorted(s) for d, s in week.items()}


class StaffMember(_Strict):
    id: str
    name: str = Field(min_length=1)
    roles: list[Role] = Field(default_factory=lambda: _roles("staff"))
    slack_user: SlackUserId | None = None
    teams_user: str | None = None
    phone: str | None = None
    whatsapp: str | None = None
    email: str | None = None
    locale: Locale | None = None

    _id = field_validator("id")(_check_id)
    _refs = field_validator("slack_user", "teams_user")(_check_platform_ref)
    _email = field_validator("email")(_check_email)

    def identities(self) -> dict[str, str]:
        """How this person is known on each channel: their user id on every chat channel they have
        one on (``slack``, ``teams``), their staff id on the console, and their numbers on the phone
        channels (``whatsapp``: their WhatsApp number, else their phone; ``sms``: their phone)."""
        chat = {"slack": self.slack_user, "teams": self.teams_user}
        phones = {"whatsapp": self.whatsapp or self.phone, "sms": self.phone}
        return {"console": self.id} | {c: ref for c, ref in (chat | phones).items() if ref}

    @field_validator("phone", "whatsapp")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else _check_e164(value)


class TeamConfig(_Strict):
    id: str
    name: str = Field(min_length=1)
    slack_channel: SlackChannelId | None = None
    teams_channel: str | None = None
    members: list[str] = Field(default_factory=list)
    oncall: list[str] = Field(default_factory=list)
    email: str | None = None
    """A team mailbox: every card of the team is emailed there too, with links whose page asks which
    of the team's staff is acting."""

    _id = field_validator("id")(_check_id)
    _refs = field_validator("slack_channel", "teams_channel")(_check_platform_ref)
    _email = field_validator("email")(_check_email)

    def staff_ids(self) -> list[str]:
        """Who works in this team: its members, then anyone on call who is not one."""
        return list(dict.fromkeys([*self.members, *self.oncall]))

    def chat_channels(self) -> dict[str, str]:
        """The chat channels this team's cards are posted to: channel name → the platform's id."""
        chat = {"slack": self.slack_channel, "teams": self.teams_channel}
        return {channel: ref for channel, ref in chat.items() if ref}


class ContactConfig(_Strict):
    name: str = Field(min_length=1)
    phone: str
    company: str | None = None
    tags: list[str] = Field(default_factory=list)
    owner: str | None = None
    locale: Locale | None = None
    """The language confirmations reach them in; none: the organisation's."""

    _phone = field_validator("phone")(_check_e164)


class TriageWhen(_Strict):
    """Conditions of a rule; all given ones must hold. An empty ``when`` always matches."""

    keywords: list[str] = Field(default_factory=list)
    contact_tag: str | None = None
    known_caller: bool | None = None
    hours: Literal["in", "out"] | None = None


class TriageRule(_Strict):
    category: str = Field(min_length=1)
    priority: str = "normal"
    when: TriageWhen = Field(default_factory=TriageWhen)
    route: str | None = None
    transfer: bool = False
    action: Literal["card", "reject"] = "card"


class EscalationStep(_Strict):
    after: Duration
    notify: str = Field(min_length=1, description="team, oncall, managers, owner, or a staff id")
    via: list[NotifyVia] | None = None
    """The channels this step reaches people on; unset, every chat channel each person is on."""


class PriorityPolicy(_Strict):
    claim_within: Duration
    business_hours_only: bool = False
    escalation: list[EscalationStep] = Field(default_factory=list)

    @model_validator(mode="after")
    def _steps_in_order(self) -> PriorityPolicy:
        afters = [s.after for s in self.escalation]
        if afters != sorted(afters):
            raise ValueError("escalation steps must be listed in the order they happen (growing 'after')")
        return self


class VoiceConfig(_Strict):
    language: str = "es-ES"
    voice: str | None = "Polly.Lucia"
    greeting: str | None = None
    prompt: str | None = None
    message_taken: str | None = None
    after_hours: str | None = None
    transfer_connecting: str | None = None
    transfer_wait: str | None = None
    hold_seconds: int = Field(default=45, ge=5, le=600)
    gather_seconds: int = Field(default=6, ge=2, le=30)
    voicemail_seconds: int = Field(default=120, ge=10, le=3600)


_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_clock(text: str) -> time:
    """``"08:30"`` → 08:30.

    Raises:
        ValueError: when it is not a time of day.
    """
    match = _CLOCK.match(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"'{text}' is not a time of day; write it like 08:30")
    return time(int(match[1]), int(match[2]))


class DigestConfig(_Strict):
    at: str = "08:30"
    days: str = "mon-fri"
    to: list[str] = Field(default_factory=list)
    weekly: str | None = "mon"
    """The day the weekly review goes (at ``at``), or null for none."""

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: str | None) -> str | None:
        if value is not None and len(parse_day_spec(value)) != 1:
            raise ValueError(f"'{value}' is not one day; write it like mon")
        return value

    @property
    def weekly_day(self) -> int | None:
        return None if self.weekly is None else parse_day_spec(self.weekly)[0]

    @field_validator("at")
    @classmethod
    def _at(cls, value: str) -> str:
        parse_clock(value)
        return value

    @property
    def local_time(self) -> time:
        return parse_clock(self.at)

    @property
    def weekdays(self) -> list[int]:
        return parse_day_spec(self.days)

    @field_validator("days")
    @classmethod
    def _days(cls, value: str) -> str:
        parse_day_spec(value)
        return value


class ReceptionConfig(_Strict):
    command: str = "/recado"
    allow: Literal["receptionists", "staff"] = "receptionists"

    @field_validator("command")
    @classmethod
    def _slash(cls, value: str) -> str:
        if not re.match(r"^/[a-z0-9_-]{1,31}$", value):
            raise ValueError(f"'{value}' is not a slash command; write it like /recado")
        return value


# WhatsApp and SMS (issue 13) ----------------------------------------------------------------------
STOP_WORDS = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT")
"""The words Twilio itself treats as an opt-out on SMS; always honoured."""
START_WORDS = ("START", "UNSTOP", "ALTA")
"""Words that opt a customer back in (Twilio's for SMS, and ``ALTA``)."""


class TemplateConfig(_Strict):
    """An approved WhatsApp template (Content API) sent when the 24-hour window is closed.
    ``variables`` are the template's numbered variables; each value may use ``{text}`` (what the
    staff member wrote), ``{organization}`` and ``{caller}``."""

    content_sid: str = Field(pattern=r"^HX[0-9a-fA-F]{32}$")
    variables: dict[str, str] = Field(default_factory=lambda: {"1": "{text}"})

    @field_validator("variables")
    @classmethod
    def _known_values(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template in value.items():
            try:
                template.format(text="", organization="", caller="")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"variable {name!r}: only {{text}}, {{organization}} and {{caller}} can be used"
                ) from exc
        return value


class ConfirmConfig(_Strict):
    """What callers and customers are told by SMS or WhatsApp, in their language (their contact's
    ``locale``, else the organisation's), unless they opted out. ``confirm: true`` is short for
    ``{message_taken: true}``."""

    message_taken: bool = False
    """A customer whose message, or a caller whose call or voicemail, opens a card is told it was
    received."""
    callback_scheduled: bool = False
    """Every scheduled callback is told to the caller ("le llamaremos el martes 24 a las 11:00"); off:
    only when whoever schedules it ticks "Tell the caller"."""
    calls_via: PhoneChannel = "sms"
    """How callers of phone calls are told; a customer who wrote is told on the channel they used."""
    template: TemplateConfig | None = None
    """The approved WhatsApp template a confirmation goes as when the customer's 24-hour window is
    closed (``{text}``: the confirmation); without it such a confirmation is not sent."""

    @model_validator(mode="after")
    def _whatsapp_needs_a_template(self) -> ConfirmConfig:
        if self.calls_via == "whatsapp" and self.template is None:
            raise PathError(
                ("template",),
                "calls_via: whatsapp needs a template: WhatsApp refuses free text to a caller "
                "who has not written in the last 24 hours",
            )
        return self

    @property
    def any(self) -> bool:
        return self.message_taken or self.callback_scheduled


class MessagingConfig(_Strict):
    whatsapp_number: str | None = None
    """The WhatsApp sender, when it is not the number the customer wrote to."""
    opt_out_words: list[str] = Field(default_factory=list)
    """Words that, as a whole message, unsubscribe a customer (besides STOP and Twilio's own)."""
    reply_template: TemplateConfig | None = None
    """Sent instead of a free-text reply when WhatsApp's 24-hour window is closed; none: refused."""
    staff_template: TemplateConfig | None = None
    """A ``twilio/quick-reply`` template for notifications to staff on WhatsApp, with buttons whose
    ids are ``claim`` (Reclamar) and ``call_now`` (Llámame); without it, the text and its codes."""
    reminder_via: list[PhoneChannel] = Field(default_factory=list)
    """Callback reminders go to these phone channels too (besides the chat channels)."""
    confirm: ConfirmConfig = Field(default_factory=ConfirmConfig)
    """Confirmations to callers and customers (``true``: ``{message_taken: true}``)."""

    @field_validator("confirm", mode="before")
    @classmethod
    def _confirm_shorthand(cls, value: object) -> object:
        return {"message_taken": value} if isinstance(value, bool) else value

    @field_validator("whatsapp_number")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        return None if value is None else _check_e164(value)

    def is_opt_out(self, text: str) -> bool:
        word = _word(text)
        return bool(word) and (word in STOP_WORDS or word in {w.strip().upper() for w in self.opt_out_words})

    @staticmethod
    def is_opt_in(text: str) -> bool:
        return _word(text) in START_WORDS


def _word(text: str) -> str:
    return text.strip().strip(".!¡").upper()


class CallsConfig(_Strict):
    merge_window: Duration = timedelta(hours=2)
    """A call from a number whose card is still open within this long is merged into it; 0: never."""


class CallbacksConfig(_Strict):
    grace: Duration = timedelta(minutes=15)
    """A callback not done this long after its time escalates (owner, team, managers)."""


# Data protection (issue 14) --------------------------------------------------------------------
MIN_RETENTION = timedelta(days=1)


class RetentionConfig(_Strict):
    """How long what callers leave is kept (RGPD art. 5.1.e); the daily retention job redacts or
    deletes what is older. Each is counted from when it was written (a closed card: from its
    closing)."""

    transcripts: Duration = timedelta(days=90)
    """What callers said (the card's text, the speech in its history)."""
    recordings: Duration = timedelta(days=30)
    """Voicemail recordings: deleted in Twilio, the link removed from the card."""
    notes: Duration = timedelta(days=365)
    """Staff notes (notes, resolution notes, callback notes)."""
    audit_details: Duration = timedelta(days=730)
    """The details of the audit log (who did what and when stays)."""
    delivered_outbox: Duration = timedelta(days=30)
    """Deliveries already sent or given up (their message references are kept with the card)."""
    closed_cards: Duration = timedelta(days=730)
    """Closed cards, with everything about them; their chat messages are edited to say so."""

    @field_validator("*")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        if value < MIN_RETENTION:
            raise ValueError("keep it at least one day (1d); the retention job runs once a day")
        return value


WebhookEvent = Literal["card.opened", "card.claimed", "card.resolved", "lead.qualified", "callback.done"]
WEBHOOK_EVENTS: tuple[WebhookEvent, ...] = (
    "card.opened",
    "card.claimed",
    "card.resolved",
    "lead.qualified",
    "callback.done",
)


def _all_events() -> list[WebhookEvent]:
    return list(WEBHOOK_EVENTS)


class WebhookConfig(_Strict):
    """A CRM endpoint that receives a signed JSON event for each card change (Standard Webhooks)."""

    url: str
    secret: str = Field(description="whsec_ followed by the base64 of the signing key")
    events: list[WebhookEvent] = Field(default_factory=_all_events)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"'{value}' is not an http:// or https:// URL")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str) -> str:
        key = value.removeprefix("whsec_")
        if key == value or not re.fullmatch(r"[A-Za-z0-9+/]{16,}={0,2}", key):
            raise ValueError("write the secret as whsec_ followed by base64 (at least 12 bytes)")
        return value


DEFAULT_PRIORITY = PriorityPolicy(claim_within=timedelta(minutes=30))


class OrgConfig(_Strict):
    organization: OrganizationConfig
    staff: list[StaffMember] = Field(default_factory=list)
    teams: list[TeamConfig] = Field(default_factory=list)
    contacts: list[ContactConfig] = Field(default_factory=list)
    triage: list[TriageRule] = Field(default_factory=list)
    priorities: dict[str, PriorityPolicy] = Field(default_factory=dict)
    voice: VoiceConfig = Field(default_factory=VoiceConfig)
    digest: DigestConfig | None = None
    reception: ReceptionConfig = Field(default_factory=ReceptionConfig)
    messaging: MessagingConfig = Field(default_factory=MessagingConfig)
    calls: CallsConfig = Field(default_factory=CallsConfig)
    callbacks: CallbacksConfig = Field(default_factory=CallbacksConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    webhooks: list[WebhookConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> OrgConfig:
        for label, ids in (("staff", [s.id for s in self.staff]), ("teams", [t.id for t in self.teams])):
            again = next((i for i, found in enumerate(ids) if found in ids[:i]), None)
            if again is not None:
                raise PathError((label, again, "id"), f"the id {ids[again]!r} is used more than once")
        return self

    @property
    def org_id(self) -> str:
        return self.organization.id

    @property
    def locale(self) -> Locale:
        return self.organization.locale

    def staff_member(self, staff_id: str | None) -> StaffMember | None:
        return next((s for s in self.staff if s.id == staff_id), None)

    def staff_by_identity(self, channel: str, ref: str) -> StaffMember | None:
        """The staff member known as ``ref`` on ``channel`` (a Slack or Teams user id; on the
        console, the staff id)."""
        return next((s for s in self.staff if s.identities().get(channel) == ref), None)

    def team(self, team_id: str | None) -> TeamConfig | None:
        return next((t for t in self.teams if t.id == team_id), None)

    def teams_of(self, staff_id: str) -> list[TeamConfig]:
        return [t for t in self.teams if staff_id in t.members or staff_id in t.oncall]

    def managers(self) -> list[StaffMember]:
        return [s for s in self.staff if "manager" in s.roles]

    def default_team(self) -> TeamConfig | None:
        return self.team(self.organization.fallback_team) or (self.teams[0] if self.teams else None)

    def staff_with_phone(self) -> list[StaffMember]:
        return [s for s in self.staff if s.phone]

    def priority(self, name: str) -> PriorityPolicy:
        return self.priorities.get(name, DEFAULT_PRIORITY)

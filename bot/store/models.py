"""The tables. Every row carries ``org_id``; every time is UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.store.types import UTCDateTime

ADDRESS = 255
"""A calling or called party as Twilio sends it: an E.164 number, a ``client:`` identity or a SIP URI
(Twilio: "a valid SIP URI under 255 characters")."""


def _utc(*, index: bool = False, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, index=index, nullable=nullable)


# Plain functions, not ``dict``/``list``: pydantic inspects a default factory's signature on every
# row it builds, and reading a builtin's signature costs ~70 µs against ~5 µs for a function.
def _empty_dict() -> dict[str, Any]:
    return {}


def _empty_list() -> list[Any]:
    return []


def _json() -> Any:
    return Field(default_factory=_empty_dict, sa_column=Column(JSON, nullable=False))


def _json_list() -> Any:
    return Field(default_factory=_empty_list, sa_column=Column(JSON, nullable=False))


class Organization(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=64)
    name: str
    timezone: str
    locale: str = Field(max_length=8)
    updated_at: datetime | None = _utc()


class Staff(SQLModel, table=True):
    org_id: str = Field(primary_key=True, max_length=64)
    id: str = Field(primary_key=True, max_length=64)
    name: str
    roles: list[str] = _json_list()
    identities: dict[str, str] = _json()
    """How the person is known on each channel (``StaffMember.identities``)."""
    phone: str | None = Field(default=None, max_length=32)
    active: bool = True


class Contact(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("org_id", "phone"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    name: str
    phone: str = Field(max_length=32)
    company: str | None = None
    tags: list[str] = _json_list()
    owner_id: str | None = Field(default=None, max_length=64)


class Call(SQLModel, table=True):
    """One inbound phone call; ``call_sid`` makes every Twilio webhook idempotent."""

    __table_args__ = (
        Index("ix_call_from_number", "from_number"),  # privacy export and erase
        Index("ix_call_org_started", "org_id", "started_at"),  # the digest's day
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64, index=True)
    call_sid: str = Field(max_length=64, unique=True)
    from_number: str | None = Field(default=None, max_length=ADDRESS)
    to_number: str | None = Field(default=None, max_length=ADDRESS)
    in_hours: bool = True
    status: str = Field(default="ringing", max_length=24)
    started_at: datetime = _utc(nullable=False)
    ended_at: datetime | None = _utc()
    card_id: int | None = Field(default=None, index=True)


class Card(SQLModel, table=True):
    __table_args__ = (
        Index("ix_card_due", "escalate_at", postgresql_where=text("escalate_at IS NOT NULL")),
        Index("ix_card_org_status", "org_id", "status"),
        Index("ix_card_transfer_due", "transfer_until"),
        Index("ix_card_window_due", "window_closes_at"),
        Index("ix_card_caller", "org_id", "caller_number"),
        Index("ix_card_caller_number", "caller_number"),  # privacy export and erase look them up
        Index("ix_card_org_created", "org_id", "created_at"),  # the digest's and review's day
    )
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    source: str = Field(max_length=16)
    call_sid: str | None = Field(default=None, max_length=64, unique=True)
    status: str = Field(default="open", max_length=16)
    category: str = Field(max_length=64)
    priority: str = Field(max_length=32)
    team_id: str | None = Field(default=None, max_length=64)
    addressee_id: str | None = Field(default=None, max_length=64)
    caller_name: str | None = None
    caller_number: str | None = Field(default=None, max_length=32)
    company: str | None = None
    summary: str = ""
    recording_url: str | None = None
    transfer_allowed: bool = False
    matched_rule: int | None = None
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc(nullable=False)
    claim_deadline: datetime | None = _utc()
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _utc()
    resolved_at: datetime | None = _utc()
    resolved_by: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=32)
    escalation_policy: dict[str, Any] = _json()
    escalation_level: int = 0
    escalation_started_at: datetime | None = _utc()
    escalate_at: datetime | None = _utc()
    escalated_to: list[str] = _json_list()
    callback_at: datetime | None = _utc()
    version: int = 1
    # WhatsApp and SMS (issue 13): the customer's side of a card opened by a message.
    last_inbound_at: datetime | None = _utc()
    """When the customer last wrote (WhatsApp's 24-hour window opens again with each message)."""
    window_closes_at: datetime | None = _utc()
    """When the card is re-rendered to say WhatsApp's window closed (cleared once it is: the sweep of
    ``bot.services.windows``)."""
    opted_out: bool = False
    reply_status: str | None = Field(default=None, max_length=16)
    """The delivery status of the last reply to the customer, as Twilio reports it."""
    reply_error: str | None = Field(default=None, max_length=16)
    """Twilio's error code for the last reply, when it failed."""
    media: list[str] = _json_list()
    """Links to what the customer sent (images, audio), kept as links: nothing is fetched."""
    # Live transfer (issue 10): the caller waiting on hold in a conference named after their CallSid.
    transfer_state: str | None = Field(default=None, max_length=16)
    transfer_until: datetime | None = _utc()
    transfer_staff_id: str | None = Field(default=None, max_length=64)
    transfer_attempt: int = 0
    transfer_leg_sid: str | None = Field(default=None, max_length=64)
    transfer_connected_at: datetime | None = _utc()
    transfer_notice: str | None = Field(default=None, max_length=200)
    # Repeat callers (issue 10): more calls from the same number merged into this open card.
    call_count: int = 1
    last_call_at: datetime | None = _utc()


class CardPost(SQLModel, table=True):
    """Where a card was posted: one row per channel, so every change re-renders everywhere."""

    __table_args__ = (UniqueConstraint("card_id", "channel", "target"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    card_id: int = Field(index=True)
    channel: str = Field(max_length=16)
    target: str = Field(max_length=128)
    external_ref: str | None = Field(default=None, sa_type=Text)
    """The platform's reference of the posted card (Slack ``channel:ts``; Teams a JSON conversation
    reference with the activity id): unbounded."""
    created_at: datetime = _utc(nullable=False)


class AuditEvent(SQLModel, table=True):
    __table_args__ = (Index("ix_auditevent_org_at", "org_id", "at"),)  # the digest's day
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    card_id: int | None = Field(default=None, index=True)
    at: datetime = _utc(nullable=False)
    actor: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    data: dict[str, Any] = _json()


class Callback(SQLModel, table=True):
    __table_args__ = (
        Index("ix_callback_due", "status", "due_at"),
        Index("ix_callback_overdue", "escalate_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    card_id: int = Field(index=True)
    due_at: datetime = _utc(nullable=False)
    assignee_id: str = Field(max_length=64)
    note: str = ""
    created_by: str = Field(max_length=64)
    created_at: datetime = _utc(nullable=False)
    status: str = Field(default="scheduled", max_length=16)
    reminded_at: datetime | None = _utc()
    # Kept callbacks (issue 10): the caller told by SMS, and the escalation of one nobody made.
    tell_caller: bool = False
    escalate_at: datetime | None = _utc()
    escalation_level: int = 0
    last_result: str | None = Field(default=None, max_length=200)
    call_attempt: int = 0
    calling_staff_id: str | None = Field(default=None, max_length=64)
    last_result_attempt: int = 0


class Conversation(SQLModel, table=True):
    """A customer who writes by SMS or WhatsApp to an organisation: the card their messages join
    while it is open, the channel and number they last used, and whether they opted out."""

    __table_args__ = (UniqueConstraint("org_id", "customer"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    customer: str = Field(max_length=32)
    """Their number, E.164 without the ``whatsapp:`` prefix."""
    channel: str = Field(max_length=16)
    our_number: str | None = Field(default=None, max_length=32)
    card_id: int | None = None
    last_inbound_at: datetime | None = _utc()
    opted_out_at: datetime | None = _utc()


class Message(SQLModel, table=True):
    """One SMS or WhatsApp message, either way. ``sid`` (Twilio's MessageSid) makes every inbound
    webhook idempotent; an outbound one has it once Twilio accepted it."""

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    card_id: int | None = Field(default=None, index=True)
    direction: str = Field(max_length=8)
    channel: str = Field(max_length=16)
    sid: str | None = Field(default=None, max_length=64, unique=True)
    customer: str = Field(max_length=32)
    body: str = ""
    media: list[str] = _json_list()
    template: bool = False
    status: str = Field(max_length=16)
    error_code: str | None = Field(default=None, max_length=16)
    sent_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc(nullable=False)
    updated_at: datetime | None = _utc()


class OutboxMessage(SQLModel, table=True):
    """A delivery to a platform, written in the same transaction as the change that causes it."""

    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    card_id: int | None = Field(default=None, index=True)
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=16)
    target: str = Field(max_length=128)
    payload: dict[str, Any] = _json()
    dedupe_key: str | None = Field(default=None, max_length=191, unique=True)
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _utc(nullable=False)
    locked_until: datetime | None = _utc()
    last_error: str | None = None
    created_at: datetime = _utc(nullable=False)
    sent_at: datetime | None = _utc()
    external_ref: str | None = Field(default=None, sa_type=Text)
    """The platform's reference of the message this delivery sent (``bot.ports.MessageRef``), so
    it can be edited or deleted later; None until sent, and for sends that leave none."""


# Data protection (issue 14) --------------------------------------------------------------------
class SentMessage(SQLModel, table=True):
    """The platform reference of a message sent about a card (a thread line, a direct message),
    kept when its delivered outbox row is purged: an erasure can still edit the message."""

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    card_id: int = Field(index=True)
    channel: str = Field(max_length=16)
    external_ref: str = Field(sa_type=Text)
    sent_at: datetime | None = _utc()


class RetentionRun(SQLModel, table=True):
    """One organisation's retention purge of one day (its own date): the unique row that makes the
    daily job run once, whatever the number of processes. Holds counts, never the data."""

    __table_args__ = (UniqueConstraint("org_id", "day"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    day: str = Field(max_length=10)
    at: datetime = _utc(nullable=False)


class ReportRun(SQLModel, table=True):
    """One report (the daily digest, the weekly review) of one organisation for one day and one
    manager: written with the report's outbox rows, and unique, so whichever process writes it first
    sends the report and every other one (a replica, a restart, a second run) finds it there."""

    __table_args__ = (UniqueConstraint("org_id", "report", "day", "staff_id"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    report: str = Field(max_length=16)
    day: str = Field(max_length=10)
    """The local day reported on, ``YYYY-MM-DD``."""
    staff_id: str = Field(max_length=64)
    created_at: datetime = _utc(nullable=False)


def row_values(model: type[SQLModel], **values: Any) -> dict[str, Any]:
    """The column values ``model(**values)`` would hold (its defaults filled in, ``id`` left out),
    without building the object: building a table model costs a few hundred µs, because every field
    goes through SQLAlchemy's instrumentation."""
    row = {name: factory() for name, factory in _defaults(model).items()}
    row.update(values)
    return row


@cache
def _defaults(model: type[SQLModel]) -> dict[str, Callable[[], Any]]:
    found: dict[str, Callable[[], Any]] = {}
    for name, field in model.model_fields.items():
        if name == "id":
            continue
        if field.default_factory is not None:
            found[name] = field.default_factory  # type: ignore[assignment]
        elif field.default is not PydanticUndefined:
            found[name] = _constant(field.default)
    return found


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


class ChannelConversation(SQLModel, table=True):
    """A conversation a chat platform let the bot into (a Teams channel, group chat or 1:1 chat), with
    the platform's reference needed to post there later. Written only from authenticated activities."""

    __table_args__ = (UniqueConstraint("channel", "conversation_id"),)
    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    conversation_id: str = Field(max_length=255)
    kind: str = Field(max_length=16)
    tenant_id: str | None = Field(default=None, max_length=64)
    team_id: str | None = Field(default=None, max_length=255, index=True)
    team_name: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=255)
    user_ref: str | None = Field(default=None, max_length=64, index=True)
    service_url: str = Field(max_length=512)
    reference: dict[str, Any] = _json()
    updated_at: datetime = _utc(nullable=False)


class ExportLink(SQLModel, table=True):
    """A one-time download of one number's privacy export, for a channel that cannot take a file
    from a bot (Teams): the SHA-256 of the link's token, whose number, for which organisation, who
    asked, until when. Deleted when it is used, when the number is erased, or once it expired."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    org_id: str = Field(max_length=64)
    number: str = Field(max_length=32, index=True)
    actor: str = Field(max_length=64)
    expires_at: datetime = _utc(nullable=False)

"""The neutral card: what every channel shows, before any channel's format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from cards.actions import ActionId, CardStatus, Outcome

Style = Literal["primary", "danger", "default"]
Control = Literal["button", "outcome_select", "staff_select"]


@dataclass(frozen=True)
class CardFacts:
    """The plain facts of one card, with the names of people already resolved."""

    card_id: int
    version: int
    status: CardStatus
    source: str
    category: str
    priority: str
    caller_name: str | None
    caller_number: str | None
    company: str | None
    summary: str
    created_at: datetime
    claim_deadline: datetime | None
    team_name: str | None
    addressee_name: str | None
    claimed_by_name: str | None
    resolved_by_name: str | None
    outcome: Outcome | None
    callback_at: datetime | None
    escalated_to_names: tuple[str, ...]
    recording_url: str | None
    created_by_name: str | None
    timezone: str
    locale: str
    transfer: TransferFacts | None = None
    call_count: int = 1
    last_call_at: datetime | None = None


@dataclass(frozen=True)
class TransferFacts:
    """A live transfer's state on a card (issue 10): ``state`` is a ``TransferState`` value."""

    state: str
    hold_until: datetime | None
    staff_name: str | None
    connected_at: datetime | None
    notice: str | None


@dataclass(frozen=True)
class FieldView:
    label: str
    value: str


@dataclass(frozen=True)
class OptionView:
    label: str
    value: str


@dataclass(frozen=True)
class ActionView:
    id: ActionId
    label: str
    value: str
    control: Control = "button"
    style: Style = "default"
    options: tuple[OptionView, ...] = ()


@dataclass(frozen=True)
class CardView:
    card_id: int
    revision: int
    status: CardStatus
    priority: str
    title: str
    headline: str
    fields: tuple[FieldView, ...]
    said_label: str
    summary: str
    status_line: str
    escalation_line: str | None
    recording_label: str | None
    recording_url: str | None
    actions: tuple[ActionView, ...] = field(default=())
    fallback_text: str = ""

"""The neutral card: what every channel shows, before any channel's format."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from cards.actions import ActionId, CardStatus, Outcome

Style = Literal["primary", "danger", "default"]
InputKind = Literal["text", "choice", "staff", "datetime"]
"""What an input asks for: free text (a note), one of a few choices (an outcome), a staff member,
or a date and time. Each renderer picks its own control for each (Block Kit: text input, static
select, users select, datetime picker; Adaptive Cards: Input.Text, Input.ChoiceSet, Input.Date +
Input.Time)."""


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
    staff: tuple[OptionView, ...] = ()
    """The organisation's staff (label the name, value the staff id): whom a card can go to."""
    # WhatsApp and SMS (issue 13): a card opened by a customer's message (``source`` its channel).
    reply_window_closes: datetime | None = None
    """When WhatsApp's 24-hour window to answer the customer in free text closes."""
    opted_out: bool = False
    reply_status: str | None = None
    reply_error: str | None = None
    media: tuple[str, ...] = ()
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
class InputView:
    """One thing an action needs from the person before it can be done.

    ``name`` is the key the answer comes back under (``note``, ``outcome``, ``assignee``, ``when``;
    see ``cards.actions.ActionRequest``). ``choices`` are the values a ``choice`` or ``staff`` input
    takes (an outcome's value; a staff id). ``initial`` is the value shown first (a choice's value, a
    staff id, or an ISO 8601 UTC instant for ``datetime``); ``actor_default`` says a ``staff`` input
    starts at the person filling it in when ``initial`` is None."""

    name: str
    kind: InputKind
    label: str
    required: bool = True
    choices: tuple[OptionView, ...] = ()
    initial: str | None = None
    actor_default: bool = False
    multiline: bool = False


@dataclass(frozen=True)
class FormView:
    """What a person fills in to do an action: a title, the inputs, and the labels to send or cancel."""

    title: str
    submit: str
    cancel: str
    inputs: tuple[InputView, ...]


@dataclass(frozen=True)
class ActionView:
    """Something that can be done to a card, said neutrally: the verb, its label, the card it acts
    on and, when it needs more than a click, the form to fill in. Each renderer decides how it is
    done (Block Kit: a button, a select that opens a modal, a users select; Adaptive Cards:
    ``Action.Execute`` with inline inputs or a ``ShowCard``); the answer always comes back as a
    ``cards.actions.ActionRequest``."""

    id: ActionId
    label: str
    card_id: int
    style: Style = "default"
    form: FormView | None = None

    @property
    def value(self) -> str:
        """What a button carries back: the card id (``cards.actions.button_value``)."""
        return str(self.card_id)

    @property
    def inputs(self) -> tuple[InputView, ...]:
        return self.form.inputs if self.form else ()


@dataclass(frozen=True)
class Person:
    """A staff member named in a text, resolved for the channel the text goes to: ``handle`` is
    their user id there (None: they have none, and are written by name). Each channel writes it its
    own way (Slack ``<@U…>``; Teams an ``<at>`` mention entity; the console the name)."""

    staff_id: str
    name: str
    handle: str | None = None


@dataclass(frozen=True)
class Text:
    """A finished text in its reader's language, with the people it mentions left as ``Person``
    parts for the channel to write."""

    parts: tuple[str | Person, ...]

    @classmethod
    def of(cls, text: str) -> Text:
        return cls((text,))

    def plain(self) -> str:
        """The text with every person written by name (logs, fallbacks, the console)."""
        return "".join(p if isinstance(p, str) else p.name for p in self.parts)

    def people(self) -> tuple[Person, ...]:
        return tuple(p for p in self.parts if isinstance(p, Person))


@dataclass(frozen=True)
class DirectView:
    """A direct message to a person: a small card view. Its text (in the reader's language) and the
    actions they can take on the card from there (escalation: Claim; callback reminder: Call now,
    Done), which come back like the card's own."""

    text: Text
    card_id: int | None = None
    actions: tuple[ActionView, ...] = ()
    link_label: str = ""
    """The label of a link to the card's post, where the channel can link to it."""
    answer_label: str = ""
    """What introduces the codes a phone message's reader answers with (``cards.customer.phone_text``)."""
    timezone: str = "UTC"
    """Where the times its actions ask for are read (the organisation's time zone)."""


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
    timezone: str = "UTC"
    """Where the times its actions ask for are read (the organisation's time zone)."""

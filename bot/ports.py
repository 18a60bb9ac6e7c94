"""What the services call out through. Adapters implement these; tests may too."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from bot.domain.org import OrgConfig
from cards.digest import DigestView
from cards.model import CardView, DirectView, Text


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class OutboxSignal(Protocol):
    def notify(self) -> None:
        """Wake the delivery worker: new outbox rows were committed."""
        ...

    def hand_over(self, leased: Sequence[object]) -> None:
        """Give the delivery worker rows that were committed already leased to this process (a new
        card's first post), with what it needs to send them: no lease round trip before they go."""
        ...


class NoSignal:
    """For processes without a delivery worker: rows handed over here are sent by a server's worker
    when their lease runs out."""

    def notify(self) -> None:
        return None

    def hand_over(self, leased: Sequence[object]) -> None:
        return None


MessageRef = str
"""A channel's own reference to a message it sent, opaque to the core: Slack ``C0123:1700000000.0001``
(channel and ts); Teams a JSON conversation reference with the activity id. Stored for every message
sent (card posts, thread lines, DMs) so that it can be edited or deleted later; unbounded text."""


@dataclass(frozen=True)
class PostRef:
    """Where a card lives on a channel: its target there (a Slack channel id, a Teams channel id)
    and the reference of the message once posted."""

    target: str
    external_ref: MessageRef | None


@dataclass(frozen=True)
class PrivateTo:
    """Whom to tell something only they see, and where they were when they acted: ``user`` is their
    user id on the channel; ``where`` the conversation they acted in (a Slack channel id), if any;
    ``reply_url`` a URL the channel gave to answer that action through (Slack's ``response_url``),
    if any. Each channel does it its own way (Slack: the response URL, else an ephemeral message,
    else a DM; Teams: the invoke's answer or a 1:1 message)."""

    user: str
    where: str | None = None
    reply_url: str | None = None


class DeliveryError(Exception):
    """A delivery that did not go through.

    ``retry_after`` (seconds) is the platform's own wait (Slack's ``Retry-After`` on a 429);
    ``permanent`` means retrying cannot help (bad channel, app not in channel); ``capped`` means the
    platform refused for a reason it does not document as temporary: retried a few times, then given
    up. Anything else (an outage, a 5xx) is retried for as long as it lasts.
    """

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        capped: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent
        self.capped = capped


@dataclass(frozen=True)
class Report:
    """A report to one person (the daily digest, the weekly review): a neutral view with a chart.
    Each channel renders it its own way (``cards.digest_render``): Slack as mrkdwn with the chart
    uploaded beside it, Teams as an Adaptive Card with the chart inline, email as HTML and text with
    the chart as a related part, the console as plain text. ``links`` maps the id of a card the
    report names to where this reader opens it on this channel (``CardLinker``)."""

    subject: str
    view: DigestView
    chart_png: bytes | None
    chart_title: str
    chart_name: str = "chart.png"
    links: Mapping[int, str] = field(default_factory=dict)


@runtime_checkable
class CardLinker(Protocol):
    """A channel that can link to a card from a report: Slack a message permalink, Teams a deep
    link to the card's post, email a signed page. A channel without it shows the lines unlinked."""

    async def card_link(self, card_id: int, post: PostRef | None, now: datetime) -> str | None:
        """Where the reader opens card ``card_id`` on this channel; ``post`` is the card's first post
        there, if it has one. None: no link (never raises: a report goes out without the link)."""
        ...


@dataclass(frozen=True)
class Mail:
    """An email written for one address (a card by email): its parts rendered already."""

    subject: str
    plain: str
    html: str


@runtime_checkable
class MailSender(Protocol):
    """A channel that sends ready-made emails besides the ``ChannelPublisher`` methods."""

    async def send_mail(self, to: str, mail: Mail) -> MessageRef | None:
        """Raises: DeliveryError."""
        ...


class ChannelPublisher(Protocol):
    """One delivery channel (Slack, Teams, console, …). Every method is called from the outbox
    worker, raises ``DeliveryError`` when the platform refuses or cannot be reached, and returns the
    platform's reference of what it sent (None where it sent nothing that can be referred to)."""

    name: str

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        """Post a new card to ``target`` (a team's channel on this platform)."""
        ...

    async def update_card(self, post: PostRef, view: CardView) -> None:
        """Show the card's new state in place, for everyone who sees it."""
        ...

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        """A line under the card (Slack: its thread; Teams: a reply to it)."""
        ...

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        """A direct message to a person (``user``: their user id here) with its actions, and a link
        to the card's post on this channel (``card``) where the channel has one."""
        ...

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        """Tell one person something only they see (a refusal, a confirmation)."""
        ...

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        """A report to one person (``target``: their Slack user, email address, …)."""
        ...


@runtime_checkable
class PerWorkspace(Protocol):
    """A channel that sends as a different account in each workspace of its platform (Slack: the bot
    token installed in each organisation's workspace; Teams: the conversations stored from each
    organisation's tenant). The delivery worker asks it for the publisher of the organisation's own
    workspace on the channel (``OrganizationConfig.workspace_on``)."""

    async def in_workspace(self, workspace: str | None) -> ChannelPublisher:
        """The publisher that sends in ``workspace`` (None: the organisation names none, the one
        workspace shared by every such organisation).

        Raises: DeliveryError: nothing can be sent there (the app is not installed in it)."""
        ...


Publisher = ChannelPublisher | PerWorkspace
"""What the delivery worker holds for a channel: its publisher, or one per workspace."""


class EventPublisher(Protocol):
    """A channel that takes events (CRM webhooks) besides the ``ChannelPublisher`` methods."""

    async def post_event(self, url: str, payload: dict[str, Any]) -> None:
        """POST the event in ``payload`` (its ``id``, ``org``, ``hook`` and ``event``) to ``url``."""
        ...


# Live transfer and callbacks (issue 10) ---------------------------------------------------------
class CallControlError(Exception):
    """A Twilio REST request that did not go through. ``status`` is the HTTP status Twilio answered
    (a 4xx for a bad number, a 5xx), None for a timeout or a connection error. ``placed_maybe``: the
    request may have reached Twilio (a timeout, a connection lost once it was sent), so the call may
    exist and ring. A call request that failed is never sent again."""

    def __init__(self, reason: str, *, status: int | None = None, placed_maybe: bool = False) -> None:
        super().__init__(reason)
        self.status = status
        self.placed_maybe = placed_maybe


class CallControl(Protocol):
    """Outbound telephony (Twilio REST). Called after a click's acknowledgement or from a sweep,
    never on the request path of a webhook. A request that failed is not sent again.

    Raises (every method): CallControlError."""

    async def ring_staff(self, *, card_id: int, attempt: int, to: str, from_number: str) -> str:
        """Call a staff member's phone for a live transfer: once answered they hear the whisper and
        press 1 to join the caller's conference. The new call's sid."""
        ...

    async def ring_for_callback(self, *, callback_id: int, attempt: int, to: str, from_number: str) -> str:
        """Click-to-call: ring the staff member, whisper, then dial the customer. The new call's sid."""
        ...

    async def to_voicemail(self, call_sid: str, org: OrgConfig) -> None:
        """Take a caller off hold and offer them voicemail (the organisation's texts)."""
        ...


_NOT_CONFIGURED = "Twilio REST is not configured (TWILIO_ACCOUNT_SID)"


class NoCallControl:
    """Twilio REST is not configured (no TWILIO_ACCOUNT_SID): every request fails, and says why."""

    async def ring_staff(self, *, card_id: int, attempt: int, to: str, from_number: str) -> str:
        raise CallControlError(_NOT_CONFIGURED)

    async def ring_for_callback(self, *, callback_id: int, attempt: int, to: str, from_number: str) -> str:
        raise CallControlError(_NOT_CONFIGURED)

    async def to_voicemail(self, call_sid: str, org: OrgConfig) -> None:
        raise CallControlError(_NOT_CONFIGURED)


# WhatsApp and SMS (issue 13) --------------------------------------------------------------------
@dataclass(frozen=True)
class OutboundMessage:
    """A message to a customer or a staff member's phone. ``to`` and ``from_number`` carry the
    channel's prefix (``whatsapp:+34…``) where it has one; ``messaging_service_sid``, when set, is
    used instead of ``from_number``. Either ``body`` (free text) or ``content_sid`` (an approved
    template, with ``content_variables`` as JSON) is sent. ``status_callback`` is where Twilio
    reports its delivery status."""

    to: str
    body: str = ""
    from_number: str | None = None
    messaging_service_sid: str | None = None
    content_sid: str | None = None
    content_variables: str | None = None
    status_callback: str | None = None


class MessagingError(Exception):
    """A message Twilio did not accept. ``code`` is Twilio's error code (``21610``: unsubscribed),
    ``status`` the HTTP status; ``sent_maybe`` means the request may have reached Twilio (a timeout):
    it is not sent again, so a customer never gets it twice."""

    def __init__(
        self, reason: str, *, code: str | None = None, status: int | None = None, sent_maybe: bool = False
    ) -> None:
        super().__init__(reason)
        self.code, self.status, self.sent_maybe = code, status, sent_maybe

    @property
    def retryable(self) -> bool:
        """Twilio was unreachable or answered 429/5xx, and surely sent nothing."""
        if self.sent_maybe:
            return False
        if self.status is None:
            return self.code is None  # no connection (a code without a status: not configured)
        return self.status == 429 or self.status >= 500


class Messaging(Protocol):
    async def send_message(self, message: OutboundMessage) -> str:
        """Send one SMS or WhatsApp message; its MessageSid.

        Raises: MessagingError."""
        ...

    async def erase_message(self, sid: str) -> None:
        """What Twilio keeps of one message (either way) gone: its body redacted, then the message
        removed from the log. A message Twilio no longer has is no error.

        Raises: MessagingError."""
        ...


class NoMessaging:
    """Twilio REST is not configured (TWILIO_ACCOUNT_SID): nothing can be sent, and the card says so."""

    async def send_message(self, message: OutboundMessage) -> str:
        raise MessagingError("Twilio REST is not configured (TWILIO_ACCOUNT_SID)", code="not_configured")

    async def erase_message(self, sid: str) -> None:
        raise MessagingError("Twilio REST is not configured (TWILIO_ACCOUNT_SID)", code="not_configured")


# Data protection (issue 14) ---------------------------------------------------------------------
@runtime_checkable
class MessageEditor(Protocol):
    """A channel that can replace a message it sent (a card, a thread line, a direct message) with
    a plain text: an erasure leaves "datos eliminados" where the data was. A channel without it
    (WhatsApp, SMS) cannot take back what it sent."""

    async def replace_message(self, ref: MessageRef, text: Text) -> None:
        """Raises: DeliveryError, as every publisher method."""
        ...


class RecordsError(Exception):
    """Twilio did not delete what it was asked to (it could not be reached, or refused)."""


class TwilioRecords(Protocol):
    """What Twilio keeps about callers, deleted through its REST API. Deleting what is gone already
    (Twilio answers 404) is no error.

    Raises (every method): RecordsError."""

    async def delete_recording(self, recording_sid: str) -> None: ...

    async def delete_call(self, call_sid: str) -> None:
        """The call's log (caller number, times); Twilio deletes only calls that have ended."""
        ...


class NoTwilioRecords:
    """Twilio REST is not configured (no TWILIO_ACCOUNT_SID): nothing can be deleted there."""

    reason = "Twilio REST is not configured (TWILIO_ACCOUNT_SID)"

    async def delete_recording(self, recording_sid: str) -> None:
        raise RecordsError(self.reason)

    async def delete_call(self, call_sid: str) -> None:
        raise RecordsError(self.reason)

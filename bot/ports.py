"""What the services call out through. Adapters implement these; tests may too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.domain.org import OrgConfig
from cards.model import CardView


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


@dataclass(frozen=True)
class PostRef:
    """Where a card lives on a channel: a Slack channel id plus the message ts, for instance."""

    target: str
    external_ref: str | None


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


class ChannelPublisher(Protocol):
    """One delivery channel (Slack, console, …). Every method is called from the outbox worker."""

    name: str

    async def post_card(self, target: str, view: CardView) -> str:
        """Post a new card; return the external reference needed to update it later."""
        ...

    async def update_card(self, post: PostRef, view: CardView) -> None: ...

    async def post_in_thread(self, post: PostRef, text: str) -> None: ...

    async def send_direct(self, user: str, text: str, card: PostRef | None) -> None:
        """A direct message to a person, with a link to the card where the channel has one."""
        ...

    async def send_ephemeral(self, target: str, user: str, text: str) -> None: ...


# Live transfer and callbacks (issue 10) ---------------------------------------------------------
class CallControlError(Exception):
    """A Twilio REST request that did not go through. ``status`` is the HTTP status Twilio answered
    (a 4xx for a bad number, a 5xx), None for a timeout or a connection error. A call request that
    failed is never sent again: with a timeout, the phone may be ringing already."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Sms:
    to: str
    body: str
    from_number: str | None = None
    messaging_service_sid: str | None = None


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

    async def send_sms(self, sms: Sms) -> str:
        """Send a text message; its sid."""
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

    async def send_sms(self, sms: Sms) -> str:
        raise CallControlError(_NOT_CONFIGURED)

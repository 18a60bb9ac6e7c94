"""What the services call out through. Adapters implement these; tests may too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

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


@dataclass(frozen=True)
class Report:
    """A report to one person (the daily digest, the weekly review): a message with a chart. Each
    channel takes what it can show: Slack the ``text`` with the chart uploaded beside it, email the
    ``html`` and ``plain`` parts with the chart inline, the console the ``plain`` text."""

    subject: str
    text: str
    plain: str
    html: str
    chart_png: bytes | None
    chart_title: str
    chart_name: str = "chart.png"


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

    async def send_report(self, target: str, report: Report) -> None:
        """A report to one person (``target``: their Slack user, email address, …)."""
        ...


class EventPublisher(Protocol):
    """A channel that takes events (CRM webhooks) besides the ``ChannelPublisher`` methods."""

    async def post_event(self, url: str, payload: dict[str, Any]) -> None:
        """POST the event in ``payload`` (its ``id``, ``org``, ``hook`` and ``event``) to ``url``."""
        ...

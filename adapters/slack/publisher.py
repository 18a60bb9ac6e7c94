"""Slack Web API calls for the outbox worker: post, update, thread, DM, ephemeral."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.ports import DeliveryError, PostRef, Report
from bot.telemetry import PLATFORM_ERRORS
from cards.blockkit import render_blocks
from cards.model import CardView

log = logging.getLogger("centralita.slack")
# Errors that retrying cannot fix: the message or channel is gone, or the app may not post there.
PERMANENT = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "message_not_found",
        "cant_update_message",
        "invalid_auth",
        "account_inactive",
        "user_not_found",
        "no_permission",
        "invalid_blocks",
        "user_not_in_channel",
        "missing_scope",
        "invalid_arguments",
        "msg_too_long",
    }
)
# Errors that are Slack's own trouble, retried for as long as they last (as is any 5xx). Any other
# error code is retried a few times, then given up (``DeliveryError.capped``).
TEMPORARY = frozenset(
    {
        "ratelimited",
        "service_unavailable",
        "fatal_error",
        "internal_error",
        "request_timeout",
        "team_added_to_org",
    }
)


class SlackPublisher:
    name = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post_card(self, target: str, view: CardView) -> str:
        response = await self._call(
            "chat_postMessage",
            channel=target,
            text=view.fallback_text,
            blocks=render_blocks(view),
            unfurl_links=False,
        )
        return f"{response['channel']}:{response['ts']}"

    async def update_card(self, post: PostRef, view: CardView) -> None:
        channel, ts = _split(post)
        await self._call(
            "chat_update", channel=channel, ts=ts, text=view.fallback_text, blocks=render_blocks(view)
        )

    async def post_in_thread(self, post: PostRef, text: str) -> None:
        channel, ts = _split(post)
        await self._call("chat_postMessage", channel=channel, thread_ts=ts, text=text)

    async def send_direct(self, user: str, text: str, card: PostRef | None) -> None:
        link = await self._permalink(card) if card is not None and card.external_ref else None
        if link:
            text = f"{text}\n<{link}>"
        await self._call("chat_postMessage", channel=user, text=text)

    async def _permalink(self, card: PostRef) -> str | None:
        """The card's link, or None when Slack will not give it: the DM goes out without it."""
        try:
            channel, ts = _split(card)
            answer = await self._call("chat_getPermalink", channel=channel, message_ts=ts)
        except DeliveryError as error:
            log.warning("direct message sent without the card's link: %s", error)
            return None
        link = answer.get("permalink")
        return str(link) if link else None

    async def send_ephemeral(self, target: str, user: str, text: str) -> None:
        await self._call("chat_postEphemeral", channel=target, user=user, text=text)

    async def send_report(self, target: str, report: Report) -> None:
        """A DM with the report's text; its chart uploaded into the DM with Slack's current file API
        (``files_upload_v2``: files.getUploadURLExternal, the upload, files.completeUploadExternal),
        which shares a file in a conversation id, not a user id: the DM is opened first."""
        if report.chart_png is None:
            await self._call("chat_postMessage", channel=target, text=report.text)
            return
        opened = await self._call("conversations_open", users=target)
        await self._call(
            "files_upload_v2",
            channel=opened["channel"]["id"],
            file=report.chart_png,
            filename=report.chart_name,
            title=report.chart_title,
            alt_txt=report.chart_title,
            initial_comment=report.text,
        )

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, method)(**kwargs)
        except SlackApiError as error:
            raise _delivery_error(error) from error
        except (OSError, TimeoutError) as error:
            PLATFORM_ERRORS.labels("slack", "unreachable").inc()
            raise DeliveryError(f"Slack unreachable: {error!r}") from error


def _delivery_error(error: SlackApiError) -> DeliveryError:
    response = error.response
    code = str(response.get("error", "")) if response is not None else ""
    PLATFORM_ERRORS.labels(
        "slack", code or f"http_{response.status_code if response is not None else 0}"
    ).inc()
    if response is not None and response.status_code == 429:
        retry_after = float(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
        return DeliveryError("Slack rate limit (429)", retry_after=retry_after)
    status = response.status_code if response is not None else 0
    reason = f"Slack error {status} {code}"
    if code in PERMANENT:
        return DeliveryError(reason, permanent=True)
    return DeliveryError(reason, capped=status < 500 and code not in TEMPORARY)


def _split(post: PostRef) -> tuple[str, str]:
    channel, _, ts = (post.external_ref or "").partition(":")
    if not ts:
        raise DeliveryError(f"not a Slack message reference: {post.external_ref!r}", permanent=True)
    return channel, ts

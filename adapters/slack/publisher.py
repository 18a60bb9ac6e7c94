"""Slack Web API calls for the outbox worker: post, update, thread, DM, ephemeral."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack.auth import REFUSED
from bot.ports import DeliveryError, MessageRef, PostRef, PrivateTo, Report
from bot.telemetry import PLATFORM_ERRORS
from cards.blockkit import mrkdwn_of, render_blocks, render_direct
from cards.digest_render import render_digest_mrkdwn
from cards.model import CardView, DirectView, Text

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

    def __init__(self, client: AsyncWebClient, refused: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.client = client
        self.refused = refused
        """Told when Slack refuses the token; True when there is a new one to try at once (a
        workspace installed again, see ``adapters.slack.workspaces``)."""

    async def post_card(self, target: str, view: CardView) -> MessageRef:
        response = await self._call(
            "chat_postMessage",
            channel=target,
            text=view.fallback_text,
            blocks=render_blocks(view),
            unfurl_links=False,
        )
        return _ref(response)

    async def update_card(self, post: PostRef, view: CardView) -> None:
        channel, ts = _split(post)
        await self._call(
            "chat_update", channel=channel, ts=ts, text=view.fallback_text, blocks=render_blocks(view)
        )

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        channel, ts = _split(post)
        return _ref(await self._call("chat_postMessage", channel=channel, thread_ts=ts, text=mrkdwn_of(text)))

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        link = await self._permalink(card) if card is not None and card.external_ref else None
        text = mrkdwn_of(view.text) + (f"\n<{link}>" if link else "")
        args: dict[str, Any] = {"channel": user, "text": text}
        if view.actions:
            args["blocks"] = render_direct(view, link)
        return _ref(await self._call("chat_postMessage", **args))

    async def card_link(self, card_id: int, post: PostRef | None, now: datetime) -> str | None:
        """The permalink of the card's message (``chat.getPermalink`` on its stored channel and ts:
        Slack builds it, with the workspace's own domain)."""
        return await self._permalink(post) if post is not None and post.external_ref else None

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

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        """Through the action's response URL when there is one (it works where the app is not a
        member); else an ephemeral message in the channel the person acted in; else a DM. A response
        URL that has expired (30 minutes, 5 uses) falls back to the others."""
        if to.reply_url is not None and await self._respond(to.reply_url, mrkdwn_of(text)):
            return None
        if to.where is None:
            return _ref(await self._call("chat_postMessage", channel=to.user, text=mrkdwn_of(text)))
        answer = await self._call("chat_postEphemeral", channel=to.where, user=to.user, text=mrkdwn_of(text))
        return f"{to.where}:{answer.get('message_ts', '')}"

    async def replace_message(self, ref: MessageRef, text: Text) -> None:
        """The message becomes ``text`` alone (its blocks, buttons included, removed)."""
        channel, ts = _split(PostRef(channel_of(ref), ref))
        await self._call("chat_update", channel=channel, ts=ts, text=mrkdwn_of(text), blocks=[])

    async def _respond(self, url: str, text: str) -> bool:
        """Post to a response URL; False when Slack no longer takes it (expired, used up)."""
        hook = AsyncWebhookClient(url, session=self.client.session, timeout=self.client.timeout)
        try:
            answer = await hook.send(text=text, response_type="ephemeral", replace_original=False)
        except (OSError, TimeoutError) as error:
            raise DeliveryError(f"Slack response URL unreachable: {error!r}") from error
        if answer.status_code == 429:
            retry_after = float(answer.headers.get("Retry-After", answer.headers.get("retry-after", 1)))
            raise DeliveryError("Slack rate limit (429)", retry_after=retry_after)
        if answer.status_code >= 500:
            raise DeliveryError(f"Slack response URL error {answer.status_code}")
        if answer.status_code != 200:
            log.warning("response URL refused (%s %s): answered another way", answer.status_code, answer.body)
            return False
        return True

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        """A DM with the report's text; its chart uploaded into the DM with Slack's current file API
        (``files_upload_v2``: files.getUploadURLExternal, the upload, files.completeUploadExternal),
        which shares a file in a conversation id, not a user id: the DM is opened first."""
        text = render_digest_mrkdwn(report.view, report.links)
        if report.chart_png is None:
            return _ref(await self._call("chat_postMessage", channel=target, text=text))
        opened = await self._call("conversations_open", users=target)
        uploaded = await self._call(
            "files_upload_v2",
            channel=opened["channel"]["id"],
            file=report.chart_png,
            filename=report.chart_name,
            title=report.chart_title,
            alt_txt=report.chart_title,
            initial_comment=text,
        )
        file = uploaded.get("file") or {}
        return str(file["id"]) if "id" in file else None

    async def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return await getattr(self.client, method)(**kwargs)
        except SlackApiError as error:
            if self.refused is not None and _code(error) in REFUSED and await self.refused():
                reason = (
                    f"Slack refused the token ({_code(error)}); the workspace's new installation is tried"
                )
                raise DeliveryError(reason, retry_after=0.0) from error
            raise _delivery_error(error) from error
        except (OSError, TimeoutError, aiohttp.ClientError) as error:  # an outage: retried seconds apart
            PLATFORM_ERRORS.labels("slack", "unreachable").inc()
            raise DeliveryError(f"Slack unreachable: {error!r}") from error


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error", "")) if error.response is not None else ""


def _delivery_error(error: SlackApiError) -> DeliveryError:
    response = error.response
    code = _code(error)
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


def _ref(response: Any) -> MessageRef:
    """A message Slack posted, as ``channel:ts``."""
    return f"{response['channel']}:{response['ts']}"


def channel_of(ref: MessageRef) -> str:
    return ref.partition(":")[0]


def _split(post: PostRef) -> tuple[str, str]:
    channel, _, ts = (post.external_ref or "").partition(":")
    if not ts:
        raise DeliveryError(f"not a Slack message reference: {post.external_ref!r}", permanent=True)
    return channel, ts

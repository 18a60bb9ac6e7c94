"""CRM webhooks: the event's JSON POSTed to the URL, signed the Standard Webhooks way.

Headers ``webhook-id`` (the event's id: the same on every retry, so a receiver drops repeats),
``webhook-timestamp`` (Unix seconds of this attempt) and ``webhook-signature`` (``v1,`` and the
base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}`` with the secret's key: the bytes after ``whsec_``,
base64-decoded). See https://www.standardwebhooks.com/.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from bot.ports import DeliveryError, MessageRef, PostRef, PrivateTo, Report
from bot.telemetry import PLATFORM_ERRORS
from cards.model import CardView, DirectView, Text

TIMEOUT_SECONDS = 10.0
Secrets = Callable[[str, int], str | None]
"""(organisation id, index in its ``webhooks``) → the hook's ``whsec_…`` secret, None when gone."""


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{event_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


class WebhookPublisher:
    name = "webhook"

    def __init__(self, secrets: Secrets, client: httpx.AsyncClient | None = None) -> None:
        self.secrets = secrets
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_SECONDS)

    async def post_event(self, url: str, payload: dict[str, Any]) -> None:
        secret = self.secrets(payload["org"], payload["hook"])
        if secret is None:
            raise DeliveryError("this webhook is no longer configured", permanent=True)
        body = json.dumps(payload["event"], ensure_ascii=False, separators=(",", ":")).encode()
        now = int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": payload["id"],
            "webhook-timestamp": str(now),
            "webhook-signature": sign(secret, payload["id"], now, body),
        }
        try:
            response = await self.client.post(url, content=body, headers=headers)
        except httpx.HTTPError as error:
            PLATFORM_ERRORS.labels("webhook", "unreachable").inc()
            raise DeliveryError(f"webhook unreachable: {error!r}") from error
        if response.is_success:
            return
        PLATFORM_ERRORS.labels("webhook", f"http_{response.status_code}").inc()
        raise _error(response)

    async def close(self) -> None:
        await self.client.aclose()

    # Only events go to a webhook: a row of another kind on this channel is given up.
    async def post_card(self, target: str, view: CardView) -> MessageRef:
        raise DeliveryError("webhooks take events only", permanent=True)

    async def update_card(self, post: PostRef, view: CardView) -> None:
        raise DeliveryError("webhooks take events only", permanent=True)

    async def post_in_thread(self, post: PostRef, text: Text) -> MessageRef:
        raise DeliveryError("webhooks take events only", permanent=True)

    async def send_direct(self, user: str, view: DirectView, card: PostRef | None) -> MessageRef:
        raise DeliveryError("webhooks take events only", permanent=True)

    async def tell_privately(self, to: PrivateTo, text: Text) -> MessageRef | None:
        raise DeliveryError("webhooks take events only", permanent=True)

    async def send_report(self, target: str, report: Report) -> MessageRef | None:
        raise DeliveryError("webhooks take events only", permanent=True)


def _error(response: httpx.Response) -> DeliveryError:
    reason = f"webhook answered {response.status_code}"
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = response.headers.get("retry-after")
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        return DeliveryError(reason, retry_after=wait)
    if response.status_code == 410:  # Gone: the receiver asks not to be called again
        return DeliveryError(reason, permanent=True)
    return DeliveryError(reason, capped=True)

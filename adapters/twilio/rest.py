"""Twilio REST through the official client: the ``CallControl`` port (calls, redirects, SMS)."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from adapters.twilio import twiml
from bot.domain.org import OrgConfig
from bot.ports import CallControlError, Sms

log = logging.getLogger("centralita.twilio")
TIMEOUT_SECONDS = 10.0
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


class TwilioCallControl:
    """One Twilio client for the process. Open it inside the running loop (the lifespan): its aiohttp
    session binds to the loop. ``max_retries`` stays unset: the client never sends a request twice, so
    a call request that timed out does not ring the same person a second time."""

    def __init__(
        self, account_sid: str, auth_token: str, public_url: str, base_url: str | None = None
    ) -> None:
        self.account_sid, self.auth_token, self.base_url = account_sid, auth_token, base_url
        self.voice_url = public_url.rstrip("/") + "/twilio/voice"
        self._client: Client | None = None

    async def open(self) -> None:
        http = AsyncTwilioHttpClient(timeout=TIMEOUT_SECONDS)
        client = Client(self.account_sid, self.auth_token, http_client=http)
        if self.base_url:
            client.api.base_url = self.base_url.rstrip("/")
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()
            self._client = None

    async def ring_staff(self, *, card_id: int, attempt: int, to: str, from_number: str) -> str:
        query = urlencode({"card": card_id, "attempt": attempt})
        return await self._call(
            to,
            from_number,
            f"{self.voice_url}/transfer/whisper?{query}",
            f"{self.voice_url}/transfer/leg?{query}",
        )

    async def ring_for_callback(self, *, callback_id: int, attempt: int, to: str, from_number: str) -> str:
        query = urlencode({"callback": callback_id, "attempt": attempt})
        return await self._call(
            to,
            from_number,
            f"{self.voice_url}/callback/whisper?{query}",
            f"{self.voice_url}/callback/leg?{query}",
        )

    async def to_voicemail(self, call_sid: str, org: OrgConfig) -> None:
        base = self.voice_url
        document = twiml.record_voicemail(
            twiml.Voice(org), "transfer_hold_over", f"{base}/voicemail", f"{base}/recording"
        )
        async with _translated("redirect"):
            await self._api.calls(call_sid).update_async(twiml=document)

    async def _call(self, to: str, from_number: str, url: str, status_callback: str) -> str:
        async with _translated("call"):
            created = await self._api.calls.create_async(
                to=to,
                from_=from_number,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=STATUS_EVENTS,
            )
        return str(created.sid)

    async def send_sms(self, sms: Sms) -> str:
        async with _translated("sms"):
            if sms.messaging_service_sid:
                sent = await self._api.messages.create_async(
                    to=sms.to, body=sms.body, messaging_service_sid=sms.messaging_service_sid
                )
            else:
                sent = await self._api.messages.create_async(to=sms.to, body=sms.body, from_=sms.from_number)
        return str(sent.sid)

    @property
    def _api(self) -> Client:
        if self._client is None:
            raise CallControlError("the Twilio client is not open")
        return self._client


class _translated:
    """Twilio's and aiohttp's errors as ``CallControlError``, with the status when there is one."""

    def __init__(self, what: str) -> None:
        self.what = what

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: object, error: BaseException | None, tb: object) -> bool:
        if error is None:
            return False
        if isinstance(error, TwilioRestException):
            raise CallControlError(f"Twilio {error.status}: {error.msg}", status=error.status) from error
        if isinstance(error, TimeoutError | asyncio.TimeoutError):
            raise CallControlError("Twilio did not answer in time") from error
        if isinstance(error, aiohttp.ClientError | TwilioException | OSError):
            raise CallControlError(f"Twilio unreachable: {type(error).__name__}") from error
        return False

"""Twilio REST through the official client: the ``CallControl`` port (calls and redirects)."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlencode

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from adapters.twilio import twiml
from adapters.twilio.client import TwilioRestClient, TwilioRestSetup
from bot.domain.org import OrgConfig
from bot.ports import CallControlError

log = logging.getLogger("centralita.twilio")
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]


class TwilioCallControl(TwilioRestClient):
    """One Twilio client for the process (``TwilioRestClient``), which never sends a request twice:
    a call request that timed out does not ring the same person a second time."""

    def __init__(self, setup: TwilioRestSetup, public_url: str) -> None:
        super().__init__(setup)
        self.voice_url = public_url.rstrip("/") + "/twilio/voice"

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

    @property
    def _api(self) -> Client:
        if self._client is None:
            raise CallControlError("the Twilio client is not open")
        return self._client


class _translated:
    """Twilio's and aiohttp's errors as ``CallControlError``: with the status Twilio answered, or
    ``placed_maybe`` when the request may have reached Twilio (a timeout, a connection lost after
    the request went out) and so the call may exist."""

    def __init__(self, what: str) -> None:
        self.what = what

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: object, error: BaseException | None, tb: object) -> bool:
        if error is None:
            return False
        if isinstance(error, TwilioRestException):
            raise CallControlError(f"Twilio {error.status}: {error.msg}", status=error.status) from error
        if isinstance(error, aiohttp.ClientConnectorError):  # no connection: nothing reached Twilio
            raise CallControlError(f"Twilio unreachable: {type(error).__name__}") from error
        if isinstance(error, TimeoutError | asyncio.TimeoutError):
            raise CallControlError("Twilio did not answer in time", placed_maybe=True) from error
        if isinstance(error, aiohttp.ClientError | TwilioException | OSError):
            reason = f"Twilio's answer was lost: {type(error).__name__}"
            raise CallControlError(reason, placed_maybe=True) from error
        return False

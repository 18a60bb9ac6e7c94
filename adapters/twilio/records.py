"""Twilio REST through the official client: deleting recordings and call logs (``TwilioRecords``)."""

from __future__ import annotations

from collections.abc import Awaitable

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from adapters.twilio.client import TwilioRestClient
from bot.ports import RecordsError

_GONE = 404


class TwilioRecordsClient(TwilioRestClient):
    """Open it inside the running loop (its aiohttp session binds to the loop), close it after."""

    async def delete_recording(self, recording_sid: str) -> None:
        await _deleted(self._api.recordings(recording_sid).delete_async())

    async def delete_call(self, call_sid: str) -> None:
        await _deleted(self._api.calls(call_sid).delete_async())

    @property
    def _api(self) -> Client:
        if self._client is None:
            raise RecordsError("the Twilio client is not open")
        return self._client


async def _deleted(request: Awaitable[bool]) -> None:
    """Twilio's and aiohttp's errors as ``RecordsError``; a 404 (deleted already) is success."""
    try:
        await request
    except TwilioRestException as error:
        if error.status != _GONE:
            raise RecordsError(f"Twilio {error.status}: {error.msg}") from error
    except TimeoutError as error:
        raise RecordsError("Twilio did not answer in time") from error
    except (aiohttp.ClientError, TwilioException, OSError) as error:
        raise RecordsError(f"Twilio unreachable: {type(error).__name__}") from error

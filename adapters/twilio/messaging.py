"""Twilio Messaging through the official REST client: the ``Messaging`` port (SMS and WhatsApp)."""

from __future__ import annotations

from typing import Any

import aiohttp
from twilio.base.exceptions import TwilioRestException

from adapters.twilio.client import TwilioRestClient
from bot.ports import MessagingError, OutboundMessage

_GONE = 404


class TwilioMessaging(TwilioRestClient):
    """One client for the process (``TwilioRestClient``). The client never retries by itself: a
    message that may have reached Twilio is not sent again (``MessagingError.sent_maybe``)."""

    async def send_message(self, message: OutboundMessage) -> str:
        if self._client is None:
            raise MessagingError("the Twilio client is not open")
        try:
            sent = await self._client.api.account.messages.create_async(**_params(message))
        except TwilioRestException as error:
            raise MessagingError(
                f"Twilio {error.status}: {error.msg}", code=str(error.code or ""), status=error.status
            ) from error
        except aiohttp.ClientConnectorError as error:  # no connection: nothing reached Twilio
            raise MessagingError(f"Twilio unreachable: {type(error).__name__}") from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise MessagingError(f"Twilio did not answer: {type(error).__name__}", sent_maybe=True) from error
        return str(sent.sid)

    async def erase_message(self, sid: str) -> None:
        """Redact the body (an update with an empty ``Body``), then delete the message; 404 is done."""
        if self._client is None:
            raise MessagingError("the Twilio client is not open")
        message = self._client.api.account.messages(sid)
        try:
            await message.update_async(body="")
            await message.delete_async()
        except TwilioRestException as error:
            if error.status != _GONE:
                raise MessagingError(
                    f"Twilio {error.status}: {error.msg}", code=str(error.code or ""), status=error.status
                ) from error
        except (TimeoutError, aiohttp.ClientError, OSError) as error:
            raise MessagingError(f"Twilio unreachable: {type(error).__name__}") from error


def _params(message: OutboundMessage) -> dict[str, Any]:
    params: dict[str, Any] = {"to": message.to}
    if message.messaging_service_sid:
        params["messaging_service_sid"] = message.messaging_service_sid
    else:
        params["from_"] = message.from_number
    if message.content_sid:
        params["content_sid"] = message.content_sid
        params["content_variables"] = message.content_variables
    else:
        params["body"] = message.body
    if message.status_callback:
        params["status_callback"] = message.status_callback
    return params

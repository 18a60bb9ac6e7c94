"""Twilio REST for ``centralita doctor``: are the credentials good, and where does each number's
voice webhook point (read through the official client)."""

from __future__ import annotations

from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

TIMEOUT_SECONDS = 10.0


class TwilioAccountError(Exception):
    """Twilio refused the credentials or could not be reached; the message says which."""


@dataclass(frozen=True)
class NumberSetup:
    number: str
    voice_url: str | None
    """None when the account has no such number."""


async def number_setups(
    account_sid: str, auth_token: str, numbers: list[str], base_url: str | None = None
) -> list[NumberSetup]:
    """The voice webhook of each of ``numbers`` in the account.

    Raises:
        TwilioAccountError: the credentials are refused or Twilio cannot be reached.
    """
    http = AsyncTwilioHttpClient(timeout=TIMEOUT_SECONDS)
    client = Client(account_sid, auth_token, http_client=http)
    if base_url:
        client.api.base_url = base_url.rstrip("/")
    try:
        await client.api.v2010.accounts(account_sid).fetch_async()
        return [await _setup(client, number) for number in numbers]
    except TwilioRestException as error:
        raise TwilioAccountError(f"Twilio answered {error.status}: {error.msg}") from error
    except (TwilioException, OSError, TimeoutError) as error:
        raise TwilioAccountError(f"Twilio unreachable: {error!r}") from error
    finally:
        await http.close()


async def _setup(client: Client, number: str) -> NumberSetup:
    found = await client.incoming_phone_numbers.list_async(phone_number=number, limit=1)
    return NumberSetup(number, found[0].voice_url if found else None)

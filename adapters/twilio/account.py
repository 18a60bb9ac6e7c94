"""Twilio REST for ``centralita doctor``: are the credentials good, and where does each number's
voice webhook point (read through the official client)."""

from __future__ import annotations

from dataclasses import dataclass

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from adapters.twilio.client import TwilioRestSetup, close_client


class TwilioAccountError(Exception):
    """Twilio refused the credentials or could not be reached; the message says which."""


@dataclass(frozen=True)
class NumberSetup:
    number: str
    voice_url: str | None
    """None when the account has no such number."""


async def number_setups(setup: TwilioRestSetup, numbers: list[str]) -> list[NumberSetup]:
    """The voice webhook of each of ``numbers`` in the account.

    Raises:
        TwilioAccountError: the credentials are refused or Twilio cannot be reached.
    """
    client = setup.client()
    try:
        await client.api.v2010.accounts(setup.account_sid).fetch_async()
        return [await _setup(client, number) for number in numbers]
    except TwilioRestException as error:
        raise TwilioAccountError(f"Twilio answered {error.status}: {error.msg}") from error
    except (TwilioException, OSError, TimeoutError) as error:
        raise TwilioAccountError(f"Twilio unreachable: {error!r}") from error
    finally:
        await close_client(client)


async def _setup(client: Client, number: str) -> NumberSetup:
    found = await client.incoming_phone_numbers.list_async(phone_number=number, limit=1)
    return NumberSetup(number, found[0].voice_url if found else None)

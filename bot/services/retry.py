"""How long a delivery that did not go through waits before it is tried again.

Every wait is jittered, so rows that failed together (an outage, a burst of 429s) do not come back
in lockstep. An outage (the platform unreachable, a 5xx, a time-out, an error code it documents as
its own trouble) waits at most ``OUTAGE_BACKOFF_SECONDS``: once the platform answers again, the
backlog goes out at its pace within seconds, not after a doubled wait of minutes. A 429 waits its
``Retry-After``, a little more, never less. A refusal not known to be temporary (``capped``) and an
unexpected failure (a bug in a channel) back off up to ``MAX_BACKOFF_SECONDS``.
"""

from __future__ import annotations

import random

from bot.ports import DeliveryError

FIRST_BACKOFF_SECONDS = 0.5
OUTAGE_BACKOFF_SECONDS = 3.0
MAX_BACKOFF_SECONDS = 300.0
RETRY_AFTER_JITTER = 0.2
"""A 429's wait is its Retry-After times 1 to 1.2."""


def retry_wait(attempts: int, error: DeliveryError | None) -> float:
    """Seconds until the next try of a row that failed its ``attempts``-th try with ``error`` (None:
    not a ``DeliveryError``, an unexpected failure)."""
    if error is not None and error.retry_after is not None:
        return error.retry_after * random.uniform(1.0, 1.0 + RETRY_AFTER_JITTER)
    cap = OUTAGE_BACKOFF_SECONDS if error is not None and is_outage(error) else MAX_BACKOFF_SECONDS
    ceiling = min(cap, FIRST_BACKOFF_SECONDS * 2 ** min(attempts - 1, 16))
    return random.uniform(ceiling / 2, ceiling)  # never less than half: jitter, not spinning


def is_outage(error: DeliveryError) -> bool:
    """The platform's own trouble, retried for as long as it lasts: anything not rate-limited, not
    permanent and not ``capped``."""
    return error.retry_after is None and not error.permanent and not error.capped

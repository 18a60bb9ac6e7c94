"""One log line when a periodic job starts failing and one when it works again, instead of a
traceback on every tick while the database is away."""

from __future__ import annotations

import logging
from types import TracebackType

from bot.store.db import is_unreachable

log = logging.getLogger("centralita.jobs")


class QuietFailures:
    """``with failures:`` around each run of a job: the first failure of a streak is logged (with
    its traceback unless the database is simply unreachable), the following ones are not, and the
    first success after them says how many runs failed. The exception is swallowed: the next tick
    tries again."""

    def __init__(self, job: str, logger: logging.Logger = log) -> None:
        self.job, self.log = job, logger
        self.failed = 0

    def __enter__(self) -> QuietFailures:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _tb: TracebackType | None
    ) -> bool:
        if error is None:
            self.success()
            return False
        if not isinstance(error, Exception):
            return False  # cancellation and exits go through
        self.failure(error)
        return True

    def success(self) -> None:
        if self.failed:
            self.log.info("%s works again (after %d failed runs)", self.job, self.failed)
            self.failed = 0

    def failure(self, error: Exception) -> None:
        if not self.failed:
            self.log.error(
                "%s failed: %s: %s; retrying quietly until it works again",
                self.job,
                type(error).__name__,
                _first_line(error),
                exc_info=None if is_unreachable(error) else error,
            )
        self.failed += 1


def _first_line(error: BaseException) -> str:
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0][:200] if lines else ""

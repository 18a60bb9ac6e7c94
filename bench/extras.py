"""The figures that start their own servers and give the table their own rows (bench/figure.py's
``Outcome``), in the order the runner runs them after each database's main figures."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.context import Context
from bench.figure import Outcome
from bench.scenarios import erase, messaging, organisations, reminders, reports, teams, transfer

BOTH = ("sqlite", "postgres")


@dataclass(frozen=True)
class Scenario:
    letters: str
    """The figures it gives (``--only`` any of them runs it)."""
    what: str
    run: Callable[[Context, str], Awaitable[Outcome]]
    kinds: tuple[str, ...] = BOTH
    """The databases it runs on; the other column shows a dash."""


SCENARIOS = (
    Scenario("ghd", "Teams: claims, the other channel's copy, a burst to both channels", teams.run),
    Scenario("i", "accept-transfer clicks", transfer.run),
    Scenario("j", "callback reminders", reminders.run),
    Scenario("kl", "WhatsApp cards and replies", messaging.run),
    Scenario("mno", "digest, claims beside the reports, calibration", reports.run),
    Scenario("p", "historical cards (PostgreSQL only: set-based seeding, two servers at once)",
             organisations.history, ("postgres",)),
    Scenario("q", "erase one number among many cards", erase.run),
    Scenario("r", "RSS with many organisations (SQLite only: memory does not depend on the database)",
             organisations.organisations, ("sqlite",)),
)

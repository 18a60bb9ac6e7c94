"""The Bot Framework SDK, loaded when Teams is used rather than with the server.

botbuilder, the Bot Connector client, msal and what they import take about 50 MB of a process's
memory. A server with ``MICROSOFT_APP_ID`` builds the gateway at start (its publisher posts cards to
Teams); one without it serves ``/api/messages`` unauthenticated (local use) and imports the SDK at
the first activity that arrives, so a server nobody sends Teams activities to never pays for it.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from adapters.teams.identity import TeamsAuth

if TYPE_CHECKING:
    from adapters.teams.gateway import TeamsGateway


class TeamsStack:
    """The Teams gateway of one process, built on first use."""

    def __init__(self, auth: TeamsAuth) -> None:
        self.auth = auth

    @cached_property
    def gateway(self) -> TeamsGateway:
        from adapters.teams.gateway import TeamsGateway

        return TeamsGateway(self.auth)

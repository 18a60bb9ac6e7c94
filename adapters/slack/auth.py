"""Who the bot is on Slack: ``auth.test`` once at start, cached, so that no click waits for Slack.

Bolt's single-workspace mode calls ``auth.test`` lazily on the first request, so after every start
the first click waited for Slack (over Slack's 3 s when Slack was slow) and, when that call failed,
Bolt answered with an apology and dropped the click. Here Bolt gets an ``authorize`` callable that
answers from what the start check learned, and from the token alone while Slack has not answered:
a click is acknowledged and handled whatever Slack is doing; what it changes waits in the outbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("centralita.slack")

# What Slack answers when the token itself is wrong (no retry can fix it).
REFUSED = frozenset({"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"})
RECHECK_SECONDS = (5.0, 15.0, 60.0)
"""When Slack did not answer at start: wait this long before asking again (the last one repeats)."""

State = Literal["checking", "ok", "refused", "unreachable"]


@dataclass(frozen=True)
class AuthStatus:
    state: State
    problem: str | None = None
    """Why, when the state is not ``ok``: Slack's error code or the network error."""
    team: str | None = None


class SlackAuth:
    """The outcome of ``auth.test`` for one bot token, and Bolt's ``authorize`` built from it."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.status = AuthStatus("checking")
        self._answer: dict[str, Any] | None = None
        self._recheck: asyncio.Task[None] | None = None

    @property
    def team_id(self) -> str | None:
        """The token's workspace, once Slack has answered."""
        return str((self._answer or {}).get("team_id") or "") or None

    async def check(self, client: AsyncWebClient, wait: float) -> AuthStatus:
        """Ask Slack once, for at most ``wait`` seconds. Unanswered, the question stays open in the
        background (asked again now and then) and the status says so meanwhile."""
        task = asyncio.create_task(self._until_answered(client), name="slack-auth-test")
        done, _ = await asyncio.wait({task}, timeout=wait)
        if not done:
            self._recheck = task
            if self.status.state == "checking":
                self.status = AuthStatus("unreachable", f"no answer to auth.test within {wait:g} s")
        return self.status

    async def close(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recheck

    def authorizer(self) -> Callable[..., Awaitable[AuthorizeResult]]:
        """Bolt's ``authorize=``: answers from the cached ``auth.test``, never calls Slack. (A plain
        function: Bolt passes arguments by the names it finds, ``self`` included.)"""

        async def authorize(
            enterprise_id: str | None, team_id: str | None, user_id: str | None
        ) -> AuthorizeResult:
            answer = self._answer or {}
            return AuthorizeResult(
                enterprise_id=answer.get("enterprise_id", enterprise_id),
                team_id=answer.get("team_id", team_id),
                team=answer.get("team"),
                url=answer.get("url"),
                bot_id=answer.get("bot_id"),
                bot_user_id=answer.get("user_id"),
                bot_token=self.token,
                user_id=user_id,
            )

        return authorize

    async def _until_answered(self, client: AsyncWebClient) -> None:
        for attempt in range(1_000_000):
            if await self._ask(client):
                return
            await asyncio.sleep(RECHECK_SECONDS[min(attempt, len(RECHECK_SECONDS) - 1)])

    async def _ask(self, client: AsyncWebClient) -> bool:
        """True once Slack has answered (either way)."""
        try:
            response = await client.auth_test()
        except SlackApiError as error:
            code = str(error.response.get("error", "")) if error.response is not None else ""
            if code in REFUSED:
                self.status = AuthStatus("refused", code)
                if self._recheck is not None:  # answered after the start: nobody else will say it
                    log.error("Slack refused SLACK_BOT_TOKEN (%s): every delivery to Slack will fail", code)
                return True
            self.status = AuthStatus("unreachable", f"Slack error {code or error}")
        except (OSError, TimeoutError) as error:
            self.status = AuthStatus("unreachable", f"Slack unreachable: {error!r}")
        else:
            self._answer = dict(response.data) if isinstance(response.data, dict) else {}
            self.status = AuthStatus("ok", team=self._answer.get("team"))
            return True
        log.warning("auth.test did not answer (%s); clicks are handled meanwhile", self.status.problem)
        return False

"""Slack Web API look-ups for ``centralita doctor``: is the app in a channel, does a member exist,
and a test message. Each answers None when all is well, else what is wrong and how to fix it."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient


async def channel_problem(client: AsyncWebClient, channel: str) -> str | None:
    try:
        answer = await client.conversations_info(channel=channel)
    except SlackApiError as error:
        code = _code(error)
        if code == "channel_not_found":
            return (
                "no such channel, or a private one the app is not in: check the id, then /invite @centralita"
            )
        return _other(code)
    if not answer["channel"].get("is_member"):
        name = answer["channel"].get("name", channel)
        return f"the app is not in #{name}: type /invite @centralita in the channel"
    return None


async def user_problem(client: AsyncWebClient, user: str) -> str | None:
    try:
        answer = await client.users_info(user=user)
    except SlackApiError as error:
        code = _code(error)
        if code == "user_not_found":
            return "no such Slack member: copy the member id from the person's profile (⋮ → Copy member ID)"
        return _other(code)
    if answer["user"].get("deleted"):
        return "this Slack member is deactivated"
    return None


async def post_test(client: AsyncWebClient, channel: str, text: str) -> str | None:
    try:
        await client.chat_postMessage(
            channel=channel, text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        )
    except SlackApiError as error:
        return _other(_code(error))
    return None


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error", "")) if error.response is not None else str(error)


def _other(code: str) -> str:
    if code == "missing_scope":
        return (
            "the app lacks a scope doctor needs (channels:read, groups:read, users:read):"
            " reinstall it from manifest/slack/manifest.yaml"
        )
    return f"Slack answered {code}"

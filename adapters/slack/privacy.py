"""Slack's side of the managers' privacy requests: ``/centralita privacidad exportar|borrar NUMBER``.

The command is acknowledged first; the answer goes to the command's response URL (only the manager
sees it). An erasure's answer carries an *Erase* button with Slack's confirm dialog; its click runs
the erasure and replaces the question with what was done. An export is uploaded as a JSON file into
the manager's DM (``files_upload_v2``), never into the channel the command was typed in."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.parse import MalformedSlackRequest, parse_command, slack_user, slack_workspace
from bot.services.handling import Requester
from bot.services.privacy_desk import DeskAnswer, EraseQuestion, ExportFile, PrivacyDesk

PRIVACY_COMMAND = "/centralita"
ERASE_ACTION = "privacy_erase"
Respond = Any  # Bolt's AsyncRespond: posts to the request's response URL


def register_privacy(bolt: AsyncApp, desk: PrivacyDesk, run: Any) -> None:
    """``run(work, what)`` runs the work after the acknowledgement (``AfterAck.run``)."""

    @bolt.command(PRIVACY_COMMAND)
    async def on_command(ack: Any, command: dict[str, Any], client: AsyncWebClient, respond: Respond) -> None:
        typed = parse_command(command)
        await ack()
        who = Requester("slack", typed.user, typed.channel, typed.reply_url, typed.workspace)
        run(_answer(desk.request(who, typed.text), who, client, respond), "privacy")

    @bolt.action(ERASE_ACTION)
    async def on_erase(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        number = erase_value(action)
        user, workspace = slack_user(body), slack_workspace(body)
        await ack()
        who = Requester("slack", user, None, workspace=workspace)
        run(_replace(desk.erase(who, number), respond), "privacy-erase")


def erase_value(action: dict[str, Any]) -> str:
    """The number an *Erase* button carries. Raises: MalformedSlackRequest."""
    value = action.get("value")
    if not isinstance(value, str) or not 0 < len(value) <= 32:
        raise MalformedSlackRequest(f"not a number to erase: {value!r:.40}")
    return value


async def _answer(asked: Any, who: Requester, client: AsyncWebClient, respond: Respond) -> None:
    answer: DeskAnswer = await asked
    if answer.export is not None:
        await _upload(client, who.user_ref, answer.export)
    if answer.question is not None:
        blocks = question_blocks(answer.text, answer.question)
        await respond(text=answer.text, blocks=blocks, response_type="ephemeral", replace_original=False)
        return
    await respond(text=answer.text, response_type="ephemeral", replace_original=False)


async def _replace(erasing: Any, respond: Respond) -> None:
    answer: DeskAnswer = await erasing
    await respond(text=answer.text, blocks=[], response_type="ephemeral", replace_original=True)


async def _upload(client: AsyncWebClient, user: str, file: ExportFile) -> None:
    """The file into the manager's DM with the app (its conversation id first: files are shared in
    conversations, not to user ids)."""
    opened = await client.conversations_open(users=user)
    await client.files_upload_v2(
        channel=opened["channel"]["id"],
        file=file.data,
        filename=file.filename,
        title=file.title,
        initial_comment=file.title,
    )


def question_blocks(text: str, question: EraseQuestion) -> list[dict[str, Any]]:
    """The plan, and an *Erase* button that asks once more in Slack's confirm dialog."""
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "privacy-erase",
            "elements": [
                {
                    "type": "button",
                    "action_id": ERASE_ACTION,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": question.confirm},
                    "value": question.number,
                    "confirm": {
                        "title": {"type": "plain_text", "text": question.title[:100]},
                        "text": {"type": "plain_text", "text": question.text},
                        "confirm": {"type": "plain_text", "text": question.confirm},
                        "deny": {"type": "plain_text", "text": question.cancel},
                        "style": "danger",
                    },
                }
            ],
        },
    ]

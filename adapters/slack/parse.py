"""Pure decoding of Slack payloads into what the use cases take.

A payload is signed by Slack, but its shape is still checked here: anything our buttons, modals and
command do not send raises ``MalformedSlackRequest`` (the route answers 400). Text is cleaned of what
a database cannot store (``clean_text``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.org import OrgConfig
from bot.domain.text import clean_text
from cards.actions import NoSuchCard, Outcome, parse_button_value, parse_option_value
from cards.blockkit import parse_block_id
from cards.model import FormView

# Slack's ids (users U…/W…, channels C…/G…/D…): capitals and digits, a dozen characters today.
_SLACK_ID = re.compile(r"[A-Z][A-Z0-9]{1,63}")
_SLACK_MENTION = re.compile(r"<([@#])(\w+)(?:\|([^>]*))?>")


class MalformedSlackRequest(ValueError):
    """A signed Slack request that is not what our buttons, modals and command send."""


# The parts of a payload that Bolt (its matchers, its context) and our listeners read as objects,
# and those that may be an object or an id.
_OBJECTS = ("view", "container", "message", "previous_message", "state", "event", "item", "function_data")
_OBJECTS_OR_IDS = ("user", "team", "channel", "enterprise")


def check_shape(body: dict[str, Any], depth: int = 0) -> None:
    """That ``body`` is shaped as Slack's payloads are where it is read before any listener runs.

    Raises: MalformedSlackRequest where it is not (``actions: 5``, ``view: "x"``…)."""
    for key in _OBJECTS + _OBJECTS_OR_IDS:
        value = body.get(key)
        if value is None or (key in _OBJECTS_OR_IDS and isinstance(value, str)):
            continue
        if depth < 2:
            check_shape(_object(value, key), depth + 1)
        else:
            _object(value, key)
    for key in ("actions", "authorizations"):
        if key in body:
            entries = body[key]
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise MalformedSlackRequest(f"{key} is not a list of objects")
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not actions or not isinstance(actions[0].get("action_id"), str):
            raise MalformedSlackRequest("the click names no action")


@dataclass(frozen=True)
class Click:
    action_id: str
    card_id: int | None
    """None when the click names an id no card can have: the person is told there is no such card."""
    user: str
    channel: str | None
    trigger_id: str | None
    outcome: Outcome | None = None
    selected_user: str | None = None
    workspace: str | None = None


def parse_click(body: dict[str, Any], action: Any) -> Click:
    """Raises: MalformedSlackRequest when the payload does not name a card as our cards do."""
    action = _object(action, "the action")
    user, channel = slack_user(body), click_channel(body)
    selected = action.get("selected_user")
    selected = slack_id(selected, "selected user") if selected is not None else None
    outcome, card_id = None, None
    try:
        if "selected_option" in action:
            card_id, outcome = parse_option_value(_object(action["selected_option"], "option").get("value"))
        elif "selected_user" in action:
            card_id = parse_block_id(action.get("block_id"))
        else:
            card_id = parse_button_value(action.get("value"))
    except NoSuchCard:
        card_id = None
    except ValueError as error:
        raise MalformedSlackRequest(str(error)) from error
    trigger = body.get("trigger_id")
    return Click(
        _text(action.get("action_id"), "action id"),
        card_id,
        user,
        channel,
        trigger if isinstance(trigger, str) else None,
        outcome,
        selected,
        slack_workspace(body),
    )


def slack_user(body: dict[str, Any]) -> str:
    """The id of the person behind an interaction payload.

    Raises: MalformedSlackRequest when it has none."""
    return slack_id(_object(body.get("user"), "the user").get("id"), "user id")


def slack_workspace(body: dict[str, Any]) -> str | None:
    """The workspace (team id) an interaction payload or slash command came from, if it says."""
    team = body.get("team")
    found = team.get("id") if isinstance(team, dict) else body.get("team_id")
    if found is None and isinstance(body.get("user"), dict):
        found = body["user"].get("team_id")
    return slack_id(found, "team id") if found else None


def click_channel(body: dict[str, Any]) -> str | None:
    channel = _object(body.get("channel") or {}, "the channel").get("id")
    channel = channel or _object(body.get("container") or {}, "the container").get("channel_id")
    return slack_id(channel, "channel id") if channel else None


def slack_id(value: Any, what: str) -> str:
    """Raises: MalformedSlackRequest when ``value`` is not a Slack id."""
    if not isinstance(value, str) or not _SLACK_ID.fullmatch(value):
        raise MalformedSlackRequest(f"{what} is not a Slack id: {value!r:.40}")
    return value


def neutral_mentions(text: str, config: OrgConfig) -> str:
    """Slack's mentions written the neutral way the domain reads (``@staff_id``, ``@team_id``):
    ``<@U0ANA|ana>`` of a staff member, ``<#C0RECEP|recepcion>`` of a team's channel. A mention of
    anyone else keeps its label (or its id)."""

    def neutral(match: re.Match[str]) -> str:
        sigil, ref, label = match.groups()
        if sigil == "@":
            staff = config.staff_by_identity("slack", ref)
            return f"@{staff.id}" if staff else (label or ref)
        team = next((t for t in config.teams if t.slack_channel == ref), None)
        return f"@{team.id}" if team else f"#{label or ref}"

    return _SLACK_MENTION.sub(neutral, text)


def modal_context(card_id: int | None, channel: str | None, reply_url: str | None = None) -> str:
    data: dict[str, Any] = {"card": card_id, "channel": channel}
    if reply_url:
        data["reply_url"] = reply_url
    return json.dumps(data)


def read_modal_context(view: dict[str, Any]) -> tuple[int | None, str | None]:
    """The card and channel our modal was opened for; the card is None when there is none, or when
    it is an id no card can have.

    Raises: MalformedSlackRequest when the modal's private metadata is not ours."""
    data = _modal_data(view)
    card, channel = data.get("card"), data.get("channel")
    if card is not None and (not isinstance(card, int) or isinstance(card, bool)):
        raise MalformedSlackRequest(f"the modal's card is not a card id: {card!r:.40}")
    try:
        card_id = parse_button_value(str(card)) if card is not None else None
    except NoSuchCard:
        card_id = None
    return card_id, (slack_id(channel, "the modal's channel") if channel is not None else None)


def modal_reply_url(view: dict[str, Any]) -> str | None:
    """The response URL of the command that opened the modal, where it has one.

    Raises: MalformedSlackRequest when the modal's private metadata is not ours."""
    url = _modal_data(view).get("reply_url")
    if url is not None and not isinstance(url, str):
        raise MalformedSlackRequest("the modal's reply URL is not text")
    return url or None


def _modal_data(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError) as error:
        raise MalformedSlackRequest("the modal's private metadata is not ours") from error
    return _object(data, "the modal's private metadata")


def form_values(view: dict[str, Any], form: FormView) -> dict[str, Any]:
    """A submitted modal's answers, by the name of each of the form's inputs.

    Raises: MalformedSlackRequest when an answer is not of its input's kind."""
    return {field.name: state_value(view, field.name) for field in form.inputs}


def state_value(view: dict[str, Any], block: str) -> Any:
    """The value of the input in ``block`` (the action id equals the block id in our modals), text
    cleaned and stripped.

    Raises: MalformedSlackRequest when the input's value is not of its kind."""
    values = _object(_object(view.get("state") or {}, "the state").get("values") or {}, "values")
    element = _object(_object(values.get(block) or {}, block).get(block) or {}, block)
    kind = element.get("type")
    if kind == "datetimepicker":
        return _moment(element.get("selected_date_time"))
    if kind == "users_select":
        selected = element.get("selected_user")
        return slack_id(selected, block) if selected is not None else None
    if kind == "static_select":
        option = _object(element.get("selected_option") or {}, block).get("value")
        return _text(option, block) if option is not None else None
    if kind == "checkboxes":
        return bool(element.get("selected_options"))
    value = element.get("value")
    return _text(value, block).strip() if value is not None else ""


@dataclass(frozen=True)
class Command:
    user: str
    channel: str | None
    text: str
    trigger_id: str | None
    reply_url: str | None
    workspace: str | None = None


def parse_command(command: dict[str, Any]) -> Command:
    """A slash command's fields, its text cleaned.

    Raises: MalformedSlackRequest when it names no user."""
    channel, trigger, reply_url = (
        command.get("channel_id"),
        command.get("trigger_id"),
        command.get("response_url"),
    )
    return Command(
        slack_id(command.get("user_id"), "user id"),
        slack_id(channel, "channel id") if channel else None,
        _text(command.get("text") or "", "text").strip(),
        trigger if isinstance(trigger, str) else None,
        reply_url if isinstance(reply_url, str) and reply_url else None,
        slack_workspace(command),
    )


def _moment(seconds: Any) -> datetime | None:
    if seconds is None:
        return None
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise MalformedSlackRequest(f"not a date and time: {seconds!r:.40}")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedSlackRequest(f"not a date and time: {seconds!r:.40}") from error


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedSlackRequest(f"{what} is not a JSON object")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise MalformedSlackRequest(f"{what} is not text")
    return clean_text(value)

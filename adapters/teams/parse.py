"""Pure decoding of Bot Framework activities: what arrived, and where the bot was let in.

The SDK is imported where an activity is decoded, not with the module: the route imports this at
start, and a server nobody sends Teams activities to never loads botbuilder (``adapters.teams.lazy``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.services.conversations import ConversationSeen
from cards.adaptive import CARD_KEY

if TYPE_CHECKING:
    from botbuilder.schema import Activity

CHANNEL = "teams"
_THREAD_SUFFIX = re.compile(r";messageid=\d+$")
_MENTION = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)


class BadActivity(ValueError):
    """An activity we cannot act on (answered 400 with this message)."""


def activity_from(body: object) -> Activity:
    """Raises: BadActivity when the body is not an activity with a type, a serviceUrl and a conversation."""
    if not isinstance(body, dict):
        raise BadActivity("the body must be a JSON object (a Bot Framework activity)")
    from botbuilder.schema import Activity

    try:
        activity = Activity().deserialize(body)
    except Exception as error:  # msrest raises its own DeserializationError and plain TypeErrors
        raise BadActivity(f"not a Bot Framework activity: {error}") from error
    for name, value in (
        ("type", activity.type),
        ("serviceUrl", activity.service_url),
        ("conversation.id", getattr(activity.conversation, "id", None)),
    ):
        if not isinstance(value, str) or not value:
            raise BadActivity(f"{name} is missing")
    if not activity.service_url.startswith(("https://", "http://")):
        raise BadActivity("serviceUrl must be an http(s) URL")
    return activity


def service_url_of(body: object) -> str | None:
    """The activity's serviceUrl before it is decoded (the token is checked against it first)."""
    value = body.get("serviceUrl") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def channel_id_of(body: object) -> str | None:
    value = body.get("channelId") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def bare_conversation(conversation_id: str) -> str:
    """A channel's id without the ``;messageid=`` of the thread an activity came from."""
    return _THREAD_SUFFIX.sub("", conversation_id)


def seen_conversations(activity: Activity, channels: list[tuple[str, str | None]]) -> list[ConversationSeen]:
    """The conversations an (authenticated) activity shows the bot is in: its own, and, for a team,
    each of the team's ``channels`` (id, name) listed by the connector."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    team = _dict(data.get("team"))
    own = _own(activity, data, team)
    found = {own.conversation_id: own}
    for channel_id, name in channels:
        listed = _channel(own, channel_id, name)
        known = found.get(channel_id)
        found[channel_id] = replace(known, name=known.name or listed.name) if known else listed
    return list(found.values())


def _own(activity: Activity, data: dict[str, Any], team: dict[str, Any]) -> ConversationSeen:
    from botbuilder.core import TurnContext

    conversation = activity.conversation
    kind = str(conversation.conversation_type or ("channel" if team else "personal"))
    channel = _dict(data.get("channel"))
    conversation_id = str(channel.get("id") or bare_conversation(conversation.id))
    reference = TurnContext.get_conversation_reference(activity)
    reference.activity_id = None
    reference.conversation.id = conversation_id
    user = activity.from_property
    return ConversationSeen(
        channel=CHANNEL,
        conversation_id=conversation_id,
        kind=kind,
        tenant_id=_tenant(activity, data),
        team_id=_str(team.get("id")),
        team_name=_str(team.get("name")),
        name=_str(channel.get("name")) or _str(conversation.name),
        user_ref=_str(getattr(user, "aad_object_id", None)) if kind == "personal" else None,
        service_url=activity.service_url,
        reference=reference.serialize(),
    )


def _channel(team_ref: ConversationSeen, channel_id: str, name: str | None) -> ConversationSeen:
    reference = dict(team_ref.reference)
    reference["conversation"] = {**_dict(reference.get("conversation")), "id": channel_id}
    return ConversationSeen(
        channel=CHANNEL,
        conversation_id=channel_id,
        kind="channel",
        tenant_id=team_ref.tenant_id,
        team_id=team_ref.team_id,
        team_name=team_ref.team_name,
        # Teams lists a team's General channel without a name.
        name=name or ("General" if channel_id == team_ref.team_id else None),
        user_ref=None,
        service_url=team_ref.service_url,
        reference=reference,
    )


def team_id_of(activity: Activity) -> str | None:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return _str(_dict(data.get("team")).get("id"))


def message_text(activity: Activity) -> str:
    """A message's text without its @mentions (a message in a channel reaches the bot only with one)."""
    return " ".join(_MENTION.sub(" ", activity.text or "").split())


def tenant_of(activity: Activity) -> str:
    """The Microsoft 365 tenant an activity came from ("" when it names none: then no organisation
    with a tenant of its own admits it)."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    return _tenant(activity, data) or ""


def _tenant(activity: Activity, data: dict[str, Any]) -> str | None:
    tenant = _str(_dict(data.get("tenant")).get("id"))
    return tenant or _str(getattr(activity.conversation, "tenant_id", None))


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class CardAction:
    """An ``Action.Execute`` on a card: the verb, the card id its data carries (None: it carries
    none), the data with the form's answers merged in, who clicked (their AAD object id) and the
    tenant they clicked from."""

    verb: str
    card_id: int | None
    data: dict[str, Any]
    user: str | None
    tenant: str = ""


def card_action(activity: Activity) -> CardAction:
    """Raises: BadActivity when the invoke is not an ``Action.Execute``."""
    value = activity.value if isinstance(activity.value, dict) else {}
    action = _dict(value.get("action"))
    if action.get("type") != "Action.Execute" or not isinstance(action.get("verb"), str):
        raise BadActivity("not an Action.Execute invoke")
    data = _dict(action.get("data"))
    raw = data.get(CARD_KEY)
    card_id = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if isinstance(raw, str) and raw.isdigit():
        card_id = int(raw)
    user = activity.from_property
    aad = _str(getattr(user, "aad_object_id", None))
    return CardAction(action["verb"], card_id, data, aad, tenant_of(activity))

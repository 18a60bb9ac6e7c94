"""Driving Centralita the way Microsoft Teams does: activities with channel tokens over loopback HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.fakes.identity import APP_ID, TENANT_ID, FakeIdentity

TEAM_ID = "19:team-recepcion@thread.tacv2"
OTHER_CHANNEL = "19:channel-urgencias@thread.tacv2"
BOT = {"id": f"28:{APP_ID}", "name": "Centralita"}
ANA_AAD = "aad-0000-ana"
STRANGER_AAD = "aad-9999-stranger"


def _user(aad: str, name: str = "Ana García") -> dict[str, Any]:
    return {"id": f"29:{aad}", "name": name, "aadObjectId": aad}


def team_installed(
    service_url: str, *, team_id: str = TEAM_ID, team_name: str = "Recepción"
) -> dict[str, Any]:
    """The conversationUpdate Teams sends when the app is added to a team (into its General channel)."""
    return {
        "type": "conversationUpdate",
        "id": "f:" + uuid.uuid4().hex,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": _user(ANA_AAD),
        "recipient": BOT,
        "conversation": {
            "id": team_id,
            "conversationType": "channel",
            "isGroup": True,
            "tenantId": TENANT_ID,
        },
        "membersAdded": [{"id": BOT["id"]}],
        "channelData": {
            "eventType": "teamMemberAdded",
            "team": {"id": team_id, "name": team_name},
            "tenant": {"id": TENANT_ID},
        },
    }


def personal_message(
    service_url: str, text: str, *, aad: str = ANA_AAD, name: str = "Ana García"
) -> dict[str, Any]:
    """A 1:1 message to the bot."""
    return {
        "type": "message",
        "id": uuid.uuid4().hex[:13],
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": _user(aad, name),
        "recipient": BOT,
        "conversation": {"id": f"a:personal-{aad}", "conversationType": "personal", "tenantId": TENANT_ID},
        "text": text,
        "channelData": {"tenant": {"id": TENANT_ID}},
    }


async def post_activity(
    http: httpx.AsyncClient, activity: dict[str, Any], token: str | None, **headers: str
) -> httpx.Response:
    sent = {"Content-Type": "application/json", **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return await http.post("/api/messages", json=activity, headers=sent)


def signed(identity: FakeIdentity, activity: dict[str, Any]) -> str:
    return identity.channel_token(activity["serviceUrl"])


def card_invoke(
    service_url: str,
    verb: str,
    card_id: int,
    *,
    aad: str = ANA_AAD,
    conversation: str = "19:channel-urgencias@thread.tacv2;messageid=1",
    reply_to: str | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    """An ``Action.Execute`` click on a card, as Teams sends it (the form's answers merged in data)."""
    return {
        "type": "invoke",
        "name": "adaptiveCard/action",
        "id": "f:" + uuid.uuid4().hex,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": _user(aad),
        "recipient": BOT,
        "conversation": {"id": conversation, "conversationType": "channel", "tenantId": TENANT_ID},
        "replyToId": reply_to,
        "value": {
            "action": {"type": "Action.Execute", "verb": verb, "data": {"card_id": card_id, **inputs}},
            "trigger": "manual",
        },
        "channelData": {
            "tenant": {"id": TENANT_ID},
            "channel": {"id": OTHER_CHANNEL},
            "team": {"id": TEAM_ID},
        },
    }

"""Signed one-click links for a card (email): what a link allows, signed so it cannot be forged.

A link names one card at one version, one action and one staff member (or, for a team mailbox, one
team: the page then asks which of its staff is acting), and expires. The version is
what makes a link work once and be refused when the card moved on: any change to the card (this
link's own action included) raises it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

LINK_ACTIONS = ("claim", "callback", "resolve")
VIEW = "view"
"""A link that only shows the card (a digest's line read by email): it changes nothing, so it
names no version and keeps working while the card moves on."""


class LinkError(ValueError):
    """The link cannot be used; ``key`` is the catalogue key of the reason (``link.forged``, …)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class LinkClaims:
    card_id: int
    version: int
    action: str
    staff_id: str
    """Empty in a team mailbox's link: the person says who they are on the confirmation page."""
    expires: int
    """Unix seconds."""
    team_id: str | None = None
    """The team whose mailbox got the link, which then names no staff member."""


def sign_link(secret: bytes, claims: LinkClaims) -> str:
    values: dict[str, object] = {
        "c": claims.card_id,
        "v": claims.version,
        "a": claims.action,
        "s": claims.staff_id,
        "e": claims.expires,
    }
    if claims.team_id is not None:
        values["t"] = claims.team_id
    body = json.dumps(values, separators=(",", ":")).encode()
    return f"{_b64(body)}.{_b64(_mac(secret, body))}"


def read_link(secret: bytes, token: str, now: datetime) -> LinkClaims:
    """The claims of a link that is genuine and has not expired.

    Raises:
        LinkError: ``link.forged`` (malformed, or not signed with ``secret``) or ``link.expired``.
    """
    body_part, _, mac_part = token.partition(".")
    try:
        body = _unb64(body_part)
        if not hmac.compare_digest(_unb64(mac_part), _mac(secret, body)):
            raise LinkError("link.forged")
        values = json.loads(body)
        team = values.get("t")
        claims = LinkClaims(
            int(values["c"]),
            int(values["v"]),
            str(values["a"]),
            str(values["s"]),
            int(values["e"]),
            None if team is None else str(team),
        )
    except (ValueError, TypeError, KeyError) as error:
        raise LinkError("link.forged") from error
    if claims.action not in (*LINK_ACTIONS, VIEW):
        raise LinkError("link.forged")
    if now.timestamp() > claims.expires:
        raise LinkError("link.expired")
    return claims


def _mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, b"centralita-link:" + body, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkSigner:
    """Makes the links of a card for one person (or one team's mailbox): ``{public_url}/cards/act?t=…``
    per action."""

    secret: bytes
    public_url: str
    ttl_seconds: int = 24 * 3600

    def links(
        self, card_id: int, version: int, staff_id: str, now: datetime, team_id: str | None = None
    ) -> dict[str, str]:
        """``staff_id`` empty and ``team_id`` set: a team mailbox's links."""
        expires = int(now.timestamp()) + self.ttl_seconds
        base = self.public_url.rstrip("/") + "/cards/act?t="
        return {
            action: base
            + sign_link(self.secret, LinkClaims(card_id, version, action, staff_id, expires, team_id))
            for action in LINK_ACTIONS
        }

    def view_link(self, card_id: int, now: datetime) -> str:
        """The link that shows the card (``VIEW``)."""
        claims = LinkClaims(card_id, 0, VIEW, "", int(now.timestamp()) + self.ttl_seconds)
        return self.public_url.rstrip("/") + "/cards/act?t=" + sign_link(self.secret, claims)

"""What Teams authentication is configured with, without the SDK: a server imports this at start,
and the Bot Framework SDK only once Teams is used (``adapters.teams.lazy``)."""

from __future__ import annotations

from dataclasses import dataclass


class Unauthorized(Exception):
    """A request whose token is missing or does not check out (answered 401)."""


@dataclass(frozen=True)
class TeamsAuth:
    """What authentication needs from the environment. No ``app_id``: authentication is off."""

    app_id: str | None
    password: str | None
    tenant_id: str | None
    app_type: str
    openid_metadata_url: str
    login_url: str

    @property
    def enabled(self) -> bool:
        return bool(self.app_id)

    @property
    def authority(self) -> str:
        """The login authority: the host, then the tenant (``botframework.com`` for multi-tenant)."""
        tenant = self.tenant_id if self.app_type == "SingleTenant" else "botframework.com"
        return f"{self.login_url.rstrip('/')}/{tenant}"

"""Process environment (secrets, URLs, database), read once at start."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

DEFAULTS_FILE = "CENTRALITA_DEFAULTS_FILE"
"""An env file of defaults below everything else (``make run`` points it at ``examples/dev.env``)."""
_DATABASES = {"sqlite", "postgresql", "postgres"}
_PLACEHOLDERS = {"changeme", "change-me", "xxx", "secret", "todo"}


class Settings(BaseSettings):
    """Every environment variable of the public contract (README, "Configuration")."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    config_path: str = Field(default="./centralita.yaml", validation_alias="CENTRALITA_CONFIG")
    database_url: str = Field(default="sqlite:///./centralita.db", validation_alias="DATABASE_URL")
    public_url: str = Field(default="http://127.0.0.1:8000", validation_alias="CENTRALITA_PUBLIC_URL")
    log_level: str = Field(default="INFO", validation_alias="CENTRALITA_LOG_LEVEL")
    sweep_seconds: float = Field(default=0.5, gt=0, le=60, validation_alias="CENTRALITA_SWEEP_SECONDS")
    outbox_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, validation_alias="CENTRALITA_OUTBOX_POLL_SECONDS"
    )
    spool_dir: str = Field(default="./spool", min_length=1, validation_alias="CENTRALITA_SPOOL_DIR")
    """Where webhooks wait while the database is unreachable (``bot.store.spool``); a local disk."""

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_client_id: str | None = Field(default=None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(default=None, validation_alias="SLACK_CLIENT_SECRET")
    """Both set: the app can be installed in each organisation's workspace (``/slack/install``)."""
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    """An app-level token (``xapp-…``): Slack's events come over Socket Mode instead of HTTP."""
    slack_check: Literal["strict", "warn"] = Field(
        default="strict", validation_alias="CENTRALITA_SLACK_CHECK"
    )
    """What a bot token Slack refuses at start does: ``strict`` refuses to start, ``warn`` starts
    degraded (an ERROR line, ``/healthz`` degraded) so that calls are still answered."""
    health_pending_seconds: float = Field(
        default=300, gt=0, validation_alias="CENTRALITA_HEALTH_PENDING_SECONDS"
    )
    """``/healthz`` is degraded while the oldest pending delivery is older than this."""
    health_dead_seconds: float = Field(default=3600, gt=0, validation_alias="CENTRALITA_HEALTH_DEAD_SECONDS")
    """``/healthz`` is degraded while a delivery was given up within this many seconds."""

    twilio_account_sid: str | None = Field(default=None, validation_alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: SecretStr | None = Field(default=None, validation_alias="TWILIO_AUTH_TOKEN")
    twilio_api_base_url: str | None = Field(default=None, validation_alias="TWILIO_API_BASE_URL")
    twilio_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, validation_alias="TWILIO_TIMEOUT_SECONDS"
    )
    """How long a Twilio REST request may take; past it, a call placed may exist (never placed again)."""

    smtp_url: SecretStr | None = Field(default=None, validation_alias="CENTRALITA_SMTP_URL")
    smtp_from: str | None = Field(default=None, validation_alias="CENTRALITA_SMTP_FROM")
    smtp_ca_file: str | None = Field(default=None, validation_alias="CENTRALITA_SMTP_CA_FILE")
    link_secret: SecretStr | None = Field(default=None, validation_alias="CENTRALITA_LINK_SECRET")

    microsoft_app_id: str | None = Field(default=None, validation_alias="MICROSOFT_APP_ID")
    microsoft_app_password: SecretStr | None = Field(default=None, validation_alias="MICROSOFT_APP_PASSWORD")
    microsoft_app_tenant_id: str | None = Field(default=None, validation_alias="MICROSOFT_APP_TENANT_ID")
    microsoft_app_type: str = Field(default="SingleTenant", validation_alias="MICROSOFT_APP_TYPE")
    # Teams (Bot Framework) endpoints, overridable for sovereign clouds and offline tests.
    microsoft_openid_metadata_url: str = Field(
        default="https://login.botframework.com/v1/.well-known/openidconfiguration",
        validation_alias="MICROSOFT_OPENID_METADATA_URL",
    )
    microsoft_login_url: str = Field(
        default="https://login.microsoftonline.com", validation_alias="MICROSOFT_LOGIN_URL"
    )

    @field_validator("microsoft_app_id", "microsoft_app_tenant_id", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("microsoft_app_type")
    @classmethod
    def _app_type(cls, value: str) -> str:
        if value not in ("SingleTenant", "MultiTenant"):
            raise ValueError(f"'{value}' must be SingleTenant or MultiTenant")
        return value

    @model_validator(mode="after")
    def _tenant_for_single_tenant(self) -> Settings:
        single = self.microsoft_app_type == "SingleTenant"
        if self.microsoft_app_id and single and not self.microsoft_app_tenant_id:
            raise ValueError(
                "MICROSOFT_APP_TENANT_ID is required for a SingleTenant app (MICROSOFT_APP_ID is set)"
            )
        return self

    @field_validator("microsoft_login_url")
    @classmethod
    def _https_only(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError(f"'{value}' must start with https:// (tokens are requested there)")
        return value.rstrip("/")

    @field_validator("microsoft_openid_metadata_url")
    @classmethod
    def _metadata_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"'{value}' must start with http:// or https://")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then ``.env``, then the defaults file if one is named."""
        sources = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        defaults = os.environ.get(DEFAULTS_FILE)
        if defaults:
            sources.append(DotEnvSettingsSource(settings_cls, env_file=defaults))
        return tuple(sources)

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError(
                "is not an app-level token (xapp-…): Basic Information → App-Level Tokens"
                " (scope connections:write)"
            )
        return value

    @field_validator(
        "slack_bot_token",
        "slack_signing_secret",
        "twilio_auth_token",
        "slack_app_token",
        "slack_client_secret",
        "link_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("slack_signing_secret", "twilio_auth_token", "slack_bot_token", "link_secret")
    @classmethod
    def _refuse_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder; set the real value or leave it unset")
        return value

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp_url(cls, value: object) -> object:
        if value in ("", None):
            return None
        if not str(value).startswith(("smtp://", "smtps://")):
            raise ValueError("must look like smtp://user:password@host:587 (STARTTLS) or smtps://…:465")
        return value

    @property
    def email_enabled(self) -> bool:
        return self.smtp_url is not None and bool(self.smtp_from)

    @field_validator("public_url", "slack_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"'{value}' must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _slack_pair(self) -> Settings:
        """Half a Slack configuration is a mistake, not a wish for the console."""
        token, secret = self.slack_bot_token is not None, self.slack_signing_secret is not None
        token = token or self.slack_install_enabled  # with the OAuth install, each workspace's token
        if self.slack_app_token is not None:  # Socket Mode: no signed HTTP requests to check
            if not token:
                raise ValueError("SLACK_BOT_TOKEN is not set but SLACK_APP_TOKEN is: Socket Mode needs both")
            return self
        if token != secret:
            oauth_alone = self.slack_install_enabled and self.slack_bot_token is None
            names = ("SLACK_CLIENT_ID" if oauth_alone else "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")
            given, missing = names if token else names[::-1]
            raise ValueError(
                f"{missing} is not set but {given} is: Slack needs both (Signing Secret: Basic"
                " Information; Bot User OAuth Token: OAuth & Permissions), or neither for the console"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        scheme = value.partition("://")[0].partition("+")[0]
        if scheme not in _DATABASES:
            raise ValueError(
                f"'{scheme}' databases are not supported; use sqlite:///./centralita.db or"
                " postgresql://user:password@host/dbname"
            )
        return value

    @property
    def slack_install_enabled(self) -> bool:
        return self.slack_client_id is not None and self.slack_client_secret is not None

    @property
    def slack_enabled(self) -> bool:
        """Slack is served: a bot token (``SLACK_BOT_TOKEN``, or the OAuth install's per workspace)
        and a way to trust its requests."""
        token = self.slack_bot_token is not None or self.slack_install_enabled
        return token and (self.slack_signing_secret is not None or self.slack_app_token is not None)

    @property
    def teams_auth_enabled(self) -> bool:
        """Teams requests are authenticated when an app id is set (README, "Microsoft Teams")."""
        return self.microsoft_app_id is not None

    @cached_property
    def async_database_url(self) -> str:
        return to_async_url(self.database_url)

    @property
    def slack_api_base(self) -> str:
        """The Web API base with the trailing slash slack_sdk's urljoin needs."""
        return self.slack_api_url if self.slack_api_url.endswith("/") else self.slack_api_url + "/"


def to_async_url(url: str) -> str:
    """Map the URL people write to the async driver we run: aiosqlite, asyncpg or psycopg."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url

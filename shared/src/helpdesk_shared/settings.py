"""Settings every service reads from the environment, with local defaults that just work."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """Environment variables shared by all services (documented in the README)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/helpdesk"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    #: The topic exchange every stored event is published to (tests use one per run).
    helpdesk_exchange: str = "helpdesk.events"
    #: Prefix of every queue this deployment declares (tests use one per run).
    helpdesk_queue_prefix: str = "helpdesk"
    helpdesk_jwt_secret: str = Field(default="change-me-in-production-please-32bytes!", repr=False)
    #: "HS256" for development; "RS256" with `helpdesk_jwks_url` in production.
    helpdesk_jwt_algorithm: str = "HS256"
    helpdesk_jwks_url: str | None = None
    helpdesk_jwt_audience: str | None = None
    helpdesk_jwt_issuer: str | None = None
    log_level: str = "INFO"
    log_json: bool = True

"""Settings every service reads from the environment, with local defaults that just work."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache

from pydantic import AliasChoices, AwareDatetime, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from helpdesk_shared.calendar import BusinessCalendar


class CommonSettings(BaseSettings):
    """Environment variables shared by all services (documented in the README)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/helpdesk"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    #: The topic exchange every stored event is published to (tests use one per run).
    helpdesk_exchange: str = "helpdesk.events"
    #: CloudEvents `source` of every published event: the relay's, and /v1/events' (the same
    #: documents on both, so a subscriber can switch between them).
    relay_source: str = "helpdesk"
    #: Prefix of every queue this deployment declares (tests use one per run).
    helpdesk_queue_prefix: str = "helpdesk"
    helpdesk_jwt_secret: str = Field(default="change-me-in-production-please-32bytes!", repr=False)
    #: "HS256" for development; "RS256" with `helpdesk_jwks_url` in production.
    helpdesk_jwt_algorithm: str = "HS256"
    helpdesk_jwks_url: str | None = None
    #: Required with RS256: the `aud` and `iss` every token must carry.
    helpdesk_jwt_audience: str | None = None
    helpdesk_jwt_issuer: str | None = None
    #: A token naming an unknown key id fetches the JWKS again, at most once per this interval.
    helpdesk_jwks_refresh_seconds: float = Field(default=30.0, gt=0)
    #: The JWKS is fetched again when older than this (keys withdrawn stop being honoured).
    helpdesk_jwks_max_age_seconds: float = Field(default=600.0, gt=0)
    #: `Retry-After` of the 503 answered while the database or the broker does not answer.
    helpdesk_retry_after_seconds: int = Field(default=2, ge=1)
    #: Every database statement is cancelled by PostgreSQL past this (`statement_timeout`; the
    #: client gives up one second later, should the server not answer at all); 0: no limit.
    helpdesk_db_statement_timeout_seconds: float = Field(default=15.0, ge=0)
    #: How long a request waits for a free connection of the pool, then for a new connection.
    helpdesk_db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    helpdesk_db_connect_timeout_seconds: float = Field(default=5.0, gt=0)
    #: asyncpg connections the event store keeps beside the engine's pool for its single
    #: statements (lone appends, reads of the log), cheaper to take than a pooled one; unset:
    #: as many as the engine's pool size (opened only when needed); 0: none.
    helpdesk_db_driver_connections: int | None = Field(default=None, ge=0)
    #: How long a fetch of the identity provider's keys (JWKS) may take.
    helpdesk_jwks_timeout_seconds: float = Field(default=5.0, gt=0)
    #: How long a publish to the broker outside the relay (a consumer's dead letter, a replay
    #: of dead letters) waits for the broker's confirmation, and a connection for the broker.
    helpdesk_broker_timeout_seconds: float = Field(default=10.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _production_auth_is_complete(self) -> CommonSettings:
        """With keys from an identity provider, a token is only trusted for this audience and
        from this issuer: both must be configured, or the service does not start."""
        if self.helpdesk_jwt_algorithm.upper().startswith(("RS", "ES", "PS")):
            missing = [
                name.upper()
                for name in ("helpdesk_jwks_url", "helpdesk_jwt_audience", "helpdesk_jwt_issuer")
                if not getattr(self, name)
            ]
            if missing:
                raise ValueError(
                    f"HELPDESK_JWT_ALGORITHM={self.helpdesk_jwt_algorithm} needs "
                    + ", ".join(missing)
                )
        return self


def _names(*names: str) -> AliasChoices:
    """The variable's name, then older names still read (the first one set wins)."""
    return AliasChoices(*names)


class CalendarSettings(CommonSettings):
    """The desk's business calendar, read by every service that counts business time.

    The ticket service (SLA clock) and the metrics service (durations, 30-minute commitment) both
    build their calendar from these variables, so both count the same time. Older per-service
    names (`TICKET_TIMEZONE`, `METRICS_OPENS`, ...) are still read when the `HELPDESK_*` one is not
    set. Lists are JSON, e.g. `HELPDESK_ON_CALL_PERIODS='[["2024-12-07T08:00:00+01:00",
    "2024-12-07T12:00:00+01:00"]]'`.
    """

    #: The desk's time zone: working hours and calendar days are local to it.
    helpdesk_timezone: str = Field(
        default="Europe/Paris",
        validation_alias=_names("helpdesk_timezone", "ticket_timezone", "metrics_timezone"),
    )
    helpdesk_working_hours_start: time = Field(
        default=time(8, 0),
        validation_alias=_names(
            "helpdesk_working_hours_start", "ticket_working_hours_start", "metrics_opens"
        ),
    )
    helpdesk_working_hours_end: time = Field(
        default=time(18, 0),
        validation_alias=_names(
            "helpdesk_working_hours_end", "ticket_working_hours_end", "metrics_closes"
        ),
    )
    #: ISO weekdays the desk works, e.g. "1,2,3,4,5"; empty means always open (24/7: no hours,
    #: no holidays, business time is elapsed time).
    helpdesk_workdays: str = Field(
        default="1,2,3,4,5", validation_alias=_names("helpdesk_workdays", "metrics_workdays")
    )
    #: Public holidays of this country do not count (empty: none).
    helpdesk_holiday_country: str | None = Field(
        default="FR",
        validation_alias=_names("helpdesk_holiday_country", "ticket_holiday_country"),
    )
    #: Further days off (the IT department's own closures).
    helpdesk_extra_holidays: list[date] = Field(
        default_factory=list,
        validation_alias=_names("helpdesk_extra_holidays", "ticket_extra_holidays"),
    )
    #: On-call periods (astreintes): their time counts, nights and holidays included.
    helpdesk_on_call_periods: list[tuple[AwareDatetime, AwareDatetime]] = Field(
        default_factory=list,
        validation_alias=_names("helpdesk_on_call_periods", "ticket_on_call_periods"),
    )

    def business_calendar(self) -> BusinessCalendar:
        """The one calendar of the desk, as configured (built once per configuration, so the
        days it has worked out are kept from one request to the next)."""
        return _calendar(
            self.helpdesk_timezone,
            (self.helpdesk_working_hours_start, self.helpdesk_working_hours_end),
            tuple(int(d) for d in self.helpdesk_workdays.split(",") if d.strip()),
            self.helpdesk_holiday_country or None,
            frozenset(self.helpdesk_extra_holidays),
            tuple(self.helpdesk_on_call_periods),
        )


@lru_cache(maxsize=8)
def _calendar(
    timezone: str,
    hours: tuple[time, time],
    workdays: tuple[int, ...],
    holiday_country: str | None,
    extra_holidays: frozenset[date],
    on_call: tuple[tuple[datetime, datetime], ...],
) -> BusinessCalendar:
    if not workdays:
        return BusinessCalendar.always_open()
    return BusinessCalendar(
        timezone=timezone,
        hours={day - 1: (hours,) for day in workdays},
        holiday_country=holiday_country,
        extra_holidays=extra_holidays,
        on_call=on_call,
    )

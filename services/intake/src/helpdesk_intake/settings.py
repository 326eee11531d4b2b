"""Intake's settings: the shared ones plus its port, body limits and staff mail domains."""

from __future__ import annotations

from datetime import timedelta

from pydantic import AliasChoices, Field

from helpdesk_intake.domain.complaints import DEFAULT_COMPLAINT_KEYWORDS
from helpdesk_intake.domain.reopening import DEFAULT_PERSISTING_PHRASES, ReopeningRules
from helpdesk_intake.domain.systems import (
    OBSOLETE_BY_DEFAULT,
    SUPPORTED_BY_DEFAULT,
    OperatingSystems,
)
from helpdesk_shared.http.rate_limit import Rate
from helpdesk_shared.settings import CommonSettings


class Settings(CommonSettings):
    """Environment variables of the intake service (documented in the README)."""

    intake_host: str = "127.0.0.1"
    intake_port: int = 8001
    #: Largest JSON body accepted on the form, calls, directory and contract routes (413 above).
    intake_max_body_bytes: int = 64 * 1024
    #: Largest raw message accepted on `/v1/inbound-emails` (413 above).
    intake_max_email_bytes: int = 10 * 1024 * 1024
    #: Mail domains of the IT staff: their replies may land on any ticket.
    intake_staff_domains: tuple[str, ...] = ("dsi.example.fr",)
    #: Words that make a request a complaint (type `complaint`, to management) when the caller
    #: did not choose the type: whole words, any case, accents optional, plural too.
    intake_complaint_keywords: tuple[str, ...] = DEFAULT_COMPLAINT_KEYWORDS
    #: Operating systems a workstation may not run (out of scope: obsolete), and the ones the
    #: desk supports (empty: any system not obsolete). Contracts may add their own.
    intake_obsolete_operating_systems: tuple[str, ...] = OBSOLETE_BY_DEFAULT
    intake_supported_operating_systems: tuple[str, ...] = SUPPORTED_BY_DEFAULT
    #: How long after a resolution the requester's reply "le problème persiste" reopens the
    #: ticket (the ticket service's reopening window: the same `TICKET_REOPEN_WINDOW_DAYS` is
    #: read); after it, the reply opens a new ticket linked to the old one.
    intake_reopen_window_days: int = Field(
        default=10,
        validation_alias=AliasChoices("intake_reopen_window_days", "ticket_reopen_window_days"),
    )
    #: What such a reply says (accents and case do not matter; quoted text is not read).
    intake_persisting_phrases: tuple[str, ...] = DEFAULT_PERSISTING_PHRASES
    #: The time zone whose calendar dates the contract checks and the reference years.
    intake_timezone: str = "Europe/Paris"
    #: The ticket service, asked for knowledge articles matching a new request
    #: (`INTAKE_TICKET_URL`, else the local runner's `HELPDESK_TICKET_URL`).
    intake_ticket_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("intake_ticket_url", "helpdesk_ticket_url"),
    )
    #: How long the request's answer waits for those suggestions (none after that).
    intake_suggestions_timeout_seconds: float = 0.5
    #: Openings of `POST /v1/requests` inside their transaction at once; later ones wait before
    #: taking a connection. Every opening locks its reference counter until commit, and with many
    #: openings on the event loop the holder's next round trip waits behind all the others, so
    #: the lock was held longer the more were in flight (and the pool ran dry): above about 16 in
    #: flight the rate fell instead of levelling off (docs/performance.md).
    intake_openings_in_flight: int = Field(default=8, ge=1)
    #: How long intake stops asking for suggestions after the ticket service could not be
    #: reached (refused or timed out): openings then answer `[]` at once.
    intake_suggestions_pause_seconds: float = Field(default=5.0, ge=0)
    #: Rate limit of the public routes (`POST /v1/requests`, `/v1/inbound-emails`, `/v1/calls`)
    #: per requester, or per client IP without a valid token: 429 with `Retry-After` above it.
    #: 0 requests per minute means no limit.
    intake_rate_limit_per_minute: float = Field(default=30, ge=0)
    intake_rate_limit_burst: int = Field(default=10, ge=1)
    #: The same for staff and services (the desk types in calls, the mail gateway pushes bursts).
    intake_rate_limit_staff_per_minute: float = Field(default=0, ge=0)
    intake_rate_limit_staff_burst: int = Field(default=200, ge=1)

    def operating_systems(self) -> OperatingSystems:
        return OperatingSystems(
            obsolete=tuple(self.intake_obsolete_operating_systems),
            supported=tuple(self.intake_supported_operating_systems),
        )

    def reopening_rules(self) -> ReopeningRules:
        return ReopeningRules(
            timedelta(days=self.intake_reopen_window_days), tuple(self.intake_persisting_phrases)
        )

    def public_rate(self) -> Rate:
        return Rate(self.intake_rate_limit_per_minute, self.intake_rate_limit_burst)

    def staff_rate(self) -> Rate:
        return Rate(self.intake_rate_limit_staff_per_minute, self.intake_rate_limit_staff_burst)

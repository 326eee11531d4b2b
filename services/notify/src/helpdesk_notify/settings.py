"""Notify's settings: the common ones, SMTP, and where each kind of mail goes."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from helpdesk_notify.domain.notifications import Routing
from helpdesk_shared.settings import CommonSettings


class Settings(CommonSettings):
    """Environment variables (README): `NOTIFY_HOST`/`NOTIFY_PORT` (or `HOST`/`PORT`),
    `SMTP_HOST`, `SMTP_PORT`, `SMTP_*`, `NOTIFY_*`."""

    notify_host: str = Field(
        default="127.0.0.1", validation_alias=AliasChoices("NOTIFY_HOST", "HOST")
    )
    notify_port: int = Field(default=8003, validation_alias=AliasChoices("NOTIFY_PORT", "PORT"))
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_starttls: bool = False
    #: Seconds per SMTP exchange; kept well under the database's idle-in-transaction timeout.
    smtp_timeout: float = 10.0
    #: Persistent SMTP connections shared by the mails being sent (one transaction each at a
    #: time); a mail waits at most `smtp_timeout` for a free one. Opening a connection per mail
    #: capped a burst at about 87 mails/s; a few reused ones are enough for the prefetch of 8.
    notify_smtp_connections: int = Field(default=4, ge=1, le=32)
    notify_from: str = "Guichet d'assistance DSI <helpdesk@helpdesk.local>"
    #: JSON object, group -> mailbox (`{"servers": "n2-serveurs@ac-paris.fr"}`).
    notify_group_mailboxes: dict[str, str] = Field(default_factory=dict)
    #: Mailbox of a group missing from the mapping: `<group>@<this domain>`.
    notify_group_domain: str = "helpdesk.local"
    notify_management_address: str = "management@helpdesk.local"
    #: JSON object, group -> language of its mailbox's mails (`{"servers": "en"}`); `fr` or
    #: `en`, French for a group left out or a language without templates.
    notify_group_languages: dict[str, str] = Field(default_factory=dict)
    notify_management_language: str = "fr"
    #: The requesters' portal, for the "follow your ticket" and "rate it" links.
    notify_portal_url: str = "http://localhost:8080"
    notify_message_id_domain: str = "helpdesk.local"
    #: Run the consumer in the app (off for an API-only replica).
    notify_consumer_enabled: bool = True
    #: Messages handled at once. Each holds two database connections (the consumer's transaction
    #: and the ledger's), so the engine this service creates has room for twice as many.
    notify_consumer_prefetch: int = Field(default=8, ge=1, le=64)
    #: Deliveries handled per consumer transaction, among those already prefetched (no waiting
    #: for more: a lone event goes at once). A batch records its views and notifications in one
    #: transaction, then sends its mails a ticket after the other in stream order, the tickets
    #: concurrently, each mail marked sent and committed as it goes, so a burst pays a few
    #: statements per batch for the recording. A failed batch is handled again one by one and
    #: the ledger skips the mails already marked sent, as on a retry: no mail is sent twice.
    #: 1: each event alone.
    notify_consumer_batch_size: int = Field(default=16, ge=1, le=64)
    #: Attempts per message before it is parked in the dead-letter queue, and the first back-off.
    notify_consumer_max_attempts: int = Field(default=5, ge=1)
    notify_consumer_backoff_seconds: float = Field(default=0.5, gt=0)
    #: Send the daily follow-up digest from the app at this UTC hour (None: not scheduled).
    notify_digest_hour: int | None = None

    def routing(self) -> Routing:
        return Routing(
            group_mailboxes=dict(self.notify_group_mailboxes),
            group_domain=self.notify_group_domain,
            management_address=self.notify_management_address,
            group_languages=dict(self.notify_group_languages),
            management_language=self.notify_management_language,
            portal_url=self.notify_portal_url,
            message_id_domain=self.notify_message_id_domain,
        )

"""Wire the notify service: engine, SMTP sender, consumer, routes. Nothing is created at import."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncEngine

import helpdesk_notify
from helpdesk_notify.adapters.smtp import DeliveryError, SmtpSender
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.delivery import MailSender
from helpdesk_notify.application.digest import run_daily
from helpdesk_notify.application.ports import NotifyUnits
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.entrypoints import http_notifications
from helpdesk_notify.entrypoints.consumer import build_consumer
from helpdesk_notify.settings import Settings
from helpdesk_shared.db import DatabaseTimeouts, create_engine
from helpdesk_shared.metrics import new_registry
from helpdesk_shared.service import Background, Closer, Consuming, build_service

VERSION = "0.1.0"


def smtp_sender(settings: Settings) -> SmtpSender:
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.notify_from,
        timeout=settings.smtp_timeout,
        username=settings.smtp_username,
        password=settings.smtp_password,
        start_tls=settings.smtp_starttls,
        connections=settings.notify_smtp_connections,
    )


def units_on(engine: AsyncEngine) -> NotifyUnits:
    """Notify's units of work on PostgreSQL (views, ledger and the store's past events)."""
    return PostgresNotifyUnits(engine)


class CountingSender:
    """Counts the mails the SMTP server accepted or refused, for `/metrics`."""

    def __init__(self, inner: MailSender, registry: CollectorRegistry) -> None:
        self._inner = inner
        self._mails = Counter(
            "helpdesk_notify_mails_total",
            "Mails handed to SMTP, by outcome",
            ["outcome"],
            registry=registry,
        )

    async def send(self, mail: Mail) -> str:
        try:
            reply = await self._inner.send(mail)
        except DeliveryError as error:
            self._mails.labels("refused" if error.permanent else "failed").inc()
            raise
        self._mails.labels("sent").inc()
        return reply


def build_app(
    settings: Settings | None = None,
    engine: AsyncEngine | None = None,
    sender: MailSender | None = None,
) -> FastAPI:
    """The notify app; its lifespan runs the consumer (unless disabled) and the digest schedule.

    Tests pass their own settings, engine (theirs to dispose of) and sender.
    """
    settings = settings or Settings()
    registry = new_registry()
    closers: list[Closer] = []
    if sender is None:
        own_smtp = smtp_sender(settings)
        sender, closers = own_smtp, [own_smtp.close]
    counted = CountingSender(sender, registry)
    owns_engine = engine is None
    engine = engine or create_engine(
        settings.database_url,
        pool_size=2 * settings.notify_consumer_prefetch + 2,
        application_name="helpdesk-notify",
        timeouts=DatabaseTimeouts.of(settings),
        driver_connections=settings.helpdesk_db_driver_connections,
    )
    units = units_on(engine)
    return build_service(
        service="notify",
        version=VERSION,
        settings=settings,
        engine=engine,
        owns_engine=owns_engine,
        readiness_table="notify.notifications",
        routers=[http_notifications.router],
        consuming=Consuming(
            [build_consumer(settings, engine, units, counted)],
            enabled=settings.notify_consumer_enabled,
        ),
        background=_digest_schedule(settings, units, counted),
        closers=closers,
        registry=registry,
        description=helpdesk_notify.__doc__ or "",
    )


def _digest_schedule(
    settings: Settings, units: NotifyUnits, sender: MailSender
) -> list[Background]:
    """The daily digest, when the app schedules it (`NOTIFY_DIGEST_HOUR`)."""
    hour = settings.notify_digest_hour
    if hour is None:
        return []
    routing = settings.routing()
    return [Background("notify-digest", lambda: run_daily(units, sender, routing, hour))]

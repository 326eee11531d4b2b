"""Wire the notify service: engine, SMTP sender, consumer, routes. Nothing is created at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aio_pika
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.ext.asyncio import AsyncEngine

import helpdesk_notify
from helpdesk_notify.adapters.smtp import DeliveryError, SmtpSender
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits
from helpdesk_notify.application.delivery import MailSender
from helpdesk_notify.application.digest import run_daily
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.application.ports import NotifyUnits
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.entrypoints import notifications
from helpdesk_notify.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.http.app import Lifespan, ReadinessCheck, create_app
from helpdesk_shared.http.serve import database_check
from helpdesk_shared.messaging.consumer import Consumer
from helpdesk_shared.messaging.dead_letters import dead_letter_router

VERSION = "0.1.0"
CONSUMER_NAME = "notify"
#: Notify only tells people about tickets.
BINDINGS = ("ticket.#",)

log = logging.getLogger(__name__)


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
            "notify_mails_total", "Mails handed to SMTP, by outcome", ["outcome"], registry=registry
        )

    async def send(self, mail: Mail) -> str:
        try:
            reply = await self._inner.send(mail)
        except DeliveryError as error:
            self._mails.labels("refused" if error.permanent else "failed").inc()
            raise
        self._mails.labels("sent").inc()
        return reply


@dataclass(frozen=True)
class _Parts:
    """What the app's lifespan and readiness checks share."""

    settings: Settings
    engine: AsyncEngine
    owns_engine: bool
    sender: MailSender
    consumer: Consumer
    units: NotifyUnits
    #: The SMTP sender the app made (its connections are closed at shutdown); None when given.
    own_smtp: SmtpSender | None = None


def build_app(
    settings: Settings | None = None,
    engine: AsyncEngine | None = None,
    sender: MailSender | None = None,
) -> FastAPI:
    """The notify app; its lifespan runs the consumer (unless disabled) and the digest schedule.

    Tests pass their own settings, engine (theirs to dispose of) and sender.
    """
    settings = settings or Settings()
    registry = CollectorRegistry()
    own_smtp: SmtpSender | None = None
    if sender is None:
        sender = own_smtp = smtp_sender(settings)
    parts = _wire(settings, engine, CountingSender(sender, registry), own_smtp)
    app = create_app(
        service="notify",
        version=VERSION,
        settings=settings,
        routers=[
            notifications.router,
            dead_letter_router(
                amqp_url=settings.amqp_url,
                queue_prefix=settings.helpdesk_queue_prefix,
                consumers=(CONSUMER_NAME,),
            ),
        ],
        readiness_checks=_readiness_checks(parts),
        lifespan=_lifespan(parts),
        registry=registry,
        description=helpdesk_notify.__doc__ or "",
    )
    app.state.engine = parts.engine
    app.state.consumer = parts.consumer
    return app


def _wire(
    settings: Settings,
    engine: AsyncEngine | None,
    sender: MailSender,
    own_smtp: SmtpSender | None,
) -> _Parts:
    owns_engine = engine is None
    engine = engine or create_engine(
        settings.database_url,
        pool_size=2 * settings.notify_consumer_prefetch + 2,
        application_name="helpdesk-notify",
    )
    units = units_on(engine)
    handler = NotifyHandler(units=units, sender=sender, routing=settings.routing())
    consumer = Consumer(
        name=CONSUMER_NAME,
        engine=engine,
        amqp_url=settings.amqp_url,
        exchange=settings.helpdesk_exchange,
        queue_prefix=settings.helpdesk_queue_prefix,
        handler=handler,
        bindings=BINDINGS,
        prefetch=settings.notify_consumer_prefetch,
        max_attempts=settings.notify_consumer_max_attempts,
        backoff_seconds=settings.notify_consumer_backoff_seconds,
    )
    return _Parts(settings, engine, owns_engine, sender, consumer, units, own_smtp)


def _lifespan(parts: _Parts) -> Lifespan:
    settings = parts.settings

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if settings.notify_consumer_enabled:
            tasks.append(asyncio.create_task(parts.consumer.start_when_broker_answers()))
        if settings.notify_digest_hour is not None:
            routing, hour = settings.routing(), settings.notify_digest_hour
            tasks.append(asyncio.create_task(run_daily(parts.units, parts.sender, routing, hour)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await parts.consumer.stop()
            if parts.own_smtp is not None:
                await parts.own_smtp.close()
            if parts.owns_engine:
                await parts.engine.dispose()

    return lifespan


def _readiness_checks(parts: _Parts) -> dict[str, ReadinessCheck]:
    """The database (notify's tables) and the broker (the consumer's own connection)."""

    async def broker() -> None:
        if parts.settings.notify_consumer_enabled:
            await parts.consumer.ready()
            return
        connection = await aio_pika.connect(parts.settings.amqp_url, timeout=3)
        await connection.close()

    return {"database": database_check(parts.engine, "notify.notifications"), "broker": broker}

"""Wire the notify service: engine, SMTP sender, consumer, routes. Nothing is created at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aio_pika
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

import helpdesk_notify
from helpdesk_notify.adapters.smtp import DeliveryError, SmtpSender
from helpdesk_notify.application.delivery import MailSender
from helpdesk_notify.application.digest import run_daily
from helpdesk_notify.application.handle_event import NotifyHandler
from helpdesk_notify.domain.mail import Mail
from helpdesk_notify.entrypoints import notifications
from helpdesk_notify.settings import Settings
from helpdesk_shared.db import create_engine
from helpdesk_shared.http.app import create_app
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
    )


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


def build_app(
    settings: Settings | None = None,
    engine: AsyncEngine | None = None,
    sender: MailSender | None = None,
) -> FastAPI:
    """The notify app; its lifespan runs the consumer (unless disabled) and the digest schedule.

    Tests pass their own settings, engine (theirs to dispose of) and sender.
    """
    settings = settings or Settings()
    owned = engine is None
    engine = engine or create_engine(
        settings.database_url,
        pool_size=2 * settings.notify_consumer_prefetch + 2,
        application_name="helpdesk-notify",
    )
    registry = CollectorRegistry()
    mail_sender = CountingSender(sender or smtp_sender(settings), registry)
    handler = NotifyHandler(engine=engine, sender=mail_sender, routing=settings.routing())
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

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if settings.notify_consumer_enabled:
            tasks.append(asyncio.create_task(_start_when_broker_answers(consumer)))
        if settings.notify_digest_hour is not None:
            daily = run_daily(engine, mail_sender, settings.routing(), settings.notify_digest_hour)
            tasks.append(asyncio.create_task(daily))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await consumer.stop()
            if owned:
                await engine.dispose()

    async def database() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1 FROM notify.notifications LIMIT 1"))

    async def broker() -> None:
        if settings.notify_consumer_enabled:
            await consumer.ready()
            return
        connection = await aio_pika.connect(settings.amqp_url, timeout=3)
        await connection.close()

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
        readiness_checks={"database": database, "broker": broker},
        lifespan=lifespan,
        registry=registry,
        description=helpdesk_notify.__doc__ or "",
    )
    app.state.engine = engine
    app.state.consumer = consumer
    return app


async def _start_when_broker_answers(consumer: Consumer, max_delay: float = 10.0) -> None:
    """Start consuming, retrying while the broker is unreachable (`/readyz` says so meanwhile)."""
    delay = 0.5
    while True:
        try:
            await consumer.start()
            return
        except (OSError, aio_pika.exceptions.AMQPError) as error:
            log.warning("notify consumer cannot start yet (%r); retrying in %.1fs", error, delay)
            with contextlib.suppress(OSError, aio_pika.exceptions.AMQPError, RuntimeError):
                await consumer.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)

"""A mail's unit of delivery on real PostgreSQL: its lock, its read, its mark and commit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_notify.adapters.deliveries import quoted
from helpdesk_notify.adapters.ledger import lock_key
from helpdesk_notify.adapters.unit_of_work import PostgresNotifyUnits

#: A reply with quotes and backslashes, which must come back as it was sent.
REPLY = "250 2.0.0 Ok: queued as 'A1' \\'; DROP TABLE x; --\\"


async def pending(engine: AsyncEngine) -> uuid.UUID:
    """A notification planned and not sent yet."""
    notification = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO notify.notifications (id, ticket_id, event_id, recipient, template, "
                "language, status, message_id, subject, body_text, body_html) VALUES (:id, "
                ":id, :id, 'a@example.org', 'opened', 'fr', 'pending', '<m@x>', 's', 't', 'h')"
            ),
            {"id": notification},
        )
    return notification


async def advisory_locks(engine: AsyncEngine) -> int:
    """Advisory locks held in this run's database (other databases of the cluster are not ours)."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
    return int(found or 0)


async def test_a_worker_that_waited_for_the_lock_reads_the_mark_of_its_holder(
    units_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    """The read after the lock sees what the holder committed while the other waited: read in
    the lock's own statement (its snapshot taken before the wait), it would find the mail
    pending and send it a second time."""
    units = PostgresNotifyUnits(units_engine)
    notification = await pending(engine)

    async def second() -> str | None:
        async with units.deliveries() as unit:
            row = await unit.ledger.lock(notification)
            return None if row is None else row.status

    async with units.deliveries() as first:
        row = await first.ledger.lock(notification)
        assert row is not None
        assert row.status == "pending"
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # it waits for the lock
        await first.ledger.mark_sent(notification, REPLY)
    assert await waiting == "sent"
    async with engine.connect() as conn:
        stored = await conn.execute(
            text("SELECT attempts, smtp_response FROM notify.notifications WHERE id = :id"),
            {"id": notification},
        )
        assert tuple(stored.one()) == (1, REPLY)
    assert await advisory_locks(engine) == 0


async def test_a_plain_statement_that_waited_for_the_lock_would_read_the_mail_pending(
    engine: AsyncEngine,
) -> None:
    """Why the lock and the read are a VOLATILE function (`notify.locked_notification`): one
    plain statement that takes the lock and reads reads with the snapshot taken when it started,
    before the wait, so it finds the mail pending after its holder committed the mark, and the
    mail would be sent a second time."""
    units = PostgresNotifyUnits(engine)
    notification = await pending(engine)
    plain = text(
        "SELECT n.status FROM (SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))) AS l, "
        "notify.notifications AS n WHERE n.id = :id"
    )

    async def locked_and_read_at_once() -> str | None:
        async with engine.begin() as conn:
            found = await conn.scalar(plain, {"key": lock_key(notification), "id": notification})
            return None if found is None else str(found)

    async with units.deliveries() as first:
        await first.ledger.lock(notification)
        waiting = asyncio.create_task(locked_and_read_at_once())
        await asyncio.sleep(0.3)
        assert not waiting.done()  # it waits for the lock
        await first.ledger.mark_sent(notification, REPLY)
    assert await waiting == "pending"  # the mark committed, yet not seen: it would resend


async def test_a_unit_that_fails_leaves_no_transaction_and_no_lock(
    units_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    units = PostgresNotifyUnits(units_engine)
    notification = await pending(engine)

    async def broken() -> None:
        async with units.deliveries() as unit:
            await unit.ledger.lock(notification)
            raise RuntimeError("the sender broke")

    with pytest.raises(RuntimeError):
        await broken()
    assert await advisory_locks(engine) == 0
    async with units.deliveries() as unit:  # the connection is usable: nothing left open
        row = await unit.ledger.lock(notification)
        assert row is not None
        assert row.status == "pending"
    async with engine.connect() as conn:
        status = await conn.scalar(
            text("SELECT status FROM notify.notifications WHERE id = :id"), {"id": notification}
        )
    assert status == "pending"
    assert await advisory_locks(engine) == 0


async def test_a_failed_mail_is_marked_when_its_unit_ends(
    units_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    units = PostgresNotifyUnits(units_engine)
    notification = await pending(engine)
    async with units.deliveries() as unit:
        await unit.ledger.lock(notification)
        await unit.ledger.mark_failed(notification, "421 try later", retryable=True)
    async with engine.connect() as conn:
        stored = await conn.execute(
            text("SELECT status, error, retryable FROM notify.notifications WHERE id = :id"),
            {"id": notification},
        )
        assert tuple(stored.one()) == ("failed", "421 try later", True)
    assert await advisory_locks(engine) == 0


@pytest.mark.parametrize("standard", ["on", "off"])
async def test_a_quoted_reply_reads_back_as_sent_whatever_the_string_setting(
    engine: AsyncEngine, standard: str
) -> None:
    async with engine.connect() as conn:
        await conn.execute(text(f"SET standard_conforming_strings = {standard}"))
        # The literal is what the simple protocol sends: no parameter can carry it.
        read = await conn.scalar(text(f"SELECT {quoted(REPLY)}".replace(":", r"\:")))
        await conn.execute(text("RESET standard_conforming_strings"))
    assert read == REPLY


async def test_a_unit_whose_connection_is_found_dead_locks_on_a_new_one(
    units_engine: AsyncEngine, engine: AsyncEngine, terminate_units: Callable[[], None]
) -> None:
    """No ping before a unit (on the engine's own connections): its first statement finds the
    connection a restart killed, and runs again, once, on a new one; on SQLAlchemy's pool the
    checkout's ping replaces it. Either way the mail is locked, read and marked once."""
    units = PostgresNotifyUnits(units_engine)
    first, second = await pending(engine), await pending(engine)
    async with units.deliveries() as unit:  # leaves its connection idle in the pool
        await unit.ledger.lock(first)
    terminate_units()
    async with units.deliveries() as unit:
        row = await unit.ledger.lock(second)
        assert row is not None
        assert row.status == "pending"
        await unit.ledger.mark_sent(second, REPLY)
    async with engine.connect() as conn:
        stored = await conn.execute(
            text("SELECT status, attempts FROM notify.notifications WHERE id = :id"),
            {"id": second},
        )
        assert tuple(stored.one()) == ("sent", 1)
    assert await advisory_locks(engine) == 0


async def test_a_connection_lost_after_the_lock_fails_its_unit_and_not_the_next(
    units_engine: AsyncEngine, engine: AsyncEngine, terminate_units: Callable[[], None]
) -> None:
    """Only the unit's first statement is run again: a mark whose connection died is not (the
    delivery writes it again on a fresh unit). The next unit gets a live connection."""
    units = PostgresNotifyUnits(units_engine)
    notification = await pending(engine)

    async def marked_once_its_connection_died() -> None:
        async with units.deliveries() as unit:
            await unit.ledger.lock(notification)
            terminate_units()
            await unit.ledger.mark_sent(notification, REPLY)

    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the dead connection raises
        await marked_once_its_connection_died()
    async with units.deliveries() as unit:
        row = await unit.ledger.lock(notification)
        assert row is not None
        assert row.status == "pending"  # the lost mark was not committed
    assert await advisory_locks(engine) == 0


async def test_a_unit_cancelled_while_waiting_for_the_lock_leaves_no_lock(
    units_engine: AsyncEngine, engine: AsyncEngine
) -> None:
    """The lock is the session's: a unit interrupted while it waits (or just after it got the
    lock) drops its connection, and the server releases what it held with the session."""
    units = PostgresNotifyUnits(units_engine)
    notification = await pending(engine)

    async def waits() -> None:
        async with units.deliveries() as unit:
            await unit.ledger.lock(notification)

    async with units.deliveries() as first:
        await first.ledger.lock(notification)
        waiting = asyncio.create_task(waits())
        await asyncio.sleep(0.3)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await first.ledger.mark_sent(notification, REPLY)
    for _ in range(50):  # a dropped session's locks go when the server has seen it go
        if await advisory_locks(engine) == 0:
            break
        await asyncio.sleep(0.05)
    assert await advisory_locks(engine) == 0
    async with units.deliveries() as unit:
        row = await unit.ledger.lock(notification)
        assert row is not None
        assert row.status == "sent"
    assert await advisory_locks(engine) == 0

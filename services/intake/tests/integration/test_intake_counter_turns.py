"""The openings of one process take a counter's number in turn (`adapters/counter_turns.py`):
the turn is given back after the commit or the rollback, numbers stay distinct and gapless, and
the counter's row still orders the openings of another process (a unit without the turn)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_intake.adapters.unit_of_work import PostgresIntakeUnits
from helpdesk_intake.application.ports import IndexedTicket, Opening
from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import NewEvent
from helpdesk_shared.eventstore.store import EventStore

YEAR = 2026
#: Long enough for a turn to come on a loaded machine; a turn never given back waits forever.
PATIENCE = 10.0


class Refused(Exception):
    """What goes wrong in an opening after its number was taken."""


@pytest.fixture
async def own_engine(fresh_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_database_url, pool_size=10, application_name="intake-turns")
    yield engine
    await engine.dispose()


@pytest.fixture
def units(own_engine: AsyncEngine) -> PostgresIntakeUnits:
    return PostgresIntakeUnits(own_engine, EventStore(own_engine))


def opening(prefix: str, ticket_id: uuid.UUID | None = None) -> tuple[Opening, NewEvent]:
    ticket = IndexedTicket(ticket_id or uuid.uuid4(), "", "turns.tester", None)
    event = NewEvent("TicketOpened", {"ticket_id": str(ticket.ticket_id)})
    return Opening(prefix, YEAR, ticket, "web"), event


async def open_one(units: PostgresIntakeUnits, prefix: str) -> int:
    async with units() as unit:
        reference = await unit.tickets.open_numbered(*opening(prefix))
    return int(reference.rsplit("-", 1)[1])


async def indexed(engine: AsyncEngine, prefix: str) -> list[int]:
    sql = text("SELECT reference FROM intake.tickets WHERE reference LIKE :p ORDER BY reference")
    async with engine.connect() as conn:
        rows = await conn.execute(sql, {"p": f"{prefix}-%"})
        return [int(row.reference.rsplit("-", 1)[1]) for row in rows]


async def test_a_failure_after_the_number_gives_the_turn_back(
    units: PostgresIntakeUnits, own_engine: AsyncEngine
) -> None:
    """The number of a rolled-back opening is taken by the next, which is not kept waiting."""

    async def numbered_then_refused() -> None:
        async with units() as unit:
            await unit.tickets.open_numbered(*opening("TRN"))
            assert units.turns.lock(("TRN", YEAR)).locked()
            raise Refused

    with pytest.raises(Refused):
        await numbered_then_refused()
    assert not units.turns.lock(("TRN", YEAR)).locked()
    assert await asyncio.wait_for(open_one(units, "TRN"), PATIENCE) == 1
    assert await indexed(own_engine, "TRN") == [1]


async def test_a_failing_numbering_statement_gives_the_turn_back(
    units: PostgresIntakeUnits,
) -> None:
    """A ticket id indexed already fails the numbering statement itself: rolled back, the
    turn is free for the next opening, which takes the number the failed one did not keep."""
    ticket_id = uuid.uuid4()
    async with units() as unit:
        await unit.tickets.open_numbered(*opening("TRF", ticket_id))
    with pytest.raises(IntegrityError):
        async with units() as unit:
            await unit.tickets.open_numbered(*opening("TRF", ticket_id))
    assert await asyncio.wait_for(open_one(units, "TRF"), PATIENCE) == 2


async def test_the_turn_is_held_until_the_commit_has_ended(units: PostgresIntakeUnits) -> None:
    """An opening numbered but not yet committed keeps the next one of this process out of
    PostgreSQL; it gets its number once the first has committed."""
    numbered, finish = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with units() as unit:
            await unit.tickets.open_numbered(*opening("TRH"))
            numbered.set()
            await finish.wait()

    holder = asyncio.create_task(first())
    await numbered.wait()
    waiter = asyncio.create_task(open_one(units, "TRH"))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    finish.set()
    await holder
    assert await asyncio.wait_for(waiter, PATIENCE) == 2


async def test_concurrent_openings_get_distinct_gapless_numbers(
    units: PostgresIntakeUnits, own_engine: AsyncEngine
) -> None:
    """Thirty openings at once, every fourth rolled back after its number, and a second
    process's openings (units of their own, with turns of their own) on the same counter:
    the committed ones hold exactly 1..n, each once."""
    replica = PostgresIntakeUnits(own_engine, EventStore(own_engine))

    async def maybe_failing(i: int) -> None:
        async with (replica if i % 3 == 0 else units)() as unit:
            await unit.tickets.open_numbered(*opening("TRC"))
            await asyncio.sleep(0.001 * (i % 5))
            if i % 4 == 0:
                raise Refused

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(maybe_failing(i) for i in range(30)), return_exceptions=True), PATIENCE
    )
    committed = sum(1 for outcome in outcomes if outcome is None)
    assert all(outcome is None or isinstance(outcome, Refused) for outcome in outcomes)
    assert await indexed(own_engine, "TRC") == list(range(1, committed + 1))

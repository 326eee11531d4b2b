"""The problem lists, planned as the service's connections plan them, on a log whose statistics
PostgreSQL knows: they read the problems' own index, never the whole log (docs/performance.md,
"Generic plans on an analyzed log")."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from helpdesk_shared.db import create_engine
from helpdesk_shared.eventstore.model import ExpectedVersion, NewEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_testkit.plans import generic_plan, scans_of, vacuum_analyze
from helpdesk_ticket.adapters.queries.problems import _ALL, _LINKING, problem_ids

#: Tickets' events after the problems: the log a page of problems must not read through.
LOG = 2000
#: Fewer problems than a page holds: the page is only complete at the log's first event.
PROBLEMS = 3
INCIDENT = uuid.uuid4()


async def _problems_then_tickets(engine: AsyncEngine) -> list[uuid.UUID]:
    """`PROBLEMS` problem streams, the first linking `INCIDENT`, then `LOG` other events, all
    analyzed; the problems' ids, oldest first."""
    store = EventStore(engine)
    problems = [uuid.uuid4() for _ in range(PROBLEMS)]
    for n, problem in enumerate(problems):
        linked = INCIDENT if n == 0 else uuid.uuid4()
        events = [
            NewEvent(type="ProblemRecorded", data={"problem_id": str(problem)}),
            NewEvent(type="IncidentLinked", data={"ticket_id": str(linked)}),
        ]
        await store.append(f"problem-{problem}", ExpectedVersion.NO_STREAM, events)
    for _ in range(LOG // 500):
        events = [NewEvent(type="CommentAdded", data={"n": n}) for n in range(500)]
        await store.append(f"ticket-{uuid.uuid4()}", ExpectedVersion.NO_STREAM, events)
    await vacuum_analyze(engine, "eventstore.events")
    return problems


def _read_only_problem_events(nodes: list[dict[str, Any]]) -> None:
    scans = scans_of(nodes)
    assert [node.get("Index Name") for node in scans] == ["events_problem_streams"], scans
    read = scans[0]["Actual Rows"] + scans[0].get("Rows Removed by Filter", 0)
    assert read == 2 * PROBLEMS, scans


async def test_the_problem_lists_read_the_problems_events_not_the_whole_log(
    fresh_database_url: str,
) -> None:
    engine = create_engine(fresh_database_url, pool_size=2, application_name="problem-tests")
    try:
        problems = await _problems_then_tickets(engine)

        _read_only_problem_events(await generic_plan(engine, _ALL, {"limit": 50}))
        linking = {"ticket_id": str(INCIDENT), "limit": 50}
        _read_only_problem_events(await generic_plan(engine, _LINKING, linking))

        assert await problem_ids(engine) == problems[::-1]
        assert await problem_ids(engine, INCIDENT) == problems[:1]
    finally:
        await engine.dispose()

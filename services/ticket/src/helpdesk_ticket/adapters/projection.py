"""The list projection: `ticket.tickets`, one row per ticket, upserted from the rebuilt state.

Each ticket event gives its ticket's state at that event (the event folded into the state before
it when that is in memory, else the stream read up to it inside the subscription's transaction),
so the row is a pure function of the stream: replaying, rebuilding from scratch or handling an
event twice all give the same row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from helpdesk_shared.events.ticket import SlaTarget
from helpdesk_shared.eventstore.model import RecordedEvent
from helpdesk_shared.eventstore.store import EventStore
from helpdesk_shared.eventstore.subscription import CatchUpSubscription
from helpdesk_shared.kernel import DEFAULT_CACHE_SIZE, StateCache
from helpdesk_ticket.adapters.snapshots import TicketSnapshots
from helpdesk_ticket.domain.ticket import ticket_decider
from helpdesk_ticket.domain.ticket.policy import TicketPolicy
from helpdesk_ticket.domain.ticket.sla import TargetView, sla_views
from helpdesk_ticket.domain.ticket.state import ClockState, Ticket

SUBSCRIPTION_NAME = "ticket-list-projection"

_COLUMNS = [
    "ticket_id",
    "reference",
    "type",
    "status",
    "category",
    "priority",
    "group_name",
    "level",
    "assignee",
    "requester",
    "requester_name",
    "subject",
    "description",
    "channel",
    "admissibility",
    "received_at",
    "opened_at",
    "taken_at",
    "resolved_at",
    "closed_at",
    "last_activity_at",
    "take_due_at",
    "resolution_due_at",
    "next_sla_check_at",
    "sla_paused",
    "sla_breached",
    "first_contact",
    "satisfaction",
    "version",
]
_UPSERT = text(
    f"""INSERT INTO ticket.tickets ({", ".join(_COLUMNS)})
    VALUES ({", ".join(":" + c for c in _COLUMNS)})
    ON CONFLICT (ticket_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])}
    WHERE ticket.tickets.version <= excluded.version"""  # noqa: S608 - fixed column names
)


def _pending(view: TargetView) -> bool:
    return view.completed_at is None and view.deadline is not None


def _next_check(ticket: Ticket, views: tuple[TargetView, ...]) -> datetime | None:
    """When the SLA watcher should look at this ticket next (None: nothing can happen)."""
    moments = []
    for view in views:
        if view.target in ticket.breached:
            continue
        if view.completed_at is not None:
            if view.breached:
                moments.append(view.completed_at)  # met late: record the breach
            continue
        if view.deadline is None:
            continue
        if view.target not in ticket.warned and view.warning_at is not None:
            moments.append(view.warning_at)
        else:
            moments.append(view.deadline)
    return min(moments, default=None)


def row(ticket: Ticket, version: int, policy: TicketPolicy, now: datetime) -> dict[str, Any]:
    """The projected row of one ticket."""
    views = sla_views(ticket, policy, now)
    by_target = {v.target: v for v in views}
    take, resolution = by_target[SlaTarget.TAKING_INTO_ACCOUNT], by_target[SlaTarget.RESOLUTION]
    resolved = ticket.resolution
    return {
        "ticket_id": ticket.id,
        "reference": ticket.reference,
        "type": ticket.type.value,
        "status": ticket.status.value,
        "category": ticket.category,
        "priority": ticket.priority.value if ticket.priority else None,
        "group_name": ticket.group,
        "level": ticket.level,
        "assignee": ticket.assignee,
        "requester": ticket.requester,
        "requester_name": ticket.requester_name,
        "subject": ticket.subject,
        "description": ticket.description,
        "channel": ticket.channel,
        "admissibility": ticket.admissibility.value,
        "received_at": ticket.received_at,
        "opened_at": ticket.opened_at,
        "taken_at": ticket.taken_at,
        "resolved_at": resolved.at if resolved and not ticket.is_open else None,
        "closed_at": ticket.closed_at,
        "last_activity_at": ticket.last_activity_at or ticket.opened_at,
        "take_due_at": take.deadline if _pending(take) else None,
        "resolution_due_at": resolution.deadline if _pending(resolution) else None,
        "next_sla_check_at": _next_check(ticket, views),
        "sla_paused": bool(ticket.clock) and ticket.clock[-1].state == ClockState.PAUSED,
        "sla_breached": bool(ticket.breached),
        "first_contact": resolved.first_contact if resolved else None,
        "satisfaction": ticket.satisfaction,
        "version": version,
    }


class TicketListProjector:
    """The subscription's handler: ticket events in, rows of `ticket.tickets` out.

    It batches (`Batching`): each event moves its ticket's state in memory and leaves the row of
    that version pending, and the subscription's `flush`, once per batch before the checkpoint,
    upserts the pending rows in one statement. Only each ticket's highest version of the batch
    is written: the rows of its other events would each be overwritten by it (the upsert keeps
    the highest version) within the same transaction, so the table ends the batch as it did
    when every event wrote its row. Under a flow of commands this took two
    statements per event (the event read back, the row) to none per event and one per batch."""

    def __init__(
        self, store: EventStore, policy: TicketPolicy, cache_size: int = DEFAULT_CACHE_SIZE
    ) -> None:
        self.policy = policy
        #: Its own cache (it reads states at the version it projects, often behind the
        #: commands'), bounded by the same setting as the commands' one.
        self.states = StateCache(store, ticket_decider(policy), TicketSnapshots(), size=cache_size)
        self._pending: dict[str, dict[str, Any]] = {}

    async def __call__(self, event: RecordedEvent, conn: AsyncConnection) -> None:
        if event.category != "ticket":
            return
        pending = self._pending.get(event.stream_id)
        if pending is not None and pending["version"] > event.version:
            # The log orders transactions by their id, given at their first write: a command
            # that wrote first (its idempotency key) and appended last puts its version before
            # the one it followed. The upsert would refuse this older row; so does the batch.
            return
        _, state = await self.states.after(event, conn=conn)
        if state is None:
            return
        self._pending[event.stream_id] = row(state, event.version, self.policy, event.recorded_at)

    async def flush(self, conn: AsyncConnection) -> None:
        """Upsert the batch's pending rows (one statement, the driver's batch of parameters)."""
        rows, self._pending = list(self._pending.values()), {}
        if rows:
            await conn.execute(_UPSERT, rows)

    def discard(self) -> None:
        self._pending = {}


async def clear(engine: AsyncEngine) -> None:
    """Empty the projection before a rebuild (rows are re-derived from the whole log)."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM ticket.tickets"))


async def rebuild_list(
    engine: AsyncEngine,
    subscription: CatchUpSubscription,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Rebuild `ticket.tickets` from the whole log; the number of events replayed.

    Rows are cleared before the checkpoint moves back: a row a running subscription writes in
    between is derived from its stream anyway, so it is simply written again. `progress` is told
    the running count of events replayed.
    """
    await clear(engine)
    await subscription.reset()
    return await subscription.catch_up(progress)

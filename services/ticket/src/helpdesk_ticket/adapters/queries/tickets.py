"""Reads of the list projection: filtered, searched in French, paged by cursor."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncEngine

_CLOSED = ("resolved", "closed")
#: The open tickets, as a constant condition: the same as the predicate of the index holding
#: them alone (`tickets_open_activity`). With the statuses bound as a parameter, the generic
#: plan (`helpdesk_shared.db`) cannot know that the index holds every row wanted, and read the
#: whole list instead: 12 ms against 2.4 ms at 34,000 tickets, 1,100 of them open, and growing
#: with the desk's history where the open tickets do not.
_OPEN = f"status NOT IN ({', '.join(repr(status) for status in _CLOSED)})"
#: A search is planned for its words. The engine forces generic plans (`helpdesk_shared.db`),
#: and a generic plan cannot see how common the searched words are: it took the full-text index
#: and sorted every match (19,000 for a common word over 115,000 tickets, 34 ms, growing with
#: the desk) where walking the newest-first index stops after a page of matches (1 ms, flat).
#: Local to the read's transaction.
_CUSTOM_PLAN = text("SET LOCAL plan_cache_mode = force_custom_plan")


@dataclass(frozen=True)
class TicketFilter:
    """Every filter of `GET /v1/tickets`; None means "any"."""

    statuses: tuple[str, ...] = ()
    level: int | None = None
    group: str | None = None
    assignee: str | None = None
    requester: str | None = None
    priority: str | None = None
    category: str | None = None
    opened_from: datetime | None = None
    opened_to: datetime | None = None
    q: str | None = None
    #: Whose reading rights bound the list (see `application.authorization.read_scope`): None
    #: for every ticket, else only `reader`'s own tickets and those whose current group is one
    #: of `reader_groups`. Filtered here, in SQL, so that pages and cursors stay right.
    reader: str | None = None
    reader_groups: tuple[str, ...] = ()


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


class InvalidCursor(ValueError):
    """The cursor was not one this API handed out."""


def encode_cursor(opened_at: datetime, ticket_id: uuid.UUID) -> str:
    raw = f"{opened_at.isoformat()}|{ticket_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        when, _, ident = base64.urlsafe_b64decode(padded).decode().partition("|")
        return datetime.fromisoformat(when), uuid.UUID(ident)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidCursor(str(error)) from None


@dataclass
class _Where:
    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"

    def readable_by(self, reader: str | None, groups: tuple[str, ...]) -> None:
        """Only the tickets `reader` may read (nothing added when it reads them all). Without
        groups, a plain equality keeps the requester index's plan."""
        if reader is not None and not groups:
            self.add("requester = :reader", reader=reader)
        elif reader is not None:
            self.add(
                "(requester = :reader OR group_name = ANY(:reader_groups))",
                reader=reader,
                reader_groups=list(groups),
            )


def readable_condition(reader: str | None, groups: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The bound of `TicketFilter.reader` as a condition on `ticket.tickets` and its parameters,
    for the reads that show other things only as far as their tickets may be read (a problem's
    incidents)."""
    where = _Where()
    where.readable_by(reader, groups)
    return where.sql(), where.params


def _where(f: TicketFilter) -> _Where:
    where = _Where()
    if f.statuses:
        where.add("status = ANY(:statuses)", statuses=list(f.statuses))
    equal = {
        "level": f.level,
        "group_name": f.group,
        "assignee": f.assignee,
        "requester": f.requester,
        "priority": f.priority,
        "category": f.category,
    }
    for column, value in equal.items():
        if value is not None:
            where.add(f"{column} = :{column}", **{column: value})
    if f.opened_from is not None:
        where.add("opened_at >= :opened_from", opened_from=f.opened_from)
    if f.opened_to is not None:
        where.add("opened_at < :opened_to", opened_to=f.opened_to)
    if f.q:
        where.add("search @@ websearch_to_tsquery('french', :q)", q=f.q)
    where.readable_by(f.reader, f.reader_groups)
    return where


async def list_tickets(
    engine: AsyncEngine, f: TicketFilter, limit: int, cursor: str | None = None
) -> Page:
    """Newest first; the cursor carries the last (opened_at, id) seen."""
    where = _where(f)
    if cursor:
        after_at, after_id = decode_cursor(cursor)
        where.add(
            "(opened_at, ticket_id) < (:after_at, :after_id)", after_at=after_at, after_id=after_id
        )
    sql = text(
        f"""SELECT * FROM ticket.tickets WHERE {where.sql()}
        ORDER BY opened_at DESC, ticket_id DESC LIMIT :limit"""  # noqa: S608 - fixed clauses
    )
    async with engine.connect() as conn:
        if f.q:
            await conn.execute(_CUSTOM_PLAN)
        rows = (await conn.execute(sql, {**where.params, "limit": limit + 1})).mappings().all()
    items = [_public(dict(r)) for r in rows[:limit]]
    more = len(rows) > limit
    last = items[-1] if items and more else None
    return Page(items, encode_cursor(last["opened_at"], last["id"]) if last else None)


def follow_up_query(
    now: datetime,
    idle: timedelta,
    due_within: timedelta,
    reader: str | None = None,
    reader_groups: tuple[str, ...] = (),
    limit: int = 500,
) -> tuple[TextClause, dict[str, Any]]:
    """`follow_up`'s statement and its parameters (apart, so that a test can plan it)."""
    readable = _Where()
    readable.readable_by(reader, reader_groups)
    params: dict[str, Any] = {
        "idle_since": now - idle,
        "due_by": now + due_within,
        "limit": limit,
        **readable.params,
    }
    sql = text(
        f"""SELECT *, least(take_due_at, resolution_due_at) AS next_due_at
        FROM ticket.tickets
        WHERE {_OPEN} AND {readable.sql()}
          AND (last_activity_at < :idle_since
               OR take_due_at <= :due_by OR resolution_due_at <= :due_by)
        ORDER BY least(take_due_at, resolution_due_at) ASC NULLS LAST, last_activity_at ASC
        LIMIT :limit"""  # noqa: S608 - fixed clauses
    )
    return sql, params


async def follow_up(
    engine: AsyncEngine,
    now: datetime,
    idle: timedelta,
    due_within: timedelta,
    reader: str | None = None,
    reader_groups: tuple[str, ...] = (),
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Open tickets without activity for `idle`, or with a deadline passed or within `due_within`
    (the daily follow-up, docs/desk-rules.md); most urgent first. `reader` and `reader_groups`
    bound it to what the caller may read, as in `TicketFilter`."""
    sql, params = follow_up_query(now, idle, due_within, reader, reader_groups, limit)
    async with engine.connect() as conn:
        rows = (await conn.execute(sql, params)).mappings().all()
    result = []
    for r in rows:
        item = _public(dict(r))
        due = r["next_due_at"]
        item["next_due_at"] = due
        item["idle"] = r["last_activity_at"] < params["idle_since"]
        item["overdue"] = due is not None and due <= now
        item["due_soon"] = due is not None and now < due <= params["due_by"]
        result.append(item)
    return result


async def due_for_sla_check(
    engine: AsyncEngine, now: datetime, limit: int = 200
) -> list[uuid.UUID]:
    """Tickets whose next SLA warning or deadline has come (see the projection)."""
    sql = text(
        """SELECT ticket_id FROM ticket.tickets WHERE next_sla_check_at <= :now
        ORDER BY next_sla_check_at LIMIT :limit"""
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(sql, {"now": now, "limit": limit})).all()
    return [r.ticket_id for r in rows]


def _public(r: dict[str, Any]) -> dict[str, Any]:
    r.pop("search", None)
    r.pop("next_sla_check_at", None)
    r["id"] = r.pop("ticket_id")
    r["group"] = r.pop("group_name")
    return r

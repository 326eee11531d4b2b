"""The paging of `GET /v1/events` over the in-memory store: full pages, filtered pages, the end."""

from __future__ import annotations

import pytest

from helpdesk_shared.eventstore.memory import MemoryEventStore
from helpdesk_shared.eventstore.model import ExpectedVersion, LogPosition, NewEvent
from helpdesk_shared.http import events


async def _store(types: list[str]) -> MemoryEventStore:
    store = MemoryEventStore()
    for n, type_ in enumerate(types):
        await store.append(f"ticket-{n}", ExpectedVersion.ANY, [NewEvent(type_, {"n": n})])
    return store


async def test_pages_follow_the_log_and_a_short_page_is_the_end() -> None:
    store = await _store(["Routed", "Escalated"] * 3)
    first, reached = await events._page(store, LogPosition.start(), frozenset(), 4)
    assert [e.data["n"] for e in first] == [0, 1, 2, 3]
    assert reached == first[-1].log_position
    rest, end = await events._page(store, reached, frozenset(), 4)
    assert [e.data["n"] for e in rest] == [4, 5]
    assert end == rest[-1].log_position
    assert await events._page(store, end, frozenset(), 4) == ([], end)


async def test_a_type_filter_reads_past_other_types_across_scans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "_SCAN", 2)  # several store reads for one page
    store = await _store(["Escalated", "Escalated", "Escalated", "Routed", "Escalated", "Routed"])
    page, reached = await events._page(store, LogPosition.start(), frozenset({"Routed"}), 1)
    assert [e.data["n"] for e in page] == [3]
    assert reached == page[0].log_position  # a full page stops at its last event
    page, reached = await events._page(store, reached, frozenset({"Routed"}), 5)
    assert [e.data["n"] for e in page] == [5]
    nothing, end = await events._page(store, reached, frozenset({"Routed"}), 5)
    assert nothing == []
    assert end == reached
    # Only other types after the cursor: an empty page, but the cursor moves past them.
    page, moved = await events._page(store, LogPosition.start(), frozenset({"Closed"}), 5)
    assert page == []
    assert moved == (await store.read_all(None, 100))[-1].log_position

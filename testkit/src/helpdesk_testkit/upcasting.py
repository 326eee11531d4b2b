"""A real catalogue event one schema version ahead, for the duration of a test.

No event has needed a second schema version yet, so the upcasting path (a body stored at an
older version, upcast on every read) would only be tested on a made-up event. `schema_bumped`
gives a real event class the next schema version and, optionally, the upcaster from the one
stored today, then puts the catalogue back exactly as it was, whatever the test did.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from helpdesk_shared.events import base
from helpdesk_shared.events.base import DomainEvent, Upcaster, register_upcaster


@contextmanager
def schema_bumped(event: type[DomainEvent], upcaster: Upcaster | None = None) -> Iterator[int]:
    """`event` at its next schema version (yielded); `upcaster` registered from the current one.

    Without `upcaster`, bodies stored at the current version have no way up: what a forgotten
    upcaster looks like.
    """
    stored = event.schema_version
    own = "schema_version" in event.__dict__  # else inherited, and deleted again afterwards
    upcasters = dict(base._UPCASTERS)
    registry = dict(base._REGISTRY)
    event.schema_version = stored + 1
    try:
        if upcaster is not None:
            register_upcaster(event.event_type(), stored)(upcaster)
        yield stored + 1
    finally:
        if own:
            event.schema_version = stored
        else:
            del event.schema_version
        base._UPCASTERS.clear()
        base._UPCASTERS.update(upcasters)
        base._REGISTRY.clear()
        base._REGISTRY.update(registry)

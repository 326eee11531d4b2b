"""The event catalogue: every event that crosses services, once.

Each stream category has its own module (`ticket`, `intake`, ...); importing this package
registers them all, so `decode()` knows every type name.
"""

from helpdesk_shared.events.base import (
    DomainEvent,
    MissingUpcaster,
    UnknownEventType,
    decode,
    event_class,
    register_upcaster,
    registered_events,
    routing_key_for,
    upcast,
)

__all__ = [
    "DomainEvent",
    "MissingUpcaster",
    "UnknownEventType",
    "decode",
    "event_class",
    "register_upcaster",
    "registered_events",
    "routing_key_for",
    "upcast",
]

# Importing the category modules registers their events in the catalogue.
from helpdesk_shared.events import article as article
from helpdesk_shared.events import contract as contract
from helpdesk_shared.events import intake as intake
from helpdesk_shared.events import problem as problem
from helpdesk_shared.events import ticket as ticket

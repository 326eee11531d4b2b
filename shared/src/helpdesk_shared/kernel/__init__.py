"""The aggregate kernel: one decider shape, one replay, one application service, its ports.

See docs/adr/0004-decider-kernel-and-ports.md.
"""

from helpdesk_shared.kernel.command import Loaded, PreconditionFailed, matches
from helpdesk_shared.kernel.decider import Decider, replay
from helpdesk_shared.kernel.ports import Connection, EventStore, Snapshots
from helpdesk_shared.kernel.service import AggregateService
from helpdesk_shared.kernel.state_cache import DEFAULT_CACHE_SIZE, StateCache

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "AggregateService",
    "Connection",
    "Decider",
    "EventStore",
    "Loaded",
    "PreconditionFailed",
    "Snapshots",
    "StateCache",
    "matches",
    "replay",
]

import uuid
from datetime import UTC, datetime

import pytest

from helpdesk_shared.events import decode, register_upcaster, routing_key_for
from helpdesk_shared.events.base import DomainEvent, UnknownEventType
from helpdesk_shared.events.ticket import Closed, Escalated, Routed, TicketOpened


@pytest.mark.parametrize(
    ("event", "key"),
    [
        (TicketOpened, "ticket.opened"),
        (Escalated, "ticket.escalated"),
        (Routed, "ticket.routed"),
        (Closed, "ticket.closed"),
    ],
)
def test_routing_keys_follow_the_contract(event: type[DomainEvent], key: str) -> None:
    assert event.routing_key() == key


def test_routing_key_drops_only_a_leading_category_word() -> None:
    assert routing_key_for("problem", "ProblemCreated") == "problem.created"
    assert routing_key_for("ticket", "SlaBreached") == "ticket.sla_breached"


def test_unknown_types_are_refused() -> None:
    with pytest.raises(UnknownEventType):
        decode("NoSuchEvent", 1, {})


def test_old_versions_are_upcast_on_decode() -> None:
    class NoteTaken(DomainEvent):
        stream_category = "testnote"
        schema_version = 2
        text: str
        author: str

    @register_upcaster("NoteTaken", 1)
    def _add_author(data: dict[str, object]) -> dict[str, object]:
        return {**data, "author": "unknown"}

    event = decode("NoteTaken", 1, {"text": "hello"})
    assert event == NoteTaken(text="hello", author="unknown")


def test_events_are_frozen() -> None:
    event = Closed(
        ticket_id=uuid.uuid4(), occurred_at=datetime.now(UTC), code="resolved", by="agent1"
    )
    with pytest.raises(ValueError, match="frozen"):
        event.by = "someone else"  # type: ignore[misc]

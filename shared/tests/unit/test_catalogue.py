import uuid
from datetime import UTC, datetime

import pytest

from helpdesk_shared.events import MissingUpcaster, base, decode, registered_events, routing_key_for
from helpdesk_shared.events.base import DomainEvent, UnknownEventType
from helpdesk_shared.events.ticket import (
    Closed,
    CommentAdded,
    Escalated,
    Routed,
    TicketOpened,
    Visibility,
)
from helpdesk_testkit.upcasting import schema_bumped


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


def _comment_v1(ticket_id: uuid.UUID, at: datetime) -> dict[str, object]:
    """`CommentAdded` as an older schema would have stored it: `body`, no visibility."""
    return {
        "ticket_id": str(ticket_id),
        "occurred_at": at.isoformat(),
        "body": "hello",
        "by": "bob",
    }


def _comment_v2(data: dict[str, object]) -> dict[str, object]:
    body = {k: v for k, v in data.items() if k != "body"}
    return {**body, "text": data["body"], "visibility": "public"}


def test_old_versions_of_a_real_event_are_upcast_on_decode() -> None:
    ticket_id, at = uuid.uuid4(), datetime.now(UTC)
    with schema_bumped(CommentAdded, _comment_v2) as current:
        assert current == 2
        event = decode("CommentAdded", 1, _comment_v1(ticket_id, at))
        current_body = decode("CommentAdded", 2, event.to_data())
    assert event == CommentAdded(
        ticket_id=ticket_id, occurred_at=at, text="hello", visibility=Visibility.PUBLIC, by="bob"
    )
    assert current_body == event  # a body at the current version is taken as it is


def test_a_missing_upcaster_is_a_clear_error() -> None:
    with schema_bumped(CommentAdded), pytest.raises(MissingUpcaster) as refused:
        decode("CommentAdded", 1, _comment_v1(uuid.uuid4(), datetime.now(UTC)))
    assert str(refused.value) == (
        "no upcaster for CommentAdded from schema version 1 to 2 (the catalogue is at version 2)"
    )


def test_the_catalogue_is_left_as_it_was() -> None:
    before = (registered_events(), dict(base._UPCASTERS), CommentAdded.schema_version)
    with schema_bumped(CommentAdded, _comment_v2):
        assert CommentAdded.schema_version == 2
    assert (registered_events(), dict(base._UPCASTERS), CommentAdded.schema_version) == before
    assert "schema_version" not in CommentAdded.__dict__


def test_events_are_frozen() -> None:
    event = Closed(
        ticket_id=uuid.uuid4(), occurred_at=datetime.now(UTC), code="resolved", by="agent1"
    )
    with pytest.raises(ValueError, match="frozen"):
        event.by = "someone else"  # type: ignore[misc]

from pathlib import Path

import yaml

from helpdesk_shared.events import registered_events
from helpdesk_shared.events.asyncapi import build_document, render

REPO = Path(__file__).resolve().parents[3]


def test_every_catalogue_event_is_a_message_with_its_routing_key() -> None:
    document = build_document()
    messages = document["components"]["messages"]
    assert set(messages) == set(registered_events())
    for name, cls in registered_events().items():
        assert messages[name]["x-routing-key"] == cls.routing_key()
        assert name in document["components"]["schemas"]


def test_the_four_contract_events_are_documented() -> None:
    messages = build_document()["components"]["messages"]
    for name in ("TicketOpened", "Escalated", "Routed", "Closed"):
        assert name in messages


def test_the_committed_document_is_up_to_date() -> None:
    committed = REPO / "docs" / "asyncapi.yaml"
    assert committed.exists(), "run: python -m helpdesk_shared.events.asyncapi docs/asyncapi.yaml"
    assert yaml.safe_load(committed.read_text(encoding="utf-8")) == yaml.safe_load(render()), (
        "docs/asyncapi.yaml is stale: python -m helpdesk_shared.events.asyncapi docs/asyncapi.yaml"
    )

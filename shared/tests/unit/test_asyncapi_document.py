from pathlib import Path

import yaml

from helpdesk_shared.events import registered_events
from helpdesk_shared.events.asyncapi import build_document, render
from helpdesk_shared.events.schema import export_json_schemas, schema_file_name

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


def test_the_committed_json_schemas_are_up_to_date(tmp_path: Path) -> None:
    """docs/schemas/ holds exactly what the catalogue exports, and the document points there."""
    fresh = {p.name: p.read_text(encoding="utf-8") for p in export_json_schemas(tmp_path)}
    committed_dir = REPO / "docs" / "schemas"
    committed = {p.name: p.read_text(encoding="utf-8") for p in committed_dir.glob("*.json")}
    hint = "run: python -m helpdesk_shared.events.schema docs/schemas"
    assert committed.keys() == fresh.keys(), hint
    stale = sorted(name for name in fresh if committed[name] != fresh[name])
    assert not stale, f"stale: {stale}; {hint}"
    schemas = build_document()["components"]["schemas"]
    for name, cls in registered_events().items():
        target = committed_dir.parent / schemas[name]["$ref"]
        assert target.name == schema_file_name(cls)
        assert target.exists()


def test_the_document_names_its_servers_and_their_security() -> None:
    document = build_document()
    servers = document["servers"]
    assert {"local", "production", "events-api"} <= servers.keys()
    assert servers["local"]["host"] == "127.0.0.1:5672"
    schemes = document["components"]["securitySchemes"]
    for server in servers.values():
        for requirement in server["security"]:
            assert requirement["$ref"].rpartition("/")[2] in schemes
    extensions = document["components"]["messages"]["Escalated"]["payload"]["properties"]
    assert extensions["sequence"]["type"] == "string"

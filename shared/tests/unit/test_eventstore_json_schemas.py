"""Every event of the catalogue exports a JSON Schema that describes what is stored and sent."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk_shared.events import registered_events
from helpdesk_shared.events.schema import export_json_schemas, schema_file_name

REQUIRED_KEYS = {"x-event-type", "x-schema-version", "x-routing-key"}
CONTRACT_EVENTS = ["TicketOpened", "Escalated", "Routed", "Closed"]


def test_every_registered_event_exports_a_schema(tmp_path: Path) -> None:
    events = registered_events()
    assert set(events) >= set(CONTRACT_EVENTS)
    written = export_json_schemas(tmp_path)
    assert sorted(p.name for p in written) == sorted(schema_file_name(e) for e in events.values())
    for path in written:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert set(schema) >= REQUIRED_KEYS, path.name
        event = events[schema["x-event-type"]]
        assert schema["x-schema-version"] == event.schema_version
        assert schema["x-routing-key"] == event.routing_key()
        assert schema["type"] == "object"


@pytest.mark.parametrize("name", CONTRACT_EVENTS)
def test_a_schema_lists_the_fields_of_its_event(tmp_path: Path, name: str) -> None:
    event = registered_events()[name]
    [path] = [p for p in export_json_schemas(tmp_path) if p.name == schema_file_name(event)]
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert set(schema["properties"]) == set(event.model_fields)
    required = {n for n, f in event.model_fields.items() if f.is_required()}
    assert set(schema.get("required", [])) == required


def test_the_command_line_regenerates_a_directory(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "helpdesk_shared.events.schema", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sorted(Path(line).name for line in out.splitlines()) == sorted(
        p.name for p in tmp_path.iterdir()
    )
    # The catalogue as a fresh interpreter sees it (tests may register events of their own here).
    assert {p.name.partition(".v")[0] for p in tmp_path.iterdir()} >= set(CONTRACT_EVENTS)

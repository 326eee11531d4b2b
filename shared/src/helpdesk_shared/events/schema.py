"""JSON Schema of every event in the catalogue, one file per event type and schema version.

Subscribers outside this code base (other DSI systems) validate the `data` of the CloudEvents they
receive against these files (committed in `docs/schemas/`, referenced by `docs/asyncapi.yaml`, and
checked to be current by a test). Regenerate after changing an event:

    uv run --frozen python -m helpdesk_shared.events.schema docs/schemas
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from helpdesk_shared.events import DomainEvent, registered_events

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def event_json_schema(event: type[DomainEvent]) -> dict[str, Any]:
    """The schema of an event's body, with the catalogue facts subscribers route and parse by."""
    body = event.model_json_schema(mode="serialization")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": schema_file_name(event),
        "x-event-type": event.event_type(),
        "x-schema-version": event.schema_version,
        "x-routing-key": event.routing_key(),
        "x-stream-category": event.stream_category,
        **body,
    }


def schema_file_name(event: type[DomainEvent]) -> str:
    """`TicketOpened.v1.schema.json`: a new schema version is a new file, old ones stay."""
    return f"{event.event_type()}.v{event.schema_version}.schema.json"


def export_json_schemas(directory: Path) -> list[Path]:
    """Write the schema of every registered event into `directory`; the files written, sorted."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for _, event in sorted(registered_events().items()):
        path = directory / schema_file_name(event)
        document = json.dumps(event_json_schema(event), indent=2, ensure_ascii=False)
        path.write_text(document + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export the event catalogue as JSON Schemas.")
    parser.add_argument("directory", type=Path, nargs="?", default=Path("docs/schemas"))
    args = parser.parse_args(argv)
    for path in export_json_schemas(args.directory):
        print(path)


if __name__ == "__main__":
    main()

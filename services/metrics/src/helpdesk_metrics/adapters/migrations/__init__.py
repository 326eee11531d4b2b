"""The metrics service's own tables, in the `metrics` schema.

Registered as a `helpdesk.migrations` entry point, so `helpdesk-migrate` applies it.
"""

from pathlib import Path

from helpdesk_shared.migrations import MigrationSet

MIGRATIONS = MigrationSet(
    name="metrics", script_location=str(Path(__file__).parent), schema="metrics"
)

"""The intake service's own tables, in the `intake` schema.

Registered as a `helpdesk.migrations` entry point, so `helpdesk-migrate` applies it.
"""

from pathlib import Path

from helpdesk_shared.migrations import MigrationSet

MIGRATIONS = MigrationSet(
    name="intake", script_location=str(Path(__file__).parent), schema="intake"
)

"""The ticket service's own tables, in the `ticket` schema.

Registered as a `helpdesk.migrations` entry point, so `helpdesk-migrate` applies it.
"""

from pathlib import Path

from helpdesk_shared.migrations import MigrationSet

MIGRATIONS = MigrationSet(
    name="ticket", script_location=str(Path(__file__).parent), schema="ticket"
)

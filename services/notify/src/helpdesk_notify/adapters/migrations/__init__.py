"""The notify service's own tables, in the `notify` schema.

Registered as a `helpdesk.migrations` entry point, so `helpdesk-migrate` applies it.
"""

from pathlib import Path

from helpdesk_shared.migrations import MigrationSet

MIGRATIONS = MigrationSet(
    name="notify", script_location=str(Path(__file__).parent), schema="notify"
)

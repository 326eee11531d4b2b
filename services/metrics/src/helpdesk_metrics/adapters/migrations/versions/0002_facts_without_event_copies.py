"""Facts evolve one event at a time: the projection no longer keeps a copy of every event.

The live projection used to refold a stream from its copies in `metrics.events` on each event;
it now evolves the kept facts by the next event and refolds from the event store itself only
when an earlier event is missing. Call facts record the last version folded, like ticket facts;
existing calls start at 0, so their next event refolds them from the store.
Closed tickets are bounded by `closed_at` when a report loads the tickets of a period.

Revision ID: 0002_facts_without_event_copies
Revises: 0001_metrics_facts
Create Date: 2026-11-22
"""

from alembic import op

revision = "0002_facts_without_event_copies"
down_revision = "0001_metrics_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP TABLE metrics.events")
    op.execute("ALTER TABLE metrics.call_facts ADD COLUMN last_version integer NOT NULL DEFAULT 0")
    op.execute("CREATE INDEX ticket_facts_closed_idx ON metrics.ticket_facts (closed_at)")


def downgrade() -> None:
    """Back to event copies; they start empty: run
    `python -m helpdesk_metrics.entrypoints.cli replay` after."""
    op.execute("DROP INDEX metrics.ticket_facts_closed_idx")
    op.execute("ALTER TABLE metrics.call_facts DROP COLUMN last_version")
    op.execute(
        """
        CREATE TABLE metrics.events (
            event_id uuid PRIMARY KEY,
            stream_id text NOT NULL,
            version integer NOT NULL,
            type text NOT NULL,
            data jsonb NOT NULL,
            recorded_at timestamptz NOT NULL
        )
        """
    )
    op.execute("CREATE INDEX events_stream_idx ON metrics.events (stream_id, version)")

"""Business durations kept with each ticket's facts, so `/metrics` sums them in SQL.

`/metrics` used to load every ticket ever projected on each refresh (seconds of CPU at 100,000
tickets); its counters and histograms are now aggregated by the database, which needs each
ticket's business durations as columns. Existing rows have none: run
`python -m helpdesk_metrics.entrypoints.cli replay` after upgrading (the histograms count them
from then on).

Revision ID: 0003_business_durations
Revises: 0002_facts_without_event_copies
Create Date: 2026-11-23
"""

from alembic import op

revision = "0003_business_durations"
down_revision = "0002_facts_without_event_copies"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "ALTER TABLE metrics.ticket_facts "
        "ADD COLUMN take_business_seconds double precision, "
        "ADD COLUMN resolve_business_seconds double precision"
    )
    op.execute(
        "CREATE INDEX ticket_facts_open_idx ON metrics.ticket_facts (status) "
        "WHERE status <> 'closed'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX metrics.ticket_facts_open_idx")
    op.execute(
        "ALTER TABLE metrics.ticket_facts "
        "DROP COLUMN take_business_seconds, DROP COLUMN resolve_business_seconds"
    )
